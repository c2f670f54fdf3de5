package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/build"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/tektontest"
	"github.com/thoth-station/build-watcher/internal/thoth/thothtest"
)

const (
	// koPrefix is how tasks/ name the step images; ko resolves it to a registry.
	koPrefix = "ko://github.com/thoth-station/build-watcher/cmd/"
	// imagePrefix replaces it: no kubelet pulls anything here.
	imagePrefix = "e2e.invalid/thoth-station/build-watcher/"
	// serviceAccount runs the PipelineRuns, with the permissions the Tasks' READMEs list.
	serviceAccount = "build-watcher"
	// runTimeout bounds one PipelineRun or TaskRun.
	runTimeout = 3 * time.Minute
)

// scenario is one test's namespace with the Tasks and Pipeline applied, a service account
// with their permissions, clients, and a Thoth stand-in.
type scenario struct {
	ns     string
	kube   kubernetes.Interface
	tekton tektonclient.Interface
	thoth  *thothtest.Server
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	env.Require(t)
	ctx := t.Context()
	ns, err := env.CP.CreateNamespace(ctx, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	s := &scenario{ns: ns}
	if s.kube, err = kubernetes.NewForConfig(env.CP.Config()); err != nil {
		t.Fatal(err)
	}
	if s.tekton, err = tektonclient.NewForConfig(env.CP.Config()); err != nil {
		t.Fatal(err)
	}
	s.grant(t)
	s.applyTasks(t)
	s.thoth = thothtest.NewTestServer(t, thothtest.Options{})
	t.Cleanup(func() {
		if t.Failed() {
			s.report(t)
		}
		for _, p := range env.Runner.Pods() {
			if p.Namespace == s.ns && p.Err != nil {
				t.Errorf("the pod runner failed, which is no finding about the Tasks: %v", p.Err)
			}
		}
	})
	return s
}

// grant makes the service account and gives it what collect-build and submit-thoth need
// to read OpenShift builds, Tekton runs and Shipwright BuildRuns (internal/build's rules,
// which the READMEs list).
func (s *scenario) grant(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount}}
	if _, err := s.kube.CoreV1().ServiceAccounts(s.ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "build-reader"}, Rules: slices.Concat(build.OpenShiftRules(), build.TektonRules(), build.ShipwrightRules())}
	if _, err := s.kube.RbacV1().Roles(s.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "build-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: serviceAccount, Namespace: s.ns}},
	}
	if _, err := s.kube.RbacV1().RoleBindings(s.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// applyTasks creates every Task and Pipeline of tasks/ in the namespace, the step images
// renamed from ko:// references, each decoded strictly (an unknown field fails).
func (s *scenario) applyTasks(t *testing.T) {
	t.Helper()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"task", "pipeline"} {
		dirs, err := filepath.Glob(filepath.Join(root, "tasks", kind, "*"))
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, d := range dirs {
			// tasks/<kind>/<name>/<name>.yaml, as the catalog lays them out.
			if f := filepath.Join(d, filepath.Base(d)+".yaml"); fileExists(f) {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			t.Fatalf("no %s YAML as tasks/%s/<name>/<name>.yaml", kind, kind)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.ReplaceAll(string(data), koPrefix, imagePrefix))
			switch kind {
			case "task":
				var task pipelinev1.Task
				if err := yaml.UnmarshalStrict(data, &task); err != nil {
					t.Fatalf("decoding %s: %v", f, err)
				}
				if _, err := s.tekton.TektonV1().Tasks(s.ns).Create(t.Context(), &task, metav1.CreateOptions{}); err != nil {
					t.Fatalf("creating Task %s from %s: %v", task.Name, f, err)
				}
			case "pipeline":
				var p pipelinev1.Pipeline
				if err := yaml.UnmarshalStrict(data, &p); err != nil {
					t.Fatalf("decoding %s: %v", f, err)
				}
				if _, err := s.tekton.TektonV1().Pipelines(s.ns).Create(t.Context(), &p, metav1.CreateOptions{}); err != nil {
					t.Fatalf("creating Pipeline %s from %s: %v", p.Name, f, err)
				}
			}
		}
	}
}

// runPipeline creates the PipelineRun and waits until it is done.
func (s *scenario) runPipeline(t *testing.T, pr *pipelinev1.PipelineRun) *pipelinev1.PipelineRun {
	t.Helper()
	began := time.Now()
	created, err := s.tekton.TektonV1().PipelineRuns(s.ns).Create(t.Context(), pr, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating PipelineRun: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	done, err := tektontest.WaitPipelineRun(ctx, s.tekton, s.ns, created.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PipelineRun %s/%s done in %s: %s", s.ns, created.Name, time.Since(began).Round(time.Millisecond), conditionText(done.Status.GetCondition(apis.ConditionSucceeded)))
	return done
}

// runTask creates the TaskRun and waits until it is done.
func (s *scenario) runTask(t *testing.T, tr *pipelinev1.TaskRun) *pipelinev1.TaskRun {
	t.Helper()
	began := time.Now()
	created, err := s.tekton.TektonV1().TaskRuns(s.ns).Create(t.Context(), tr, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating TaskRun: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	done, err := tektontest.WaitTaskRun(ctx, s.tekton, s.ns, created.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TaskRun %s/%s done in %s: %s", s.ns, created.Name, time.Since(began).Round(time.Millisecond), conditionText(done.Status.GetCondition(apis.ConditionSucceeded)))
	return done
}

func conditionText(c *apis.Condition) string {
	if c == nil {
		return "no Succeeded condition"
	}
	return fmt.Sprintf("Succeeded=%s %s: %s", c.Status, c.Reason, c.Message)
}

// taskRuns returns the PipelineRun's TaskRuns by pipeline task name.
func (s *scenario) taskRuns(t *testing.T, pr *pipelinev1.PipelineRun) map[string]*pipelinev1.TaskRun {
	t.Helper()
	out := map[string]*pipelinev1.TaskRun{}
	for _, ref := range pr.Status.ChildReferences {
		if ref.Kind != "TaskRun" {
			continue
		}
		tr, err := s.tekton.TektonV1().TaskRuns(s.ns).Get(t.Context(), ref.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out[ref.PipelineTaskName] = tr
	}
	return out
}

// report logs what helps to understand a failure: the runs' conditions, results and
// steps, the pods the runner ran with their steps' logs, and the stand-in's requests.
func (s *scenario) report(t *testing.T) {
	ctx := context.WithoutCancel(t.Context())
	if prs, err := s.tekton.TektonV1().PipelineRuns(s.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, pr := range prs.Items {
			results, _ := json.Marshal(pr.Status.Results)
			skipped, _ := json.Marshal(pr.Status.SkippedTasks)
			t.Logf("PipelineRun %s: %s; results %s; skipped %s", pr.Name, conditionText(pr.Status.GetCondition(apis.ConditionSucceeded)), results, skipped)
		}
	}
	if trs, err := s.tekton.TektonV1().TaskRuns(s.ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, tr := range trs.Items {
			params, _ := json.Marshal(tr.Spec.Params)
			results, _ := json.Marshal(tr.Status.Results)
			t.Logf("TaskRun %s: %s; params %s; results %s", tr.Name, conditionText(tr.Status.GetCondition(apis.ConditionSucceeded)), params, results)
		}
	}
	for _, p := range env.Runner.Pods() {
		if p.Namespace != s.ns {
			continue
		}
		t.Logf("pod %s (TaskRun %s): %s, runner error: %v", p.Name, p.TaskRun, p.Phase, p.Err)
		for _, c := range p.Containers {
			t.Logf("  %s %q: exit %d (skipped %t) in %s, message %s\n%s", c.Name, c.Command, c.ExitCode, c.Skipped, c.Duration.Round(time.Millisecond), c.Message, indent(c.Log))
		}
	}
	for _, r := range s.thoth.Requests() {
		t.Logf("thoth stand-in: %s %s -> %d", r.Method, r.Path, r.Status)
	}
}

func indent(s string) string {
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// wholeRef matches a param value that is exactly one reference, $(params.X) or
// $(tasks.T.results.R).
var wholeRef = regexp.MustCompile(`^\$\((?:params\.([^.()]+)|tasks\.([^.()]+)\.results\.([^.()]+))\)$`)

// checkWiring checks that every TaskRun got the params its pipeline task declares, resolved
// as Tekton wires them: $(params.X) from the PipelineRun (or the Pipeline's default) and
// $(tasks.T.results.R) from T's TaskRun's result R.
func (s *scenario) checkWiring(t *testing.T, pr *pipelinev1.PipelineRun, runs map[string]*pipelinev1.TaskRun) {
	t.Helper()
	p, err := s.tekton.TektonV1().Pipelines(s.ns).Get(t.Context(), pr.Spec.PipelineRef.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prParams := map[string]string{}
	for _, ps := range p.Spec.Params {
		if ps.Default != nil {
			prParams[ps.Name] = ps.Default.StringVal
		}
	}
	for _, param := range pr.Spec.Params {
		prParams[param.Name] = param.Value.StringVal
	}
	for _, task := range p.Spec.Tasks {
		tr, ok := runs[task.Name]
		if !ok {
			continue // skipped
		}
		got := map[string]string{}
		for _, param := range tr.Spec.Params {
			got[param.Name] = param.Value.StringVal
		}
		for _, param := range task.Params {
			m := wholeRef.FindStringSubmatch(param.Value.StringVal)
			if m == nil {
				continue
			}
			want, from := prParams[m[1]], "PipelineRun param "+m[1]
			if m[2] != "" {
				from = "result " + m[3] + " of " + m[2]
				source, ok := runs[m[2]]
				if !ok {
					t.Errorf("task %s ran with param %s from skipped task %s", task.Name, param.Name, m[2])
					continue
				}
				want = taskResult(source, m[3])
			}
			if got[param.Name] != want {
				t.Errorf("TaskRun %s param %s = %q, want %q (%s)", tr.Name, param.Name, got[param.Name], want, from)
			}
		}
	}
}

// taskResult is a TaskRun's string result; "" when absent.
func taskResult(tr *pipelinev1.TaskRun, name string) string {
	for _, r := range tr.Status.Results {
		if r.Name == name {
			return r.Value.StringVal
		}
	}
	return ""
}

// runResults are a PipelineRun's string results.
func runResults(pr *pipelinev1.PipelineRun) map[string]string {
	out := map[string]string{}
	for _, r := range pr.Status.Results {
		out[r.Name] = r.Value.StringVal
	}
	return out
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
