package watcher

import (
	"strconv"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Workspace names of thoth-build-analysis that the watcher binds.
const (
	workspaceSrcAuth    = "src-registry-auth"
	workspaceDstAuth    = "dst-registry-auth"
	workspaceRegistryCA = "registry-ca"
	workspaceThothCA    = "thoth-ca"
)

// analysisParams are the params of thoth-build-analysis for one build.
func (c *Config) analysisParams(b *Build) pipelinev1.Params {
	a := &c.Analysis
	origin := b.Ref.Namespace + "/" + b.Ref.Name
	if a.Cluster != "" {
		origin = a.Cluster + "/" + origin
	}
	str := func(name, value string) pipelinev1.Param {
		return pipelinev1.Param{Name: name, Value: *pipelinev1.NewStructuredValues(value)}
	}
	flag := func(name string, v bool) pipelinev1.Param { return str(name, strconv.FormatBool(v)) }
	params := pipelinev1.Params{
		str("build-ref", b.Ref.String()),
		str("thoth-api-host", a.ThothHost),
		str("origin", origin),
	}
	if a.PushRegistry != "" {
		params = append(params, str("push-registry", a.PushRegistry))
	}
	if a.DefaultRegistry != "" {
		params = append(params, str("default-registry", a.DefaultRegistry))
	}
	if a.PushMode != "" {
		params = append(params, str("push-mode", a.PushMode))
	}
	if a.EnvironmentType != "" {
		params = append(params, str("environment-type", a.EnvironmentType))
	}
	if len(c.InsecureRegistries) > 0 {
		params = append(params, str("insecure-registries", strings.Join(c.InsecureRegistries, ",")))
	}
	for _, f := range []struct {
		name string
		v    bool
	}{
		{"no-base", a.NoBase}, {"no-output", a.NoOutput}, {"no-build-log", a.NoBuildLog},
		{"debug", a.Debug}, {"force", a.Force}, {"pass-token", a.PassToken},
		{"no-tls-verify", a.NoTLSVerify},
		{"no-src-registry-tls-verify", a.NoSrcRegistryTLSVerify},
		{"no-dst-registry-tls-verify", a.NoDstRegistryTLSVerify},
	} {
		if f.v {
			params = append(params, flag(f.name, true))
		}
	}
	return params
}

// newPipelineRun is attempt's analysis run of a build; pending when it must wait for a slot.
func (c *Config) newPipelineRun(b *Build, claim Claim, attempt int, queuedAt time.Time, pending bool) *pipelinev1.PipelineRun {
	pr := &pipelinev1.PipelineRun{
		TypeMeta: metav1.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      claim.Name,
			Namespace: claim.Namespace,
			Labels: map[string]string{
				LabelManagedBy: ManagedBy,
				LabelBuildUID:  string(b.UID),
				LabelBuildKind: string(b.Ref.Kind),
			},
			Annotations: map[string]string{
				AnnotationBuildRef:   b.Ref.String(),
				AnnotationQueuedAt:   queuedAt.UTC().Format(time.RFC3339Nano),
				AnnotationRunAttempt: strconv.Itoa(attempt),
			},
		},
		Spec: pipelinev1.PipelineRunSpec{
			Params:          c.analysisParams(b),
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: c.ServiceAccount},
		},
	}
	if c.Timeout > 0 {
		pr.Spec.Timeouts = &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{Duration: c.Timeout}}
	}
	if pending {
		pr.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
	}
	var workspaces []pipelinev1.WorkspaceBinding
	for _, w := range []struct{ name, secret string }{{workspaceSrcAuth, c.SrcAuthSecret}, {workspaceDstAuth, c.DstAuthSecret}} {
		if w.secret != "" {
			workspaces = append(workspaces, pipelinev1.WorkspaceBinding{
				Name: w.name, Secret: &corev1.SecretVolumeSource{SecretName: w.secret},
			})
		}
	}
	// CA ConfigMaps are bound whole: the steps read every key holding a certificate.
	for _, w := range []struct{ name, configMap string }{{workspaceRegistryCA, c.RegistryCAConfigMap}, {workspaceThothCA, c.ThothCAConfigMap}} {
		if w.configMap != "" {
			workspaces = append(workspaces, pipelinev1.WorkspaceBinding{
				Name: w.name, ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: w.configMap}},
			})
		}
	}
	pr.Spec.Workspaces = workspaces
	if c.Runs == RunsTask {
		// The single-Task variant runs as the one task of an embedded pipeline, so that the
		// queue, the labels and the results stay those of a PipelineRun.
		spec := &pipelinev1.PipelineSpec{
			Tasks: []pipelinev1.PipelineTask{{
				Name:    "analysis",
				TaskRef: &pipelinev1.TaskRef{Name: c.Pipeline},
			}},
		}
		for _, p := range pr.Spec.Params {
			spec.Params = append(spec.Params, pipelinev1.ParamSpec{Name: p.Name, Type: pipelinev1.ParamTypeString})
			spec.Tasks[0].Params = append(spec.Tasks[0].Params, pipelinev1.Param{
				Name: p.Name, Value: *pipelinev1.NewStructuredValues("$(params." + p.Name + ")"),
			})
		}
		for _, w := range workspaces {
			spec.Workspaces = append(spec.Workspaces, pipelinev1.PipelineWorkspaceDeclaration{Name: w.Name})
			spec.Tasks[0].Workspaces = append(spec.Tasks[0].Workspaces, pipelinev1.WorkspacePipelineTaskBinding{Name: w.Name, Workspace: w.Name})
		}
		for _, r := range analysisResults() {
			spec.Results = append(spec.Results, pipelinev1.PipelineResult{
				Name: r.result, Value: *pipelinev1.NewStructuredValues("$(tasks.analysis.results." + r.result + ")"),
			})
		}
		pr.Spec.PipelineSpec = spec
	} else {
		pr.Spec.PipelineRef = &pipelinev1.PipelineRef{Name: c.Pipeline}
	}
	return pr
}

// analysisResult pairs a result of thoth-build-analysis with the build annotation it
// is written back to.
type analysisResult struct{ result, annotation string }

// analysisResults are the results the watcher writes back onto builds.
func analysisResults() []analysisResult {
	return []analysisResult{
		{"base-image-analysis-id", AnnotationBaseImageAnalysisID},
		{"output-image-analysis-id", AnnotationOutputImageAnalysisID},
		{"buildlog-analysis-id", AnnotationBuildLogAnalysisID},
		{"buildlog-document-id", AnnotationBuildLogDocumentID},
	}
}
