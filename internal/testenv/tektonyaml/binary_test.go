package tektonyaml

import (
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/thoth-station/build-watcher/internal/collect"
	"github.com/thoth-station/build-watcher/internal/hint"
	"github.com/thoth-station/build-watcher/internal/mirror"
	"github.com/thoth-station/build-watcher/internal/submit"
	"github.com/thoth-station/build-watcher/internal/testenv/gobuild"
)

// module is the import path whose cmd/<binary> the Tasks' ko:// images build.
const module = "github.com/thoth-station/build-watcher"

// resultsDirEnv is the variable of the binaries' --results-dir flag.
const resultsDirEnv = "THOTH_RESULTS_DIR"

// written are the results each binary writes into its results directory.
func written() map[string][]string {
	return map[string][]string{
		"collect-build": {collect.ResultPhase, collect.ResultBaseImage, collect.ResultOutputImage, collect.ResultLogPath, collect.ResultFailureSummary},
		"mirror-image":  {mirror.ResultImage},
		"submit-thoth":  {submit.ResultBaseImageAnalysisID, submit.ResultOutputImageAnalysisID, submit.ResultBuildLogAnalysisID, submit.ResultBuildLogDocumentID},
	}
}

// pendingEnv are variables the Tasks set for a flag the binary does not have yet, each
// with what the binary must learn. The test logs them; it fails once a binary reads one,
// so that the entry is removed.
func pendingEnv() map[string]map[string]string {
	return map[string]map[string]string{}
}

// envOfHelp finds the variables a binary's --help lists for a flag: [$A, $B].
var envOfHelp = regexp.MustCompile(`\[\$[^\]]+\]`)

// binaryEnv builds the binaries and returns the environment variables each one reads.
func binaryEnv(t *testing.T) map[string]map[string]bool {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	dir := t.TempDir()
	bins := []string{"collect-build", "mirror-image", "submit-thoth"}
	args := []string{"-o", dir + string(filepath.Separator)}
	for _, b := range bins {
		args = append(args, "./cmd/"+b)
	}
	if err := gobuild.Build(t.Context(), false, args...); err != nil {
		t.Fatal(err)
	}
	env := map[string]map[string]bool{}
	for _, b := range bins {
		out, err := exec.CommandContext(t.Context(), filepath.Join(dir, b), "--help").Output()
		if err != nil {
			t.Fatalf("%s --help: %v", b, err)
		}
		env[b] = map[string]bool{}
		for _, group := range envOfHelp.FindAllString(string(out), -1) {
			for _, v := range strings.Split(strings.Trim(group, "[]"), ", ") {
				env[b][strings.TrimPrefix(v, "$")] = true
			}
		}
		if len(env[b]) == 0 {
			t.Fatalf("%s --help lists no environment variables", b)
		}
	}
	return env
}

// binarySteps returns the steps of our Tasks in tasks/ that run one of our binaries.
func binarySteps(t *testing.T, docs []*Document) map[*Document][]int {
	t.Helper()
	out := map[*Document][]int{}
	for _, d := range docs {
		task, ok := d.Object.(*v1.Task)
		if !ok || d.Scope() != ScopeTasks || path.Base(path.Dir(path.Dir(d.Path))) != "task" {
			continue
		}
		for i, s := range task.Spec.Steps {
			if bin, ok := koBinary(s.Image); ok && strings.HasPrefix(s.Image, KoPrefix+module+"/cmd/") {
				if _, ours := written()[bin]; ours {
					out[d] = append(out[d], i)
				}
			}
		}
	}
	if len(out) < 4 {
		t.Fatalf("found the binaries' steps in %d Tasks, want 4", len(out))
	}
	return out
}

// TestStepsSetOnlyVariablesTheBinariesRead checks every variable a step gives its binary
// against the variables that binary's flags read (its --help), so that no param is lost
// to a misspelt or missing flag.
func TestStepsSetOnlyVariablesTheBinariesRead(t *testing.T) {
	_, docs := shipped(t)
	env := binaryEnv(t)
	pending := pendingEnv()
	seenPending := map[string]bool{}
	for d, steps := range binarySteps(t, docs) {
		problems, seen := envProblems(d, steps, env, pending)
		for _, p := range problems {
			t.Error(p)
		}
		for _, s := range seen {
			seenPending[s] = true
		}
	}
	for bin, vars := range pending {
		for v, what := range vars {
			switch {
			case env[bin][v]:
				t.Errorf("%s now reads %s: remove it from pendingEnv", bin, v)
			case seenPending[bin+" "+v]:
				t.Logf("PENDING: the Tasks set %s, which %s does not read yet; it needs %s", v, bin, what)
			}
		}
	}
}

// envProblems checks the variables the given steps of a Task set against env, the
// variables each binary reads; it also returns the pending ones it met, as "bin VAR".
func envProblems(d *Document, steps []int, env map[string]map[string]bool, pending map[string]map[string]string) (problems, seen []string) {
	task := d.Object.(*v1.Task)
	for _, i := range steps {
		s := task.Spec.Steps[i]
		bin, _ := koBinary(s.Image)
		vars := s.Env
		if task.Spec.StepTemplate != nil {
			vars = append(slices.Clone(task.Spec.StepTemplate.Env), vars...)
		}
		for _, e := range vars {
			switch {
			case env[bin][e.Name]:
			case e.Name == hint.TaskEnv: // every binary reads it, for the wording of its hints
			case pending[bin][e.Name] != "":
				seen = append(seen, bin+" "+e.Name)
			default:
				problems = append(problems, fmt.Sprintf("%s: spec.steps[%d] (%s) sets %s, which %s does not read (its --help lists %s)",
					d, i, s.Name, e.Name, bin, strings.Join(sortedKeys(env[bin]), ", ")))
			}
		}
	}
	return problems, seen
}

func TestEnvProblems(t *testing.T) {
	_, docs := shipped(t)
	d := find(t, docs, collectBuild, "Task", "collect-build")
	env := map[string]map[string]bool{"collect-build": {}}
	for _, e := range d.Object.(*v1.Task).Spec.Steps[0].Env {
		env["collect-build"][e.Name] = true
	}
	if p, _ := envProblems(d, []int{0}, env, nil); len(p) > 0 {
		t.Fatalf("the shipped Task with every variable read: %v", p)
	}
	delete(env["collect-build"], "THOTH_WAIT_TIMEOUT")
	p, _ := envProblems(d, []int{0}, env, nil)
	if len(p) != 1 || !strings.Contains(p[0], "sets THOTH_WAIT_TIMEOUT, which collect-build does not read") || !strings.HasPrefix(p[0], collectBuild) {
		t.Fatalf("problems %q, want one about THOTH_WAIT_TIMEOUT naming the file", p)
	}
	p, seen := envProblems(d, []int{0}, env, map[string]map[string]string{"collect-build": {"THOTH_WAIT_TIMEOUT": "--timeout"}})
	if len(p) != 0 || len(seen) != 1 || seen[0] != "collect-build THOTH_WAIT_TIMEOUT" {
		t.Fatalf("pending variable: problems %q, seen %q", p, seen)
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stepResultsDir is where Tekton puts the step results of a named step: the directory of
// $(step.results.<name>.path), /tekton/steps/step-<step>/results (the step directory
// Tekton's variables document for $(steps.step-<step>.exitCode.path)).
func stepResultsDir(step string) string {
	return path.Join(pipeline.StepsDir, "step-"+step, "results")
}

// TestBinariesWriteTheDeclaredResults checks where each step's binary writes results and
// that it writes every result declared there: the Task's results in /tekton/results, or
// the step's own results in the directory Tekton gives them.
func TestBinariesWriteTheDeclaredResults(t *testing.T) {
	_, docs := shipped(t)
	for d, steps := range binarySteps(t, docs) {
		for _, p := range resultProblems(d, steps) {
			t.Error(p)
		}
	}
}

// resultProblems checks the results directory of the given steps of a Task and the
// results declared there against what their binaries write.
func resultProblems(d *Document, steps []int) []string {
	var problems []string
	task := d.Object.(*v1.Task)
	toTask := map[string]bool{} // results written into /tekton/results by some step
	for _, i := range steps {
		s := task.Spec.Steps[i]
		bin, _ := koBinary(s.Image)
		var dir string
		for _, e := range s.Env {
			if e.Name == resultsDirEnv {
				dir = e.Value
			}
		}
		at := fmt.Sprintf("%s: spec.steps[%d] (%s)", d, i, s.Name)
		switch {
		case dir == "":
			problems = append(problems, fmt.Sprintf("%s: no %s: the binary writes no results", at, resultsDirEnv))
		case dir == pipeline.DefaultResultPath:
			for _, r := range written()[bin] {
				toTask[r] = true
			}
			if len(s.Results) > 0 {
				problems = append(problems, fmt.Sprintf("%s declares step results but writes into %s", at, dir))
			}
		default:
			if want := stepResultsDir(s.Name); dir != want {
				problems = append(problems, fmt.Sprintf("%s: %s is %s, but Tekton puts this step's results in %s", at, resultsDirEnv, dir, want))
			}
			for _, r := range s.Results {
				if !slices.Contains(written()[bin], r.Name) {
					problems = append(problems, fmt.Sprintf("%s declares step result %s, which %s does not write (it writes %s)", at, r.Name, bin, strings.Join(written()[bin], ", ")))
				}
			}
		}
	}
	for _, r := range task.Spec.Results {
		if r.Value != nil {
			continue // taken from a step result
		}
		if !toTask[r.Name] {
			problems = append(problems, fmt.Sprintf("%s: result %s is declared, but no step's binary writes it into %s", d, r.Name, pipeline.DefaultResultPath))
		}
	}
	return problems
}

func TestResultProblems(t *testing.T) {
	_, docs := shipped(t)
	for _, tc := range []struct {
		name, path, objName string
		steps               []int
		doctor              func(*v1.Task)
		want                string
	}{
		{"no results directory", collectBuild, "collect-build", []int{0}, func(t *v1.Task) {
			t.Spec.Steps[0].Env = slices.DeleteFunc(t.Spec.Steps[0].Env, func(e corev1.EnvVar) bool { return e.Name == resultsDirEnv })
		}, "no THOTH_RESULTS_DIR"},
		{"a result the binary does not write", collectBuild, "collect-build", []int{0}, func(t *v1.Task) {
			t.Spec.Results = append(t.Spec.Results, v1.TaskResult{Name: "digest", Description: "d"})
		}, "result digest is declared, but no step's binary writes it"},
		{"step results in the wrong directory", singleTask, "thoth-build-analysis", []int{0, 1, 2}, func(t *v1.Task) {
			for i, e := range t.Spec.Steps[1].Env {
				if e.Name == resultsDirEnv {
					t.Spec.Steps[1].Env[i].Value = "/tekton/steps/step-collect/results"
				}
			}
		}, "Tekton puts this step's results in /tekton/steps/step-mirror/results"},
		{"a step result the binary does not write", singleTask, "thoth-build-analysis", []int{0, 1, 2}, func(t *v1.Task) {
			t.Spec.Steps[1].Results = append(t.Spec.Steps[1].Results, v1.StepResult{Name: "digest"})
		}, "declares step result digest, which mirror-image does not write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := find(t, docs, tc.path, "Task", tc.objName)
			if p := resultProblems(orig, tc.steps); len(p) > 0 {
				t.Fatalf("the original: %v", p)
			}
			bad := *orig
			bad.Object = orig.Object.DeepCopyObject()
			tc.doctor(bad.Object.(*v1.Task))
			p := resultProblems(&bad, tc.steps)
			if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), tc.want) {
				t.Fatalf("problems %q, want one containing %q", p, tc.want)
			}
		})
	}
}

// TestPipelineUsesTheWatcherContract pins the names the build-watcher relies on when it
// creates PipelineRuns and reads their results.
func TestPipelineUsesTheWatcherContract(t *testing.T) {
	_, docs := shipped(t)
	contract := Interface{
		Params: []string{"build-ref", "thoth-api-host", "push-registry", "push-mode", "environment-type", "origin",
			"base-image-from", "default-registry", "no-base", "no-output", "no-build-log", "debug", "force", "pass-token", "no-tls-verify",
			"no-src-registry-tls-verify", "no-dst-registry-tls-verify", "insecure-registries"},
		Results: []string{"phase", "base-image", "output-image", "mirrored-image", "failure-summary",
			"base-image-analysis-id", "output-image-analysis-id", "buildlog-analysis-id", "buildlog-document-id"},
		Workspaces: []string{"build-log", "src-registry-auth", "dst-registry-auth", "registry-ca", "thoth-ca"},
	}
	defaults := map[string]string{"push-registry": "", "default-registry": "", "push-mode": "default", "environment-type": "runtime", "origin": "",
		"base-image-from": "BASE_IMAGES_DIGESTS,BASE_IMAGE,BUILDER_IMAGE,FROM,RUN_IMAGE,CNB_RUN_IMAGE,KO_DEFAULTBASEIMAGE,builder-image,from", "no-base": "false", "no-output": "false", "no-build-log": "false",
		"debug": "false", "force": "false", "pass-token": "false", "no-tls-verify": "false",
		"no-src-registry-tls-verify": "false", "no-dst-registry-tls-verify": "false", "insecure-registries": ""}
	for _, tc := range []struct {
		path, kind string
		noLog      bool
	}{{pipelineFile, "Pipeline", false}, {singleTask, "Task", true}} {
		d := find(t, docs, tc.path, tc.kind, "thoth-build-analysis")
		want := contract
		if tc.noLog {
			want.Workspaces = slices.DeleteFunc(slices.Clone(want.Workspaces), func(w string) bool { return w == "build-log" })
		}
		sort.Strings(want.Params)
		sort.Strings(want.Results)
		sort.Strings(want.Workspaces)
		got, _ := InterfaceOf(d)
		if diff := want.Diff(got); diff != "" {
			t.Errorf("%s: %s", d, strings.ReplaceAll(diff, "README", "contract"))
		}
		var params []v1.ParamSpec
		var optional func(string) bool
		switch o := d.Object.(type) {
		case *v1.Pipeline:
			params = o.Spec.Params
			optional = func(n string) bool {
				return slices.ContainsFunc(o.Spec.Workspaces, func(w v1.PipelineWorkspaceDeclaration) bool { return w.Name == n && w.Optional })
			}
		case *v1.Task:
			params = o.Spec.Params
			optional = func(n string) bool {
				return slices.ContainsFunc(o.Spec.Workspaces, func(w v1.WorkspaceDeclaration) bool { return w.Name == n && w.Optional })
			}
		}
		for _, p := range params {
			want, hasDefault := defaults[p.Name]
			switch {
			case !hasDefault && p.Default != nil:
				t.Errorf("%s: param %s must be required", d, p.Name)
			case hasDefault && (p.Default == nil || p.Default.StringVal != want):
				t.Errorf("%s: param %s must default to %q", d, p.Name, want)
			}
		}
		for _, w := range got.Workspaces {
			if !optional(w) {
				t.Errorf("%s: workspace %s must be optional", d, w)
			}
		}
	}
}
