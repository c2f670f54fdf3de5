package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// userParamsEnv is the env var of OSBS/atomic-reactor Custom builds that holds their
// parameters as JSON, the base image among them.
const userParamsEnv = "USER_PARAMS"

// collectOpenShift reads a build.openshift.io/v1 Build.
func collectOpenShift(ctx context.Context, c Clients, ref Ref, opts Options) (*Record, error) {
	if c.Objects == nil {
		return nil, errors.New("no Kubernetes API client")
	}
	b, _, err := finishedRun(ctx, buildAPI(c, ref.Namespace), ref, opts)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		Kind:          KindBuild,
		Namespace:     b.Namespace,
		Name:          b.Name,
		UID:           string(b.UID),
		Phase:         buildPhase(b.Status.Phase),
		OriginalPhase: string(b.Status.Phase),
		Reason:        string(b.Status.Reason),
		Message:       b.Status.Message,
		Strategy:      string(b.Spec.Strategy.Type),
	}
	if t := b.Status.StartTimestamp; t != nil {
		rec.StartTime = timePtr(t.Time)
	}
	if t := b.Status.CompletionTimestamp; t != nil {
		rec.CompletionTime = timePtr(t.Time)
	}
	if rec.BaseImage, rec.Notes, err = buildBaseImage(ctx, c, b); err != nil {
		return nil, err
	}
	rec.OutputImageTag = b.Status.OutputDockerImageReference
	if b.Status.Output.To != nil && b.Status.Output.To.ImageDigest != "" {
		rec.OutputDigest = b.Status.Output.To.ImageDigest
		if repo := repository(rec.OutputImageTag); repo != "" {
			rec.OutputImage = repo + "@" + rec.OutputDigest
		}
	}
	if rec.OutputDigest == "" && b.Spec.Strategy.CustomStrategy != nil {
		// OSBS leaves status.output empty and records what it pushed in annotations.
		img, notes, ok := osbsOutput(b.Annotations, rec.OutputImageTag)
		if ok {
			rec.OutputImage, rec.OutputImageTag, rec.OutputDigest = img.Image, img.Tag, img.Digest
		}
		rec.Notes = append(rec.Notes, notes...)
	}
	if rec.OutputImage == "" && rec.Phase == PhaseSucceeded {
		rec.OutputImage = rec.OutputImageTag // no digest known: the tag is all there is
	}
	if opts.LogFile != "" || opts.ScanLog {
		if err := buildLog(ctx, c, rec, opts.LogFile); err != nil {
			return nil, err
		}
	}
	if rec.FailureSummary == "" && rec.Phase != PhaseSucceeded && b.Status.LogSnippet != "" {
		// No log (pruned, or a saved build): the snippet OpenShift kept of its end.
		rec.FailureSummary = FailureSummary([]byte(b.Status.LogSnippet))
	}
	return rec, nil
}

// buildFinished reports whether an OpenShift build phase is final.
func buildFinished(p buildv1.BuildPhase) bool {
	switch p {
	case buildv1.BuildPhaseComplete, buildv1.BuildPhaseFailed, buildv1.BuildPhaseError, buildv1.BuildPhaseCancelled:
		return true
	}
	return false
}

// buildPhase normalises a final OpenShift phase.
func buildPhase(p buildv1.BuildPhase) Phase {
	switch p {
	case buildv1.BuildPhaseComplete:
		return PhaseSucceeded
	case buildv1.BuildPhaseFailed:
		return PhaseFailed
	case buildv1.BuildPhaseCancelled:
		return PhaseCancelled
	}
	return PhaseError
}

// buildsResource names OpenShift builds in errors and RBAC hints.
const buildsResource = "builds.build.openshift.io"

// buildAPI reads and watches OpenShift builds like Tekton runs, a final phase standing for
// a Succeeded condition that is True (Complete) or False (Failed, Error, Cancelled).
func buildAPI(c Clients, namespace string) runAPI[buildv1.Build] {
	return newRunAPI(c, buildsGVR, buildsResource, namespace, buildCondition)
}

// buildCondition maps a build's phase onto a run condition; New, Pending and Running are
// Unknown, with the phase as the reason.
func buildCondition(b *buildv1.Build) runCondition {
	cond := runCondition{Reason: string(b.Status.Phase), Message: b.Status.Message}
	switch {
	case b.Status.Phase == buildv1.BuildPhaseComplete:
		cond.Status = corev1.ConditionTrue
	case buildFinished(b.Status.Phase):
		cond.Status = corev1.ConditionFalse
	default:
		cond.Status, cond.Message = corev1.ConditionUnknown, ""
	}
	return cond
}

// buildBaseImage is the image the build started from: the strategy's from, resolved
// through the image API when it names an ImageStreamTag or ImageStreamImage. Custom builds
// are read by customBaseImage, which never fails and never reports their from (the
// builder): what it cannot read comes back as notes. Docker builds without a from, and
// builds whose from cannot be resolved (a note says why), get their base from the log's
// FROM lines. Only being refused the image stream is an error.
func buildBaseImage(ctx context.Context, c Clients, b *buildv1.Build) (string, []string, error) {
	s := b.Spec.Strategy
	var from *corev1.ObjectReference
	switch {
	case s.SourceStrategy != nil:
		from = &s.SourceStrategy.From
	case s.DockerStrategy != nil:
		from = s.DockerStrategy.From
	case s.CustomStrategy != nil:
		base, notes := customBaseImage(b)
		return base, notes, nil
	}
	if from == nil || from.Name == "" {
		return "", nil, nil
	}
	base, err := resolveFrom(ctx, c, b.Namespace, from)
	switch {
	case apierrors.IsForbidden(err):
		return "", nil, err
	case err != nil:
		// The stream may be gone or re-imported since the build, or the build saved
		// without it: the build is still reported, its base from the log if it has one.
		return "", []string{clip(fmt.Sprintf("the strategy's from %s %s could not be resolved: %v", from.Kind, quote(from.Name), err))}, nil
	}
	return base, nil, nil
}

// ParseUserParams returns base_image from OSBS USER_PARAMS JSON ("" when absent).
func ParseUserParams(s string) (string, error) {
	var params struct {
		BaseImage *json.RawMessage `json:"base_image"`
	}
	if err := json.Unmarshal([]byte(s), &params); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	if params.BaseImage == nil {
		return "", nil
	}
	var base string
	if err := json.Unmarshal(*params.BaseImage, &base); err != nil {
		return "", errors.New("base_image is not a string")
	}
	return strings.TrimSpace(base), nil
}

// resolveFrom turns a strategy's from into a pull spec.
func resolveFrom(ctx context.Context, c Clients, buildNS string, from *corev1.ObjectReference) (string, error) {
	ns := from.Namespace
	if ns == "" {
		ns = buildNS
	}
	switch from.Kind {
	case "DockerImage", "":
		return from.Name, nil
	case "ImageStreamTag", "ImageStreamImage":
	default:
		return "", fmt.Errorf("the strategy's from is a %s, which has no image to report", from.Kind)
	}
	if c.Objects == nil {
		return "", fmt.Errorf("resolving %s %s/%s: no Kubernetes API client", from.Kind, ns, from.Name)
	}
	streamName, selector, sep := splitStreamRef(from.Name)
	if streamName == "" {
		return "", fmt.Errorf("%s %q is neither name:tag nor name@digest", from.Kind, from.Name)
	}
	u, err := c.Objects.Resource(imageStreamsGVR).Namespace(ns).Get(ctx, streamName, metav1.GetOptions{})
	if err != nil {
		return "", apiError(err, "get", "imagestreams.image.openshift.io", ns)
	}
	is, err := decode[imagev1.ImageStream](u)
	if err != nil {
		return "", err
	}
	for _, tag := range is.Status.Tags {
		for _, item := range tag.Items {
			if (sep == ":" && tag.Tag == selector) || (sep == "@" && item.Image == selector) {
				if item.DockerImageReference != "" {
					return item.DockerImageReference, nil
				}
			}
			if sep == ":" {
				break // only the newest item of a tag counts
			}
		}
	}
	if sep == "@" && is.Status.DockerImageRepository != "" {
		return is.Status.DockerImageRepository + "@" + selector, nil
	}
	return "", fmt.Errorf("%s %s/%s is not in the image stream's status: has it been imported?", from.Kind, ns, from.Name)
}

// splitStreamRef splits "stream:tag" or "stream@sha256:...".
func splitStreamRef(s string) (stream, selector, sep string) {
	if i := strings.Index(s, "@"); i > 0 {
		return s[:i], s[i+1:], "@"
	}
	if i := strings.LastIndex(s, ":"); i > 0 && i < len(s)-1 {
		return s[:i], s[i+1:], ":"
	}
	return "", "", ":"
}

// repository strips the tag or digest from an image reference, keeping its spelling.
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// buildLog streams builds/{name}/log into the log file. A log the server no longer has
// is recorded as missing; being refused it is an error naming the permission.
func buildLog(ctx context.Context, c Clients, rec *Record, path string) error {
	if c.Logs == nil {
		return noLog(rec, path, noSavedLogs)
	}
	l, err := createLog(path, rec.BaseImage == "")
	if err != nil {
		return err
	}
	stream, err := logRequest(c, buildsGVR, rec.Namespace, rec.Name).Stream(ctx)
	if err != nil {
		if apierrors.IsForbidden(err) {
			l.Close()
			return apiError(err, "get", "builds/log in build.openshift.io", rec.Namespace)
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsBadRequest(err) && !apierrors.IsGone(err) {
			l.Close()
			return fmt.Errorf("reading the build log: %w", err)
		}
		if err := finishLog(rec, l); err != nil {
			return err
		}
		rec.Log.Missing = "the build log is not available (pruned, or the build pod is gone): " + apiMessage(err)
		return nil
	}
	defer stream.Close()
	if _, err := l.copyFrom(stream); err != nil {
		l.Close()
		return fmt.Errorf("streaming the build log of %s: %w", rec.Ref(), err)
	}
	return finishLog(rec, l)
}

// apiError wraps an API error with what was refused and what to do.
func apiError(err error, verb, resource, namespace string) error {
	switch {
	case apierrors.IsNotFound(err) && !namesObject(err):
		return fmt.Errorf("%w: %s (%s)", ErrNotServed, notServedHint(resource), apiMessage(err))
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %s", ErrNotFound, apiMessage(err))
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed to %s %s in namespace %s: grant the service account %q on %s (%w)",
			verb, resource, namespace, verb, resource, err)
	}
	return fmt.Errorf("%s %s in namespace %s: %w", verb, resource, namespace, err)
}

// namesObject reports whether a NotFound error is about an object: the API server names
// it. A path the server does not serve (an API group or resource not installed) gets a
// bare 404, without a name.
func namesObject(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true
	}
	d := status.Status().Details
	return d != nil && (d.Name != "" || d.Kind != "")
}

// notServedHint says what serves the resource.
func notServedHint(resource string) string {
	switch {
	case strings.HasSuffix(resource, ".tekton.dev"):
		return "the cluster does not serve " + resource + ": install Tekton Pipelines v0.50 or later (tekton.dev/v1)"
	case strings.HasSuffix(resource, ".openshift.io"):
		return "the cluster does not serve " + resource + ": OpenShift builds and image streams exist only on OpenShift"
	case strings.HasSuffix(resource, ".shipwright.io"):
		return "the cluster does not serve " + resource + ": install Shipwright Builds v0.12 or later (shipwright.io/v1beta1)"
	}
	return "the cluster does not serve " + resource
}

func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

func timePtr(t time.Time) *time.Time { return &t }
