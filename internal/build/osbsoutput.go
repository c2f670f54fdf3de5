package build

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// OSBS (atomic-reactor's store_metadata plugin) records what a Custom build pushed in
// annotations, as JSON inside strings, while status.output stays empty:
//
//   - digests: [{"registry", "repository", "tag", "digest", "version"}, ...], one entry per
//     registry and tag pushed; version is v1, v2, v2_list, oci or oci_index (older builds
//     have none);
//   - worker-builds (orchestrator builds): {"<arch>": {"digests": [same entries], ...}}, the
//     per-platform manifests of the worker builds.
const (
	digestsAnnotation      = "digests"
	workerBuildsAnnotation = "worker-builds"
)

// osbsPushed is an entry of the digests annotation.
type osbsPushed struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Version    string `json:"version"`
}

// versionRank orders the manifests an entry may name: the index (what users pull and the
// registry serves for the tag) before a single platform's manifest, schema 1 last.
var versionRank = map[string]int{"v2_list": 0, "oci_index": 0, "oci": 1, "v2": 1, "": 2, "v1": 3}

// osbsOutput is the output image of an OSBS build from its annotations: registry/repository
// @digest of the entry for the tag of outputDockerImageReference (else the first entry),
// preferring an index; from worker-builds (a per-platform manifest, x86_64 first, with a
// note) when the digests annotation has none. ok is false when neither names one; notes say
// what could not be read.
func osbsOutput(annotations map[string]string, outputRef string) (img imageRef, notes []string, ok bool) {
	if doc, found := annotations[digestsAnnotation]; found {
		var entries []osbsPushed
		if err := json.Unmarshal([]byte(doc), &entries); err != nil {
			notes = append(notes, clip(fmt.Sprintf("annotation %s %s: not a JSON list of pushed images: %v", digestsAnnotation, quote(doc), err)))
		} else if img, why := pickPushed(entries, outputRef); img.Image != "" {
			return img, append(notes, why...), true
		} else {
			notes = append(notes, why...)
		}
	}
	doc, found := annotations[workerBuildsAnnotation]
	if !found {
		return imageRef{}, notes, false
	}
	var workers map[string]struct {
		Digests []osbsPushed `json:"digests"`
	}
	if err := json.Unmarshal([]byte(doc), &workers); err != nil {
		return imageRef{}, append(notes, clip(fmt.Sprintf("annotation %s: not a JSON object of worker builds: %v", workerBuildsAnnotation, err))), false
	}
	arches := make([]string, 0, len(workers))
	for arch := range workers {
		arches = append(arches, arch)
	}
	sort.Slice(arches, func(i, j int) bool {
		if (arches[i] == "x86_64") != (arches[j] == "x86_64") {
			return arches[i] == "x86_64"
		}
		return arches[i] < arches[j]
	})
	for _, arch := range arches {
		if img, why := pickPushed(workers[arch].Digests, outputRef); img.Image != "" {
			notes = append(notes, why...)
			return img, append(notes, clip(fmt.Sprintf("annotation %s: the output's %s manifest, of worker build %s; the digest of its manifest list is not recorded", workerBuildsAnnotation, arch, arch))), true
		}
	}
	return imageRef{}, notes, false
}

// pickPushed chooses among pushed entries: those of outputRef's repository and tag when
// any match, the index before single manifests, in order.
func pickPushed(entries []osbsPushed, outputRef string) (imageRef, []string) {
	var notes []string
	var valid []osbsPushed
	for _, e := range entries {
		if e.Registry == "" || e.Repository == "" || e.Digest == "" {
			continue
		}
		if _, err := name.NewDigest(e.Registry+"/"+e.Repository+"@"+e.Digest, name.StrictValidation); err != nil {
			notes = append(notes, clip(fmt.Sprintf("annotation %s: entry %s skipped: %v", digestsAnnotation, quote(e.Registry+"/"+e.Repository+"@"+e.Digest), err)))
			continue
		}
		valid = append(valid, e)
	}
	if len(valid) == 0 {
		return imageRef{}, notes
	}
	repo, tag := repository(outputRef), strings.TrimPrefix(strings.TrimPrefix(outputRef, repository(outputRef)), ":")
	matches := func(e osbsPushed) bool {
		return strings.HasSuffix(repo, e.Repository) && (tag == "" || e.Tag == tag)
	}
	sort.SliceStable(valid, func(i, j int) bool {
		if mi, mj := matches(valid[i]), matches(valid[j]); mi != mj {
			return mi
		}
		return versionRank[valid[i].Version] < versionRank[valid[j].Version]
	})
	e := valid[0]
	repoRef := e.Registry + "/" + e.Repository
	img := imageRef{Image: repoRef + "@" + e.Digest, Digest: e.Digest}
	if e.Tag != "" {
		img.Tag = repoRef + ":" + e.Tag
	}
	return img, notes
}
