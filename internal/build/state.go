package build

import (
	"strings"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"
)

// OpenShiftPhase is the normalised phase of an OpenShift build, and whether it has finished
// (New, Pending and Running have not).
func OpenShiftPhase(p buildv1.BuildPhase) (Phase, bool) {
	if !buildFinished(p) {
		return "", false
	}
	return buildPhase(p), true
}

// TektonPhase is the normalised phase of a Tekton run from its Succeeded condition (nil
// when it has none yet), and whether the run has finished.
func TektonPhase(succeeded *apis.Condition) (Phase, bool) {
	if succeeded == nil || succeeded.Status == corev1.ConditionUnknown || succeeded.Status == "" {
		return "", false
	}
	return tektonPhase(succeeded.Status, succeeded.Reason), true
}

// ParsePhase reads a phase name case-insensitively (succeeded, failed, error, cancelled).
func ParsePhase(s string) (Phase, bool) {
	for _, p := range Phases() {
		if strings.EqualFold(string(p), s) {
			return p, true
		}
	}
	return "", false
}

// Phases lists the finished phases.
func Phases() []Phase { return []Phase{PhaseSucceeded, PhaseFailed, PhaseError, PhaseCancelled} }
