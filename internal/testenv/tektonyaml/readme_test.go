package tektonyaml

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmesMatchYAML compares the Parameters, Results and Workspaces tables of every
// Task and Pipeline README (tasks/ and its copies in catalog/) and of the main README's
// section per resource with the names in the YAML of tasks/.
func TestReadmesMatchYAML(t *testing.T) {
	root, docs := shipped(t)
	sources := map[string]*Document{} // "task/<name>" or "pipeline/<name>"
	for _, d := range docs {
		if d.Scope() != ScopeTasks {
			continue
		}
		kind := map[string]string{"Task": "task", "Pipeline": "pipeline"}[d.GVK.Kind]
		if kind == "" || d.Path != path.Join("tasks", kind, d.Name(), d.Name()+".yaml") {
			continue
		}
		sources[kind+"/"+d.Name()] = d
	}
	if len(sources) < 5 {
		t.Fatalf("found %d Tasks and Pipelines in tasks/, want 5", len(sources))
	}

	var readmes []string
	for _, scope := range []string{"tasks", "catalog"} {
		for _, kind := range []string{"task", "pipeline"} {
			dirs, _ := os.ReadDir(filepath.Join(root, scope, kind))
			for _, e := range dirs {
				if _, err := os.Stat(filepath.Join(root, scope, kind, e.Name(), "README.md")); err == nil {
					readmes = append(readmes, path.Join(scope, kind, e.Name(), "README.md"))
				}
			}
		}
	}
	for key := range sources {
		if !containsString(readmes, "tasks/"+key+"/README.md") {
			t.Errorf("tasks/%s has no README.md", key)
		}
	}
	for _, readme := range readmes {
		t.Run(readme, func(t *testing.T) {
			parts := strings.Split(readme, "/") // scope, kind, name, README.md
			src, ok := sources[parts[1]+"/"+parts[2]]
			if !ok {
				t.Fatalf("%s documents %s/%s, which tasks/ does not have", readme, parts[1], parts[2])
			}
			md, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(readme)))
			if err != nil {
				t.Fatal(err)
			}
			compareReadme(t, readme, string(md), src)
		})
	}

	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const top = "Tekton Tasks and Pipeline"
	section, ok := Section(string(md), top)
	if !ok {
		t.Fatalf("README.md has no section %q", top)
	}
	for key, src := range sources {
		kind, name, _ := strings.Cut(key, "/")
		title := map[string]string{"task": "Task", "pipeline": "Pipeline"}[kind] + " `" + name + "`"
		t.Run("README.md/"+title, func(t *testing.T) {
			sub, ok := Section(section, title)
			if !ok {
				t.Fatalf("README.md, section %q, has no subsection %q", top, title)
			}
			compareReadme(t, "README.md, section "+title, sub, src)
		})
	}
}

func compareReadme(t *testing.T, where, md string, src *Document) {
	t.Helper()
	got, err := ReadmeInterface(md)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	want, _ := InterfaceOf(src)
	if diff := want.Diff(got); diff != "" {
		t.Errorf("%s and %s disagree: %s", where, src.Path, diff)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestReadmeInterface(t *testing.T) {
	const good = "# `x`\n\n## Parameters\n\n| name | default |\n|---|---|\n| `a` | (required) |\n| `b` | `\"\"` |\n\n" +
		"```yaml\n## Results\n```\n\n## Results\n\n| name | description |\n|---|---|\n| `r` | a result |\n\n## Platforms\n"
	want := Interface{Params: []string{"a", "b"}, Results: []string{"r"}}
	for _, tc := range []struct {
		name, md string
		wantErr  string
		wantDiff string
	}{
		{name: "good", md: good},
		{name: "no parameters heading", md: strings.Replace(good, "## Parameters", "## Params", 1), wantErr: `no "Parameters" heading`},
		{name: "no table", md: "## Parameters\n\nnone\n## Results\n", wantErr: "no table"},
		{name: "row without a name", md: strings.Replace(good, "| `b` |", "| b |", 1), wantErr: "holds no `name`"},
		{name: "row missing", md: strings.Replace(good, "| `b` | `\"\"` |\n", "", 1), wantDiff: "params missing from the README: b"},
		{name: "row too many", md: strings.Replace(good, "| `r` | a result |\n", "| `r` | a result |\n| `s` | another |\n", 1), wantDiff: "results in the README but not in the YAML: s"},
		{name: "result table under another heading", md: strings.Replace(good, "## Results\n\n", "## Outputs\n\n", 1), wantDiff: "results missing from the README: r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadmeInterface(tc.md)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diff := want.Diff(got)
			if tc.wantDiff == "" && diff != "" || !strings.Contains(diff, tc.wantDiff) {
				t.Fatalf("diff %q, want %q", diff, tc.wantDiff)
			}
		})
	}
}

func TestSection(t *testing.T) {
	md := "# A\ntext a\n## B\ntext b\n### C\ntext c\n## D\ntext d\n"
	for _, tc := range []struct{ title, want string }{
		{"B", "text b\n### C\ntext c"},
		{"C", "text c"},
		{"D", "text d\n"},
	} {
		got, ok := Section(md, tc.title)
		if !ok || got != tc.want {
			t.Errorf("Section(%q) = %q, %v; want %q", tc.title, got, ok, tc.want)
		}
	}
	if _, ok := Section(md, "E"); ok {
		t.Error("Section found a heading that is not there")
	}
}

// readmeSections are the sections of a Task or Pipeline README, in git-clone's order.
var readmeSections = []string{"Requirements", "Workspaces", "Parameters", "Results", "Platforms", "Usage", "Authentication", "Troubleshooting"}

// TestReadmeSectionsInOrder checks that every README of tasks/ has the catalog's
// sections, in order, as level-2 headings.
func TestReadmeSectionsInOrder(t *testing.T) {
	root, docs := shipped(t)
	for _, d := range docs {
		if _, ok := InterfaceOf(d); !ok || d.Scope() != ScopeTasks || path.Base(d.Path) != d.Name()+".yaml" {
			continue
		}
		readme := path.Join(path.Dir(d.Path), "README.md")
		md, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(readme)))
		if err != nil {
			t.Error(err)
			continue
		}
		if err := sectionsInOrder(string(md), readmeSections); err != nil {
			t.Errorf("%s: %v", readme, err)
		}
	}
}

// sectionsInOrder checks that md's level-2 headings include want in that order.
func sectionsInOrder(md string, want []string) error {
	var got []string
	fenced := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "## ") {
			got = append(got, strings.TrimSpace(strings.TrimPrefix(line, "## ")))
		}
	}
	i := 0
	for _, h := range got {
		if i < len(want) && h == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("sections %q: want %q in this order (missing or out of order from %q)", got, want, want[i])
	}
	return nil
}

func TestSectionsInOrder(t *testing.T) {
	want := []string{"A", "B", "C"}
	for md, ok := range map[string]bool{
		"## A\n## B\n## C\n":           true,
		"## A\n## X\n## B\n## C\n":     true,
		"## A\n## C\n## B\n":           false,
		"## A\n```\n## B\n```\n## C\n": false,
		"# A\n## A\n### B\n## B\n## C": true,
	} {
		if err := sectionsInOrder(md, want); (err == nil) != ok {
			t.Errorf("sectionsInOrder(%q) = %v, want ok %v", md, err, ok)
		}
	}
}
