package tektonyaml

import (
	"strings"
	"testing"
)

// FuzzDecode feeds Decode arbitrary files: it must not panic, and every document it
// returns is a named object with a kind.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  steps:\n    - name: s\n      image: registry.example/x:1\n",
		"# comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n",
		"apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata:\n  name: t\n",
		"apiVersion: v1\nkind: [\n",
		"foo: bar\n---\n---\n",
		"apiVersion: tekton.dev/v1\nkind: Pipeline\nmetadata:\n  generateName: p-\nspec:\n  tasks: []\n  tasks: []\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := Decode("fuzz.yaml", data)
		for _, d := range docs {
			if d.Object == nil || d.GVK.Kind == "" || d.Name() == "" || d.Name() == "*" {
				t.Fatalf("document %s decoded without an object, a kind or a name", d)
			}
		}
	})
}

// FuzzReadmeInterface feeds the README table reader arbitrary Markdown: it must not
// panic, and names it returns are never empty.
func FuzzReadmeInterface(f *testing.F) {
	for _, seed := range []string{
		"## Parameters\n\n| name | d |\n|---|---|\n| `a` | x |\n\n## Results\n\n| n |\n|-|\n| `r` |\n",
		"## Parameters\n```\n## Results\n```\n|",
		"# x\n## Parameters\n|a|\n|b|\n| c |\n",
		"## Workspaces\n| `w` |",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, md string) {
		in, err := ReadmeInterface(md)
		if err != nil {
			return
		}
		for _, n := range append(append(in.Params, in.Results...), in.Workspaces...) {
			if strings.TrimSpace(n) == "" {
				t.Fatalf("empty name from %q", md)
			}
		}
	})
}
