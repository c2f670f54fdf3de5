package release

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
)

const (
	module = "github.com/thoth-station/build-watcher"
	// testVersion is the version the test releases: a prerelease, as a release job's
	// rehearsal would use.
	testVersion = "9.9.9-test"
	// nonRootUser is the user of the test's base image, as in distroless's nonroot images.
	nonRootUser = "65532"
)

// required are the resources the DESIGN names; the sources may hold more.
var required = []string{
	"task/collect-build",
	"task/mirror-image",
	"task/submit-thoth",
	"pipeline/thoth-build-analysis",
}

// TestRelease runs hack/release.sh against a registry on loopback, as make release runs it
// against the project's registry, and checks what a user of the catalog gets: every file
// of every resource, each Task and Pipeline with its version label and its images pinned by
// digest in that registry, and each image holding the binary its step runs, stamped with
// the version.
func TestRelease(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	ko := koBinary(t)
	reg := registrytest.StartInProcess(t)
	base := pushBaseImage(t, reg)
	repo := reg.Ref("build-watcher")
	out := filepath.Join(t.TempDir(), "catalog")
	releaseDir := filepath.Join(t.TempDir(), "dist")

	// An earlier release's Argo template, which this one must leave alone.
	earlier := map[string][]byte{
		"argo/thoth-build-analysis/9.9.8/manifests.yaml":      []byte("# 9.9.8's template\n"),
		"argo/thoth-build-analysis/9.9.8/artifacthub-pkg.yml": []byte("version: 9.9.8\n"),
	}
	for rel, data := range earlier {
		path := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	stdout, stderr, err := runScript(t, root, map[string]string{
		"KO":                  ko,
		"KO_DOCKER_REPO":      repo,
		"KO_DEFAULTBASEIMAGE": base,
		"PLATFORMS":           "linux/amd64",
		"CATALOG_DIR":         out,
		"RELEASE_DIR":         releaseDir,
		"CHANGELOG":           writeChangelog(t, testChangelog),
		"MAINTAINERS":         writeFile(t, "maintainers.yml", testMaintainers),
	}, testVersion)
	if err != nil {
		t.Fatalf("hack/release.sh %s: %v\nstdout:\n%s\nstderr (end):\n%s", testVersion, err, stdout, lastBytes(stderr, 8<<10))
	}
	t.Logf("hack/release.sh %s built, pushed and wrote the catalog in %s", testVersion, time.Since(began).Round(100*time.Millisecond))

	resources := sourceResources(t, root)
	imageRE := regexp.MustCompile(`^` + regexp.QuoteMeta(repo) + `/([a-z0-9-]+):` + regexp.QuoteMeta("v"+testVersion) + `@(sha256:[0-9a-f]{64})$`)
	images := map[string]string{}  // binary -> image, for every image of the catalog
	steps := map[string][]string{} // binary -> the resources whose steps run it

	for _, r := range resources {
		kind, resName, _ := strings.Cut(r, "/")
		manifest := filepath.Join(out, kind, resName, resName+".yaml")
		var doc struct {
			Metadata struct {
				Name        string            `json:"name"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		data := readFile(t, manifest)
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s/%s.yaml: %v", r, resName, err)
		}
		if doc.Metadata.Name != resName {
			t.Errorf("%s/%s.yaml: metadata.name is %q, want %q", r, resName, doc.Metadata.Name, resName)
		}
		if got := doc.Metadata.Labels["app.kubernetes.io/version"]; got != testVersion {
			t.Errorf("%s/%s.yaml: label app.kubernetes.io/version is %q, want %q", r, resName, got, testVersion)
		}
		// The changelog's section of the release (9.9.9 for the prerelease 9.9.9-test), as
		// Artifact Hub parses artifacthub.io/changes.
		var changes []struct{ Kind, Description string }
		if err := yaml.UnmarshalStrict([]byte(doc.Metadata.Annotations["artifacthub.io/changes"]), &changes); err != nil {
			t.Errorf("%s/%s.yaml: artifacthub.io/changes: %v", r, resName, err)
		}
		wantChanges := []struct{ Kind, Description string }{{"added", "a Task's new param: it's 'quoted'"}, {"fixed", "a #hash and a: colon"}}
		if !reflect.DeepEqual(changes, wantChanges) {
			t.Errorf("%s/%s.yaml: artifacthub.io/changes is %+v, want %+v", r, resName, changes, wantChanges)
		}
		var tree any
		if err := yaml.Unmarshal(data, &tree); err != nil {
			t.Fatalf("%s/%s.yaml: %v", r, resName, err)
		}
		for _, c := range containers(tree) {
			m := imageRE.FindStringSubmatch(c.image)
			if m == nil {
				t.Errorf("%s/%s.yaml: image %q is not %s/<binary>:v%s@sha256:<digest>", r, resName, c.image, repo, testVersion)
				continue
			}
			// Artifact Hub drops a version whose images do not parse as references.
			if _, err := name.NewDigest(c.image, name.StrictValidation); err != nil {
				t.Errorf("%s/%s.yaml: image %q does not parse as a digest reference: %v", r, resName, c.image, err)
			}
			bin := m[1]
			if prev, ok := images[bin]; ok && prev != c.image {
				t.Errorf("%s/%s.yaml: %s is %s here and %s elsewhere", r, resName, bin, c.image, prev)
			}
			images[bin] = c.image
			if len(c.command) > 0 && c.command[0] != "/ko-app/"+bin {
				t.Errorf("%s/%s.yaml: the step with image %s runs %s, not /ko-app/%s", r, resName, bin, c.command[0], bin)
			}
			steps[bin] = append(steps[bin], r)
		}
	}
	if len(images) == 0 {
		t.Fatalf("the catalog in %s holds no images", out)
	}
	// Other files (the stand-ins of tests/) may name images of this module too.
	anyImageRE := regexp.MustCompile(regexp.QuoteMeta(repo) + `/([a-z0-9-]+):` + regexp.QuoteMeta("v"+testVersion) + `@sha256:[0-9a-f]{64}`)
	pinning := map[string]bool{} // "<kind>/<rel>" of the files that name our images
	for _, kind := range []string{"task", "pipeline"} {
		for rel, data := range listFiles(t, filepath.Join(out, kind)) {
			for _, m := range anyImageRE.FindAllSubmatch(data, -1) {
				pinning[kind+"/"+rel] = true
				bin, image := string(m[1]), string(m[0])
				if prev, ok := images[bin]; ok && prev != image {
					t.Errorf("%s/%s: %s is %s here and %s elsewhere", kind, rel, bin, image, prev)
				}
				images[bin] = image
			}
		}
	}

	// Every file of every resource is there, unchanged but for the images and the label.
	for _, r := range resources {
		kind, resName, _ := strings.Cut(r, "/")
		src := listFiles(t, filepath.Join(root, "tasks", kind, resName))
		got := listFiles(t, filepath.Join(out, kind, resName))
		if !slices.Equal(slices.Sorted(maps.Keys(src)), slices.Sorted(maps.Keys(got))) {
			t.Errorf("%s: the catalog holds %v, the source %v", r, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(src)))
			continue
		}
		for rel, srcData := range src {
			want := srcData
			if strings.HasSuffix(rel, ".yaml") || strings.HasSuffix(rel, ".yml") {
				want = released(t, srcData, images, rel == resName+".yaml")
			}
			if !bytes.Equal(got[rel], want) {
				t.Errorf("%s/%s differs from its source beyond the images and the version label:\n%s", r, rel, firstDifference(got[rel], want))
			}
		}
	}
	for _, kind := range []string{"task", "pipeline"} {
		got := readFile(t, filepath.Join(out, kind, "artifacthub-repo.yml"))
		if want := readFile(t, filepath.Join(root, "hack", "release", "artifacthub-repo-"+kind+".yml")); !bytes.Equal(got, want) {
			t.Errorf("%s/artifacthub-repo.yml is not hack/release/artifacthub-repo-%s.yml", kind, kind)
		}
		// The files that pin images are the ones the main branch leaves out.
		ignored := gitignored(t, filepath.Join(out, kind))
		for key := range pinning {
			if k, rel, _ := strings.Cut(key, "/"); k == kind && !ignored[rel] {
				t.Errorf("%s/.gitignore does not name %s, which pins images", kind, rel)
			}
		}
		for rel := range ignored {
			if _, err := os.Stat(filepath.Join(out, kind, rel)); err != nil {
				t.Errorf("%s/.gitignore names %s: %v", kind, rel, err)
			}
		}
	}
	if err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if bytes.Contains(readFile(t, path), []byte("ko://")) {
			t.Errorf("%s holds a ko:// reference", path)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	checkArgoRelease(t, root, out, images, earlier)
	checkReleaseYAML(t, root, readFile(t, filepath.Join(releaseDir, "release.yaml")), imageRE, images, steps)

	// The printed list is the images written, by package path.
	var want []string
	for path, bin := range sourcePackages(t, root) {
		want = append(want, path+" "+images[bin])
	}
	slices.Sort(want)
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); !slices.Equal(got, want) {
		t.Errorf("hack/release.sh printed\n%s\nwant\n%s", stdout, strings.Join(want, "\n"))
	}

	for _, bin := range slices.Sorted(maps.Keys(images)) {
		t.Run(bin, func(t *testing.T) {
			checkImage(t, reg, images[bin], bin, steps[bin])
		})
	}
}

// checkImage pulls image from reg and checks it is what the catalog expects: the tag
// points at the same digest, the base's non-root user is kept, and /ko-app/<bin> is the
// binary; one that a Task's step runs (usedBy) prints the released version.
func checkImage(t *testing.T, reg *registrytest.Registry, image, bin string, usedBy []string) {
	opts := []remote.Option{remote.WithContext(t.Context()), remote.WithTransport(reg.Transport(t))}
	ref, err := name.NewDigest(image)
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := name.NewTag(ref.Context().String() + ":v" + testVersion)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(tagged, opts...)
	if err != nil {
		t.Fatalf("tag %s: %v", tagged, err)
	}
	if desc.Digest.String() != ref.DigestStr() {
		t.Errorf("tag %s points at %s, the catalog at %s", tagged, desc.Digest, ref.DigestStr())
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		t.Fatalf("pulling %s: %v", image, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("%s: config: %v", image, err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("%s is for %s/%s, want linux/amd64", image, cf.OS, cf.Architecture)
	}
	if cf.Config.User != nonRootUser {
		t.Errorf("%s runs as user %q, want the base image's %q", image, cf.Config.User, nonRootUser)
	}
	for key, want := range map[string]string{
		"org.opencontainers.image.source":  "https://" + module,
		"org.opencontainers.image.version": "v" + testVersion,
	} {
		if got := cf.Config.Labels[key]; got != want {
			t.Errorf("%s: label %s is %q, want %q", image, key, got, want)
		}
	}
	if want := []string{"/ko-app/" + bin}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("%s: entrypoint %q, want %q", image, cf.Config.Entrypoint, want)
	}

	exe := filepath.Join(t.TempDir(), bin)
	if err := extractFile(img, "ko-app/"+bin, exe); err != nil {
		t.Fatalf("%s: %v", image, err)
	}
	if len(usedBy) == 0 {
		return // a test's stand-in, not a step
	}
	out, err := exec.CommandContext(t.Context(), exe, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("/ko-app/%s --version from %s: %v\n%s", bin, image, err, out)
	}
	if want := bin + " version v" + testVersion + "\n"; string(out) != want {
		t.Errorf("/ko-app/%s --version printed %q, want %q, for %v (ko.yaml's builds stamp VERSION into internal/version)", bin, out, want, usedBy)
	}
}

// extractFile writes the file at path (without the leading slash) of img's flattened
// filesystem to dst, executable.
func extractFile(img v1.Image, path, dst string) error {
	rc := mutate.Extract(img)
	defer func() { _ = rc.Close() }()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("the image has no /%s", path)
		}
		if err != nil {
			return fmt.Errorf("reading the image's layers: %w", err)
		}
		if strings.TrimPrefix(h.Name, "/") != path {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("/%s is not a regular file (type %q)", path, h.Typeflag)
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			_ = f.Close()
			return fmt.Errorf("extracting /%s: %w", path, err)
		}
		return f.Close()
	}
}

// TestCatalogUpToDate checks that the committed catalog/ is what make catalog writes from
// tasks/ and hack/release/: a change to a README, a sample or a test must reach it. The
// files that only make release writes (named by each kind's .gitignore) are left out.
func TestCatalogUpToDate(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	out := filepath.Join(t.TempDir(), "catalog")
	stdout, stderr, err := runScript(t, root, map[string]string{"CATALOG_DIR": out}, "--docs-only")
	if err != nil {
		t.Fatalf("hack/release.sh --docs-only: %v\n%s%s", err, stdout, stderr)
	}
	for _, kind := range []string{"task", "pipeline"} {
		committed := listFiles(t, filepath.Join(root, "catalog", kind))
		for rel := range gitignored(t, filepath.Join(out, kind)) {
			delete(committed, rel) // written by an earlier make release, if at all
		}
		want := listFiles(t, filepath.Join(out, kind))
		for _, rel := range slices.Sorted(maps.Keys(want)) {
			got, ok := committed[rel]
			switch {
			case !ok:
				t.Errorf("catalog/%s/%s is missing: run make catalog", kind, rel)
			case !bytes.Equal(got, want[rel]):
				t.Errorf("catalog/%s/%s is stale: run make catalog\n%s", kind, rel, firstDifference(got, want[rel]))
			}
		}
		for _, rel := range slices.Sorted(maps.Keys(committed)) {
			if _, ok := want[rel]; !ok {
				t.Errorf("catalog/%s/%s has no source in tasks/: run make catalog", kind, rel)
			}
		}
	}
	// catalog/argo: make catalog writes its artifacthub-repo.yml; the rest is the released
	// versions, which the main branch keeps, each as Artifact Hub reads it.
	if got, want := readFile(t, filepath.Join(root, "catalog", "argo", "artifacthub-repo.yml")), readFile(t, filepath.Join(out, "argo", "artifacthub-repo.yml")); !bytes.Equal(got, want) {
		t.Errorf("catalog/argo/artifacthub-repo.yml is stale: run make catalog\n%s", firstDifference(got, want))
	}
	for rel := range listFiles(t, filepath.Join(root, "catalog", "argo")) {
		pkg, rest, _ := strings.Cut(rel, "/")
		version, file, _ := strings.Cut(rest, "/")
		switch {
		case rel == "artifacthub-repo.yml":
		case file == "artifacthub-pkg.yml":
			checkArtifactHubPackage(t, filepath.Join(root, "catalog", "argo", rel), pkg, version)
		case file != "manifests.yaml" && file != "README.md":
			t.Errorf("catalog/argo/%s: a released version holds manifests.yaml, README.md and artifacthub-pkg.yml only", rel)
		}
	}
}

// TestReleaseBadInput checks that the script refuses bad versions and options with one
// line naming the fix, before it builds or writes anything.
func TestReleaseBadInput(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	tests := []struct {
		name string
		args []string
		want string
		// changelog, when set, is the CHANGELOG the script reads instead of the repository's.
		changelog string
		// maintainers, when set, is the MAINTAINERS file the script reads (with changelog).
		maintainers string
	}{
		{"no version", nil, "no version given: run make release VERSION=x.y.z", "", ""},
		{"two parts", []string{"1.2"}, "is not a semantic version", "", ""},
		{"leading zero", []string{"01.2.3"}, "is not a semantic version", "", ""},
		{"empty prerelease", []string{"1.2.3-"}, "is not a semantic version", "", ""},
		{"word", []string{"latest"}, "is not a semantic version", "", ""},
		{"double v", []string{"vv1.2.3"}, "is not a semantic version", "", ""},
		{"build metadata", []string{"v1.2.3+build.7"}, "has build metadata", "", ""},
		{"a Python-era version", []string{"0.8.1"}, "is below 0.9.0", "", ""},
		{"below the first release", []string{"v0.1.0-rc.1"}, "releases start at 0.9.0", "", ""},
		{"too long for a label", []string{"1.2.3-" + strings.Repeat("a", 60)}, "longer than 63 characters", "", ""},
		{"two versions", []string{"1.2.3", "1.2.4"}, "one version only", "", ""},
		{"docs-only with a version", []string{"--docs-only", "1.2.3"}, "--docs-only takes no version", "", ""},
		{"unknown option", []string{"--push"}, "unknown option --push", "", ""},
		{"no changelog section", []string{"9.9.8"}, `has no section "## 9.9.8" with entries`, "", ""},
		{"changelog entry without a kind", []string{"1.0.0"}, `"- made it faster" does not start with a kind`, "## 1.0.0\n\n- made it faster\n", ""},
		{"changelog entry of an unknown kind", []string{"1.0.0-rc.1"}, `"- improved: speed" does not start with a kind`, "## 1.0.0\n- improved: speed\n", ""},
		{"changelog entry without a description", []string{"1.0.0"}, `has no description after "fixed:"`, "## 1.0.0\n- fixed:\n", ""},
		{"maintainer without an email", []string{"1.0.0"}, `maintainer "Jane" has no email address`, "## 1.0.0\n- fixed: x\n", "- name: Jane\n"},
		{"maintainer with a bad email", []string{"1.0.0"}, `maintainer "Jane" has no email address ("jane at example")`, "## 1.0.0\n- fixed: x\n", "- name: Jane\n  email: jane at example\n"},
		{"maintainer without a name", []string{"1.0.0"}, `with the email "jane@example.com" has no name`, "## 1.0.0\n- fixed: x\n", "- email: jane@example.com\n"},
		{"maintainers not a list", []string{"1.0.0"}, `line 2: not "- name: <name>"`, "## 1.0.0\n- fixed: x\n", "# x\nname: Jane\nemail: jane@example.com\n"},
		{"maintainer with another key", []string{"1.0.0"}, `line 3: not "- name: <name>"`, "## 1.0.0\n- fixed: x\n", "- name: Jane\n  email: jane@example.com\n  url: https://example.com\n"},
		{"no maintainers", []string{"1.0.0"}, "lists no maintainer", "## 1.0.0\n- fixed: x\n", "# nobody\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "catalog")
			env := map[string]string{
				"CATALOG_DIR":    out,
				"KO":             "/nonexistent/ko", // nothing may be built
				"KO_DOCKER_REPO": "127.0.0.1:1/never",
			}
			if tt.changelog != "" {
				env["CHANGELOG"] = writeChangelog(t, tt.changelog)
			}
			if tt.maintainers != "" {
				env["MAINTAINERS"] = writeFile(t, "maintainers.yml", tt.maintainers)
			}
			_, stderr, err := runScript(t, root, env, tt.args...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("hack/release.sh %q: %v, want exit status 1; stderr:\n%s", tt.args, err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "release: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("hack/release.sh %q said\n%s\nwant one line release: ...%s...", tt.args, stderr, tt.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("hack/release.sh %q created %s (%v)", tt.args, out, err)
			}
		})
	}
}

// TestMakeReleaseNeedsVersion checks that make release does not take the Makefile's
// git-describe default as a release version.
func TestMakeReleaseNeedsVersion(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "release")
	cmd.Dir = root
	cmd.Env = scriptEnv(map[string]string{"CATALOG_DIR": filepath.Join(t.TempDir(), "catalog"), "KO": "/nonexistent/ko"})
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("make release without VERSION succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "release: no version given: run make release VERSION=x.y.z") {
		t.Errorf("make release without VERSION said\n%s\nwant release: no version given ...", out)
	}
}

// runScript runs hack/release.sh with args and the environment of the test plus env,
// without the variables of the release that the test does not set.
func runScript(t *testing.T, root string, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), filepath.Join(root, "hack", "release.sh"), args...)
	cmd.Dir = root
	cmd.Env = scriptEnv(env)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// scriptEnv is the test's environment without the variables that steer a release (and
// without VERSION, which make test exports), plus env.
func scriptEnv(env map[string]string) []string {
	drop := map[string]bool{
		"VERSION": true, "KO": true, "KO_DOCKER_REPO": true, "KO_DEFAULTBASEIMAGE": true,
		"PLATFORMS": true, "CATALOG_DIR": true, "TASKS_DIR": true, "CHANGELOG": true, "MAINTAINERS": true,
		"MAKEFLAGS": true, "MAKELEVEL": true, "MFLAGS": true,
	}
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// koBinary is the ko that make installs: $KO, else ko on PATH, else $(go env GOPATH)/bin/ko.
func koBinary(t *testing.T) string {
	t.Helper()
	if ko := os.Getenv("KO"); ko != "" {
		return ko
	}
	if ko, err := exec.LookPath("ko"); err == nil {
		return ko
	}
	out, err := exec.CommandContext(t.Context(), "go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env GOPATH: %v", err)
	}
	ko := filepath.Join(strings.TrimSpace(string(out)), "bin", "ko")
	if _, err := os.Stat(ko); err != nil {
		t.Fatalf("ko is not installed (%v): run make tools, or set KO", err)
	}
	return ko
}

// pushBaseImage pushes a scratch image for linux/amd64 that runs as the non-root user,
// the part of distroless's static:nonroot that ko and the Tasks rely on, and returns its
// reference by digest.
func pushBaseImage(t *testing.T, reg *registrytest.Registry) string {
	t.Helper()
	img, err := mutate.ConfigFile(
		mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON),
		&v1.ConfigFile{
			OS:           "linux",
			Architecture: "amd64",
			RootFS:       v1.RootFS{Type: "layers"},
			Config:       v1.Config{User: nonRootUser, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}},
		})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Ref("distroless/static:nonroot"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(t.Context()), remote.WithTransport(reg.Transport(t))); err != nil {
		t.Fatalf("pushing the base image: %v", err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return reg.Ref("distroless/static@" + d.String())
}

// sourceResources lists the "<kind>/<name>" directories of tasks/ and checks that the ones
// the DESIGN names are among them.
func sourceResources(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, kind := range []string{"task", "pipeline"} {
		entries, err := os.ReadDir(filepath.Join(root, "tasks", kind))
		if err != nil {
			t.Fatalf("reading tasks/%s: %v", kind, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				out = append(out, kind+"/"+e.Name())
			}
		}
	}
	for _, r := range required {
		if !slices.Contains(out, r) {
			t.Errorf("tasks/%s is missing: the DESIGN names it", r)
		}
	}
	return out
}

var versionLabelRE = regexp.MustCompile(`(?m)^(\s+app\.kubernetes\.io/version:).*$`)

var koRefRE = regexp.MustCompile(`ko://` + regexp.QuoteMeta(module) + `/([A-Za-z0-9._~/-]+)`)

// released is src as the release writes it: each ko:// reference replaced by its image
// and, in the resource's own manifest, the version label set.
func released(t *testing.T, src []byte, images map[string]string, manifest bool) []byte {
	t.Helper()
	out := koRefRE.ReplaceAllFunc(src, func(ref []byte) []byte {
		bin := filepath.Base(string(koRefRE.FindSubmatch(ref)[1]))
		image, ok := images[bin]
		if !ok {
			t.Errorf("the catalog holds no image for %s", ref)
		}
		return []byte(image)
	})
	if manifest {
		out = versionLabelRE.ReplaceAll(out, []byte(`$1 "`+testVersion+`"`))
		// The changes of testChangelog's section 9.9.9 and testMaintainers open
		// metadata.annotations.
		out = bytes.Replace(out, []byte("\n  annotations:\n"), []byte("\n  annotations:\n"+testChanges+testMaintainersAnnotation), 1)
	}
	return out
}

// testChanges is the artifacthub.io/changes annotation the script makes of testChangelog.
const testChanges = `    artifacthub.io/changes: |
      - kind: added
        description: 'a Task''s new param: it''s ''quoted'''
      - kind: fixed
        description: 'a #hash and a: colon'
`

// testMaintainers is the maintainers file TestRelease releases with: a quote in a name, a
// quoted value, the keys in either order, comments and blank lines.
const testMaintainers = `# who maintains the packages
- name: Jane O'Brien
  email: jane@example.com

- email: "team@example.org"
  name: 'The Team'
`

// testMaintainersAnnotation is the artifacthub.io/maintainers annotation the script makes of
// testMaintainers.
const testMaintainersAnnotation = `    artifacthub.io/maintainers: |
      - name: 'Jane O''Brien'
        email: 'jane@example.com'
      - name: 'The Team'
        email: 'team@example.org'
`

// wantMaintainers is testMaintainers as Artifact Hub reads it.
var wantMaintainers = []maintainer{{"Jane O'Brien", "jane@example.com"}, {"The Team", "team@example.org"}}

// maintainer is one entry of Artifact Hub's maintainers.
type maintainer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// TestMaintainersFile: the repository's hack/release/maintainers.yml, which every release
// puts on every package, lists maintainers as Artifact Hub needs them: a name and an email.
func TestMaintainersFile(t *testing.T) {
	var ms []maintainer
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(moduleRoot(t), "hack", "release", "maintainers.yml")), &ms); err != nil {
		t.Fatalf("hack/release/maintainers.yml: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("hack/release/maintainers.yml lists no maintainer")
	}
	for _, m := range ms {
		if m.Name == "" || !regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`).MatchString(m.Email) {
			t.Errorf("hack/release/maintainers.yml: %+v needs a name and an email address", m)
		}
	}
}

// sourcePackages maps the package path (after the module) of every ko:// reference in
// tasks/ to its binary's name.
func sourcePackages(t *testing.T, root string) map[string]string {
	t.Helper()
	pkgs := map[string]string{}
	for _, dir := range []string{"tasks", "config"} {
		for _, data := range listFiles(t, filepath.Join(root, dir)) {
			for _, m := range koRefRE.FindAllSubmatch(data, -1) {
				pkgs[string(m[1])] = filepath.Base(string(m[1]))
			}
		}
	}
	return pkgs
}

// gitignored reads the .gitignore that the script writes into a kind's directory: one
// "/<rel>" line per file that only make release writes.
func gitignored(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, line := range strings.Split(string(readFile(t, filepath.Join(dir, ".gitignore"))), "\n") {
		if rel, ok := strings.CutPrefix(line, "/"); ok {
			names[rel] = true
		}
	}
	return names
}

type container struct {
	image   string
	command []string
}

// containers finds every map with an image key in a decoded YAML tree: the steps,
// sidecars and step templates of Tasks and of Pipelines' embedded task specs.
func containers(node any) []container {
	var out []container
	switch n := node.(type) {
	case map[string]any:
		if image, ok := n["image"].(string); ok {
			c := container{image: image}
			if cmd, ok := n["command"].([]any); ok {
				for _, a := range cmd {
					c.command = append(c.command, fmt.Sprint(a))
				}
			}
			out = append(out, c)
		}
		for _, k := range slices.Sorted(maps.Keys(n)) {
			out = append(out, containers(n[k])...)
		}
	case []any:
		for _, v := range n {
			out = append(out, containers(v)...)
		}
	}
	return out
}

// listFiles reads every regular file under dir, keyed by its slash-separated path
// relative to dir.
func listFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = readFile(t, path)
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "(no line differs)"
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// testChangelog is the changelog TestRelease releases 9.9.9-test with: quotes, a hash and a
// colon that the annotation's YAML must keep.
const testChangelog = `# Changelog

## 9.9.10

- removed: not this release's

## 9.9.9

- added: a Task's new param: it's 'quoted'
- fixed: a #hash and a: colon
`

// writeFile writes text into a file of a new directory and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeChangelog writes text into a file for the script's CHANGELOG and returns its path.
func writeChangelog(t *testing.T, text string) string {
	t.Helper()
	return writeFile(t, "CHANGELOG.md", text)
}
