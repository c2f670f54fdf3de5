// Package build reads one finished container build, an OpenShift Build, a Tekton
// PipelineRun/TaskRun or a Shipwright BuildRun, and records what Thoth needs of it: phase,
// base image, output image with digest, strategy and the build log, streamed to a file.
package build

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Kind is the kind of build object.
type Kind string

// The kinds of build collect-build reads.
const (
	KindBuild       Kind = "build"
	KindPipelineRun Kind = "pipelinerun"
	KindTaskRun     Kind = "taskrun"
	KindBuildRun    Kind = "buildrun"
)

// Kinds lists every Kind, for help texts and errors.
func Kinds() []Kind { return []Kind{KindBuild, KindPipelineRun, KindTaskRun, KindBuildRun} }

// Phase is a finished build's outcome, normalised across OpenShift and Tekton.
type Phase string

// The finished phases.
const (
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseError     Phase = "Error"
	PhaseCancelled Phase = "Cancelled"
)

// ErrNotFinished is returned for a build that is still new, pending or running.
var ErrNotFinished = errors.New("the build has not finished")

// ErrNotFound is returned when the build object does not exist.
var ErrNotFound = errors.New("the build does not exist")

// ErrNotServed is returned when the cluster does not serve the kind of build asked for:
// OpenShift builds off OpenShift, Tekton runs without Tekton Pipelines.
var ErrNotServed = errors.New("this kind of build is not available")

// Ref names one build object.
type Ref struct {
	Kind      Kind
	Namespace string
	Name      string
}

// ParseRef reads "kind/namespace/name", e.g. build/team-a/app-7.
func ParseRef(s string) (Ref, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Ref{}, fmt.Errorf("build reference %q is not kind/namespace/name", s)
	}
	ref := Ref{Kind: Kind(strings.ToLower(parts[0])), Namespace: parts[1], Name: parts[2]}
	return ref, ref.Validate()
}

// Validate reports a reference that cannot name a build.
func (r Ref) Validate() error {
	switch r.Kind {
	case KindBuild, KindPipelineRun, KindTaskRun, KindBuildRun:
	default:
		return fmt.Errorf("build kind %q is not one of %v", r.Kind, Kinds())
	}
	if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", r.Namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 {
		return fmt.Errorf("name %q: %s", r.Name, strings.Join(errs, "; "))
	}
	return nil
}

// String is "kind/namespace/name".
func (r Ref) String() string { return string(r.Kind) + "/" + r.Namespace + "/" + r.Name }

// Record is what collect-build emits for one finished build.
type Record struct {
	Kind      Kind   `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Phase is normalised; OriginalPhase is the object's own word (Complete, Failed, ...).
	Phase         Phase  `json:"phase"`
	OriginalPhase string `json:"originalPhase"`
	Reason        string `json:"reason,omitempty"`
	Message       string `json:"message,omitempty"`
	// Strategy is Source, Docker, Custom (OpenShift), the Tekton kind, or BuildRun and
	// the Shipwright build strategy's name (BuildRun/buildah).
	Strategy string `json:"strategy"`
	// BaseImage is the image the build started from, with its digest when known.
	BaseImage string `json:"baseImage,omitempty"`
	// OutputImage is repo@sha256:... when the digest is known, else the tag reference.
	OutputImage string `json:"outputImage,omitempty"`
	// OutputImageTag is the tag form of the output image, when there is one.
	OutputImageTag string `json:"outputImageTag,omitempty"`
	// OutputDigest is the output image's digest.
	OutputDigest string     `json:"outputDigest,omitempty"`
	StartTime    *time.Time `json:"startTime,omitempty"`
	// CompletionTime is when the build finished; for a PipelineRun read while its finally
	// tasks run, when they started.
	CompletionTime *time.Time `json:"completionTime,omitempty"`
	Log            LogInfo    `json:"log"`
	// FailureSummary holds the last error-looking lines of a failed build's log (< 1 KiB).
	FailureSummary string `json:"failureSummary,omitempty"`
	// Notes says what collecting skipped and why (results that are not image references,
	// params naming a step's own image).
	Notes []string `json:"notes,omitempty"`
}

// Ref returns the reference of the recorded build.
func (r *Record) Ref() Ref { return Ref{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name} }

// LogInfo describes the build log written to a file.
type LogInfo struct {
	// Path is where the log was written; empty when none was asked for. A missing log
	// leaves an empty file there.
	Path string `json:"path,omitempty"`
	// Bytes and SHA256 describe the written log.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"`
	// Missing says why the log, or parts of it, are missing (pruned, pod gone, ...).
	Missing string `json:"missing,omitempty"`
}

// Options says how to collect.
type Options struct {
	// LogFile receives the build log; empty: the log is not fetched, unless ScanLog.
	LogFile string
	// ScanLog reads the log without a LogFile, for what only the log tells: the base image
	// of a build whose object does not name it, and a failed build's failure summary.
	ScanLog bool
	// Wait watches a build that has not finished until it does or Timeout passes; without
	// it such a build is ErrNotFinished.
	Wait    bool
	Timeout time.Duration
	// BaseImageFrom names the Tekton results and params that may hold the base image, in
	// order. nil means DefaultBaseImageFrom; an empty, non-nil list means none (nor the s2i
	// builder image of a TaskRun's steps): a Tekton build's base image then comes from its
	// log only.
	BaseImageFrom []string
	// DefaultRegistry qualifies image references that name no registry host (an OSBS
	// output such as team/app:tag); empty: such images are left out with a note, never
	// sent as if they were on Docker Hub.
	DefaultRegistry string
}

// DefaultBaseImageFrom are the result and param names searched for a Tekton build's base
// image: first those a build reports what it used in (Konflux buildah 0.1's
// BASE_IMAGES_DIGESTS, inspect-image's BASE_IMAGE), then the params that ask for a base
// (Konflux s2i BASE_IMAGE, catalog s2i BUILDER_IMAGE, FROM, buildpacks RUN_IMAGE and
// CNB_RUN_IMAGE, ko KO_DEFAULTBASEIMAGE, Shipwright's builder-image and from). Results of
// any name come before params of any name. When none names a base, the s2i builder image a
// TaskRun's steps name is taken (see Options.BaseImageFrom).
func DefaultBaseImageFrom() []string {
	return []string{"BASE_IMAGES_DIGESTS", "BASE_IMAGE", "BUILDER_IMAGE", "FROM", "RUN_IMAGE", "CNB_RUN_IMAGE",
		"KO_DEFAULTBASEIMAGE", "builder-image", "from"}
}
