package build

import rbacv1 "k8s.io/api/rbac/v1"

// OpenShiftRules are the permissions collect-build needs in a namespace to read OpenShift
// builds: the build (watch for --wait), its log, and image streams to resolve
// ImageStreamTag and ImageStreamImage bases. The Task's README lists the same.
func OpenShiftRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"build.openshift.io"}, Resources: []string{"builds"}, Verbs: []string{"get", "watch"}},
		{APIGroups: []string{"build.openshift.io"}, Resources: []string{"builds/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{"image.openshift.io"}, Resources: []string{"imagestreams"}, Verbs: []string{"get"}},
	}
}

// TektonRules are the permissions collect-build needs in a namespace to read Tekton runs:
// the runs (watch for --wait; list for the TaskRuns of a PipelineRun from before Tekton
// v0.45, which does not name them), and the pods and pod logs of their TaskRuns. The
// Task's README lists the same.
func TektonRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"tekton.dev"}, Resources: []string{"pipelineruns", "taskruns"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get"}},
	}
}

// ShipwrightRules are the permissions collect-build needs in a namespace to read Shipwright
// BuildRuns: the BuildRuns (watch for --wait), their executors (TaskRuns, and the
// PipelineRuns of multi-arch builds, whose TaskRuns are listed when the PipelineRun does
// not name them) and the pods and pod logs of those TaskRuns. The Task's README lists the
// same.
func ShipwrightRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"shipwright.io"}, Resources: []string{"buildruns"}, Verbs: []string{"get", "watch"}},
		{APIGroups: []string{"tekton.dev"}, Resources: []string{"pipelineruns", "taskruns"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get"}},
	}
}
