package release

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
)

// artifactHubPackage is Artifact Hub's package metadata file (artifacthub-pkg.yml) with the
// fields the release writes; decoding it strictly catches a misspelt key, which Artifact Hub
// would ignore without a word.
type artifactHubPackage struct {
	Version          string                               `json:"version"`
	Name             string                               `json:"name"`
	DisplayName      string                               `json:"displayName"`
	CreatedAt        string                               `json:"createdAt"`
	Description      string                               `json:"description"`
	License          string                               `json:"license"`
	HomeURL          string                               `json:"homeURL"`
	Prerelease       bool                                 `json:"prerelease"`
	Keywords         []string                             `json:"keywords"`
	Links            []struct{ Name, URL string }         `json:"links"`
	Provider         *struct{ Name string }               `json:"provider"`
	Maintainers      []maintainer                         `json:"maintainers"`
	ContainersImages []struct{ Name, Image string }       `json:"containersImages"`
	Changes          []struct{ Kind, Description string } `json:"changes"`
	Annotations      map[string]string                    `json:"annotations"`
	Install          string                               `json:"install"`
}

// semverRE is a semantic version without a leading v, as Artifact Hub wants it.
var semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// argoSources lists the Argo templates of tasks/argo, by package name (the file's name).
func argoSources(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "tasks", "argo", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Argo templates in tasks/argo (%v)", err)
	}
	var pkgs []string
	for _, f := range files {
		pkgs = append(pkgs, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	return pkgs
}

// checkArgoRelease checks catalog/argo after a release of testVersion, as Artifact Hub's
// argo-template kind reads it: one directory per package and version holding the template
// (manifests.yaml: the source with its images pinned, as the Tekton resources' are, and the
// version label set), its README and a valid artifacthub-pkg.yml; Argo's own validation
// accepts the templates; earlier versions (earlier) are left as they were.
func checkArgoRelease(t *testing.T, root, out string, images map[string]string, earlier map[string][]byte) {
	t.Helper()
	var manifests []string
	for _, pkg := range argoSources(t, root) {
		dir := filepath.Join(out, "argo", pkg, testVersion)
		got := listFiles(t, dir)
		if want := []string{"README.md", "artifacthub-pkg.yml", "manifests.yaml"}; !slices.Equal(slices.Sorted(maps.Keys(got)), want) {
			t.Errorf("argo/%s/%s holds %v, want %v", pkg, testVersion, slices.Sorted(maps.Keys(got)), want)
			continue
		}
		src := readFile(t, filepath.Join(root, "tasks", "argo", pkg+".yaml"))
		want := koRefRE.ReplaceAllFunc(src, func(ref []byte) []byte {
			return []byte(images[filepath.Base(string(koRefRE.FindSubmatch(ref)[1]))])
		})
		want = versionLabelRE.ReplaceAll(want, []byte(`$1 "`+testVersion+`"`))
		if !bytes.Equal(got["manifests.yaml"], want) {
			t.Errorf("argo/%s/%s/manifests.yaml is not tasks/argo/%s.yaml with its images and version:\n%s", pkg, testVersion, pkg, firstDifference(got["manifests.yaml"], want))
		}
		if readme := readFile(t, filepath.Join(root, "tasks", "argo", "README.md")); !bytes.Equal(got["README.md"], readme) {
			t.Errorf("argo/%s/%s/README.md is not tasks/argo/README.md", pkg, testVersion)
		}
		md := checkArtifactHubPackage(t, filepath.Join(dir, "artifacthub-pkg.yml"), pkg, testVersion)
		// The images Artifact Hub lists are the template's, each once.
		var tree any
		if err := yaml.Unmarshal(got["manifests.yaml"], &tree); err != nil {
			t.Fatalf("argo/%s/%s/manifests.yaml: %v", pkg, testVersion, err)
		}
		var wantImages []string
		for _, c := range containers(tree) {
			if !slices.Contains(wantImages, c.image) {
				wantImages = append(wantImages, c.image)
			}
		}
		var listed []string
		for _, ci := range md.ContainersImages {
			listed = append(listed, ci.Image)
			if want := images[ci.Name]; ci.Image != want {
				t.Errorf("argo/%s: containersImages names %s %s, the release built %s", pkg, ci.Name, ci.Image, want)
			}
		}
		slices.Sort(listed)
		if !slices.Equal(listed, slices.Sorted(slices.Values(wantImages))) {
			t.Errorf("argo/%s: containersImages are %v, the template runs %v", pkg, listed, wantImages)
		}
		wantChanges := []struct{ Kind, Description string }{{"added", "a Task's new param: it's 'quoted'"}, {"fixed", "a #hash and a: colon"}}
		if !slices.Equal(md.Changes, wantChanges) {
			t.Errorf("argo/%s: changes are %+v, want the changelog's %+v", pkg, md.Changes, wantChanges)
		}
		if !slices.Equal(md.Maintainers, wantMaintainers) {
			t.Errorf("argo/%s: maintainers are %+v, want MAINTAINERS' %+v", pkg, md.Maintainers, wantMaintainers)
		}
		if !md.Prerelease {
			t.Errorf("argo/%s: %s is a prerelease, and artifacthub-pkg.yml does not say so", pkg, testVersion)
		}
		if !strings.Contains(md.Install, "/catalog/argo/"+pkg+"/"+testVersion+"/manifests.yaml") {
			t.Errorf("argo/%s: install does not apply this version's manifests.yaml:\n%s", pkg, md.Install)
		}
		manifests = append(manifests, filepath.Join(dir, "manifests.yaml"))
	}
	if out, err := argoLint(t, manifests...); err != nil {
		t.Errorf("argo-lint refused the released templates: %v\n%s", err, out)
	}
	for rel, data := range earlier {
		if got, err := os.ReadFile(filepath.Join(out, rel)); err != nil || !bytes.Equal(got, data) {
			t.Errorf("the release changed or removed %s, an earlier version's file (%v)", rel, err)
		}
	}
	if got, want := readFile(t, filepath.Join(out, "argo", "artifacthub-repo.yml")), readFile(t, filepath.Join(root, "hack", "release", "artifacthub-repo-argo.yml")); !bytes.Equal(got, want) {
		t.Errorf("argo/artifacthub-repo.yml is not hack/release/artifacthub-repo-argo.yml")
	}
}

// checkArtifactHubPackage reads an artifacthub-pkg.yml and applies Artifact Hub's rules for
// package metadata (internal/pkg of artifacthub/hub: version as semver, name, displayName,
// createdAt as RFC 3339, description, changes of a known kind with a description, images
// that parse as references), and ours: the name and version are the directories'.
func checkArtifactHubPackage(t *testing.T, path, pkg, version string) artifactHubPackage {
	t.Helper()
	var md artifactHubPackage
	if err := yaml.UnmarshalStrict(readFile(t, path), &md); err != nil {
		t.Errorf("%s: %v", path, err)
		return md
	}
	fail := func(format string, args ...any) { t.Errorf("%s: %s", path, fmt.Sprintf(format, args...)) }
	if !semverRE.MatchString(md.Version) {
		fail("version %q is not a semantic version", md.Version)
	}
	if md.Version != version {
		fail("version is %q in the directory of %s", md.Version, version)
	}
	if md.Name != pkg {
		fail("name is %q in the directory of %s", md.Name, pkg)
	}
	if md.DisplayName == "" || md.Description == "" {
		fail("displayName (%q) and description (%q) are required", md.DisplayName, md.Description)
	}
	if _, err := time.Parse(time.RFC3339, md.CreatedAt); err != nil {
		fail("createdAt: %v", err)
	}
	if md.License != "Apache-2.0" {
		fail("license is %q; the repository's LICENSE is Apache-2.0", md.License)
	}
	if md.Provider == nil || md.Provider.Name == "" {
		fail("no provider")
	}
	if len(md.Maintainers) == 0 {
		fail("no maintainers")
	}
	for _, m := range md.Maintainers {
		if m.Name == "" || !strings.Contains(m.Email, "@") {
			fail("maintainer %+v: a name and an email are required (Artifact Hub drops them all otherwise)", m)
		}
	}
	seen := map[string]bool{}
	for _, k := range md.Keywords {
		if k == "" || seen[k] {
			fail("keyword %q is empty or listed twice", k)
		}
		seen[k] = true
	}
	for _, l := range append(md.Links, struct{ Name, URL string }{"home", md.HomeURL}) {
		if l.Name == "" || !strings.HasPrefix(l.URL, "https://") {
			fail("link %q: %q is not an https URL", l.Name, l.URL)
		}
	}
	for _, c := range md.Changes {
		if !slices.Contains([]string{"added", "changed", "deprecated", "removed", "fixed", "security"}, c.Kind) || c.Description == "" {
			fail("change %+v: a kind Artifact Hub knows and a description are required", c)
		}
	}
	if len(md.ContainersImages) == 0 {
		fail("no containersImages")
	}
	for _, ci := range md.ContainersImages {
		if _, err := name.NewDigest(ci.Image, name.StrictValidation); err != nil {
			fail("image %s of %s is not pinned by digest: %v", ci.Image, ci.Name, err)
		}
	}
	if v := md.Annotations["argo/version"]; !strings.HasPrefix(v, ">= 3.") {
		fail("annotation argo/version is %q, want the template's workflows.argoproj.io/version", v)
	}
	return md
}

// argoLint runs Argo's own validation (argo-lint, built by make testenv) on the files.
func argoLint(t *testing.T, files ...string) (string, error) {
	t.Helper()
	lint, err := controlplane.Tool(t.Context(), "argo-lint")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), lint, files...).CombinedOutput()
	return string(out), err
}

// TestReleaseArgoSourceErrors checks that a template Artifact Hub or the release cannot use
// stops the release with one line naming the file and the fix, before anything is built.
func TestReleaseArgoSourceErrors(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	template := string(readFile(t, filepath.Join(root, "tasks", "argo", "thoth-build-analysis.yaml")))
	tests := []struct {
		name, file, data, want string
	}{
		{"no description", "thoth-build-analysis.yaml",
			regexp.MustCompile(`(?m)^    workflows\.argoproj\.io/description:.*\n(      .*\n)*`).ReplaceAllString(template, ""),
			"has no workflows.argoproj.io/description annotation"},
		{"no version label", "thoth-build-analysis.yaml",
			regexp.MustCompile(`(?m)^    app\.kubernetes\.io/version:.*\n`).ReplaceAllString(template, ""),
			"has no app.kubernetes.io/version label"},
		{"not a template", "thoth-build-analysis.yaml",
			strings.Replace(template, "kind: WorkflowTemplate", "kind: Workflow", 1),
			"is not a WorkflowTemplate or ClusterWorkflowTemplate"},
		{"a package name Artifact Hub refuses", "Thoth_Analysis.yaml", template,
			"Thoth_Analysis is not lower-case letters, digits and dashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tasks := filepath.Join(t.TempDir(), "tasks")
			if err := os.CopyFS(tasks, os.DirFS(filepath.Join(root, "tasks"))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tasks, "argo", tt.file), []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "catalog")
			_, stderr, err := runScript(t, root, map[string]string{
				"TASKS_DIR":      tasks,
				"CATALOG_DIR":    out,
				"CHANGELOG":      writeChangelog(t, testChangelog),
				"MAINTAINERS":    writeFile(t, "maintainers.yml", testMaintainers),
				"KO":             "/nonexistent/ko", // nothing may be built
				"KO_DOCKER_REPO": "127.0.0.1:1/never",
			}, testVersion)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("hack/release.sh: %v, want exit status 1; stderr:\n%s", err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "release: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("hack/release.sh said\n%s\nwant one line release: ...%s...", stderr, tt.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("hack/release.sh created %s (%v)", out, err)
			}
		})
	}
}
