package build

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file reads Shipwright BuildRuns (shipwright.io/v1beta1), the builds of Builds for Red
// Hat OpenShift. A BuildRun is read through the dynamic client and decoded into the mirrored
// types below, with the JSON names of github.com/shipwright-io/build/pkg/apis/build/v1beta1
// (v0.17.0), so that collect-build and submit-thoth need not link Shipwright's module. The
// build itself runs as a Tekton TaskRun (or, for multi-arch builds, a PipelineRun), the
// BuildRun's executor, whose step logs are read with the Tekton code of tekton.go.

// buildRunsResource is the resource a Shipwright collection reads, as RBAC names it.
const buildRunsResource = "buildruns.shipwright.io"

// Shipwright's words for what collecting tells apart.
const (
	// buildRunCanceled is the Succeeded reason of a BuildRun cancelled through spec.state
	// (BuildRunStateCancel).
	buildRunCanceled = "BuildRunCanceled"
	// The executor kinds of status.executor.
	executorTaskRun     = "TaskRun"
	executorPipelineRun = "PipelineRun"
)

// shipwrightBaseParams are the strategy params that name a build's base image, in order:
// source-to-image's builder image, then multiarch-native-buildah's base.
func shipwrightBaseParams() []string { return []string{"builder-image", "from"} }

// buildRun is a shipwright.io/v1beta1 BuildRun, as far as collecting reads it.
type buildRun struct {
	metav1.ObjectMeta `json:"metadata"`
	Spec              buildRunSpec   `json:"spec"`
	Status            buildRunStatus `json:"status"`
}

type buildRunSpec struct {
	// ParamValues override the Build's strategy params.
	ParamValues []shpParamValue `json:"paramValues,omitempty"`
	// Output overrides the Build's output image.
	Output *shpImage `json:"output,omitempty"`
}

type buildRunStatus struct {
	Conditions []condition `json:"conditions,omitempty"`
	Output     *shpOutput  `json:"output,omitempty"`
	// TaskRunName is deprecated for Executor, which names a PipelineRun for multi-arch builds.
	TaskRunName    *string            `json:"taskRunName,omitempty"`
	Executor       *shpExecutor       `json:"executor,omitempty"`
	StartTime      *metav1.Time       `json:"startTime,omitempty"`
	CompletionTime *metav1.Time       `json:"completionTime,omitempty"`
	BuildSpec      *shpBuildSpec      `json:"buildSpec,omitempty"`
	FailureDetails *shpFailureDetails `json:"failureDetails,omitempty"`
}

// shpBuildSpec is the snapshot of the Build the BuildRun ran.
type shpBuildSpec struct {
	Strategy    shpStrategy     `json:"strategy"`
	ParamValues []shpParamValue `json:"paramValues,omitempty"`
	Output      shpImage        `json:"output"`
}

type shpStrategy struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

type shpImage struct {
	Image string `json:"image"`
}

// shpOutput is what the build step reported of the image it pushed.
type shpOutput struct {
	Digest string `json:"digest,omitempty"`
}

type shpExecutor struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type shpFailureDetails struct {
	Reason   string       `json:"reason,omitempty"`
	Message  string       `json:"message,omitempty"`
	Location *shpLocation `json:"location,omitempty"`
}

type shpLocation struct {
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
}

// shpParamValue is a strategy param: a value, a value from a ConfigMap or Secret key, or
// a list of those.
type shpParamValue struct {
	Name           string          `json:"name"`
	Value          *string         `json:"value,omitempty"`
	ConfigMapValue *shpKeyRef      `json:"configMapValue,omitempty"`
	SecretValue    *shpKeyRef      `json:"secretValue,omitempty"`
	Values         []shpParamValue `json:"values,omitempty"`
}

type shpKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// ShipwrightPhase is the normalised phase of a BuildRun from the status and reason of its
// Succeeded condition (status "" when it has none yet), and whether it has finished.
func ShipwrightPhase(status corev1.ConditionStatus, reason string) (Phase, bool) {
	if status == corev1.ConditionUnknown || status == "" {
		return "", false
	}
	return shipwrightPhase(status, reason), true
}

// shipwrightPhase normalises the Succeeded condition of a finished BuildRun:
//
//   - True is Succeeded;
//   - False with BuildRunCanceled (cancelled through spec.state) is Cancelled;
//   - False because the build never ran its steps (its Build, strategy, service account,
//     params, volumes or secrets were missing or invalid: see shipwrightNeverRan) is Error;
//   - False with a reason the BuildRun took over from its TaskRun is judged as Tekton's
//     (TaskRunCancelled is Cancelled, TaskRunImagePullFailed Error, see tektonPhase);
//   - False for anything else is Failed: Failed, BuildRunTimeout, VulnerabilitiesFound,
//     StepOutOfMemory, PodEvicted and reasons we do not know.
func shipwrightPhase(status corev1.ConditionStatus, reason string) Phase {
	switch {
	case status == corev1.ConditionTrue:
		return PhaseSucceeded
	case reason == buildRunCanceled:
		return PhaseCancelled
	case shipwrightNeverRan(reason):
		return PhaseError
	}
	return tektonPhase(status, reason)
}

// shipwrightNeverRan reports the reasons of a False Succeeded condition that Shipwright's
// BuildRun controller sets before it creates a TaskRun: the build never ran its steps, as
// OpenShift's Error phase means. They are the controller's own conditions
// (pkg/reconciler/buildrun/resources/conditions.go) and the Build validation reasons that
// reach a BuildRun (pkg/apis/build/v1beta1/build_types.go), at shipwright-io/build v0.17.0.
// TaskRunIsMissing is not one of them: the TaskRun may have run before it went missing.
func shipwrightNeverRan(reason string) bool {
	switch reason {
	// The BuildRun controller's conditions.
	case "UnknownStrategyKind", "ClusterBuildStrategyNotFound", "BuildStrategyNotFound",
		"SetOwnerReferenceFailed", "TaskRunGenerationFailed", "ServiceAccountNotFound",
		"BuildRegistrationFailed", "BuildNotFound", "MissingParameterValues",
		"RestrictedParametersInUse", "UndefinedParameter", "WrongParameterValueType",
		"InconsistentParameterValues", "EmptyArrayItemParameterValues",
		"IncompleteConfigMapValueParameterValues", "IncompleteSecretValueParameterValues",
		"BuildRunNameInvalid", "BuildRunNoRefOrSpec", "BuildRunAmbiguousBuild",
		"BuildRunBuildFieldOverrideForbidden",
		// The Build's validation reasons.
		"UnknownBuildStrategyKind", "SpecSourceSecretRefNotFound", "SpecOutputSecretRefNotFound",
		"SpecBuilderSecretRefNotFound", "MultipleSecretRefNotFound", "SpecEnvNameCanNotBeBlank",
		"SpecEnvOnlyOneOfValueOrValueFromMustBeSpecified", "RuntimePathsCanNotBeEmpty",
		"RemoteRepositoryUnreachable", "BuildNameInvalid", "VolumeDoesNotExist",
		"VolumeNotOverridable", "UndefinedVolume", "TriggerNameCanNotBeBlank",
		"TriggerInvalidType", "TriggerInvalidGitHubWebHook", "TriggerInvalidImage",
		"TriggerInvalidPipeline", "OutputTimestampNotSupported", "OutputTimestampNotValid",
		"NodeSelectorNotValid", "TolerationNotValid", "SchedulerNameNotValid":
		return true
	}
	return false
}

func buildRunAPI(c Clients, namespace string) runAPI[buildRun] {
	return newRunAPI(c, buildRunsGVR, buildRunsResource, namespace, buildRunCondition)
}

// buildRunCondition is the BuildRun's Succeeded condition, zero when it has none yet.
func buildRunCondition(br *buildRun) runCondition {
	if c := succeeded(br.Status.Conditions); c != nil {
		return runCondition{Status: c.Status, Reason: c.Reason, Message: c.Message}
	}
	return runCondition{}
}

// collectShipwright reads a finished shipwright.io/v1beta1 BuildRun and, with opts.LogFile
// or opts.ScanLog, the step logs of its executor.
//
// The output image is status.output.digest, the only digest a BuildRun reports, in the
// repository of spec.output.image (the BuildRun's override) or else of the Build snapshot's
// status.buildSpec.output.image, whose tag is kept in OutputImageTag; a BuildRun that did
// not succeed and reports no digest pushed nothing, and has no OutputImage, as an
// OpenShift build that did not complete has none. The base image is the
// strategy param builder-image (source-to-image), then from (multiarch-native-buildah),
// each as the BuildRun's spec.paramValues set it or else the Build's; without one,
// finishLog reads it from the log's FROM lines. A failed BuildRun's reason and message come
// from status.failureDetails when it has them, else from its Succeeded condition.
//
// The log is that of the executor, status.executor (or the deprecated status.taskRunName):
// a TaskRun's step containers, or the TaskRuns of a PipelineRun. When the executor is gone
// but status.failureDetails.location names a pod and container, that container's log is
// read; what cannot be had is recorded in Record.Log.Missing.
func collectShipwright(ctx context.Context, c Clients, ref Ref, opts Options) (*Record, error) {
	if c.Objects == nil {
		return nil, errors.New("no Kubernetes API client")
	}
	br, cond, err := finishedRun(ctx, buildRunAPI(c, ref.Namespace), ref, opts)
	if err != nil {
		return nil, err
	}
	rec := buildRunRecord(br, cond)
	var notes []string
	out, outNotes := buildRunOutput(br)
	notes = append(notes, outNotes...)
	rec.OutputImage, rec.OutputImageTag, rec.OutputDigest = out.Image, out.Tag, out.Digest
	if out.Digest == "" && rec.Phase != PhaseSucceeded {
		rec.OutputImage = "" // named, never pushed: the tag is kept in OutputImageTag only
	}
	base, baseNotes := buildRunBase(br)
	notes = append(notes, baseNotes...)
	rec.BaseImage = base
	if opts.LogFile != "" || opts.ScanLog {
		if err := buildRunLog(ctx, c, rec, br, opts.LogFile); err != nil {
			return nil, err
		}
	}
	rec.Notes = notes
	return rec, nil
}

// buildRunRecord starts the record of a finished BuildRun.
func buildRunRecord(br *buildRun, cond runCondition) *Record {
	original := cond.Reason
	if original == "" {
		original = string(cond.Status)
	}
	rec := &Record{
		Kind:          KindBuildRun,
		Namespace:     br.Namespace,
		Name:          br.Name,
		UID:           string(br.UID),
		Phase:         shipwrightPhase(cond.Status, cond.Reason),
		OriginalPhase: original,
		Reason:        cond.Reason,
		Message:       cond.Message,
		Strategy:      "BuildRun",
	}
	if spec := br.Status.BuildSpec; spec != nil && spec.Strategy.Name != "" {
		rec.Strategy += "/" + spec.Strategy.Name
	}
	if fd := br.Status.FailureDetails; fd != nil && rec.Phase != PhaseSucceeded {
		if fd.Reason != "" {
			rec.Reason = fd.Reason
		}
		if fd.Message != "" {
			rec.Message = fd.Message
		}
	}
	if t := br.Status.StartTime; t != nil {
		rec.StartTime = timePtr(t.Time)
	}
	if t := br.Status.CompletionTime; t != nil {
		rec.CompletionTime = timePtr(t.Time)
	}
	return rec
}

// buildRunOutput is the image the BuildRun pushed: status.output.digest in the repository
// of the output image the BuildRun, or else its Build, names.
func buildRunOutput(br *buildRun) (imageRef, []string) {
	image, from := "", ""
	switch {
	case br.Spec.Output != nil && strings.TrimSpace(br.Spec.Output.Image) != "":
		image, from = strings.TrimSpace(br.Spec.Output.Image), "spec.output.image"
	case br.Status.BuildSpec != nil:
		image, from = strings.TrimSpace(br.Status.BuildSpec.Output.Image), "status.buildSpec.output.image"
	}
	var digest string
	if br.Status.Output != nil {
		digest = strings.TrimSpace(br.Status.Output.Digest)
	}
	if image == "" {
		if digest != "" {
			return imageRef{Digest: digest}, []string{clip("status.output.digest " + quote(digest) + " names no repository: the buildrun has no spec.output.image and no status.buildSpec.output.image")}
		}
		return imageRef{}, nil
	}
	base, ownDigest, hasAt := strings.Cut(image, "@")
	if _, err := name.NewTag(base); err != nil || hasAt && ownDigest == "" {
		return imageRef{}, []string{clip(fmt.Sprintf("%s %s is not an image reference: %v", from, quote(image), badName(err)))}
	}
	if hasAt {
		if _, err := name.NewDigest(image); err != nil {
			return imageRef{}, []string{clip(fmt.Sprintf("%s %s is not an image reference: %v", from, quote(image), badName(err)))}
		}
	}
	img := imageRef{Image: image}
	if hasTag(base) {
		img.Tag = base
	}
	if digest == "" {
		return img, nil
	}
	repo := repository(base)
	if _, err := name.NewDigest(repo + "@" + digest); err != nil {
		return img, []string{clip(fmt.Sprintf("status.output.digest %s is not a digest: %v", quote(digest), err))}
	}
	img.Image, img.Digest = repo+"@"+digest, digest
	return img, nil
}

// buildRunBase is the first of shipwrightBaseParams that the BuildRun, or else its Build,
// sets to an image reference. Values from ConfigMaps and Secrets are not read (that would
// take permissions the Tasks do not have): a note says so.
func buildRunBase(br *buildRun) (string, []string) {
	var build []shpParamValue
	if br.Status.BuildSpec != nil {
		build = br.Status.BuildSpec.ParamValues
	}
	var notes []string
	for _, n := range shipwrightBaseParams() {
		for _, src := range []struct {
			from   string
			params []shpParamValue
		}{{"spec.paramValues", br.Spec.ParamValues}, {"status.buildSpec.paramValues", build}} {
			i := indexParam(src.params, n)
			if i < 0 {
				continue
			}
			p := src.params[i]
			var image string
			switch {
			case p.Value != nil:
				image = strings.TrimSpace(*p.Value)
			case p.ConfigMapValue != nil:
				notes = append(notes, clip(fmt.Sprintf("%s param %s comes from ConfigMap %s key %s, which is not read", src.from, n, quote(p.ConfigMapValue.Name), quote(p.ConfigMapValue.Key))))
			case p.SecretValue != nil:
				notes = append(notes, fmt.Sprintf("%s param %s comes from a Secret, which is not read", src.from, n))
			}
			if image == "" {
				break // the BuildRun sets it; the Build's value is overridden
			}
			if _, err := name.ParseReference(image); err != nil {
				notes = append(notes, clip(fmt.Sprintf("%s param %s %s is not an image reference: %v", src.from, n, quote(image), err)))
				break
			}
			return image, notes
		}
	}
	return "", notes
}

// indexParam is the index of the param named n, -1 when there is none.
func indexParam(params []shpParamValue, n string) int {
	for i, p := range params {
		if p.Name == n {
			return i
		}
	}
	return -1
}

// buildRunExecutor names the BuildRun's executor: status.executor, else the deprecated
// status.taskRunName; kind "" when there is none.
func buildRunExecutor(br *buildRun) (kind, name string) {
	if e := br.Status.Executor; e != nil && e.Name != "" {
		kind = e.Kind
		if kind == "" {
			kind = executorTaskRun
		}
		return kind, e.Name
	}
	if n := br.Status.TaskRunName; n != nil && *n != "" {
		return executorTaskRun, *n
	}
	return "", ""
}

// buildRunLog streams the executor's step logs into path, as tektonLog does for Tekton
// runs: each step headed "[task/step]", what cannot be had written as "log unavailable"
// and listed in Record.Log.Missing.
func buildRunLog(ctx context.Context, c Clients, rec *Record, br *buildRun, path string) error {
	if c.Logs == nil {
		return noLog(rec, path, noSavedLogs) // a saved object (ReadSaved)
	}
	kind, executor := buildRunExecutor(br)
	var (
		sections []logSection
		gone     string // why the executor's log cannot be read
	)
	switch kind {
	case "":
		cond := buildRunCondition(br)
		gone = "the buildrun has no executor: it never started a TaskRun (" + cond.String() + ")"
	case executorTaskRun:
		tr, _, err := taskRunAPI(c, rec.Namespace).get(ctx, executor)
		switch {
		case errors.Is(err, ErrNotFound):
			gone = "taskrun " + executor + " is gone"
		case err != nil:
			return fmt.Errorf("reading taskrun %s, the executor of the buildrun: %w", executor, err)
		default:
			sections = append(sections, logSection{task: executor, taskRun: tr})
		}
	case executorPipelineRun:
		pr, _, err := pipelineRunAPI(c, rec.Namespace).get(ctx, executor)
		switch {
		case errors.Is(err, ErrNotFound):
			gone = "pipelinerun " + executor + " is gone"
		case err != nil:
			return fmt.Errorf("reading pipelinerun %s, the executor of the buildrun: %w", executor, err)
		default:
			if sections, err = pipelineRunChildren(ctx, c, pr, nil); err != nil {
				return fmt.Errorf("reading pipelinerun %s, the executor of the buildrun: %w", executor, err)
			}
		}
	default:
		gone = fmt.Sprintf("its executor %s is a %s, which collect-build cannot read", executor, quote(kind))
	}

	l, err := createLog(path, rec.BaseImage == "")
	if err != nil {
		return err
	}
	w := &sectionWriter{clients: c, namespace: rec.Namespace, log: l}
	for _, s := range sections {
		if err := w.section(ctx, s); err != nil {
			l.Close()
			return err
		}
	}
	if gone != "" {
		task := executor
		if task == "" {
			task = rec.Name
		}
		if err := w.unavailable(task, "", gone); err != nil {
			l.Close()
			return err
		}
		// The failed container may outlive its TaskRun: its pod is the TaskRun's, but a
		// pruner can delete TaskRuns alone.
		if loc := failureLocation(br); loc != nil {
			st := step{name: strings.TrimPrefix(loc.Container, stepPrefix), container: loc.Container}
			if err := w.step(ctx, task, loc.Pod, st); err != nil {
				l.Close()
				return err
			}
		}
	}
	if err := finishLog(rec, l); err != nil {
		return err
	}
	rec.Log.Missing = w.missingSummary()
	return nil
}

// failureLocation is the pod and container status.failureDetails names, nil unless both.
func failureLocation(br *buildRun) *shpLocation {
	fd := br.Status.FailureDetails
	if fd == nil || fd.Location == nil || fd.Location.Pod == "" || fd.Location.Container == "" {
		return nil
	}
	return fd.Location
}
