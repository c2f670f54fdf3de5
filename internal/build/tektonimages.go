package build

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// The Chains type hints (tektoncd/chains docs/config.md, "Type Hinting") for the images a
// run built: IMAGE_URL with IMAGE_DIGEST, any *IMAGE_URL with the *IMAGE_DIGEST of the same
// prefix, IMAGES, a comma- or newline-separated list of repo@digest references, and object
// results *ARTIFACT_OUTPUTS with the keys uri and digest.
const (
	imageURLSuffix        = "IMAGE_URL"
	imageDigestSuffix     = "IMAGE_DIGEST"
	imagesResult          = "IMAGES"
	artifactOutputsSuffix = "ARTIFACT_OUTPUTS"
)

// The results and params other image-building Tasks report their output in, beyond the
// Chains type hints (see the README, "Where the images come from in Tekton runs").
const (
	// sourceImagePrefix starts the results of Konflux source-build, SOURCE_IMAGE_URL and
	// SOURCE_IMAGE_DIGEST: they name the source image it pushed next to the built one.
	sourceImagePrefix = "SOURCE_"
	// imageRefResult is Konflux's repo:tag@sha256:... of the built image. source-build
	// writes it too, for its source image.
	imageRefResult = "IMAGE_REF"
	// kanikoDigestResult is the catalog kaniko Task's digest result up to version 0.5.
	kanikoDigestResult = "IMAGE-DIGEST"
	// appImageDigestResult is the catalog buildpacks Tasks' digest result, with the image
	// in the APP_IMAGE param (APP_IMAGE_URL from version 0.5).
	appImageDigestResult = "APP_IMAGE_DIGEST"
	// The digest a Shipwright BuildRun's TaskRun reports, and the param it pushed to.
	shipwrightDigestResult = "shp-image-digest"
	shipwrightImageParam   = "shp-output-image"
)

// The evidence of base images beyond result and param values of their own.
const (
	// baseImagesDigestsResult is Konflux buildah 0.1's (and s2i-* 0.1's) list of every
	// image the build pulled, one name:tag@digest a line, the last stage's base last.
	baseImagesDigestsResult = "BASE_IMAGES_DIGESTS"
	// noneTag is the tag buildah writes for an image pulled by digest.
	noneTag = ":<none>"
	// s2iBuilderImageEnv is the step env in which OpenShift Pipelines' s2i-* Tasks name
	// their builder image, the image the build starts from.
	s2iBuilderImageEnv = "S2I_BUILDER_IMAGE"
)

// imageRef is an image a build pushed.
type imageRef struct {
	// Image is repo@digest when the digest is known, else the reference as written.
	Image string
	// Tag is the reference with its tag, when it had one.
	Tag string
	// Digest is the manifest digest, "" when unknown.
	Digest string
}

// runImages are the images one run reports, and the manifests its IMAGES result lists.
type runImages struct {
	images    []imageRef
	notes     []string
	manifests []string // the digests of IMAGES' well-formed entries
}

// outputImage picks the output image from the runs' results in order: the first image with
// a digest, else the first without one. Notes are those of the runs read up to the pick.
//
// A digest may be an image index: current Konflux pipelines copy the IMAGE_URL and
// IMAGE_DIGEST of build-image-index to the PipelineRun's results, while the build TaskRun
// reports one platform's manifest. The index is the image users pull (and the one
// mirror-image copies whole), so it is the one sent: the run's own results come first, and a
// picked digest that another run lists among the manifests of its IMAGES gives way to the
// index that run reports. A note says when the digest sent is an index.
func outputImage(sources []runValues) (imageRef, []string) {
	runs := make([]runImages, len(sources))
	for i, src := range sources {
		runs[i].images, runs[i].notes = parseImageResults(src.results, src.params)
		if list, ok := lookup(src.results)[imagesResult]; ok {
			runs[i].manifests = manifestDigests(list)
		}
	}
	var (
		first imageRef
		notes []string
	)
	for i, src := range sources {
		for _, n := range runs[i].notes {
			notes = append(notes, src.from+": "+n)
		}
		for _, img := range runs[i].images {
			if img.Digest != "" {
				img, more := preferIndex(sources, runs, i, img)
				return img, append(notes, more...)
			}
			if first.Image == "" {
				first = img
			}
		}
	}
	return first, notes
}

// preferIndex returns the image index of which img, found in run i, is one manifest, when
// some run lists img's digest in its IMAGES and reports another digest as its own; and
// notes whether the image returned is an index.
func preferIndex(sources []runValues, runs []runImages, i int, img imageRef) (imageRef, []string) {
	var notes []string
	for j, r := range runs {
		if j == i || len(r.images) == 0 || !slices.Contains(r.manifests, img.Digest) {
			continue
		}
		index := r.images[0]
		if index.Digest == "" || slices.Contains(r.manifests, index.Digest) {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s reports %s, one of the manifests %s lists in result %s; its image index %s is sent instead",
			sources[i].from, img.Image, sources[j].from, imagesResult, index.Image))
		img = index
		break
	}
	for j, r := range runs {
		if len(r.manifests) == 0 || slices.Contains(r.manifests, img.Digest) || !reports(r.images, img.Digest) {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: digest %s is an image index: the run lists %d platform manifests in result %s",
			sources[j].from, img.Digest, len(r.manifests), imagesResult))
		break
	}
	return img, notes
}

// reports tells whether one of images has the digest.
func reports(images []imageRef, digest string) bool {
	for _, img := range images {
		if img.Digest == digest {
			return true
		}
	}
	return false
}

// lookup maps names to their values, trimmed of surrounding white space (Tasks write
// results with echo); the first of a name wins.
func lookup(values []namedValue) map[string]string {
	m := make(map[string]string, len(values))
	for _, v := range values {
		if _, ok := m[v.Name]; !ok {
			m[v.Name] = strings.TrimSpace(v.Value)
		}
	}
	return m
}

// parseImageResults reads the images one run's results (and params, for the repository of
// a bare digest) name, in order:
//
//   - IMAGE_URL with IMAGE_DIGEST; without IMAGE_URL, IMAGE_DIGEST in the repository of the
//     param IMAGE, or image (catalog s2i, jib-maven, docker-build, OpenShift Pipelines s2i);
//   - in result order: each other *IMAGE_URL with its *IMAGE_DIGEST, but SOURCE_IMAGE_URL
//     (Konflux source-build's source image, skipped with a note); APP_IMAGE_DIGEST without
//     APP_IMAGE_URL in the param APP_IMAGE (buildpacks); IMAGE-DIGEST in the param IMAGE
//     (kaniko up to 0.5); shp-image-digest in the param shp-output-image (Shipwright);
//     IMAGE_REF, repo:tag@digest (Konflux), unless the run reports SOURCE_ results, whose
//     image it then names; *ARTIFACT_OUTPUTS objects with uri and digest (or sha256);
//   - the first well-formed entry of IMAGES.
//
// A URL may carry a tag, which is kept in Tag, and even a digest, which the digest result
// overrides. Values are trimmed of surrounding white space. Values that are not image
// references or digests are skipped with a note saying why; a URL whose digest is
// malformed still counts, without a digest.
func parseImageResults(results, params []namedValue) (images []imageRef, notes []string) {
	res, par := lookup(results), lookup(params)
	add := func(img imageRef, note string) {
		if note != "" {
			notes = append(notes, clip(note))
		}
		if img.Image != "" {
			images = append(images, img)
		}
	}
	if url, ok := res[imageURLSuffix]; ok {
		add(imageFromPair("result "+imageURLSuffix, url, "result "+imageDigestSuffix, res[imageDigestSuffix]))
	} else if digest, ok := res[imageDigestSuffix]; ok {
		add(digestImage(par, imageDigestSuffix, digest, "IMAGE", "image"))
	}
	_, sourceBuild := res[sourceImagePrefix+imageURLSuffix]
	if _, ok := res[sourceImagePrefix+imageDigestSuffix]; ok {
		sourceBuild = true
	}
	sourceNoted := false
	seen := map[string]bool{imageURLSuffix: true, imageDigestSuffix: true}
	for _, r := range results {
		if seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		value := res[r.Name]
		switch prefix, isURL := strings.CutSuffix(r.Name, imageURLSuffix); {
		case r.Name == sourceImagePrefix+imageURLSuffix || r.Name == sourceImagePrefix+imageDigestSuffix:
			if !sourceNoted {
				sourceNoted = true
				notes = append(notes, "results SOURCE_IMAGE_URL and SOURCE_IMAGE_DIGEST name the source image of a source build, not the built image: skipped")
			}
		case isURL:
			add(imageFromPair("result "+r.Name, value, "result "+prefix+imageDigestSuffix, res[prefix+imageDigestSuffix]))
		case r.Name == appImageDigestResult:
			if _, ok := res["APP_"+imageURLSuffix]; !ok {
				add(digestImage(par, r.Name, value, "APP_IMAGE"))
			}
		case r.Name == kanikoDigestResult:
			add(digestImage(par, r.Name, value, "IMAGE"))
		case r.Name == shipwrightDigestResult:
			add(digestImage(par, r.Name, value, shipwrightImageParam))
		case r.Name == imageRefResult && sourceBuild:
			notes = append(notes, clip(fmt.Sprintf("result %s %s names the source image of a source build (the run reports SOURCE_IMAGE_ results), not the built image: skipped", imageRefResult, quote(value))))
		case r.Name == imageRefResult:
			add(imageFromPair("result "+r.Name, value, "", ""))
		case strings.HasSuffix(r.Name, artifactOutputsSuffix):
			add(artifactImage(r.Name, value))
		}
	}
	if list, ok := res[imagesResult]; ok {
		img, skipped := firstImage(list)
		for _, n := range skipped {
			notes = append(notes, clip(n))
		}
		if img.Image != "" {
			images = append(images, img)
		}
	}
	return images, notes
}

// digestImage reads a digest result that comes without a URL result: the digest in the
// repository of the first of the params named that is set.
func digestImage(par map[string]string, digestName, digest string, paramNames ...string) (imageRef, string) {
	if digest == "" {
		return imageRef{}, "result " + digestName + " is empty"
	}
	for _, p := range paramNames {
		if image := par[p]; image != "" {
			return imageFromPair("param "+p, image, "result "+digestName, digest)
		}
	}
	return imageRef{}, fmt.Sprintf("result %s %s names no repository: the run has no param %s", digestName, quote(digest), strings.Join(paramNames, " or "))
}

// imageFromPair reads an image reference (a result such as IMAGE_URL, or a param such as
// IMAGE) and the digest result that goes with it; urlName and digestName say which, for
// notes ("result IMAGE_URL"). An empty digestName means the reference stands alone.
func imageFromPair(urlName, url, digestName, digest string) (imageRef, string) {
	url, digest = strings.TrimSpace(url), strings.TrimSpace(digest)
	if url == "" {
		return imageRef{}, urlName + " is empty"
	}
	base, urlDigest, hasAt := strings.Cut(url, "@")
	if _, err := name.NewTag(base); err != nil || hasAt && urlDigest == "" {
		return imageRef{}, fmt.Sprintf("%s %s is not an image reference: %v", urlName, quote(url), badName(err))
	}
	img := imageRef{Image: base}
	if hasTag(base) {
		img.Tag = base
	}
	repo := repository(base)
	var note string
	switch {
	case digest != "":
		if _, err := name.NewDigest(repo + "@" + digest); err != nil {
			return img, fmt.Sprintf("%s %s is not a digest: %v", digestName, quote(digest), err)
		}
	case urlDigest != "":
		digest = urlDigest
		if _, err := name.NewDigest(repo + "@" + digest); err != nil {
			return img, fmt.Sprintf("%s %s has a malformed digest: %v", urlName, quote(url), err)
		}
	default:
		return img, ""
	}
	if urlDigest != "" && urlDigest != digest {
		note = fmt.Sprintf("%s %s has another digest than %s; %s used", urlName, quote(url), digestName, digestName)
	}
	img.Image, img.Digest = repo+"@"+digest, digest
	return img, note
}

// artifactImage reads a Chains structured result *ARTIFACT_OUTPUTS: an object with uri and
// digest ("sha256:..."), or uri and sha256 (the hex alone). Artifacts are not all images:
// a uri must name a registry host to count, and one marked isBuildArtifact "false" does not.
func artifactImage(resultName, value string) (imageRef, string) {
	var obj map[string]string
	if err := json.Unmarshal([]byte(value), &obj); err != nil {
		return imageRef{}, fmt.Sprintf("result %s %s is not an object with uri and digest", resultName, quote(value))
	}
	uri, digest := strings.TrimSpace(obj["uri"]), strings.TrimSpace(obj["digest"])
	if hex := strings.TrimSpace(obj["sha256"]); digest == "" && hex != "" {
		digest = "sha256:" + hex
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(obj["isBuildArtifact"]), "false"):
		return imageRef{}, fmt.Sprintf("result %s marks uri %s as no build artifact (isBuildArtifact false): skipped", resultName, quote(uri))
	case uri == "":
		return imageRef{}, "result " + resultName + " has no uri"
	case !HasRegistry(uri):
		return imageRef{}, fmt.Sprintf("result %s uri %s names no registry host, so it is not taken for an image", resultName, quote(uri))
	}
	return imageFromPair("result "+resultName+" uri", uri, "result "+resultName+" digest", digest)
}

// firstImage returns the first well-formed repo@digest entry of an IMAGES result, noting
// the malformed ones before it.
func firstImage(list string) (imageRef, []string) {
	var notes []string
	empty := true
	for _, entry := range imagesEntries(list) {
		empty = false
		base, digest, ok := strings.Cut(entry, "@")
		if !ok {
			notes = append(notes, fmt.Sprintf("result %s entry %s has no digest", imagesResult, quote(entry)))
			continue
		}
		if _, err := name.NewDigest(entry); err != nil {
			notes = append(notes, fmt.Sprintf("result %s entry %s is not repo@digest: %v", imagesResult, quote(entry), err))
			continue
		}
		img := imageRef{Image: repository(base) + "@" + digest, Digest: digest}
		if hasTag(base) {
			img.Tag = base
		}
		return img, notes
	}
	if empty {
		notes = append(notes, "result "+imagesResult+" is empty")
	}
	return imageRef{}, notes
}

// imagesEntries splits an IMAGES result into its non-empty entries.
func imagesEntries(list string) []string {
	var out []string
	for _, entry := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '\n' }) {
		if entry = strings.TrimSpace(entry); entry != "" {
			out = append(out, entry)
		}
	}
	return out
}

// manifestDigests are the digests of an IMAGES result's well-formed entries.
func manifestDigests(list string) []string {
	var out []string
	for _, entry := range imagesEntries(list) {
		if d, err := name.NewDigest(entry); err == nil {
			out = append(out, d.DigestStr())
		}
	}
	return out
}

// baseImage is the first result, then the first param, named by names: the run's before its
// TaskRuns', and names in order within each run. Results come first because they are what
// the build reports having used (often with a digest); params are what it was asked to use.
// A BASE_IMAGES_DIGESTS value is a list, read by baseImagesDigests. A param whose value is
// an image some step ran is a tool (the catalog buildah Task's BUILDER_IMAGE is buildah
// itself) and is passed over. When no value names a base, and names is not empty, the
// TaskRuns' steps may: see stepBaseImage.
func baseImage(sources []runValues, names []string) (string, []string) {
	var notes []string
	tools := map[string]bool{}
	for _, src := range sources {
		for _, image := range src.toolImages {
			tools[image] = true
		}
	}
	pick := func(kind string, values func(runValues) []namedValue) string {
		for _, src := range sources {
			vals := values(src)
			for _, n := range names {
				for _, v := range vals {
					if v.Name != n {
						continue
					}
					image := strings.TrimSpace(v.Value)
					switch {
					case image == "":
						continue
					case n == baseImagesDigestsResult:
						base, skipped := baseImagesDigests(image)
						for _, s := range skipped {
							notes = append(notes, clip(fmt.Sprintf("%s: %s %s %s", src.from, kind, n, s)))
						}
						if base != "" {
							return base
						}
						continue
					case kind == "param" && tools[image]:
						notes = append(notes, clip(fmt.Sprintf("%s: param %s %s is the image of a step, not a base image", src.from, n, quote(image))))
						continue
					}
					if _, err := name.ParseReference(image); err != nil {
						notes = append(notes, clip(fmt.Sprintf("%s: %s %s %s is not an image reference: %v", src.from, kind, n, quote(image), err)))
						continue
					}
					return image
				}
			}
		}
		return ""
	}
	if image := pick("result", func(v runValues) []namedValue { return v.results }); image != "" {
		return image, notes
	}
	if image := pick("param", func(v runValues) []namedValue { return v.params }); image != "" || len(names) == 0 {
		return image, notes
	}
	for _, src := range sources {
		image, more := stepBaseImage(src)
		notes = append(notes, more...)
		if image != "" {
			return image, notes
		}
	}
	return "", notes
}

// baseImagesDigests reads a BASE_IMAGES_DIGESTS result: one name:tag@digest a line of every
// image buildah pulled, builder stages first and the last stage's base last. The base is the
// last well-formed line, as repo@digest; a tag <none> (an image pulled by digest) is
// dropped. Malformed lines are skipped with a note each.
func baseImagesDigests(value string) (string, []string) {
	var (
		base  string
		notes []string
	)
	for i, line := range strings.Split(value, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		ref, digest, ok := strings.Cut(line, "@")
		if !ok {
			notes = append(notes, fmt.Sprintf("line %d %s has no digest: skipped", i+1, quote(line)))
			continue
		}
		ref = strings.TrimSuffix(ref, noneTag)
		// go-containerregistry's parser takes a registry of any characters (":<none>:/x"
		// parses); no reference holds angle brackets, so a <none> left in the name is junk.
		if strings.ContainsAny(ref, "<>") {
			notes = append(notes, clip(fmt.Sprintf("line %d %s is not name:tag@digest: a <...> inside the name", i+1, quote(line))))
			continue
		}
		if _, err := name.NewDigest(ref + "@" + digest); err != nil {
			notes = append(notes, clip(fmt.Sprintf("line %d %s is not name:tag@digest: %v", i+1, quote(line), err)))
			continue
		}
		base = repository(ref) + "@" + digest
	}
	return base, notes
}

// stepBaseImage reads the base image a TaskRun's steps name when no result or param does:
// the env S2I_BUILDER_IMAGE of a step (OpenShift Pipelines' s2i-* Tasks), else the image
// argument of an "s2i build <context> <image>" command in a step's script or command and
// args (the older s2i ClusterTasks). Params and the step's env vars are substituted. What it
// finds comes with a note saying where it came from.
func stepBaseImage(src runValues) (string, []string) {
	spec := src.taskSpec
	if spec == nil {
		return "", nil
	}
	params := lookup(src.params)
	var notes []string
	check := func(image, where string) string {
		resolved, ok := substituteParams(image, params)
		if !ok {
			notes = append(notes, clip(fmt.Sprintf("%s: %s %s refers to a param the run does not set: skipped", src.from, where, quote(image))))
			return ""
		}
		if _, err := name.ParseReference(resolved); err != nil {
			notes = append(notes, clip(fmt.Sprintf("%s: %s %s is not an image reference: %v", src.from, where, quote(resolved), err)))
			return ""
		}
		notes = append(notes, clip(fmt.Sprintf("%s: base image %s read from %s (no result or param names one)", src.from, resolved, where)))
		return resolved
	}
	for _, s := range spec.Steps {
		for _, e := range s.Env {
			if e.Name == s2iBuilderImageEnv && strings.TrimSpace(e.Value) != "" {
				if image := check(strings.TrimSpace(e.Value), "env "+e.Name+" of step "+s.Name); image != "" {
					return image, notes
				}
			}
		}
	}
	for _, s := range spec.Steps {
		env := map[string]string{}
		if spec.StepTemplate != nil {
			for _, e := range spec.StepTemplate.Env {
				env[e.Name] = e.Value
			}
		}
		for _, e := range s.Env {
			env[e.Name] = e.Value
		}
		for _, cmd := range [][]string{shellWords(s.Script), append(append([]string{}, s.Command...), s.Args...)} {
			arg, why := s2iBuildImage(cmd)
			where := "the s2i build command of step " + s.Name
			switch {
			case why != "":
				notes = append(notes, clip(fmt.Sprintf("%s: %s: %s", src.from, where, why)))
				continue
			case arg == "":
				continue
			}
			if v, ok := shellVar(arg); ok {
				value, set := env[v]
				if !set {
					notes = append(notes, clip(fmt.Sprintf("%s: %s names its image by %s, which is no env var of the step: skipped", src.from, where, quote(arg))))
					continue
				}
				arg = value
			}
			if image := check(arg, where); image != "" {
				return image, notes
			}
		}
	}
	return "", notes
}

// s2iBuildImage finds "s2i [flags] build <context> <image>" in a command's words and returns
// the image word, "" when there is no such command; why says when there is one whose
// arguments cannot be told from its flags (a flag without "=" before the image).
func s2iBuildImage(words []string) (image, why string) {
	for i := 0; i < len(words); i++ {
		if w := words[i]; w != "s2i" && !strings.HasSuffix(w, "/s2i") {
			continue
		}
		j := i + 1
		for j < len(words) && strings.HasPrefix(words[j], "-") && strings.Contains(words[j], "=") {
			j++
		}
		if j >= len(words) || words[j] != "build" {
			continue
		}
		var args []string
		for _, w := range words[j+1:] {
			if w == "&&" || w == ";" || w == "|" || w == "||" {
				break
			}
			if strings.HasPrefix(w, "-") {
				if strings.Contains(w, "=") {
					continue
				}
				if len(args) < 2 {
					return "", "flag " + quote(w) + " comes before its image argument, which cannot be told from the flag's value"
				}
				break
			}
			if args = append(args, w); len(args) == 2 {
				return args[1], ""
			}
		}
		return "", "it has no image argument"
	}
	return "", ""
}

// shellWords splits a script into words: lines continued by a backslash are joined,
// comments dropped, quotes around a word removed, and ";" "&&" "|" "||" kept as words of
// their own at the end of a word. It reads commands, it is no shell.
func shellWords(script string) []string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var words []string
	for _, line := range strings.Split(script, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, w := range strings.Fields(line) {
			var end string
			for _, sep := range []string{"&&", "||", ";", "|"} {
				if len(w) > len(sep) && strings.HasSuffix(w, sep) {
					w, end = strings.TrimSuffix(w, sep), sep
					break
				}
			}
			if len(w) >= 2 && (w[0] == '"' || w[0] == '\'') && w[len(w)-1] == w[0] {
				w = w[1 : len(w)-1]
			}
			words = append(words, w)
			if end != "" {
				words = append(words, end)
			}
		}
		words = append(words, ";")
	}
	return words
}

// envName matches the name of a shell variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shellVar returns NAME when word is $NAME or ${NAME}.
func shellVar(word string) (string, bool) {
	v, ok := strings.CutPrefix(word, "$")
	if !ok {
		return "", false
	}
	if inner, braced := strings.CutPrefix(v, "{"); braced {
		if v, ok = strings.CutSuffix(inner, "}"); !ok {
			return "", false
		}
	}
	return v, envName.MatchString(v)
}

// substituteParams replaces the param references in s by the values; ok is false when one
// names a param without a value.
func substituteParams(s string, values map[string]string) (string, bool) {
	ok := true
	out := paramRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := paramRef.FindStringSubmatch(ref)
		v, set := values[m[1]+m[2]]
		if !set || v == "" {
			ok = false
		}
		return v
	})
	return strings.TrimSpace(out), ok
}

// hasTag reports whether a reference without digest names a tag.
func hasTag(ref string) bool {
	i := strings.LastIndex(ref, ":")
	return i > strings.LastIndex(ref, "/")
}

// badName describes why a reference was refused.
func badName(err error) string {
	if err == nil {
		return "empty digest after @"
	}
	return err.Error()
}
