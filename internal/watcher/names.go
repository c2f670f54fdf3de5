// Package watcher turns every finished build in a cluster into exactly one Thoth analysis:
// one PipelineRun of thoth-build-analysis (or an in-process run), with at most N running at
// once. Its only state is in the cluster: a claim annotation on each build, and labelled
// PipelineRuns whose spec.status says whether they wait or run.
package watcher

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// Prefix is the prefix of every label and annotation the watcher writes.
const Prefix = "build-watcher.thoth-station.ninja/"

// Annotations written on builds (OpenShift Builds, Tekton build runs), the way Tekton Chains
// marks what it signed.
const (
	// AnnotationRun claims the build for one analysis: "TARGET/NAMESPACE/NAME" of the
	// PipelineRun ("local/-/NAME" for the local executor). Written before the run is made.
	AnnotationRun = Prefix + "analysis-run"
	// AnnotationStatus is written when the analysis finished: "Succeeded", or "Failed: cause".
	AnnotationStatus = Prefix + "analysis-status"
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
)

// StateConfigMap is the ConfigMap (in the watcher's namespace) that remembers when the
// watcher was first installed; builds that finished before are not analysed unless asked.
const (
	StateConfigMap   = "build-watcher-state"
	StateInstalledAt = "installed-at"
)

// RunName is the PipelineRun name for a build: derived from its UID only, so that a second
// attempt to create it, by any replica after any restart, is AlreadyExists.
func RunName(uid types.UID) string { return "thoth-" + strings.ToLower(string(uid)) }

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
