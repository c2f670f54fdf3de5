package build

import (
	"errors"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
)

// The finally-running fixture: a PipelineRun read while its finally tasks run.
const (
	finallyRun        = "python-app-build-f1n4l"
	finallyBuildImage = finallyRun + "-build-image"
	finallyFetch      = finallyRun + "-fetch-source-pod"
	finallyBuild      = finallyRun + "-build-image-pod"
)

// finallyMutation changes the PipelineRun and the build-image TaskRun of the fixture.
type finallyMutation struct {
	run       func(*pipelinev1.PipelineRun)
	buildTask func(*pipelinev1.TaskRun)
}

func (m finallyMutation) apply(obj runtime.Object) {
	switch o := obj.(type) {
	case *pipelinev1.PipelineRun:
		if m.run != nil {
			m.run(o)
		}
	case *pipelinev1.TaskRun:
		if m.buildTask != nil && o.Name == finallyBuildImage {
			m.buildTask(o)
		}
	}
}

// taskRunOutcome sets a TaskRun's Succeeded condition.
func taskRunOutcome(status corev1.ConditionStatus, reason string) func(*pipelinev1.TaskRun) {
	return func(tr *pipelinev1.TaskRun) {
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: status, Reason: reason, Message: reason})
		if status == corev1.ConditionUnknown {
			tr.Status.CompletionTime = nil
		}
	}
}

// TestTektonFinallyRunning: a PipelineRun whose finally tasks run (status.finallyStartTime
// set, Succeeded still Unknown) is collected: the phase is that of its other TaskRuns, and
// the finally TaskRuns are left out of the log and of the image search.
func TestTektonFinallyRunning(t *testing.T) {
	tests := []struct {
		name   string
		mutate finallyMutation
		// wantPhase is the phase; wantErr, when set, is the ErrNotFinished message part.
		wantPhase Phase
		wantErr   string
	}{
		{name: "its tasks succeeded", wantPhase: PhaseSucceeded},
		{name: "the build task failed", wantPhase: PhaseFailed,
			mutate: finallyMutation{buildTask: taskRunOutcome(corev1.ConditionFalse, "Failed")}},
		{name: "the build task timed out", wantPhase: PhaseFailed,
			mutate: finallyMutation{buildTask: taskRunOutcome(corev1.ConditionFalse, "TaskRunTimeout")}},
		{name: "the build task's failure is ignored (onError: continue)", wantPhase: PhaseSucceeded,
			mutate: finallyMutation{buildTask: taskRunOutcome(corev1.ConditionFalse, string(pipelinev1.TaskRunReasonFailureIgnored))}},
		{name: "the build task was cancelled", wantPhase: PhaseCancelled,
			mutate: finallyMutation{buildTask: taskRunOutcome(corev1.ConditionFalse, "TaskRunCancelled")}},
		{name: "the build task was cancelled because the run timed out", wantPhase: PhaseFailed,
			mutate: finallyMutation{buildTask: func(tr *pipelinev1.TaskRun) {
				taskRunOutcome(corev1.ConditionFalse, "TaskRunCancelled")(tr)
				tr.Spec.Status, tr.Spec.StatusMessage = pipelinev1.TaskRunSpecStatusCancelled, pipelinev1.TaskRunCancelledByPipelineTimeoutMsg
			}}},
		{name: "the run was cancelled gracefully", wantPhase: PhaseCancelled,
			mutate: finallyMutation{
				run: func(pr *pipelinev1.PipelineRun) {
					pr.Spec.Status = pipelinev1.PipelineRunSpecStatusCancelledRunFinally
					pr.Status.MarkRunning(string(pipelinev1.PipelineRunReasonCancelledRunningFinally), "cancelled, running finally")
				},
				buildTask: taskRunOutcome(corev1.ConditionFalse, "TaskRunCancelled"),
			}},
		{name: "the run was stopped gracefully after its tasks succeeded", wantPhase: PhaseCancelled,
			mutate: finallyMutation{run: func(pr *pipelinev1.PipelineRun) {
				pr.Spec.Status = pipelinev1.PipelineRunSpecStatusStoppedRunFinally
			}}},
		{name: "the finally tasks have not started", wantErr: "it is Running",
			mutate: finallyMutation{run: func(pr *pipelinev1.PipelineRun) { pr.Status.FinallyStartTime = nil }}},
		{name: "no resolved pipeline spec", wantErr: "no pipelineSpec",
			mutate: finallyMutation{run: func(pr *pipelinev1.PipelineRun) { pr.Status.PipelineSpec = nil }}},
		{name: "a task of the build has not finished", wantErr: "its task build-image (taskrun " + finallyBuildImage + ") is Unknown",
			mutate: finallyMutation{buildTask: taskRunOutcome(corev1.ConditionUnknown, "Unknown")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			f := loadTektonFixture(t, e, "finally-running", tektonFixtureOptions{mutate: tt.mutate.apply})
			if tt.wantErr != "" {
				_, err := Collect(t.Context(), e.admin, Ref{Kind: KindPipelineRun, Namespace: e.ns, Name: finallyRun}, Options{})
				if !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), finallyRun) {
					t.Fatalf("err = %v, want ErrNotFinished naming the run and %q", err, tt.wantErr)
				}
				return
			}
			rec, log := e.collectTektonLog(t, e.admin, KindPipelineRun, finallyRun, Options{})
			if rec.Phase != tt.wantPhase || rec.Strategy != "PipelineRun" || !strings.HasPrefix(rec.Message, "its finally tasks are running") {
				t.Errorf("phase %s (%s: %s), want %s saying the finally tasks run", rec.Phase, rec.OriginalPhase, rec.Message, tt.wantPhase)
			}
			if !tektonSameTime(rec.CompletionTime, tektonTime(t, "2026-03-02T10:14:57Z")) || rec.CompletionTime == nil {
				t.Errorf("CompletionTime = %v, want the finally start time", rec.CompletionTime)
			}
			// The image search skips scan-image's IMAGE_URL/IMAGE_DIGEST and BASE_IMAGE param.
			if rec.OutputImage != "quay.io/thoth-station/python-app@"+buildahDigest || rec.BaseImage != tektonUBIPython {
				t.Errorf("output %q, base %q; want the build task's image and the log's FROM", rec.OutputImage, rec.BaseImage)
			}
			wantLog := "[fetch-source/clone]\n" + f.log(t, finallyFetch, "step-clone") +
				"[build-image/build-and-push]\n" + f.log(t, finallyBuild, "step-build-and-push") +
				"[build-image/write-url]\n" + f.log(t, finallyBuild, "step-write-url") + "\n"
			if log != wantLog {
				t.Errorf("log file:\n%s\nwant only the build's tasks:\n%s", log, wantLog)
			}
			if rec.Log.Missing != "" || strings.Contains(rec.FailureSummary, "finally task") {
				t.Errorf("Missing %q, FailureSummary %q", rec.Log.Missing, rec.FailureSummary)
			}
		})
	}

	t.Run("wait returns when the finally tasks start", func(t *testing.T) {
		e := newTestEnv(t)
		loadTektonFixture(t, e, "finally-running", tektonFixtureOptions{})
		rec, _ := e.collectTektonLog(t, e.admin, KindPipelineRun, finallyRun, Options{Wait: true, Timeout: tektonWaitTimeout})
		if rec.Phase != PhaseSucceeded {
			t.Errorf("phase %s, want Succeeded", rec.Phase)
		}
	})

	// Once the run has finished, its condition is the phase and the finally tasks are
	// part of the run, as for any finished PipelineRun.
	t.Run("finished", func(t *testing.T) {
		e := newTestEnv(t)
		f := loadTektonFixture(t, e, "finally-running", tektonFixtureOptions{mutate: finallyMutation{run: func(pr *pipelinev1.PipelineRun) {
			pr.Status.MarkFailed("Failed", "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 0")
		}}.apply})
		rec, log := e.collectTektonLog(t, e.admin, KindPipelineRun, finallyRun, Options{})
		if rec.Phase != PhaseFailed || strings.Contains(rec.Message, "finally") {
			t.Errorf("phase %s (%s), want the run's own Failed", rec.Phase, rec.Message)
		}
		if !strings.Contains(log, "[scan-image/scan]\n"+f.log(t, finallyRun+"-scan-image-pod", "step-scan")) {
			t.Errorf("log file lacks the finished finally task:\n%s", log)
		}
	})
}

// TestTektonBaseImageFromNames: nil names mean the default ones; an empty list means none,
// so that the base image comes from the log only.
func TestTektonBaseImageFromNames(t *testing.T) {
	const param = "quay.io/thoth-station/custom-base:1"
	e := newTestEnv(t)
	loadTektonFixture(t, e, "buildah-pipelinerun", tektonFixtureOptions{mutate: func(obj runtime.Object) {
		if pr, ok := obj.(*pipelinev1.PipelineRun); ok {
			pr.Spec.Params = append(pr.Spec.Params, pipelinev1.Param{Name: "BASE_IMAGE", Value: *pipelinev1.NewStructuredValues(param)})
		}
	}})
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{name: "nil: the defaults", names: nil, want: param},
		{name: "empty: none, the log", names: []string{}, want: tektonUBIPython},
		{name: "other names: the log", names: []string{"FROM"}, want: tektonUBIPython},
		{name: "the param named", names: []string{"BASE_IMAGE"}, want: param},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := e.collectTektonLog(t, e.admin, KindPipelineRun, buildahRun, Options{BaseImageFrom: tt.names})
			if rec.BaseImage != tt.want {
				t.Errorf("BaseImage = %q, want %q", rec.BaseImage, tt.want)
			}
		})
	}
}
