package tektonyaml

import (
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestShippedYAMLFollowsRules runs every rule on every shipped document.
func TestShippedYAMLFollowsRules(t *testing.T) {
	_, docs := shipped(t)
	for _, p := range Lint(docs) {
		t.Error(p)
	}
}

// TestEveryRuleHasANegativeCase keeps the table below complete.
func TestEveryRuleHasANegativeCase(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range doctored() {
		covered[tc.rule] = true
	}
	for _, r := range Rules() {
		if !covered[r.Name] {
			t.Errorf("rule %s has no doctored case in doctored()", r.Name)
		}
	}
}

// doctoredCase breaks one rule in a copy of a shipped document.
type doctoredCase struct {
	name, rule string
	// path and kind/name pick the shipped document to doctor.
	path, kind, objName string
	// movedTo, when set, is the path the copy pretends to live at (its scope).
	movedTo string
	doctor  func(obj any)
	// want is part of the expected problem's text.
	want string
}

const (
	collectBuild = "tasks/task/collect-build/collect-build.yaml"
	submitThoth  = "tasks/task/submit-thoth/submit-thoth.yaml"
	singleTask   = "tasks/task/thoth-build-analysis/thoth-build-analysis.yaml"
	pipelineFile = "tasks/pipeline/thoth-build-analysis/thoth-build-analysis.yaml"
	appendFile   = "examples/append-to-pipeline/pipeline.yaml"
	standinFile  = "tasks/task/submit-thoth/tests/resources.yaml"
)

func asTask(o any) *v1.Task         { return o.(*v1.Task) }
func asPipeline(o any) *v1.Pipeline { return o.(*v1.Pipeline) }

func doctored() []doctoredCase {
	ct := func(name, rule string, doctor func(any), want string) doctoredCase {
		return doctoredCase{name: name, rule: rule, path: collectBuild, kind: "Task", objName: "collect-build", doctor: doctor, want: want}
	}
	pl := func(name, rule string, doctor func(any), want string) doctoredCase {
		return doctoredCase{name: name, rule: rule, path: pipelineFile, kind: "Pipeline", objName: "thoth-build-analysis", doctor: doctor, want: want}
	}
	return []doctoredCase{
		ct("no version label", "version-label", func(o any) { delete(asTask(o).Labels, VersionLabel) }, VersionLabel),
		pl("no version label on a Pipeline", "version-label", func(o any) { asPipeline(o).Labels = nil }, VersionLabel),
		ct("no minVersion", "min-version", func(o any) { delete(asTask(o).Annotations, MinVersionAnnotation) }, "missing annotation "+MinVersionAnnotation),
		ct("minVersion not X.Y.Z", "min-version", func(o any) { asTask(o).Annotations[MinVersionAnnotation] = "v0.50" }, `"v0.50" is not a version`),
		ct("no categories", "categories", func(o any) { delete(asTask(o).Annotations, CategoriesAnnotation) }, "missing annotation "+CategoriesAnnotation),
		ct("category not in the Hub's list", "categories", func(o any) { asTask(o).Annotations[CategoriesAnnotation] = "Image Build, Thoth" }, `category "Thoth"`),
		ct("category in the wrong case", "categories", func(o any) { asTask(o).Annotations[CategoriesAnnotation] = "image build" }, `category "image build"`),
		ct("no display name", "display-name", func(o any) { delete(asTask(o).Annotations, DisplayNameAnnotation) }, DisplayNameAnnotation),
		ct("no tags", "tags", func(o any) { asTask(o).Annotations[TagsAnnotation] = " , " }, TagsAnnotation),
		ct("no platforms", "platforms", func(o any) { delete(asTask(o).Annotations, PlatformsAnnotation) }, "missing annotation "+PlatformsAnnotation),
		ct("platform without arch", "platforms", func(o any) { asTask(o).Annotations[PlatformsAnnotation] = "linux/amd64,linux" }, `platform "linux" is not OS/ARCH`),
		ct("platform with a variant", "platforms", func(o any) { asTask(o).Annotations[PlatformsAnnotation] = "linux/arm/v7" }, "is not OS/ARCH"),
		ct("description without paragraph", "description-shape", func(o any) { asTask(o).Spec.Description = "Read a build." }, "no paragraph"),
		ct("description without summary", "description-shape", func(o any) { asTask(o).Spec.Description = "\nRead a build." }, "empty summary line"),
		pl("description summary too long", "description-shape", func(o any) {
			asPipeline(o).Spec.Description = strings.Repeat("word ", 30) + "end\nparagraph"
		}, "more than 120"),
		ct("no license", "artifacthub", func(o any) { delete(asTask(o).Annotations, LicenseAnnotation) }, "missing annotation "+LicenseAnnotation),
		ct("license not SPDX", "artifacthub", func(o any) { asTask(o).Annotations[LicenseAnnotation] = "Apache License 2" }, "not an SPDX"),
		ct("no provider", "artifacthub", func(o any) { delete(asTask(o).Annotations, ProviderAnnotation) }, ProviderAnnotation),
		ct("links not YAML", "artifacthub", func(o any) { asTask(o).Annotations[LinksAnnotation] = "source: [" }, "not a YAML list"),
		ct("link named source", "artifacthub", func(o any) {
			asTask(o).Annotations[LinksAnnotation] = "- name: source\n  url: https://github.com/x/y\n"
		}, "its own source link"),
		ct("link not https", "artifacthub", func(o any) {
			asTask(o).Annotations[LinksAnnotation] = "- name: docs\n  url: github.com/x/y\n"
		}, "not an https URL"),
		ct("maintainer without email", "artifacthub", func(o any) { asTask(o).Annotations[MaintainersAnnotation] = "- name: someone\n" }, "needs a name and an email"),
		ct("change of an unknown kind", "artifacthub", func(o any) {
			asTask(o).Annotations[ChangesAnnotation] = "- kind: improved\n  description: faster\n"
		}, `kind "improved"`),
		ct("keyword tekton in tags", "artifacthub", func(o any) { asTask(o).Annotations[TagsAnnotation] = "thoth, tekton" }, `keyword "tekton" twice`),
		pl("keyword pipeline in tags", "artifacthub", func(o any) { asPipeline(o).Annotations[TagsAnnotation] = "thoth, pipeline, thoth" }, `keyword "pipeline" twice`),
		ct("param without description", "described", func(o any) { asTask(o).Spec.Params[1].Description = " " }, "spec.params[1] (base-image-from).description"),
		ct("result without description", "described", func(o any) { asTask(o).Spec.Results[0].Description = "" }, "spec.results[0] (phase).description"),
		ct("workspace without description", "described", func(o any) { asTask(o).Spec.Workspaces[0].Description = "" }, "spec.workspaces[0] (build-log).description"),
		pl("pipeline result without description", "described", func(o any) { asPipeline(o).Spec.Results[4].Description = "" }, "spec.results[4] (mirrored-image).description"),
		ct("latest image", "image-reference", func(o any) { asTask(o).Spec.Steps[0].Image = "quay.io/thoth-station/collect-build:latest" }, "tagged latest"),
		ct("untagged image", "image-reference", func(o any) { asTask(o).Spec.Steps[0].Image = "quay.io/thoth-station/collect-build" }, "has no tag"),
		{name: "ko:// in catalog", rule: "image-reference", path: collectBuild, kind: "Task", objName: "collect-build",
			movedTo: "catalog/task/collect-build/collect-build.yaml", doctor: func(any) {}, want: "allowed in tasks/ only"},
		{name: "ko:// in examples", rule: "image-reference", path: appendFile, kind: "Pipeline", objName: "build-and-analyse",
			doctor: func(o any) {
				p := asPipeline(o)
				p.Spec.Tasks[0].TaskRef = nil
				p.Spec.Tasks[0].TaskSpec = &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{Steps: []v1.Step{{Name: "s", Image: "ko://example.com/cmd/x"}}}}
			}, want: "allowed in tasks/ only"},
		{name: "latest image in a Deployment", rule: "image-reference", path: standinFile, kind: "Deployment", objName: "thoth-standin",
			doctor: func(o any) { o.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Image = "quay.io/x/y:latest" }, want: "spec.template.spec.containers[0].image"},
		{name: "param pasted into a script", rule: "script-substitution", path: appendFile, kind: "Pipeline", objName: "build-and-analyse",
			doctor: func(o any) {
				p := asPipeline(o)
				p.Spec.Tasks[0].TaskRef = nil
				p.Spec.Tasks[0].TaskSpec = &v1.EmbeddedTask{TaskSpec: v1.TaskSpec{Steps: []v1.Step{{
					Name: "s", Image: "registry.example/x:1", Script: "echo $(params.git-url) > $(results.url.path)",
				}}}}
			}, want: "$(params.git-url)"},
		ct("workspace path pasted into a script", "script-substitution", func(o any) {
			s := &asTask(o).Spec.Steps[0]
			s.Command, s.Script = nil, "#!/bin/sh\ncat $(workspaces.build-log.path)/build.log"
		}, "$(workspaces.build-log.path)"),
		ct("a script instead of the binary", "binary-step", func(o any) {
			s := &asTask(o).Spec.Steps[0]
			s.Command, s.Script = nil, "#!/bin/sh\n/ko-app/collect-build"
		}, "a script"),
		ct("command of another binary", "binary-step", func(o any) { asTask(o).Spec.Steps[0].Command = []string{"/ko-app/submit-thoth"} }, "does not run collect-build"),
		ct("step may run as root", "step-security", func(o any) { asTask(o).Spec.StepTemplate.SecurityContext.RunAsNonRoot = nil }, "runAsNonRoot"),
		ct("step runs as UID 0", "step-security", func(o any) {
			zero := int64(0)
			asTask(o).Spec.Steps[0].SecurityContext = &corev1.SecurityContext{RunAsUser: &zero}
		}, "runAsUser"),
		ct("privilege escalation", "step-security", func(o any) {
			yes := true
			asTask(o).Spec.Steps[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &yes}
		}, "allowPrivilegeEscalation"),
		ct("privileged step", "step-security", func(o any) {
			yes := true
			asTask(o).Spec.Steps[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}, "privileged"),
		ct("capabilities kept", "step-security", func(o any) { asTask(o).Spec.StepTemplate.SecurityContext.Capabilities = nil }, "drop ALL"),
		ct("no seccomp profile", "step-security", func(o any) { asTask(o).Spec.StepTemplate.SecurityContext.SeccompProfile = nil }, "seccompProfile"),
		ct("no memory limit", "step-security", func(o any) { asTask(o).Spec.StepTemplate.ComputeResources.Limits = nil }, "no memory limit"),
		ct("no requests", "step-security", func(o any) { asTask(o).Spec.StepTemplate.ComputeResources.Requests = nil }, "no cpu request"),
		ct("password param", "credential-params", func(o any) {
			s := &asTask(o).Spec
			s.Params = append(s.Params, v1.ParamSpec{Name: "registry-password", Type: v1.ParamTypeString, Description: "d"})
		}, `"password"`),
		ct("token param with a non-boolean default", "credential-params", func(o any) {
			s := &asTask(o).Spec
			s.Params = append(s.Params, v1.ParamSpec{Name: "pass-token", Type: v1.ParamTypeString, Description: "d", Default: v1.NewStructuredValues("abc")})
		}, `"token"`),
		pl("pipeline api key param", "credential-params", func(o any) {
			s := &asPipeline(o).Spec
			s.Params = append(s.Params, v1.ParamSpec{Name: "thoth_api_key", Type: v1.ParamTypeString, Description: "d"})
		}, `"key"`),
		ct("task param no step uses", "task-params-used", func(o any) { asTask(o).Spec.Steps[0].Env = asTask(o).Spec.Steps[0].Env[1:] }, "spec.params[0] (build-ref)"),
		pl("pipeline param no task gets", "pipeline-params-used", func(o any) {
			pt := &asPipeline(o).Spec.Tasks[0]
			pt.Params = pt.Params[:1] // drops base-image-from and verbose (debug still reaches others)
		}, "(base-image-from)"),
		pl("result the task does not declare", "pipeline-references", func(o any) {
			p := asPipeline(o)
			p.Spec.Results[0].Value = *v1.NewStructuredValues("$(tasks.collect-build.results.digest)")
		}, "declares no result \"digest\""),
		pl("result of a task the pipeline lacks", "pipeline-references", func(o any) {
			p := asPipeline(o)
			p.Spec.Tasks[2].Params[2].Value = *v1.NewStructuredValues("$(tasks.collect.results.base-image)")
		}, `no tasks task "collect"`),
		pl("param the task does not have", "pipeline-references", func(o any) {
			pt := &asPipeline(o).Spec.Tasks[0]
			pt.Params = append(pt.Params, v1.Param{Name: "log-file", Value: *v1.NewStructuredValues("x")})
		}, `no param "log-file"`),
		pl("required task param not given", "pipeline-references", func(o any) {
			pt := &asPipeline(o).Spec.Tasks[2]
			pt.Params = pt.Params[1:]
		}, `required param "thoth-api-host"`),
		pl("workspace the task does not have", "pipeline-references", func(o any) {
			pt := &asPipeline(o).Spec.Tasks[1]
			pt.Workspaces = append(pt.Workspaces, v1.WorkspacePipelineTaskBinding{Name: "thoth-ca", Workspace: "thoth-ca"})
		}, `no workspace "thoth-ca"`),
		{name: "example passes a param the Task lacks", rule: "pipeline-references", path: appendFile, kind: "Pipeline", objName: "build-and-analyse",
			doctor: func(o any) {
				pt := &asPipeline(o).Spec.Finally[0]
				pt.Params = append(pt.Params, v1.Param{Name: "output-image", Value: *v1.NewStructuredValues("x")})
			}, want: `no param "output-image"`},
	}
}

// TestRulesCatchDoctoredCopies breaks each rule in a copy of a shipped document: the rule
// must report it, naming the file and the field, and pass the original.
func TestRulesCatchDoctoredCopies(t *testing.T) {
	_, docs := shipped(t)
	c := NewCatalog(docs)
	for _, tc := range doctored() {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			orig := find(t, docs, tc.path, tc.kind, tc.objName)
			if got, err := LintRule(tc.rule, orig, c); err != nil || len(got) > 0 {
				t.Fatalf("the original breaks the rule: %v %v", got, err)
			}
			bad := *orig
			bad.Object = orig.Object.DeepCopyObject()
			if tc.movedTo != "" {
				bad.Path = tc.movedTo
			}
			tc.doctor(bad.Object)
			got, err := LintRule(tc.rule, &bad, c)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, p := range got {
				all = append(all, p.Error())
				if strings.Contains(p.Error(), tc.want) {
					if !strings.HasPrefix(p.Error(), bad.Path) || p.Rule != tc.rule {
						t.Errorf("problem %q does not start with the file or has rule %s", p.Error(), p.Rule)
					}
					return
				}
			}
			t.Fatalf("no problem containing %q; got:\n%s", tc.want, strings.Join(all, "\n"))
		})
	}
}

func TestImageReference(t *testing.T) {
	for _, tc := range []struct {
		image string
		scope Scope
		want  string // "" for no error
	}{
		{"quay.io/buildah/stable:v1.38", ScopeExamples, ""},
		{"registry.access.redhat.com/ubi9/ubi-minimal:9.5", ScopeCatalog, ""},
		{"localhost:5000/x/y:1", ScopeCatalog, ""},
		{"quay.io/x/y@sha256:" + strings.Repeat("a", 64), ScopeCatalog, ""},
		{"quay.io/x/y:1.0@sha256:" + strings.Repeat("a", 64), ScopeCatalog, ""},
		{"$(params.BUILDER_IMAGE)", ScopeCatalog, ""},
		{"ko://github.com/thoth-station/build-watcher/cmd/submit-thoth", ScopeTasks, ""},
		{"ko://github.com/thoth-station/build-watcher/cmd/submit-thoth", ScopeCatalog, "allowed in tasks/ only"},
		{"ko://github.com/thoth-station/build-watcher/cmd/submit-thoth", ScopeExamples, "allowed in tasks/ only"},
		{"ko://submit-thoth", ScopeTasks, "import path"},
		{"quay.io/x/y", ScopeExamples, "no tag"},
		{"localhost:5000/x/y", ScopeExamples, "no tag"},
		{"ubuntu", ScopeExamples, "no tag"},
		{"quay.io/x/y:latest", ScopeExamples, "tagged latest"},
		{"quay.io/x/y:latest-1.2", ScopeExamples, "tagged latest"},
		{"", ScopeTasks, "no image"},
		{"quay.io/x/Y:1", ScopeTasks, "not an image reference"},
	} {
		t.Run(tc.image+"@"+string(tc.scope), func(t *testing.T) {
			err := ImageReference(tc.image, tc.scope)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDescriptionShape(t *testing.T) {
	for _, tc := range []struct {
		name, description, want string
	}{
		{"folded block", "Do one thing.\nA paragraph that says more.", ""},
		{"literal block", "Do one thing.\n\nA paragraph that says more.\nOn two lines.", ""},
		{"empty", "", "empty summary"},
		{"summary only", "Do one thing.", "no paragraph"},
		{"summary and blank", "Do one thing.\n\n", "no paragraph"},
		{"blank first", "\nDo one thing.", "empty summary"},
		{"indented summary", " Do one thing.\nMore.", "leading or trailing"},
		{"two blank lines", "Do one thing.\n\n\nMore.", "more than one blank line"},
		{"long summary", strings.Repeat("x", MaxSummary+1) + "\nMore.", "more than 120"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := DescriptionShape(tc.description)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCredentialParam(t *testing.T) {
	str := v1.NewStructuredValues
	for _, tc := range []struct {
		param v1.ParamSpec
		bad   bool
	}{
		{v1.ParamSpec{Name: "pass-token", Default: str("false")}, false},
		{v1.ParamSpec{Name: "use-secret", Default: str("true")}, false},
		{v1.ParamSpec{Name: "pass-token"}, true},
		{v1.ParamSpec{Name: "pass-token", Default: str("")}, true},
		{v1.ParamSpec{Name: "registry-password", Default: str("")}, true},
		{v1.ParamSpec{Name: "API_KEY"}, true},
		{v1.ParamSpec{Name: "auth"}, true},
		{v1.ParamSpec{Name: "client.secret"}, true},
		{v1.ParamSpec{Name: "keystone-url"}, false},
		{v1.ParamSpec{Name: "monkey"}, false},
		{v1.ParamSpec{Name: "push-registry", Default: str("")}, false},
		{v1.ParamSpec{Name: "no-tls-verify", Default: str("false")}, false},
	} {
		t.Run(tc.param.Name, func(t *testing.T) {
			if why := CredentialParam(tc.param); (why != "") != tc.bad {
				t.Fatalf("CredentialParam = %q, want a complaint: %v", why, tc.bad)
			}
		})
	}
}

func TestScriptVariables(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   []string
	}{
		{`printf '%s' x > "$(results.IMAGE_URL.path)"`, nil},
		{`echo x > $(step.results.out.path)`, nil},
		{`echo "$PARAM_URL" "${HOME}" $(date)`, []string{"$(date)"}},
		{`git clone $(params.url) $(workspaces.output.path)`, []string{"$(params.url)", "$(workspaces.output.path)"}},
		{`cat $(results.x.path) $(context.taskRun.name)`, []string{"$(context.taskRun.name)"}},
	} {
		got := ScriptVariables(tc.script)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("ScriptVariables(%q) = %q, want %q", tc.script, got, tc.want)
		}
	}
}

func TestRefs(t *testing.T) {
	s := `$(params.a) $(params["b-c"]) $(params['d']) $(tasks.t.results.r) $(finally.f.results.x[0]) $(tasks.t.status)`
	params := ParamRefs(s)
	for _, n := range []string{"a", "b-c", "d"} {
		if !params[n] {
			t.Errorf("ParamRefs misses %s: %v", n, params)
		}
	}
	refs := ResultRefs(s)
	want := []ResultRef{{Task: "t", Result: "r"}, {Finally: true, Task: "f", Result: "x"}}
	if len(refs) != len(want) || refs[0] != want[0] || refs[1] != want[1] {
		t.Errorf("ResultRefs = %+v, want %+v", refs, want)
	}
}
