package hint_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/cliapp/clitest"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

var (
	flagPattern   = regexp.MustCompile(`--([a-z0-9-]+)`)
	envPattern    = regexp.MustCompile(`\(((?:or )?[A-Z_]+)\)`)
	taskPattern   = regexp.MustCompile(`^the ([a-z0-9-]+) (param|workspace)\b`)
	argoPattern   = regexp.MustCompile(`^the ([a-z0-9-]+) parameter\b`)
	watcherFormat = regexp.MustCompile(`^--([a-z0-9-]+) \(([A-Z_]+)\)$`)
)

// TestSpellingsExist: every flag a hint names is in the binaries' vocabulary (with the
// variable it names, if any), and every param and workspace one names is declared by our
// Tasks, and every Argo parameter one names by the WorkflowTemplate, so that a renamed flag
// or param cannot leave a hint pointing at nothing.
func TestSpellingsExist(t *testing.T) {
	params, workspaces := taskNames(t)
	argoParams := argoParameters(t)
	for _, s := range hint.Settings() {
		for _, flag := range flagPattern.FindAllStringSubmatch(hint.CLI.Spell(s), -1) {
			if _, ok := clitest.FlagEnv(flag[1]); !ok {
				t.Errorf("command-line hint of setting %d names --%s, which no binary has", s, flag[1])
			}
		}
		if m := envPattern.FindStringSubmatch(hint.CLI.Spell(s)); m != nil {
			env, _ := clitest.FlagEnv(flagPattern.FindStringSubmatch(hint.CLI.Spell(s))[1])
			if got := strings.TrimPrefix(m[1], "or "); got != env {
				t.Errorf("command-line hint of setting %d names %s; the flag reads %s", s, got, env)
			}
		}
		if sp := hint.Task.Spell(s); sp != "" {
			m := taskPattern.FindStringSubmatch(sp)
			switch {
			case m == nil:
				t.Errorf("Task hint %q of setting %d names no param or workspace", sp, s)
			case m[2] == "param" && !params[m[1]]:
				t.Errorf("Task hint of setting %d names param %s, which no Task declares", s, m[1])
			case m[2] == "workspace" && !workspaces[m[1]]:
				t.Errorf("Task hint of setting %d names workspace %s, which no Task declares", s, m[1])
			}
		}
		if sp := hint.Argo.Spell(s); sp != "" {
			if m := argoPattern.FindStringSubmatch(sp); m == nil {
				t.Errorf("Argo hint %q of setting %d names no parameter", sp, s)
			} else if !argoParams[m[1]] {
				t.Errorf("Argo hint of setting %d names parameter %s, which the WorkflowTemplate does not declare", s, m[1])
			}
		}
		for _, w := range []hint.Where{hint.WatcherCluster, hint.WatcherLocal} {
			sp := w.Spell(s)
			if sp == "" {
				continue
			}
			m := watcherFormat.FindStringSubmatch(sp)
			if m == nil {
				t.Errorf("%s hint %q of setting %d is not --flag (KEY)", w, sp, s)
				continue
			}
			if env, ok := clitest.FlagEnv(m[1]); !ok || env != m[2] {
				t.Errorf("%s hint of setting %d names --%s (%s); the vocabulary has %q (known: %v)", w, s, m[1], m[2], env, ok)
			}
		}
	}
}

// taskNames returns the params and workspaces our Tasks declare.
func taskNames(t *testing.T) (params, workspaces map[string]bool) {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "tasks", "task", "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Task files under %s (err %v)", root, err)
	}
	params, workspaces = map[string]bool{}, map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var task struct {
			Spec struct {
				Params     []struct{ Name string } `json:"params"`
				Workspaces []struct{ Name string } `json:"workspaces"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &task); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range task.Spec.Params {
			params[p.Name] = true
		}
		for _, w := range task.Spec.Workspaces {
			workspaces[w.Name] = true
		}
	}
	return params, workspaces
}

// argoParameters returns the parameters of the WorkflowTemplate thoth-build-analysis.
func argoParameters(t *testing.T) map[string]bool {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(root, "tasks", "argo", "thoth-build-analysis.yaml")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Spec struct {
			Arguments struct {
				Parameters []struct{ Name string } `json:"parameters"`
			} `json:"arguments"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &tmpl); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	names := map[string]bool{}
	for _, p := range tmpl.Spec.Arguments.Parameters {
		names[p.Name] = true
	}
	if len(names) == 0 {
		t.Fatalf("%s declares no parameters", f)
	}
	return names
}
