package build

import (
	"strings"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
)

// OpenShiftPhase is the normalised phase of an OpenShift build, and whether it has finished
// (New, Pending and Running have not).
func OpenShiftPhase(p buildv1.BuildPhase) (Phase, bool) {
	if !buildFinished(p) {
		return "", false
	}
	return buildPhase(p), true
}

// TektonPhase is the normalised phase of a Tekton run from the status and reason of its
// Succeeded condition (status "" when it has none yet), and whether the run has finished.
func TektonPhase(status corev1.ConditionStatus, reason string) (Phase, bool) {
	if status == corev1.ConditionUnknown || status == "" {
		return "", false
	}
	return tektonPhase(status, reason), true
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
