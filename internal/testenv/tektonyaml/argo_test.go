package tektonyaml

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
)

// argoTemplate is what these tests read of an Argo WorkflowTemplate (Argo's own
// validation checks the whole: test/argo).
type argoTemplate struct {
	Kind string `json:"kind"`
	Spec struct {
		Templates []struct {
			Name      string `json:"name"`
			Container *struct {
				Image   string   `json:"image"`
				Command []string `json:"command"`
				Env     []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"env"`
			} `json:"container"`
			Outputs struct {
				Parameters []struct {
					Name      string `json:"name"`
					ValueFrom struct {
						Path string `json:"path"`
					} `json:"valueFrom"`
				} `json:"parameters"`
			} `json:"outputs"`
		} `json:"templates"`
	} `json:"spec"`
}

func argoTemplates(t *testing.T) map[string]argoTemplate {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "tasks", "argo", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("want the WorkflowTemplate and the ClusterWorkflowTemplate in tasks/argo, found %q (%v)", files, err)
	}
	out := map[string]argoTemplate{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tmpl argoTemplate
		if err := yaml.Unmarshal(data, &tmpl); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out["tasks/argo/"+filepath.Base(f)] = tmpl
	}
	return out
}

// TestArgoStepsMatchTheBinaries checks every container template of tasks/argo that runs
// one of our binaries: the command is the one ko puts in its image, every variable is one
// the binary reads (its --help), the results directory is a volume, and each output
// parameter is read from a result the binary writes there.
func TestArgoStepsMatchTheBinaries(t *testing.T) {
	env := binaryEnv(t)
	steps := 0
	for file, tmpl := range argoTemplates(t) {
		for _, tp := range tmpl.Spec.Templates {
			c := tp.Container
			if c == nil {
				continue
			}
			where := file + " template " + tp.Name
			bin, ok := koBinary(c.Image)
			if !ok || !strings.HasPrefix(c.Image, KoPrefix+module+"/cmd/") {
				t.Errorf("%s: image %q is not ko://%s/cmd/<binary>", where, c.Image, module)
				continue
			}
			steps++
			if want := []string{"/ko-app/" + bin}; !slices.Equal(c.Command, want) {
				t.Errorf("%s: command %q, want %q (ko's entry point)", where, c.Command, want)
			}
			resultsDir := ""
			for _, e := range c.Env {
				switch {
				case e.Name == hint.TaskEnv:
					if e.Value != "argo" {
						t.Errorf("%s: %s=%q, want \"argo\" (hints name the template's parameters)", where, e.Name, e.Value)
					}
				case !env[bin][e.Name]:
					t.Errorf("%s sets %s, which %s does not read (its --help lists %s)", where, e.Name, bin, strings.Join(sortedKeys(env[bin]), ", "))
				}
				if e.Name == resultsDirEnv {
					resultsDir = e.Value
				}
			}
			if resultsDir == "" {
				t.Errorf("%s does not set %s: its outputs would be lost", where, resultsDirEnv)
				continue
			}
			for _, p := range tp.Outputs.Parameters {
				dir, name := path.Split(p.ValueFrom.Path)
				if path.Clean(dir) != resultsDir || !slices.Contains(written()[bin], name) {
					t.Errorf("%s: output parameter %s reads %q; %s writes %s under %s", where, p.Name, p.ValueFrom.Path, bin, strings.Join(written()[bin], ", "), resultsDir)
				}
				if p.Name != name {
					t.Errorf("%s: output parameter %s reads result %s: name them alike", where, p.Name, name)
				}
			}
		}
	}
	if steps != 6 {
		t.Errorf("found %d container templates running our binaries in tasks/argo, want 6 (three in each template)", steps)
	}
}
