package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	buildv1 "github.com/openshift/api/build/v1"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
)

const (
	s2iBuilder = "registry.access.redhat.com/ubi9/python-311@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	s2iLog     = `Cloning "https://github.com/team-a/app" ...
---> Installing application source ...
---> Installing dependencies via micropipenv ...
Collecting numpy==2.1.3
Successfully installed numpy-2.1.3
Push successful
`
)

// submission is one build-analysis request the stand-in accepted.
type submission struct {
	BaseImage   *string `json:"base_image"`
	OutputImage *string `json:"output_image"`
	BuildLog    *struct {
		Log string `json:"log"`
	} `json:"build_log"`
	query map[string][]string
}

// submissions returns the build-analysis requests the stand-in accepted, failing the test
// when it rejected any request (it validates each against the OpenAPI document).
func (s *scenario) submissions(t *testing.T) []submission {
	t.Helper()
	if st := s.thoth.Stats(); st.Rejected != 0 {
		t.Errorf("the Thoth stand-in rejected %d requests", st.Rejected)
	}
	var out []submission
	for _, r := range s.thoth.Requests() {
		if r.Method != http.MethodPost || r.Path != "/api/v1/build-analysis" || r.Status != http.StatusAccepted {
			continue
		}
		var sub submission
		if err := json.Unmarshal(r.Body, &sub); err != nil {
			t.Fatalf("decoding a submission: %v", err)
		}
		sub.query = r.Query
		out = append(out, sub)
	}
	return out
}

func param(name, value string) pipelinev1.Param {
	return pipelinev1.Param{Name: name, Value: *pipelinev1.NewStructuredValues(value)}
}

// s2iBuild is a finished OpenShift Source build whose output image is in the source
// registry (the cluster's), as the build controller leaves it, with its log on the front.
type s2iBuild struct {
	name   string
	output string // repository@digest in the source registry
	digest string
}

func (s *scenario) makeS2IBuild(t *testing.T, name string, src *registrytest.Registry) s2iBuild {
	t.Helper()
	img := src.PushRandomImage(t, s.ns+"/app:latest", 2, 1024)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	b := newS2IBuild(name, buildv1.BuildStatus{
		Phase:                      buildv1.BuildPhaseComplete,
		OutputDockerImageReference: src.Ref(s.ns + "/app:latest"),
		Output:                     buildv1.BuildStatusOutput{To: &buildv1.BuildStatusOutputTo{ImageDigest: digest.String()}},
	})
	if _, err := env.Front.CreateBuild(t.Context(), s.ns, b, []byte(s2iLog)); err != nil {
		t.Fatal(err)
	}
	return s2iBuild{name: name, output: src.Ref(s.ns+"/app") + "@" + digest.String(), digest: digest.String()}
}

// createCAConfigMap makes a ConfigMap holding, under key, the CAs of the TLS registries
// as one PEM file, for a registry-ca workspace bound with subPath key.
func (s *scenario) createCAConfigMap(t *testing.T, name, key string, regs ...*registrytest.Registry) {
	t.Helper()
	var pem []byte
	for _, r := range regs {
		b, err := os.ReadFile(r.CAFile())
		if err != nil {
			t.Fatalf("reading the CA of %s: %v", r, err)
		}
		pem = append(pem, b...)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{key: string(pem)}}
	if _, err := s.kube.CoreV1().ConfigMaps(s.ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// addCAKey adds the CA of a TLS registry to the ConfigMap under another key.
func (s *scenario) addCAKey(t *testing.T, name, key string, reg *registrytest.Registry) {
	t.Helper()
	pem, err := os.ReadFile(reg.CAFile())
	if err != nil {
		t.Fatalf("reading the CA of %s: %v", reg, err)
	}
	cms := s.kube.CoreV1().ConfigMaps(s.ns)
	cm, err := cms.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[key] = string(pem)
	if _, err := cms.Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkMirrored checks that the copy is in the destination registry under the digest.
func checkMirrored(t *testing.T, dst *registrytest.Registry, mirrored string, b s2iBuild) {
	t.Helper()
	if !strings.HasPrefix(mirrored, dst.Host()+"/thoth/") || !strings.HasSuffix(mirrored, "@"+b.digest) {
		t.Errorf("mirrored image %q, want a copy in %s/thoth with digest %s", mirrored, dst.Host(), b.digest)
		return
	}
	ref, err := name.ParseReference(mirrored)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithTransport(dst.Transport(t)), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("the destination registry does not serve the copy %s: %v", mirrored, err)
	}
	if desc.Digest.String() != b.digest {
		t.Errorf("the copy %s has digest %s, want %s", mirrored, desc.Digest, b.digest)
	}
}

// checkSubmission checks the one build-analysis request the stand-in accepted.
func (s *scenario) checkSubmission(t *testing.T, base, output, log string, query map[string]string) {
	t.Helper()
	subs := s.submissions(t)
	if len(subs) != 1 {
		t.Fatalf("the stand-in accepted %d submissions, want 1", len(subs))
	}
	sub := subs[0]
	if deref(sub.BaseImage) != base || deref(sub.OutputImage) != output {
		t.Errorf("submitted base image %s, output image %s; want %s, %s", deref(sub.BaseImage), deref(sub.OutputImage), base, output)
	}
	if sub.BuildLog == nil || sub.BuildLog.Log != log {
		t.Errorf("submitted log %+v, want %q", sub.BuildLog, log)
	}
	for k, want := range query {
		if got := sub.query[k]; len(got) != 1 || got[0] != want {
			t.Errorf("query parameter %s = %q, want %q", k, got, want)
		}
	}
}

func TestPipelineOpenShiftBuildMirrored(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	// The cluster's registry and the push registry; TLS with certificates of test CAs,
	// which mirror-image trusts through the registry-ca workspace, as on OpenShift with
	// the ConfigMap openshift-service-ca.crt.
	src := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	s.createCAConfigMap(t, "openshift-service-ca.crt", "service-ca.crt", src, dst)
	b := s.makeS2IBuild(t, "app-7", src)
	pr := s.runPipeline(t, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "thoth-build-analysis-"},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: "thoth-build-analysis"},
			Params: pipelinev1.Params{
				param("build-ref", "build/"+s.ns+"/"+b.name),
				param("thoth-api-host", s.thoth.URL()),
				param("push-registry", dst.Host()+"/thoth"),
			},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: serviceAccount},
			Workspaces: []pipelinev1.WorkspaceBinding{{
				Name: "build-log",
				VolumeClaimTemplate: &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
				}},
			}, {
				Name:      "registry-ca",
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "openshift-service-ca.crt"}},
				SubPath:   "service-ca.crt",
			}},
		},
	})
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("PipelineRun %s: %s", pr.Name, conditionText(c))
	}
	if len(pr.Status.SkippedTasks) != 0 {
		t.Errorf("skipped tasks %+v, want none", pr.Status.SkippedTasks)
	}
	runs := s.taskRuns(t, pr)
	s.checkWiring(t, pr, runs)
	results := runResults(pr)
	if results["output-image"] != b.output || results["base-image"] != s2iBuilder || results["phase"] != "Succeeded" {
		t.Errorf("results %v, want output-image %s, base-image %s, phase Succeeded", results, b.output, s2iBuilder)
	}
	checkMirrored(t, dst, results["mirrored-image"], b)
	if got := taskResult(runs["mirror-image"], "image"); got != results["mirrored-image"] {
		t.Errorf("mirror-image's result image %q, the PipelineRun's mirrored-image %q", got, results["mirrored-image"])
	}
	checkAnalysisIDs(t, results)
	s.checkSubmission(t, s2iBuilder, results["mirrored-image"], s2iLog, map[string]string{"environment_type": "runtime"})
}

// TestTaskOpenShiftBuildMirrored runs the single-Task variant, whose steps hand results
// to each other as step results, in one pod.
func TestTaskOpenShiftBuildMirrored(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	// TLS with certificates of test CAs, one key each in a ConfigMap bound to registry-ca
	// without subPath: mirror-image reads every key (the Pipeline's test binds one key).
	src := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	s.createCAConfigMap(t, "registry-cas", "src.crt", src)
	s.addCAKey(t, "registry-cas", "dst.crt", dst)
	b := s.makeS2IBuild(t, "app-8", src)
	tr := s.runTask(t, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "thoth-build-analysis-"},
		Spec: pipelinev1.TaskRunSpec{
			TaskRef: &pipelinev1.TaskRef{Name: "thoth-build-analysis"},
			Params: pipelinev1.Params{
				param("build-ref", "build/"+s.ns+"/"+b.name),
				param("thoth-api-host", s.thoth.URL()),
				param("push-registry", dst.Host()+"/thoth"),
			},
			Workspaces: []pipelinev1.WorkspaceBinding{{
				Name:      "registry-ca",
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "registry-cas"}},
			}},
			ServiceAccountName: serviceAccount,
		},
	})
	if c := tr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("TaskRun %s: %s", tr.Name, conditionText(c))
	}
	results := map[string]string{}
	for _, r := range tr.Status.Results {
		results[r.Name] = r.Value.StringVal
	}
	if results["output-image"] != b.output || results["base-image"] != s2iBuilder || results["phase"] != "Succeeded" {
		t.Errorf("results %v, want output-image %s, base-image %s, phase Succeeded", results, b.output, s2iBuilder)
	}
	checkMirrored(t, dst, results["mirrored-image"], b)
	checkAnalysisIDs(t, results)
	s.checkSubmission(t, s2iBuilder, results["mirrored-image"], s2iLog, map[string]string{"environment_type": "runtime"})
}

// fixtureManager is the spec.managedBy of the Tekton builds the tests make: Tekton's
// controller leaves runs that another controller manages alone, so the finished run and its
// status stay as the test wrote them.
const fixtureManager = "e2e.build-watcher.thoth-station.ninja/fixture"

const (
	buildahDigest = "sha256:5f2b0c7e1d3a9b8c6e4f2a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d"
	buildahBase   = "registry.access.redhat.com/ubi9/python-311:latest"
	buildahLog    = "STEP 1/4: FROM " + buildahBase + "\nSTEP 2/4: COPY . /opt/app-root/src\nSTEP 3/4: RUN pip install -r requirements.txt\nSuccessfully installed flask-3.1.0\nSTEP 4/4: CMD [\"python\", \"app.py\"]\nWriting manifest to image destination\n"
)

// makeBuildahTaskRun creates a finished buildah TaskRun as Tekton leaves one (results
// IMAGE_URL and IMAGE_DIGEST, a pod with a step log), managed by the test.
func (s *scenario) makeBuildahTaskRun(t *testing.T, name string) {
	t.Helper()
	ctx := t.Context()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-pod"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "step-build-and-push", Image: "quay.io/buildah/stable:v1.38"}},
	}}
	if _, err := s.kube.CoreV1().Pods(s.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Front.SetPodLog(s.ns, pod.Name, "step-build-and-push", []byte(buildahLog))
	manager := fixtureManager
	tr, err := s.tekton.TektonV1().TaskRuns(s.ns).Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: "buildah"}, ManagedBy: &manager},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := metav1.NewTime(time.Now().Add(-3 * time.Minute))
	end := metav1.NewTime(time.Now().Add(-time.Minute))
	tr.Status = pipelinev1.TaskRunStatus{
		Status: duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"}}},
		TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: pod.Name, StartTime: &start, CompletionTime: &end,
			Steps: []pipelinev1.StepState{{Name: "build-and-push", Container: "step-build-and-push"}},
			Results: []pipelinev1.TaskRunResult{
				{Name: "IMAGE_URL", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues("quay.io/team-a/flask-app:v1")},
				{Name: "IMAGE_DIGEST", Type: pipelinev1.ResultsTypeString, Value: *pipelinev1.NewStructuredValues(buildahDigest)},
			},
		},
	}
	if _, err := s.tekton.TektonV1().TaskRuns(s.ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPipelineTektonBuildNoPushRegistry(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.makeBuildahTaskRun(t, "buildah-run-1")
	pr := s.runPipeline(t, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "thoth-build-analysis-"},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: "thoth-build-analysis"},
			Params: pipelinev1.Params{
				param("build-ref", "taskrun/"+s.ns+"/buildah-run-1"),
				param("thoth-api-host", s.thoth.URL()),
				param("environment-type", "buildtime"),
			},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: serviceAccount},
		},
	})
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("PipelineRun %s: %s", pr.Name, conditionText(c))
	}
	var skipped []string
	for _, st := range pr.Status.SkippedTasks {
		skipped = append(skipped, st.Name+": "+string(st.Reason))
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "mirror-image: ") {
		t.Errorf("skipped tasks %q, want only mirror-image (no push registry)", skipped)
	}
	runs := s.taskRuns(t, pr)
	if _, ok := runs["mirror-image"]; ok {
		t.Error("mirror-image ran without a push registry")
	}
	s.checkWiring(t, pr, runs)
	wantOutput := buildahOutput
	results := runResults(pr)
	// Without the build-log workspace collect-build still reads the log (not kept): the base
	// image that only the log names is its result, as it is what submit-thoth sends.
	if results["output-image"] != wantOutput || results["phase"] != "Succeeded" || results["base-image"] != buildahBase {
		t.Errorf("results %v, want output-image %s, base-image %s, phase Succeeded", results, wantOutput, buildahBase)
	}
	if _, ok := results["mirrored-image"]; ok {
		t.Errorf("result mirrored-image %q, want none (mirror-image skipped)", results["mirrored-image"])
	}
	s.checkBuildahSubmission(t)
	checkAnalysisIDs(t, results)
}

// buildahOutput is the output image of the TaskRun makeBuildahTaskRun makes.
const buildahOutput = "quay.io/team-a/flask-app@" + buildahDigest

// checkBuildahSubmission checks the one submission of makeBuildahTaskRun's build, analysed
// as buildtime without a push registry: its base image from the log, its output image
// where buildah pushed it, its step log.
func (s *scenario) checkBuildahSubmission(t *testing.T) {
	t.Helper()
	subs := s.submissions(t)
	if len(subs) != 1 {
		t.Fatalf("the stand-in accepted %d submissions, want 1", len(subs))
	}
	sub := subs[0]
	if deref(sub.BaseImage) != buildahBase || deref(sub.OutputImage) != buildahOutput {
		t.Errorf("submitted base %s, output %s; want %s, %s", deref(sub.BaseImage), deref(sub.OutputImage), buildahBase, buildahOutput)
	}
	if sub.BuildLog == nil || !strings.Contains(sub.BuildLog.Log, "STEP 1/4: FROM "+buildahBase) {
		t.Errorf("submitted log %+v, want the buildah step log", sub.BuildLog)
	}
	if got := sub.query["environment_type"]; len(got) != 1 || got[0] != "buildtime" {
		t.Errorf("environment_type %q, want buildtime", got)
	}
}

// checkAnalysisIDs checks that the run reports an id for every analysis submitted.
func checkAnalysisIDs(t *testing.T, results map[string]string) {
	t.Helper()
	for _, name := range []string{"base-image-analysis-id", "output-image-analysis-id", "buildlog-analysis-id", "buildlog-document-id"} {
		if results[name] == "" {
			t.Errorf("result %s is empty", name)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

// TestPipelineFailedOpenShiftBuild checks that a failed build is analysed too: its base
// image and log reach Thoth; it has no output image, so nothing is mirrored even with a
// push registry.
func TestPipelineFailedOpenShiftBuild(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	b := s.makeFailedS2IBuild(t, "app-9")
	pr := s.runPipeline(t, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "thoth-build-analysis-"},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: "thoth-build-analysis"},
			Params: pipelinev1.Params{
				param("build-ref", "build/"+s.ns+"/"+b.Name),
				param("thoth-api-host", s.thoth.URL()),
				param("push-registry", "127.0.0.1:1/thoth"), // never contacted: nothing to mirror
			},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: serviceAccount},
		},
	})
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c == nil || !c.IsTrue() {
		t.Fatalf("PipelineRun %s: %s", pr.Name, conditionText(c))
	}
	if len(pr.Status.SkippedTasks) != 1 || pr.Status.SkippedTasks[0].Name != "mirror-image" {
		t.Errorf("skipped tasks %+v, want only mirror-image (no output image)", pr.Status.SkippedTasks)
	}
	runs := s.taskRuns(t, pr)
	s.checkWiring(t, pr, runs)
	results := runResults(pr)
	if results["phase"] != "Failed" || results["base-image"] != s2iBuilder || results["output-image"] != "" {
		t.Errorf("results %v, want phase Failed, base-image %s, no output-image", results, s2iBuilder)
	}
	s.checkFailedSubmission(t)
}

// newS2IBuild is an OpenShift Source build from s2iBuilder of BuildConfig app that ran from
// three minutes to one minute ago, ending with status.
func newS2IBuild(name string, status buildv1.BuildStatus) *buildv1.Build {
	start := metav1.NewTime(time.Now().Add(-3 * time.Minute))
	end := metav1.NewTime(time.Now().Add(-time.Minute))
	status.StartTimestamp, status.CompletionTimestamp = &start, &end
	return &buildv1.Build{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"buildconfig": "app"}},
		Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{Strategy: buildv1.BuildStrategy{
			Type:           buildv1.SourceBuildStrategyType,
			SourceStrategy: &buildv1.SourceBuildStrategy{From: corev1.ObjectReference{Kind: "DockerImage", Name: s2iBuilder}},
		}}},
		Status: status,
	}
}

// failedLog is the log of the builds makeFailedS2IBuild makes.
const failedLog = "---> Installing dependencies ...\nERROR: No matching distribution found for tensorflow==2.18.0\nerror: build error: exit status 1\n"

// makeFailedS2IBuild creates a failed OpenShift Source build (no output image) with its
// log, failedLog.
func (s *scenario) makeFailedS2IBuild(t *testing.T, name string) *buildv1.Build {
	t.Helper()
	b := newS2IBuild(name, buildv1.BuildStatus{Phase: buildv1.BuildPhaseFailed, Reason: buildv1.StatusReasonGenericBuildFailed})
	if _, err := env.Front.CreateBuild(t.Context(), s.ns, b, []byte(failedLog)); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkFailedSubmission checks the one submission of a failed build: its base image and
// its log, no output image.
func (s *scenario) checkFailedSubmission(t *testing.T) {
	t.Helper()
	subs := s.submissions(t)
	if len(subs) != 1 {
		t.Fatalf("the stand-in accepted %d submissions, want 1", len(subs))
	}
	if sub := subs[0]; deref(sub.BaseImage) != s2iBuilder || sub.OutputImage != nil || sub.BuildLog == nil || sub.BuildLog.Log != failedLog {
		t.Errorf("submitted base image %s, output image %s, log %+v; want %s, none, the build's log", deref(sub.BaseImage), deref(sub.OutputImage), sub.BuildLog, s2iBuilder)
	}
}
