package tektontest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseEntrypoint(t *testing.T) {
	ep := []string{entrypointPath}
	for _, tc := range []struct {
		name    string
		command []string
		args    []string
		want    *entrypointArgs
		err     string
		unsupp  bool
	}{
		{
			name:    "first step, as Tekton writes it",
			command: ep,
			args: []string{"-wait_file", "/tekton/downward/ready", "-wait_file_content", "-post_file", "/tekton/run/0/out",
				"-termination_path", "/tekton/termination", "-step_metadata_dir", "/tekton/run/0/status",
				"-results", "phase,base-image", "-entrypoint", "/ko-app/collect-build", "--", "--verbose", "x"},
			want: &entrypointArgs{
				Command: []string{"/ko-app/collect-build", "--verbose", "x"}, WaitFiles: []string{"/tekton/downward/ready"},
				WaitFileContent: true, PostFile: "/tekton/run/0/out", TerminationPath: "/tekton/termination",
				StepMetadataDir: "/tekton/run/0/status", Results: []string{"phase", "base-image"}, ResultFrom: "termination-message",
			},
		},
		{
			name:    "later step with on_error, timeout and step results",
			command: ep,
			args: []string{"-wait_file", "/tekton/run/0/out", "-post_file", "/tekton/run/1/out", "-termination_path", "/tekton/termination",
				"-step_metadata_dir", "/tekton/run/1/status", "-on_error", "continue", "-timeout", "1m30s",
				"-step_results", "image", "--when_expressions", `[{"input":"a","operator":"in","values":["a"]}]`, "-entrypoint", "/ko-app/mirror-image", "--"},
			want: &entrypointArgs{
				Command: []string{"/ko-app/mirror-image"}, WaitFiles: []string{"/tekton/run/0/out"}, PostFile: "/tekton/run/1/out",
				TerminationPath: "/tekton/termination", StepMetadataDir: "/tekton/run/1/status", OnError: "continue",
				Timeout: 90 * time.Second, StepResults: []string{"image"}, ResultFrom: "termination-message",
			},
		},
		{name: "not the entrypoint", command: []string{"/bin/sh"}, args: []string{"-c", "true"}, err: "is not Tekton's entrypoint"},
		{name: "no command", command: ep, args: []string{"-post_file", "/tekton/run/0/out", "--"}, err: "no -entrypoint", unsupp: true},
		{name: "debugging flag", command: ep, args: []string{"-breakpoint_on_failure", "-entrypoint", "/x", "--"}, err: "not defined", unsupp: true},
		{name: "sidecar results", command: ep, args: []string{"-result_from", "sidecar-logs", "-entrypoint", "/x", "--"}, err: "sidecar", unsupp: true},
		{name: "CEL", command: ep, args: []string{"--when_expressions", `[{"cel":"true"}]`, "-entrypoint", "/x", "--"}, err: "CEL", unsupp: true},
		{name: "bad on_error", command: ep, args: []string{"-on_error", "ignore", "-entrypoint", "/x", "--"}, err: "want continue or stopAndFail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEntrypoint(tc.command, tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, errUnsupported) != tc.unsupp {
					t.Fatalf("error %v, want one saying %q (unsupported: %t)", err, tc.err, tc.unsupp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.When == nil {
				got.When = nil
			} else if len(got.When) != 1 {
				t.Errorf("when %+v", got.When)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "$(A)", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"plain":              "plain",
		"$(A)":               "1",
		"x$(A)y$(A)":         "x1y1",
		"$(B)":               "$(A)", // no recursion
		"$$(A)":              "$(A)",
		"$(UNDEFINED)":       "$(UNDEFINED)",
		"$(EMPTY)!":          "!",
		"$(A":                "$(A",
		"$":                  "$",
		"a$b":                "a$b",
		"$$$$":               "$$",
		"cost: $5 $(A)":      "cost: $5 1",
		"$(steps.x.results)": "$(steps.x.results)",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSubstituteStepResults(t *testing.T) {
	results := map[string]string{"collect/output-image": "r@sha256:1", "collect/empty": ""}
	load := func(step, result string) (string, error) {
		v, ok := results[step+"/"+result]
		if !ok {
			return "", errors.New("no such result")
		}
		return v, nil
	}
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "$(steps.collect.results.output-image)", want: "r@sha256:1"},
		{in: "from $(steps.collect.results.output-image) to $(steps.collect.results.empty).", want: "from r@sha256:1 to ."},
		{in: "no reference", want: "no reference"},
		{in: "$(steps.collect.results.missing)", want: "$(steps.collect.results.missing)", err: "no such result"},
		{in: "$(steps.collect.results.list[*])", want: "$(steps.collect.results.list[*])", err: "only string results"},
	} {
		got, err := substituteStepResults(tc.in, load)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("substituteStepResults(%q) = %q, %v; want %q, error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestHostPath(t *testing.T) {
	mounts := []shimMount{
		{Source: "/h/workspace", Target: "/workspace"},
		{Source: "/h/log", Target: "/workspace/build-log"},
		{Source: "/h/results", Target: "/tekton/results/"},
		{Source: "/h/term", Target: "/tekton/termination"},
	}
	for in, want := range map[string]string{
		"/workspace/x":                   "/h/workspace/x",
		"/workspace/build-log":           "/h/log",
		"/workspace/build-log/a/b":       "/h/log/a/b",
		"/workspace/build-logs":          "/h/workspace/build-logs",
		"/tekton/results/phase":          "/h/results/phase",
		"/tekton/termination":            "/h/term",
		"/workspace/../tekton/results/x": "/h/results/x",
	} {
		got, err := hostPath(mounts, in)
		if err != nil || got != filepath.FromSlash(want) {
			t.Errorf("hostPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := hostPath(mounts, "/etc/passwd"); !errors.Is(err, errUnsupported) {
		t.Errorf("a path on no volume: %v", err)
	}
}

func TestPodField(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1", Labels: map[string]string{"tekton.dev/taskRun": "tr"},
			Annotations: map[string]string{"tekton.dev/ready": "READY"}},
		Spec: corev1.PodSpec{ServiceAccountName: "sa"},
	}
	for path, want := range map[string]string{
		"metadata.name": "p", "metadata.namespace": "ns", "metadata.uid": "u-1", "spec.serviceAccountName": "sa",
		"status.podIP": "127.0.0.1", "metadata.labels['tekton.dev/taskRun']": "tr",
		"metadata.annotations['tekton.dev/ready']": "READY", "metadata.annotations['absent']": "",
	} {
		if got, err := podField(pod, path); err != nil || got != want {
			t.Errorf("podField(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	if _, err := podField(pod, "metadata.generation"); !errors.Is(err, errUnsupported) {
		t.Errorf("an unknown field path: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	data := map[string][]byte{"b": []byte("2"), "a": []byte("1")}
	optional := true
	mode := int32(0o400)
	for _, tc := range []struct {
		name     string
		items    []corev1.KeyToPath
		optional *bool
		want     []volumeFile
		err      string
	}{
		{name: "every key", want: []volumeFile{{path: "a", data: []byte("1"), mode: 0o644}, {path: "b", data: []byte("2"), mode: 0o644}}},
		{name: "items", items: []corev1.KeyToPath{{Key: "b", Path: "dir/b.txt", Mode: &mode}},
			want: []volumeFile{{path: "dir/b.txt", data: []byte("2"), mode: 0o400}}},
		{name: "missing item", items: []corev1.KeyToPath{{Key: "c", Path: "c"}}, err: `has no key "c"`},
		{name: "missing optional item", items: []corev1.KeyToPath{{Key: "c", Path: "c"}}, optional: &optional},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keyFiles("secret s", data, tc.items, tc.optional, 0o644)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestMarkerWriter(t *testing.T) {
	f, err := createTemp(t)
	if err != nil {
		t.Fatal(err)
	}
	w := newMarkerWriter(f, "Starting controllers...")
	defer w.Close()
	// The marker arrives split across writes, after a partial line.
	for _, chunk := range []string{"a line\nStarting con", "trollers", "...\" more\n"} {
		select {
		case <-w.seen:
			t.Fatalf("marker seen before %q", chunk)
		default:
		}
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-w.seen:
	default:
		t.Fatal("marker not seen")
	}
	if got := w.tail(10); got != "\" more\n" && !strings.HasSuffix("a line\nStarting controllers...\" more\n", got) {
		t.Errorf("tail %q", got)
	}
}

func createTemp(t *testing.T) (*os.File, error) {
	return os.Create(filepath.Join(t.TempDir(), "log"))
}

func TestArgoSteps(t *testing.T) {
	const tmpl = `{"name":"t","outputs":{"parameters":[{"name":"a","valueFrom":{"path":"/out/a"}}]}}`
	pod := func(edit func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "wf-t-1", Namespace: "ns", Labels: map[string]string{argoWorkflowLabel: "wf"}},
			Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: argoInit, Env: []corev1.EnvVar{{Name: "ARGO_TEMPLATE", Value: tmpl}}}},
				Containers: []corev1.Container{
					{Name: argoWait, Command: []string{"argoexec", "wait"}},
					{Name: argoMain, Command: []string{argoEmissary, "emissary", "--loglevel", "info", "--", "/ko-app/stepper"}, Args: []string{"id"}},
				},
			},
		}
		if edit != nil {
			edit(p)
		}
		return p
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		command []string
		err     string
	}{
		{name: "emissary", pod: pod(nil), command: []string{"/ko-app/stepper", "id"}},
		{name: "no emissary", pod: pod(func(p *corev1.Pod) { p.Spec.Containers[1].Command = []string{"/ko-app/stepper"} }), err: "not /var/run/argo/argoexec emissary"},
		{name: "nothing after --", pod: pod(func(p *corev1.Pod) { p.Spec.Containers[1].Command = []string{argoEmissary, "emissary", "--"} }), err: "not /var/run/argo/argoexec emissary"},
		{name: "unknown command", pod: pod(func(p *corev1.Pod) { p.Spec.Containers[1].Command[5] = "/bin/sh" }), err: "runs /bin/sh, which has no local stand-in"},
		{name: "sidecar", pod: pod(func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "db"}) }), err: "container db: sidecars are not supported"},
		{name: "no main", pod: pod(func(p *corev1.Pod) { p.Spec.Containers = p.Spec.Containers[:1] }), err: "no main container"},
		{name: "no template", pod: pod(func(p *corev1.Pod) { p.Spec.InitContainers[0].Env = nil }), err: "no ARGO_TEMPLATE"},
		{name: "offloaded template", pod: pod(func(p *corev1.Pod) { p.Spec.InitContainers[0].Env[0].Value = "ARGO_TEMPLATE_OFFLOADED" }), err: "offloaded to a ConfigMap is not supported"},
		{name: "script", pod: pod(func(p *corev1.Pod) { p.Spec.InitContainers[0].Env[0].Value = `{"name":"t","script":{"source":"echo"}}` }), err: "artifacts or a script"},
		{name: "input artifact", pod: pod(func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Env[0].Value = `{"name":"t","inputs":{"artifacts":[{"name":"src"}]}}`
		}), err: "artifacts or a script"},
		{name: "no init", pod: pod(func(p *corev1.Pod) { p.Spec.InitContainers = nil }), err: "not Argo's one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !isArgoPod(tt.pod) {
				t.Fatal("isArgoPod: false")
			}
			r := &Runner{opts: RunnerOptions{Commands: map[string]string{"/ko-app/stepper": "/bin/true"}}}
			steps, err := newPodRun(r, tt.pod).argoSteps()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(steps) != 1 || steps[0].c.Name != argoMain || !slices.Equal(steps[0].ep.Command, tt.command) {
				t.Fatalf("steps %+v, want main running %q", steps, tt.command)
			}
		})
	}
}
