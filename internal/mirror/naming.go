package mirror

import (
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/thoth-station/build-watcher/internal/usage"
)

// PushMode says how Destination names the copy in the push registry.
type PushMode string

// The push modes.
const (
	// PushModeDefault keeps the source repository's last path component and the tag or
	// digest: REG/<name>:<tag>, or REG/<name>@sha256:... for a source given by digest only.
	PushModeDefault PushMode = "default"
	// PushModeFlat puts every image as a tag into the one repository REG:
	// REG:<name>-<tag>, or REG:<name>-<hex> for a source given by digest only (the 64 hex
	// digits of its sha256 digest). This is the old bot's mode for quay.io.
	PushModeFlat PushMode = "flat"
)

// maxTagBytes is the longest tag the distribution spec allows.
const maxTagBytes = 128

// Target returns the reference Mirror copies src to: destination when it is given, else
// the name Destination gives src in pushRegistry. Exactly one of destination and
// pushRegistry must be set. A destination without a tag or digest gets src's tag or
// digest, so that a copy never moves "latest" by accident. Errors match
// usage.ErrBadInput and name the flag to fix.
func Target(src, destination, pushRegistry string, mode PushMode) (string, error) {
	if _, err := parseSource(src); err != nil {
		return "", err
	}
	if mode != "" && mode != PushModeDefault && mode != PushModeFlat {
		return "", usage.Errorf("--push-mode must be %s or %s, not %q", PushModeDefault, PushModeFlat, mode)
	}
	switch {
	case destination != "" && pushRegistry != "":
		return "", usage.Errorf("--destination and --push-registry conflict: give one of them (--destination names the copy exactly, --push-registry names it after the source)")
	case destination != "":
		if mode == PushModeFlat {
			return "", usage.Errorf("--push-mode flat applies to --push-registry only; --destination names the copy exactly")
		}
		return completeDestination(src, destination)
	case pushRegistry != "":
		return Destination(src, pushRegistry, mode)
	default:
		return "", usage.Errorf("no destination: set --push-registry (THOTH_PUSH_REGISTRY) or --destination")
	}
}

// Destination names the copy of the image src in the push registry reg, as mode says
// (see PushModeDefault and PushModeFlat). <name> is the last path component of src's
// repository, <tag> its tag (latest when src has neither tag nor digest); a source with
// a tag and a digest ("repo:tag@sha256:...") keeps its tag. In the default mode reg is a
// registry host, optionally with a path prefix ("quay.io/org"); in the flat mode it is a
// repository ("quay.io/org/images"). Errors match usage.ErrBadInput.
func Destination(src, reg string, mode PushMode) (string, error) {
	s, err := parseSource(src)
	if err != nil {
		return "", err
	}
	reg = strings.TrimSuffix(strings.TrimSpace(reg), "/")
	if reg == "" {
		return "", usage.Errorf("--push-registry is empty: give the registry to copy to, e.g. quay.io/org")
	}
	if strings.Contains(reg, "://") {
		return "", usage.Errorf("--push-registry %q: give a registry name such as quay.io/org, not a URL (plain HTTP needs --insecure-registry HOST)", reg)
	}
	if strings.ContainsAny(reg, "@") {
		return "", usage.Errorf("--push-registry %q: give a registry and repository prefix without a digest", reg)
	}
	base := path.Base(s.ref.Context().RepositoryStr())
	var out string
	switch mode {
	case PushModeDefault, "":
		out = reg + "/" + base
		if s.tag != "" {
			out += ":" + s.tag
		} else {
			out += "@" + s.digest
		}
	case PushModeFlat:
		if !strings.Contains(reg, "/") {
			return "", usage.Errorf("--push-registry %q with --push-mode flat: give a repository (REGISTRY/PATH, e.g. quay.io/org/images) that receives every image as a tag", reg)
		}
		suffix := s.tag
		if suffix == "" {
			_, hex, _ := strings.Cut(s.digest, ":")
			suffix = hex
		}
		tag := base + "-" + suffix
		if len(tag) > maxTagBytes {
			return "", usage.Errorf("--push-mode flat: the tag %q for %s is longer than %d characters; name the copy with --destination instead", tag, src, maxTagBytes)
		}
		out = reg + ":" + tag
	default:
		return "", usage.Errorf("--push-mode must be %s or %s, not %q", PushModeDefault, PushModeFlat, mode)
	}
	if _, err := name.ParseReference(out, name.StrictValidation); err != nil {
		return "", usage.Errorf("--push-registry %q: the copy of %s would be %q, which is not a valid image reference: %w", reg, src, out, err)
	}
	return out, nil
}

// source is a parsed source reference, with the tag kept when a digest is given too.
type source struct {
	ref    name.Reference
	tag    string // "" for a digest-only source
	digest string // "" for a tag-only source
}

// parseSource parses src, which may be "repo", "repo:tag", "repo@sha256:..." or
// "repo:tag@sha256:..." (go-containerregistry drops the tag of the last form).
func parseSource(src string) (source, error) {
	if strings.TrimSpace(src) == "" {
		return source{}, usage.Errorf("the source image is empty: set --source (THOTH_SOURCE_IMAGE)")
	}
	ref, err := name.ParseReference(src)
	if err != nil {
		return source{}, usage.Errorf("--source %q is not an image reference: %w", src, err)
	}
	s := source{ref: ref}
	switch r := ref.(type) {
	case name.Tag:
		s.tag = r.TagStr()
	case name.Digest:
		s.digest = r.DigestStr()
		s.tag = explicitTag(src)
	}
	return s, nil
}

// explicitTag returns the tag written in ref ("" when there is none): the part after the
// last ':' of the name before any '@', when that ':' comes after the last '/' (otherwise
// it separates a registry's port).
func explicitTag(ref string) string {
	base, _, _ := strings.Cut(ref, "@")
	i := strings.LastIndex(base, ":")
	if i < 0 || i < strings.LastIndex(base, "/") {
		return ""
	}
	return base[i+1:]
}

// completeDestination parses destination and gives it src's tag or digest when it has
// neither.
func completeDestination(src, destination string) (string, error) {
	if _, err := name.ParseReference(destination); err != nil {
		return "", usage.Errorf("--destination %q is not an image reference: %w", destination, err)
	}
	if strings.Contains(destination, "@") || explicitTag(destination) != "" {
		return destination, nil
	}
	s, err := parseSource(src)
	if err != nil {
		return "", err
	}
	out := destination + "@" + s.digest
	if s.tag != "" {
		out = destination + ":" + s.tag
	}
	if _, err := name.ParseReference(out); err != nil {
		return "", usage.Errorf("--destination %q: %q is not an image reference: %w", destination, out, err)
	}
	return out, nil
}
