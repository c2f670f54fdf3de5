// Package watcher turns every finished build in a cluster into exactly one Thoth analysis:
// one PipelineRun of thoth-build-analysis (or an in-process run), with at most N running at
// once, delivered again with backoff when a run fails. Its only state is in the cluster:
// annotations on each build (attempt, claim, outcome), and labelled PipelineRuns whose
// spec.status says whether they wait or run.
package watcher

import (
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// Prefix is the prefix of every label and annotation the watcher writes.
const Prefix = "build-watcher.thoth-station.ninja/"

// FieldManager names the watcher in the managedFields of everything it writes.
const FieldManager = "build-watcher"

// Annotations written on builds (OpenShift Builds, Tekton build runs), the way Tekton Chains
// marks what it signed. Only keys under Prefix are ever written.
const (
	// AnnotationRun claims the build for one analysis run: "TARGET/NAMESPACE/NAME" of the
	// PipelineRun ("local/-/NAME" for the local executor). With several targets it is
	// written, conditional on the build's resourceVersion, before the run is made; with one
	// target the run's deterministic name is the claim and nothing is written first.
	AnnotationRun = Prefix + "analysis-run"
	// AnnotationAttempt is the number of the current analysis run (absent: 1). Run n > 1 is
	// named RunName(uid, n).
	AnnotationAttempt = Prefix + "analysis-attempt"
	// AnnotationBudgetFrom is the first attempt that counts against --analysis-attempts
	// (absent: 1); written when a person asks for a new analysis with AnnotationReanalyze.
	AnnotationBudgetFrom = Prefix + "analysis-budget-from"
	// AnnotationRetryAt is when the current attempt may start (RFC 3339), after a failed one.
	AnnotationRetryAt = Prefix + "analysis-retry-at"
	// AnnotationLastError is why the previous attempt failed.
	AnnotationLastError = Prefix + "analysis-last-error"
	// AnnotationStatus is written when the analysis finished for good: "Succeeded", or
	// "Failed: cause" once no retry is left or none can help.
	AnnotationStatus = Prefix + "analysis-status"
	// AnnotationReanalyze, set by a person (any value) on a build whose analysis finished,
	// asks for a new analysis with a new budget of attempts; the watcher removes it.
	AnnotationReanalyze = Prefix + "reanalyze"
	// The analysis ids Thoth returned.
	AnnotationBaseImageAnalysisID   = Prefix + "base-image-analysis-id"
	AnnotationOutputImageAnalysisID = Prefix + "output-image-analysis-id"
	AnnotationBuildLogAnalysisID    = Prefix + "buildlog-analysis-id"
	AnnotationBuildLogDocumentID    = Prefix + "buildlog-document-id"
)

// Labels and annotations on the PipelineRuns the watcher makes.
const (
	// LabelManagedBy=ManagedBy marks our PipelineRuns; the queue is derived from them.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "build-watcher"
	// LabelBuildUID and LabelBuildKind link a run back to its build.
	LabelBuildUID  = Prefix + "build-uid"
	LabelBuildKind = Prefix + "build-kind"
	// AnnotationBuildRef is the build as kind/namespace/name.
	AnnotationBuildRef = Prefix + "build-ref"
	// AnnotationQueuedAt orders the queue: RFC 3339 with nanoseconds, when the run was made.
	AnnotationQueuedAt = Prefix + "queued-at"
	// AnnotationRunAttempt is which attempt of its build's analysis the run is.
	AnnotationRunAttempt = Prefix + "attempt"
)

// StateConfigMap is the ConfigMap (in the watcher's namespace) that remembers when the
// watcher was first installed; builds that finished before are not analysed unless asked.
const (
	StateConfigMap   = "build-watcher-state"
	StateInstalledAt = "installed-at"
)

// RunName is the name of a build's analysis run number attempt (1 for the first): derived
// from the build's UID only, so that a second attempt to create it, by any replica after any
// restart, is AlreadyExists. The first is "thoth-<uid>", later ones "thoth-<uid>-<n>".
func RunName(uid types.UID, attempt int) string {
	name := "thoth-" + strings.ToLower(string(uid))
	if attempt > 1 {
		name += "-" + strconv.Itoa(attempt)
	}
	return name
}

// Claim is the value of AnnotationRun: where the analysis of a build runs.
type Claim struct {
	Target, Namespace, Name string
}

// String is "TARGET/NAMESPACE/NAME".
func (c Claim) String() string { return c.Target + "/" + c.Namespace + "/" + c.Name }

// ParseClaim reads an AnnotationRun value.
func ParseClaim(s string) (Claim, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return Claim{}, fmt.Errorf("annotation %s=%q is not TARGET/NAMESPACE/NAME", AnnotationRun, s)
	}
	return Claim{Target: parts[0], Namespace: parts[1], Name: parts[2]}, nil
}

// rbacHint adds to a refused API call which permission the watcher's service account
// lacks; other errors are returned as they are.
func rbacHint(err error, verb, resource, namespace string) error {
	if !apierrors.IsForbidden(err) {
		return err
	}
	return fmt.Errorf("%w: grant the watcher's service account %s on %s in namespace %s (see config/200-rbac.yaml)", err, verb, resource, namespace)
}
