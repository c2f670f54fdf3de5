package build

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// A reference whose first path component is not a host (no dot, no port, not localhost)
// names no registry: `mlangsdo/chromium:tag`, `library/fedora@sha256:...`, `fedora:41`.
// Tools that meet one guess: Docker and go-containerregistry read Docker Hub, podman asks
// its search registries, OSBS pushes to the registry in its own configuration. Thoth must
// not be sent a guess: such a reference is qualified with the default registry the user
// names, or left out with a note.

// HasRegistry reports whether an image reference names its registry host.
func HasRegistry(ref string) bool {
	first, _, found := strings.Cut(ref, "/")
	if !found {
		return false
	}
	return strings.ContainsAny(first, ".:") || first == "localhost"
}

// registryHost is a host name or IPv4 address with an optional port.
var registryHost = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$`)

// ValidateDefaultRegistry checks a --default-registry value: a registry host, with an
// optional port and repository path prefix (registry.example.com, registry:5000/osbs).
func ValidateDefaultRegistry(registry string) error {
	if registry == "" {
		return nil
	}
	host, _, _ := strings.Cut(registry, "/")
	if !registryHost.MatchString(host) || !HasRegistry(host+"/x") {
		return fmt.Errorf("default registry %q is not a registry host such as registry.example.com or registry:5000", registry)
	}
	if _, err := name.NewRepository(strings.TrimSuffix(registry, "/")+"/x/x", name.StrictValidation); err != nil {
		return fmt.Errorf("default registry %q: %w", registry, err)
	}
	return nil
}

// qualifyImages gives the record's images without a registry host the default registry,
// or, without one, leaves them out with a note: the base image alone, the output image with
// its tag form and digest.
func qualifyImages(rec *Record, defaultRegistry string) {
	registry := strings.TrimSuffix(defaultRegistry, "/")
	qualified := func(ref string) string {
		if ref == "" || HasRegistry(ref) {
			return ref
		}
		return registry + "/" + ref
	}
	leftOut := func(what, ref string) {
		rec.Notes = append(rec.Notes, fmt.Sprintf("%s %s names no registry host; left out rather than sent as if it were on Docker Hub: name the registry it is on with --default-registry (the Tasks' default-registry param)", what, quote(ref)))
	}
	if base := rec.BaseImage; base != "" && !HasRegistry(base) {
		if registry == "" {
			leftOut("base image", base)
			rec.BaseImage = ""
		} else {
			rec.BaseImage = qualified(base)
		}
	}
	output := rec.OutputImage
	if output == "" {
		output = rec.OutputImageTag
	}
	if output == "" || (HasRegistry(output) && (rec.OutputImageTag == "" || HasRegistry(rec.OutputImageTag))) {
		return
	}
	if registry == "" {
		leftOut("output image", output)
		rec.OutputImage, rec.OutputImageTag, rec.OutputDigest = "", "", ""
		return
	}
	rec.OutputImage, rec.OutputImageTag = qualified(rec.OutputImage), qualified(rec.OutputImageTag)
}
