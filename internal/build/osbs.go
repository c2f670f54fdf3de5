package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
)

// The annotations OSBS (atomic-reactor's store_metadata_in_osv3 plugin) leaves on a Custom
// build once it has run, and the USER_PARAMS key naming the base image.
const (
	// parentImagesAnnotation is a JSON object in a string mapping each parent image as the
	// Dockerfile names it to the repo@sha256:... it resolved to.
	parentImagesAnnotation = "parent_images"
	// baseImageNameAnnotation is the base image as OSBS pulled it, by tag.
	baseImageNameAnnotation = "base-image-name"
	// dockerfileAnnotation is the Dockerfile that was built.
	dockerfileAnnotation = "dockerfile"
	// userParamsBaseKey is the key of USER_PARAMS that names the base image.
	userParamsBaseKey = "base_image"
)

var (
	// imageID matches a Docker image ID, with or without its algorithm: it names an image
	// in one daemon's store, not in a registry, though it parses as a repository name.
	imageID = regexp.MustCompile(`^(?:sha256:)?[0-9a-f]{64}$`)
	// baseImageText finds "base_image": "<value>" in USER_PARAMS that is not JSON. A
	// sanitiser that rewrote host names (OSBS's published captures) can have eaten the
	// value's opening quote but never its closing one, so an unquoted value must end in a
	// quote; that keeps null, numbers and the rest of the document out.
	baseImageText = regexp.MustCompile(`"` + userParamsBaseKey + `"\s*:\s*(?:"([^"\\]*)"|([^\s"\\{}\[\],]+)")`)
	// stringEntryText finds the "key": "value" entries of a flat JSON object of strings that
	// is not JSON, with the same tolerance of a missing opening quote (of a key, too).
	stringEntryText = regexp.MustCompile(`(?:^|[{,])\s*"?([^"\\{},]*)"\s*:\s*(?:"([^"\\]*)"|([^\s"\\{}\[\],]+)"|null\b)`)
	// dockerfileFrom matches a Dockerfile's FROM instruction.
	dockerfileFrom = regexp.MustCompile(`(?i)^\s*FROM\s+(.*?)\s*$`)
)

// customBaseImage reads the base image of an OpenShift Custom build of the OSBS kind from
// the build object alone, first found wins:
//
//  1. USER_PARAMS' base_image (a tag), read tolerantly when USER_PARAMS is not JSON;
//  2. the parent_images annotation's resolved repo@digest for that tag (or for the
//     base-image-name), or of its only entry, preferred over the bare tag;
//  3. the base-image-name annotation;
//  4. the last FROM of the dockerfile annotation, when it is a pullable reference.
//
// The custom strategy's from is never reported: it is the builder (buildroot), not the
// base. Nothing here fails: what cannot be read, or is not a pullable image reference,
// becomes a note, and the result is "" or a reference name.ParseReference accepts.
func customBaseImage(b *buildv1.Build) (string, []string) {
	var env []corev1.EnvVar
	if s := b.Spec.Strategy.CustomStrategy; s != nil {
		env = s.Env
	}
	annotations := b.Annotations
	tag, notes := userParamsBase(env)
	named, nameNotes := baseImageName(annotations)
	notes = append(notes, nameNotes...)
	if doc, ok := annotations[parentImagesAnnotation]; ok {
		resolved, parentNotes := parentImage(doc, tag, named)
		notes = append(notes, parentNotes...)
		if resolved != "" {
			return resolved, notes
		}
	}
	if tag != "" {
		return tag, notes
	}
	if named != "" {
		return named, notes
	}
	if df, ok := annotations[dockerfileAnnotation]; ok {
		from, dfNotes := dockerfileBase(df)
		notes = append(notes, dfNotes...)
		if from != "" {
			return from, notes
		}
	}
	return "", append(notes, "custom strategy: no base image in USER_PARAMS or the annotations "+
		parentImagesAnnotation+", "+baseImageNameAnnotation+" and "+dockerfileAnnotation+
		"; the strategy's from is the builder, not the base, and is not reported")
}

// userParamsBase returns base_image of the first USER_PARAMS env var with a value, read as
// JSON, or tolerantly from its text when it is not JSON (noted). A value that is not a
// pullable reference is noted and dropped.
func userParamsBase(env []corev1.EnvVar) (string, []string) {
	for _, e := range env {
		if e.Name != userParamsEnv || e.Value == "" {
			continue
		}
		var notes []string
		base, err := ParseUserParams(e.Value)
		if err != nil {
			found := false
			base, found = scanUserParamsBase(e.Value)
			what := userParamsBaseKey + " read from its text"
			if !found {
				what = "no " + userParamsBaseKey + " found in its text"
			}
			notes = append(notes, clip(fmt.Sprintf("env %s of the custom strategy could not be read (%v): %s", userParamsEnv, err, what)))
		}
		if base == "" {
			return "", notes
		}
		if err := pullableReference(base); err != nil {
			return "", append(notes, clip(fmt.Sprintf("env %s: %s %s skipped: %v", userParamsEnv, userParamsBaseKey, quote(base), err)))
		}
		return base, notes
	}
	return "", nil
}

// scanUserParamsBase finds the base_image value in USER_PARAMS that is not JSON: the first
// "base_image": "value" (or value", its opening quote lost). found is false when there is
// none.
func scanUserParamsBase(doc string) (base string, found bool) {
	m := baseImageText.FindStringSubmatch(doc)
	if m == nil {
		return "", false
	}
	return strings.TrimSpace(m[1] + m[2]), true
}

// stringEntry is one key and value of a JSON object of strings.
type stringEntry struct{ key, value string }

// parseStringMap reads a JSON object of strings (null values are dropped), sorted by key.
// A document that is not one is read tolerantly by scanStringMap, and err says why the
// strict reading failed.
func parseStringMap(doc string) ([]stringEntry, error) {
	var m map[string]*string
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return scanStringMap(doc), fmt.Errorf("not a JSON object of strings: %w", err)
	}
	entries := make([]stringEntry, 0, len(m))
	for k, v := range m {
		if v != nil {
			entries = append(entries, stringEntry{key: k, value: strings.TrimSpace(*v)})
		}
	}
	slices.SortFunc(entries, func(a, b stringEntry) int { return strings.Compare(a.key, b.key) })
	return entries, nil
}

// scanStringMap finds the "key": "value" entries of a damaged flat JSON object, in order:
// the opening quote of a key or a value may be missing, the closing one may not. Entries
// whose value is null or not a string are dropped.
func scanStringMap(doc string) []stringEntry {
	var entries []stringEntry
	for _, m := range stringEntryText.FindAllStringSubmatch(doc, -1) {
		value := strings.TrimSpace(m[2] + m[3])
		if value == "" {
			continue
		}
		entries = append(entries, stringEntry{key: strings.TrimSpace(m[1]), value: value})
	}
	return entries
}

// parentImage picks from the parent_images annotation the resolved repo@digest of the
// base image: the entry whose key is one of bases (as written, or naming the same
// repository and tag), else the only entry. OSBS keys it by the base image as written in
// USER_PARAMS or as base-image-name has it, so both are tried. A damaged document is read
// tolerantly (noted); an entry whose value is not repo@digest is noted and not used.
func parentImage(doc string, bases ...string) (string, []string) {
	var notes []string
	entries, err := parseStringMap(doc)
	if err != nil {
		notes = append(notes, clip(fmt.Sprintf("annotation %s %s: %v; read tolerantly", parentImagesAnnotation, quote(doc), err)))
	}
	picked := slices.IndexFunc(entries, func(e stringEntry) bool {
		return slices.ContainsFunc(bases, func(base string) bool { return base != "" && sameImage(e.key, base) })
	})
	switch {
	case picked >= 0:
	case len(entries) == 1:
		picked = 0
	case len(entries) == 0:
		return "", append(notes, fmt.Sprintf("annotation %s names no parent image", parentImagesAnnotation))
	default:
		var named []string
		for _, base := range bases {
			if base != "" {
				named = append(named, base)
			}
		}
		return "", append(notes, clip(fmt.Sprintf("annotation %s has %d entries and none for the base image %s",
			parentImagesAnnotation, len(entries), quote(strings.Join(named, " or ")))))
	}
	e := entries[picked]
	if err := pullableDigest(e.value); err != nil {
		return "", append(notes, clip(fmt.Sprintf("annotation %s maps %s to %s, skipped: %v", parentImagesAnnotation, quote(e.key), quote(e.value), err)))
	}
	return e.value, notes
}

// baseImageName returns the base-image-name annotation when it is a pullable reference,
// noting it when it is not.
func baseImageName(annotations map[string]string) (string, []string) {
	v := strings.TrimSpace(annotations[baseImageNameAnnotation])
	if v == "" {
		return "", nil
	}
	if err := pullableReference(v); err != nil {
		return "", []string{clip(fmt.Sprintf("annotation %s %s skipped: %v", baseImageNameAnnotation, quote(v), err))}
	}
	return v, nil
}

// dockerfileBase returns the image of the Dockerfile's last FROM, stage names resolved to
// the images those stages started from, when it is a pullable reference; anything else
// (scratch, a build argument, an image ID) is noted.
func dockerfileBase(df string) (string, []string) {
	stages := map[string]string{}
	last := ""
	for line := range strings.Lines(df) {
		m := dockerfileFrom.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		image, alias := fromArgs(m[1])
		if resolved, ok := stages[strings.ToLower(image)]; ok {
			image = resolved
		}
		if alias != "" {
			stages[strings.ToLower(alias)] = image
		}
		last = image
	}
	note := func(why string) []string {
		return []string{clip(fmt.Sprintf("annotation %s: last FROM %s skipped: %s", dockerfileAnnotation, quote(last), why))}
	}
	switch {
	case last == "":
		return "", []string{fmt.Sprintf("annotation %s has no FROM", dockerfileAnnotation)}
	case strings.EqualFold(last, "scratch"):
		return "", note("scratch is no image")
	case strings.Contains(last, "$"):
		return "", note("it names a build argument, whose value is unknown")
	}
	if err := pullableReference(last); err != nil {
		return "", note(err.Error())
	}
	return last, nil
}

// fromArgs reads the arguments of a FROM instruction: flags, the image, "AS name".
func fromArgs(args string) (image, alias string) {
	fields := strings.Fields(args)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return "", ""
	}
	image = strings.Trim(fields[0], `"'`)
	if len(fields) >= 3 && strings.EqualFold(fields[1], "as") {
		alias = fields[2]
	}
	return image, alias
}

// pullableReference reports why s does not name an image a registry can serve: it does
// not parse as an image reference, or it is an image ID, which parses as a repository
// name but names an image in one daemon's store only.
func pullableReference(s string) error {
	if imageID.MatchString(s) {
		return errors.New("an image ID, not a pullable image reference")
	}
	if _, err := name.ParseReference(s); err != nil {
		return fmt.Errorf("not an image reference: %w", err)
	}
	return nil
}

// pullableDigest reports why s is not a pullable repo@digest reference.
func pullableDigest(s string) error {
	if err := pullableReference(s); err != nil {
		return err
	}
	if _, err := name.NewDigest(s); err != nil {
		return fmt.Errorf("not repo@digest: %w", err)
	}
	return nil
}

// sameImage reports whether two references name the same image: written alike, or the
// same repository and tag or digest once defaults (docker.io, latest) are filled in.
func sameImage(a, b string) bool {
	if a == b {
		return true
	}
	ra, errA := name.ParseReference(a)
	rb, errB := name.ParseReference(b)
	return errA == nil && errB == nil && ra.Name() == rb.Name()
}
