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
// the runs (watch for --wait), and the pods and pod logs of their TaskRuns. The Task's
// README lists the same.
func TektonRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"tekton.dev"}, Resources: []string{"pipelineruns", "taskruns"}, Verbs: []string{"get", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get"}},
	}
}
