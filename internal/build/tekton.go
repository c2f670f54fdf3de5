package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The resources a Tekton collection reads, as RBAC names them.
const (
	pipelineRunsResource = "pipelineruns.tekton.dev"
	taskRunsResource     = "taskruns.tekton.dev"
	podsResource         = "pods"
	podLogResource       = "pods/log"
)

const (
	// conditionSucceeded is the condition Tekton runs report their outcome in.
	conditionSucceeded = "Succeeded"
	// stepPrefix starts the name of every step container of a Tekton pod.
	stepPrefix = "step-"
	// maxMissing bounds how many missing log sections Record.Log.Missing lists.
	maxMissing = 10
	// maxQuoted bounds an outside value a note quotes, as escaped; maxNote a whole note.
	maxQuoted = 200
	maxNote   = 600
)

// collectTekton reads a finished tekton.dev/v1 PipelineRun or TaskRun, its child TaskRuns
// and, with opts.LogFile, the logs of their step containers.
//
// The output image comes from results with Chains' type hints, looked up on the run itself
// first and then on its TaskRuns in pipeline order; the first one with a digest wins, else
// the first without. The base image is the first result, then the first param, named by
// opts.BaseImageFrom (run before TaskRuns, names in order); without one, finishLog reads it
// from the log. Results that are not image references are skipped with a note saying why
// (see readTekton).
//
// A PipelineRun whose finally tasks are running (status.finallyStartTime set, Succeeded
// still Unknown) counts as finished: it is the build as far as its other tasks go, which
// is what collect-build and submit-thoth read when they run as finally tasks of the build
// pipeline itself. Its phase comes from those other TaskRuns (see finallyPhase), its
// completion time is the finally start time, and the finally TaskRuns, told apart by the
// pipeline spec in its status, are left out of the log and of the image search. Once the
// run has finished it is read as any other, finally tasks included.
func collectTekton(ctx context.Context, c Clients, ref Ref, opts Options) (*Record, error) {
	rec, notes, err := readTekton(ctx, c, ref, opts)
	if err != nil {
		return nil, err
	}
	rec.Notes = notes
	return rec, nil
}

// readTekton is collectTekton, also returning what it skipped and why: results that are
// not image references.
func readTekton(ctx context.Context, c Clients, ref Ref, opts Options) (*Record, []string, error) {
	if c.Objects == nil {
		return nil, nil, errors.New("no Kubernetes API client")
	}
	var (
		rec      *Record
		sources  []runValues  // the run, then its TaskRuns: where results and params are looked up
		sections []logSection // the TaskRuns whose pods hold the log, in order
	)
	switch ref.Kind {
	case KindPipelineRun:
		pr, cond, err := finishedRun(ctx, pipelineRunAPI(c, ref.Namespace), ref, opts)
		if err != nil {
			return nil, nil, err
		}
		// While its finally tasks run, the build is the PipelineRun's other tasks: the
		// finally ones (collect-build itself, perhaps) are left out of everything.
		var finally map[string]bool
		if cond.finallyRunning {
			if finally, err = finallyTasks(pr); err != nil {
				return nil, nil, err
			}
		}
		if sections, err = pipelineRunChildren(ctx, c, pr, finally); err != nil {
			return nil, nil, err
		}
		phase, completion := tektonPhase(cond.Status, cond.Reason), pr.Status.CompletionTime
		if cond.finallyRunning {
			if phase, err = finallyPhase(pr, cond, sections); err != nil {
				return nil, nil, err
			}
			cond.Message = "its finally tasks are running; the phase is that of its other tasks (" + cond.Message + ")"
			completion = pr.Status.FinallyStartTime
		}
		rec = tektonRecord(ref.Kind, pr.ObjectMeta, phase, cond, pr.Status.StartTime, completion)
		sources = append(sources, pipelineRunValues(pr))
		for _, s := range sections {
			if s.taskRun != nil {
				sources = append(sources, taskRunValues(s.taskRun))
			}
		}
	case KindTaskRun:
		tr, cond, err := finishedRun(ctx, taskRunAPI(c, ref.Namespace), ref, opts)
		if err != nil {
			return nil, nil, err
		}
		rec = tektonRecord(ref.Kind, tr.ObjectMeta, tektonPhase(cond.Status, cond.Reason), cond, tr.Status.StartTime, tr.Status.CompletionTime)
		sources = append(sources, taskRunValues(tr))
		sections = append(sections, logSection{task: tr.Name, taskRun: tr})
	default:
		return nil, nil, fmt.Errorf("%s is not a Tekton kind", ref.Kind)
	}

	var notes []string
	out, outNotes := outputImage(sources)
	notes = append(notes, outNotes...)
	rec.OutputImage, rec.OutputImageTag, rec.OutputDigest = out.Image, out.Tag, out.Digest
	names := opts.BaseImageFrom
	if names == nil {
		names = DefaultBaseImageFrom()
	}
	base, baseNotes := baseImage(sources, names)
	notes = append(notes, baseNotes...)
	rec.BaseImage = base

	if opts.LogFile != "" || opts.ScanLog {
		if err := tektonLog(ctx, c, rec, sections, opts.LogFile); err != nil {
			return nil, nil, err
		}
	}
	return rec, notes, nil
}

// tektonRecord starts the record of a finished run of the given phase.
func tektonRecord(kind Kind, meta metav1.ObjectMeta, phase Phase, cond runCondition, start, completion *metav1.Time) *Record {
	strategy := "PipelineRun"
	if kind == KindTaskRun {
		strategy = "TaskRun"
	}
	original := cond.Reason
	if original == "" {
		original = string(cond.Status)
	}
	rec := &Record{
		Kind:          kind,
		Namespace:     meta.Namespace,
		Name:          meta.Name,
		UID:           string(meta.UID),
		Phase:         phase,
		OriginalPhase: original,
		Reason:        cond.Reason,
		Message:       cond.Message,
		Strategy:      strategy,
	}
	if start != nil {
		rec.StartTime = timePtr(start.Time)
	}
	if completion != nil {
		rec.CompletionTime = timePtr(completion.Time)
	}
	return rec
}

// The reasons of a False Succeeded condition that tektonPhase does not count as Failed.
var (
	// cancelledReasons: the run was cancelled or stopped by a person or a controller
	// (v1 "Cancelled", v1beta1-era "PipelineRunCancelled", the graceful variants).
	cancelledReasons = map[string]bool{
		"Cancelled": true, "PipelineRunCancelled": true, "TaskRunCancelled": true,
		"StoppedRunFinally": true, "CancelledRunFinally": true,
		"StoppedRunningFinally": true, "CancelledRunningFinally": true,
	}
	// errorReasons: the build never got to run its steps, because its definition could
	// not be resolved or validated or its pod could not be made, as OpenShift's Error
	// phase means "an error prevented the build from executing".
	errorReasons = map[string]bool{
		// PipelineRun
		"CouldntGetPipeline": true, "CouldntGetTask": true, "PipelineValidationFailed": true,
		"PipelineInvalidGraph": true, "InvalidPipelineResourceBindings": true,
		"InvalidWorkspaceBindings": true, "InvalidTaskRunSpecs": true,
		"ParameterTypeMismatch": true, "ObjectParameterMissKeys": true,
		"ParamArrayIndexingInvalid": true, "ParameterMissing": true,
		"InvalidMatrixParameterTypes": true, "InvalidTaskResultReference": true,
		"InvalidPipelineResultReference": true, "RequiredWorkspaceMarkedOptional": true,
		"CreateRunFailed": true, "CELEvaluationFailed": true,
		"PipelineRunCouldntCancel": true, "PipelineRunCouldntTimeOut": true,
		// both
		"ResourceVerificationFailed": true, "InvalidParamValue": true,
		// TaskRun
		"TaskRunResolutionFailed": true, "TaskRunValidationFailed": true,
		"TaskValidationFailed": true, "TaskRunImagePullFailed": true,
		"CreateContainerConfigError": true, "PodCreationFailed": true,
		"InitContainerFailed": true, "InitContainerOOM": true,
	}
)

// tektonPhase normalises the Succeeded condition of a finished run:
//
//   - True (reasons Succeeded, Completed) is Succeeded;
//   - False with a cancellation reason (Cancelled, PipelineRunCancelled, TaskRunCancelled,
//     StoppedRunFinally, CancelledRunFinally and their -RunningFinally forms) is Cancelled;
//   - False because the run could not start its steps (resolution, validation, pod or
//     image-pull failures: CouldntGetTask, CouldntGetPipeline, InvalidWorkspaceBindings,
//     TaskRunImagePullFailed, PodCreationFailed, ... see errorReasons) is Error;
//   - False for anything else is Failed: a failed step (Failed, StepFailed), a timeout
//     (PipelineRunTimeout, TaskRunTimeout), an OOM kill or eviction, and reasons we do not
//     know. Timeouts, OOM kills and evictions are Failed as they are for OpenShift builds.
func tektonPhase(status corev1.ConditionStatus, reason string) Phase {
	switch {
	case status == corev1.ConditionTrue:
		return PhaseSucceeded
	case cancelledReasons[reason]:
		return PhaseCancelled
	case errorReasons[reason]:
		return PhaseError
	}
	return PhaseFailed
}

func pipelineRunAPI(c Clients, namespace string) runAPI[pipelineRun] {
	return newRunAPI(c, pipelineRunsGVR, pipelineRunsResource, namespace, pipelineRunCondition)
}

func taskRunAPI(c Clients, namespace string) runAPI[taskRun] {
	return newRunAPI(c, taskRunsGVR, taskRunsResource, namespace, taskRunCondition)
}

// pipelineRunCondition is the PipelineRun's Succeeded condition, zero when it has none yet,
// marked finallyRunning when it has not finished but its finally tasks have started.
func pipelineRunCondition(pr *pipelineRun) runCondition {
	var cond runCondition
	if c := succeeded(pr.Status.Conditions); c != nil {
		cond = runCondition{Status: c.Status, Reason: c.Reason, Message: c.Message}
	}
	cond.finallyRunning = !cond.finished() && pr.Status.FinallyStartTime != nil
	return cond
}

// finallyTasks names the finally tasks of a PipelineRun, from the pipeline spec the
// controller resolved into its status (or the one embedded in its spec).
func finallyTasks(pr *pipelineRun) (map[string]bool, error) {
	spec := pr.Status.PipelineSpec
	if spec == nil {
		spec = pr.Spec.PipelineSpec
	}
	if spec == nil {
		return nil, fmt.Errorf("%w: its finally tasks are running, but its status holds no pipelineSpec that tells them from its other tasks; collect it once it has finished", ErrNotFinished)
	}
	names := make(map[string]bool, len(spec.Finally))
	for _, t := range spec.Finally {
		names[t.Name] = true
	}
	return names, nil
}

// finallyPhase is the phase of a PipelineRun whose finally tasks are running, from its
// other TaskRuns (sections, the finally ones left out), judged as Tekton judges a run's
// tasks:
//
//   - Cancelled when the run was cancelled or stopped (spec.status, or a condition reason
//     such as CancelledRunningFinally);
//   - else Failed when one of them failed, timed out, or was cancelled because the run
//     timed out; a failure its pipeline task ignores (onError: continue, reason
//     FailureIgnored) does not count;
//   - else Cancelled when one of them was cancelled;
//   - else Succeeded.
//
// Tekton starts finally tasks only after the other tasks are done; one that is not done
// yet is ErrNotFinished all the same.
func finallyPhase(pr *pipelineRun, cond runCondition, sections []logSection) (Phase, error) {
	switch {
	case cancelledReasons[cond.Reason], pr.Spec.Status == pipelineRunCancelled,
		pr.Spec.Status == pipelineRunCancelledFinally, pr.Spec.Status == pipelineRunStoppedRunFinally:
		return PhaseCancelled, nil
	}
	var failed, cancelled bool
	for _, s := range sections {
		tr := s.taskRun
		if tr == nil {
			continue // gone: its outcome is unknown, its log section says so
		}
		c := taskRunCondition(tr)
		switch {
		case c.Status == corev1.ConditionTrue:
		case !c.finished():
			return "", fmt.Errorf("%w: its finally tasks are running, but its task %s (taskrun %s) is %s", ErrNotFinished, s.task, tr.Name, c)
		case c.Reason == taskRunReasonFailureIgnored:
		case tr.Spec.StatusMessage == taskRunCancelledByPipelineTimeout:
			failed = true
		case tektonPhase(c.Status, c.Reason) == PhaseCancelled:
			cancelled = true
		default:
			failed = true
		}
	}
	switch {
	case failed:
		return PhaseFailed, nil
	case cancelled:
		return PhaseCancelled, nil
	}
	return PhaseSucceeded, nil
}

// taskRunCondition is the TaskRun's Succeeded condition, zero when it has none yet.
func taskRunCondition(tr *taskRun) runCondition {
	if c := succeeded(tr.Status.Conditions); c != nil {
		return runCondition{Status: c.Status, Reason: c.Reason, Message: c.Message}
	}
	return runCondition{}
}

// logSection is one TaskRun whose step logs go into the build log, under its task name.
type logSection struct {
	// task heads the section: the pipeline task's name, or the TaskRun's.
	task string
	// taskRun is nil when it is gone; gone says why.
	taskRun *taskRun
	gone    string
}

// pipelineRunChildren gets the PipelineRun's child TaskRuns in the order of
// status.childReferences, the order the controller started them in. CustomRuns have no
// step pods and are left out, and so are the children of the pipeline tasks named in
// skip; a TaskRun that is gone is kept as a section without a log.
// A PipelineRun from before Tekton v0.45 (embedded status) has no childReferences: its
// TaskRuns are found by their tekton.dev/pipelineRun label, in the order they started.
func pipelineRunChildren(ctx context.Context, c Clients, pr *pipelineRun, skip map[string]bool) ([]logSection, error) {
	trs := taskRunAPI(c, pr.Namespace)
	children := pr.Status.ChildReferences
	if len(children) == 0 {
		labelled, err := labelledChildren(ctx, c, pr)
		if err != nil {
			return nil, err
		}
		children = labelled
	}
	var sections []logSection
	for _, child := range children {
		if (child.Kind != "" && child.Kind != "TaskRun") || skip[child.PipelineTaskName] {
			continue
		}
		s := logSection{task: child.PipelineTaskName}
		if s.task == "" {
			s.task = child.Name
		}
		tr, _, err := trs.get(ctx, child.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			s.gone = "taskrun " + child.Name + " is gone"
		case err != nil:
			return nil, fmt.Errorf("reading child %s of the pipelinerun: %w", child.Name, err)
		default:
			s.taskRun = tr
		}
		sections = append(sections, s)
	}
	return sections, nil
}

// labelledChildren lists the TaskRuns labelled as the PipelineRun's, oldest first, as
// child references.
func labelledChildren(ctx context.Context, c Clients, pr *pipelineRun) ([]childRef, error) {
	list, err := c.Objects.Resource(taskRunsGVR).Namespace(pr.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelPipelineRun + "=" + pr.Name})
	if err != nil {
		return nil, fmt.Errorf("listing the taskruns of pipelinerun %s, which has no status.childReferences (it ran before Tekton v0.45): %w", pr.Name, apiError(err, "list", taskRunsResource, pr.Namespace))
	}
	type started struct {
		ref  childRef
		when time.Time
	}
	runs := make([]started, 0, len(list.Items))
	for i := range list.Items {
		u := &list.Items[i]
		when := u.GetCreationTimestamp().Time
		if s, ok, _ := unstructured.NestedString(u.Object, "status", "startTime"); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				when = t
			}
		}
		runs = append(runs, started{childRef{Kind: "TaskRun", Name: u.GetName(), PipelineTaskName: u.GetLabels()[labelPipelineTask]}, when})
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].when.Equal(runs[j].when) {
			return runs[i].when.Before(runs[j].when)
		}
		return runs[i].ref.Name < runs[j].ref.Name
	})
	refs := make([]childRef, len(runs))
	for i, r := range runs {
		refs[i] = r.ref
	}
	return refs, nil
}

// namedValue is a string result or param.
type namedValue struct{ Name, Value string }

// runValues are the results and params of one run, where output and base images are looked up.
type runValues struct {
	// from names the run in notes: "pipelinerun x", "taskrun y".
	from    string
	results []namedValue
	// params are the run's params, then the defaults of params it did not set.
	params []namedValue
	// toolImages are the images the run's steps and sidecars ran, which a param such as
	// the catalog buildah Task's BUILDER_IMAGE names: tools, not base images.
	toolImages []string
	// taskSpec is a TaskRun's resolved Task, whose steps may name the base image in an env
	// var or an s2i command (see stepBaseImage); nil for a PipelineRun.
	taskSpec *taskSpec
}

func pipelineRunValues(pr *pipelineRun) runValues {
	v := runValues{from: "pipelinerun " + pr.Name}
	for _, r := range pr.Status.Results {
		if s, ok := resultString(r.Value); ok {
			v.results = append(v.results, namedValue{r.Name, s})
		}
	}
	var specs []paramSpec
	if pr.Status.PipelineSpec != nil {
		specs = pr.Status.PipelineSpec.Params
	}
	v.params = paramValues(pr.Spec.Params, specs)
	return v
}

func taskRunValues(tr *taskRun) runValues {
	v := runValues{from: "taskrun " + tr.Name}
	for _, r := range tr.Status.Results {
		if s, ok := resultString(r.Value); ok {
			v.results = append(v.results, namedValue{r.Name, s})
		}
	}
	var specs []paramSpec
	if tr.Status.TaskSpec != nil {
		specs = tr.Status.TaskSpec.Params
	}
	v.params = paramValues(tr.Spec.Params, specs)
	if tr.Status.TaskSpec != nil {
		v.toolImages = toolImages(tr.Status.TaskSpec, v.params)
		v.taskSpec = tr.Status.TaskSpec
	}
	return v
}

// paramRef matches a param reference: $(params.x), $(params["x"]) or $(params['x']).
var paramRef = regexp.MustCompile(`\$\(params(?:\.([A-Za-z0-9_.-]+)|\[["']([^"']+)["']\])\)`)

// toolImages lists the images of a Task's steps, step template and sidecars, with params
// they reference replaced by their values.
func toolImages(spec *taskSpec, params []namedValue) []string {
	images := make([]string, 0, len(spec.Steps)+len(spec.Sidecars)+1)
	for _, s := range spec.Steps {
		images = append(images, s.Image)
	}
	for _, s := range spec.Sidecars {
		images = append(images, s.Image)
	}
	if spec.StepTemplate != nil {
		images = append(images, spec.StepTemplate.Image)
	}
	values := make(map[string]string, len(params))
	for _, p := range params {
		if _, ok := values[p.Name]; !ok {
			values[p.Name] = p.Value
		}
	}
	var out []string
	for _, image := range images {
		image = paramRef.ReplaceAllStringFunc(image, func(ref string) string {
			m := paramRef.FindStringSubmatch(ref)
			return values[m[1]+m[2]]
		})
		if image = strings.TrimSpace(image); image != "" {
			out = append(out, image)
		}
	}
	return out
}

// resultString reads a string result; an array one as its lines (IMAGES may be written so);
// an object one as JSON (Chains' *ARTIFACT_OUTPUTS, {"uri": ..., "digest": ...}).
func resultString(v paramValue) (string, bool) {
	switch v.Type {
	case paramTypeString, "":
		return v.StringVal, true
	case paramTypeArray:
		return strings.Join(v.ArrayVal, "\n"), true
	case paramTypeObject:
		b, err := json.Marshal(v.ObjectVal)
		return string(b), err == nil
	}
	return "", false
}

// paramValues lists the string params set, then the string defaults of those not set.
func paramValues(params []param, specs []paramSpec) []namedValue {
	var out []namedValue
	set := map[string]bool{}
	for _, p := range params {
		set[p.Name] = true
		if p.Value.Type == paramTypeString || p.Value.Type == "" {
			out = append(out, namedValue{p.Name, p.Value.StringVal})
		}
	}
	for _, s := range specs {
		if set[s.Name] || s.Default == nil {
			continue
		}
		if s.Default.Type == paramTypeString || s.Default.Type == "" {
			out = append(out, namedValue{s.Name, s.Default.StringVal})
		}
	}
	return out
}

// quote quotes an outside value for a note, Go-escaped, its escaped form cut to maxQuoted
// bytes: a value's bytes that are not printable UTF-8 take four each once escaped, so cutting
// the value itself would not bound the note.
func quote(s string) string {
	q := []byte{'"'}
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		piece := strconv.Quote(s[i : i+n])
		piece = piece[1 : len(piece)-1]
		if len(q)-1+len(piece) > maxQuoted {
			return string(q) + `"…`
		}
		q = append(q, piece...)
		i += n
	}
	return string(append(q, '"'))
}

// clip cuts a note to maxNote bytes: the name package's errors repeat the whole value.
func clip(note string) string {
	if len(note) > maxNote {
		return truncateUTF8(note, maxNote) + "…"
	}
	return note
}

// step is one step container of a TaskRun's pod.
type step struct{ name, container string }

// tektonLog streams the step logs of every section's pod into path, each headed by
// "[task/step]". What cannot be had (a TaskRun or pod that is gone, a container that never
// ran) is written as "[task/step] log unavailable: reason" and listed in Record.Log.Missing.
// Being refused pods or pods/log is an error naming the permission: a Task without it would
// otherwise miss every log quietly.
func tektonLog(ctx context.Context, c Clients, rec *Record, sections []logSection, path string) error {
	if c.Logs == nil {
		return noLog(rec, path, noSavedLogs)
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
	if err := finishLog(rec, l); err != nil {
		return err
	}
	rec.Log.Missing = w.missingSummary()
	return nil
}

// sectionWriter writes the log sections of TaskRuns into one log file.
type sectionWriter struct {
	clients   Clients
	namespace string
	log       *logFile
	missing   []string
}

// section writes one TaskRun's steps.
func (w *sectionWriter) section(ctx context.Context, s logSection) error {
	if s.taskRun == nil {
		return w.unavailable(s.task, "", s.gone)
	}
	tr := s.taskRun
	podName := tr.Status.PodName
	if podName == "" {
		return w.unavailableSteps(s.task, stepsOf(tr, nil), "the taskrun has no pod ("+taskRunCondition(tr).String()+")")
	}
	u, err := w.clients.Objects.Resource(podsGVR).Namespace(w.namespace).Get(ctx, podName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return w.unavailableSteps(s.task, stepsOf(tr, nil), "pod "+podName+" is gone")
	case err != nil:
		return fmt.Errorf("reading pod %s of taskrun %s: %w", podName, tr.Name, apiError(err, "get", podsResource, w.namespace))
	}
	pod, err := decode[corev1.Pod](u)
	if err != nil {
		return err
	}
	steps := stepsOf(tr, pod)
	if len(steps) == 0 {
		return w.unavailable(s.task, "", "pod "+podName+" has no step containers")
	}
	for _, st := range steps {
		if err := w.step(ctx, s.task, podName, st); err != nil {
			return err
		}
	}
	return nil
}

// step streams one step container's log.
func (w *sectionWriter) step(ctx context.Context, task, podName string, st step) error {
	stream, err := logRequest(w.clients, podsGVR, w.namespace, podName).Param("container", st.container).Stream(ctx)
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) || apierrors.IsGone(err) {
			return w.unavailable(task, st.name, apiMessage(err))
		}
		return fmt.Errorf("reading the log of container %s of pod %s: %w", st.container, podName, apiError(err, "get", podLogResource, w.namespace))
	}
	defer stream.Close()
	if _, err := io.WriteString(w.log, "["+task+"/"+st.name+"]\n"); err != nil {
		return err
	}
	r := &lastByteReader{r: stream}
	if _, err := w.log.copyFrom(r); err != nil {
		return fmt.Errorf("streaming the log of container %s of pod %s to %s: %w", st.container, podName, w.log.path, err)
	}
	if r.n > 0 && r.last != '\n' {
		if _, err := io.WriteString(w.log, "\n"); err != nil {
			return err
		}
	}
	return nil
}

// unavailableSteps notes every step of a task as unavailable, or the task when its steps
// are not known.
func (w *sectionWriter) unavailableSteps(task string, steps []step, reason string) error {
	if len(steps) == 0 {
		return w.unavailable(task, "", reason)
	}
	for _, st := range steps {
		if err := w.unavailable(task, st.name, reason); err != nil {
			return err
		}
	}
	return nil
}

// unavailable writes "[task/step] log unavailable: reason" and remembers the reason.
func (w *sectionWriter) unavailable(task, stepName, reason string) error {
	head := task
	if stepName != "" {
		head += "/" + stepName
	}
	reason = strings.Join(strings.Fields(reason), " ")
	w.missing = append(w.missing, head+": "+reason)
	_, err := io.WriteString(w.log, "["+head+"] log unavailable: "+reason+"\n")
	return err
}

// missingSummary joins the missing sections for Record.Log.Missing, at most maxMissing.
func (w *sectionWriter) missingSummary() string {
	if len(w.missing) <= maxMissing {
		return strings.Join(w.missing, "; ")
	}
	return strings.Join(w.missing[:maxMissing], "; ") + fmt.Sprintf("; and %d more", len(w.missing)-maxMissing)
}

// stepsOf lists a TaskRun's step containers in step order: from status.steps, else the
// pod's step- containers, else the steps of status.taskSpec.
func stepsOf(tr *taskRun, pod *corev1.Pod) []step {
	var steps []step
	for _, s := range tr.Status.Steps {
		container := s.Container
		if container == "" {
			container = stepPrefix + s.Name
		}
		stepName := s.Name
		if stepName == "" {
			stepName = strings.TrimPrefix(container, stepPrefix)
		}
		steps = append(steps, step{name: stepName, container: container})
	}
	if len(steps) > 0 {
		return steps
	}
	if pod != nil {
		for _, c := range pod.Spec.Containers {
			if n, ok := strings.CutPrefix(c.Name, stepPrefix); ok {
				steps = append(steps, step{name: n, container: c.Name})
			}
		}
		return steps
	}
	if tr.Status.TaskSpec != nil {
		for i, s := range tr.Status.TaskSpec.Steps {
			n := s.Name
			if n == "" {
				n = fmt.Sprintf("unnamed-%d", i)
			}
			steps = append(steps, step{name: n, container: stepPrefix + n})
		}
	}
	return steps
}

// lastByteReader remembers the last byte read, so that a section not ending in a newline
// can be ended before the next header.
type lastByteReader struct {
	r    io.Reader
	n    int64
	last byte
}

func (r *lastByteReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.n += int64(n)
		r.last = p[n-1]
	}
	return n, err
}
