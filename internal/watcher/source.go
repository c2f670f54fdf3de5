package watcher

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	buildinformers "github.com/openshift/client-go/build/informers/externalversions"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektoninformers "github.com/tektoncd/pipeline/pkg/client/informers/externalversions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"github.com/thoth-station/build-watcher/internal/build"
)

// Build is what the watcher knows of one build object.
type Build struct {
	Ref build.Ref
	UID types.UID
	// ResourceVersion is the version the cache holds; writes are conditional on it.
	ResourceVersion string
	// Phase is empty while the build has not finished.
	Phase build.Phase
	// Finished is the completion time (the creation time when the object has none).
	Finished time.Time
	// Annotations holds the watcher's own annotations only.
	Annotations map[string]string
}

// Done reports whether the build's analysis has finished for good (successfully or not).
func (b *Build) Done() bool { return b.Annotations[AnnotationStatus] != "" }

// kindAPI is where the API serves one kind of build object.
type kindAPI struct {
	groupVersion, kind, resource string
}

// apiOf returns the API of a build kind.
func apiOf(k build.Kind) kindAPI {
	switch k {
	case build.KindBuild:
		return kindAPI{"build.openshift.io/v1", "Build", "builds"}
	case build.KindPipelineRun:
		return kindAPI{"tekton.dev/v1", "PipelineRun", "pipelineruns"}
	case build.KindBuildRun:
		return kindAPI{"shipwright.io/v1beta1", "BuildRun", "buildruns"}
	}
	return kindAPI{"tekton.dev/v1", "TaskRun", "taskruns"}
}

// source is one kind of build object, watched in one or more namespaces.
type source struct {
	kind      build.Kind
	api       kindAPI
	informers map[string]cache.SharedIndexInformer // by namespace; "" = all
	// toBuild reads a cached object.
	toBuild func(obj any) (*Build, bool)
	// rest is the client of the kind's group and version, for patches.
	rest rest.Interface
}

// patch merges data into the object, as the watcher's field manager.
func (s *source) patch(ctx context.Context, namespace, name string, data []byte) error {
	return s.rest.Patch(types.MergePatchType).Namespace(namespace).Resource(s.api.resource).Name(name).
		Param("fieldManager", FieldManager).Body(data).Do(ctx).Error()
}

// object is the reference Events on the build are recorded on.
func (s *source) object(b *Build) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		APIVersion: s.api.groupVersion, Kind: s.api.kind,
		Namespace: b.Ref.Namespace, Name: b.Ref.Name, UID: b.UID,
	}
}

// get returns the cached build, if any.
func (s *source) get(namespace, name string) (*Build, bool) {
	inf, ok := s.informers[namespace]
	if !ok {
		inf, ok = s.informers[""]
	}
	if !ok {
		return nil, false
	}
	obj, exists, err := inf.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		return nil, false
	}
	return s.toBuild(obj)
}

// mark merges the watcher's annotations into the build (a nil value removes the key), on
// two conditions: the build is the one the decision was made on (its UID: not a new build of
// the same name) and it has not changed since (its resourceVersion). A stale cache therefore
// gets a Conflict, never a second decision; the caller requeues and decides again.
func (s *source) mark(ctx context.Context, b *Build, set map[string]*string) error {
	meta := map[string]any{"annotations": set, "uid": b.UID}
	if b.ResourceVersion != "" {
		meta["resourceVersion"] = b.ResourceVersion
	}
	data, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	if err := s.patch(ctx, b.Ref.Namespace, b.Ref.Name, data); err != nil {
		return fmt.Errorf("annotating %s: %w", b.Ref, rbacHint(err, "patch", s.api.resource, b.Ref.Namespace))
	}
	return nil
}

func (s *source) hasSynced() bool {
	for _, inf := range s.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// ownAnnotations keeps only the watcher's annotations.
func ownAnnotations(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		if strings.HasPrefix(k, Prefix) {
			if out == nil {
				out = make(map[string]string, 4)
			}
			out[k] = v
		}
	}
	return out
}

// trimMeta keeps what the watcher reads of an object's metadata: the cache then holds a
// few hundred bytes per build instead of its managedFields, labels and spec.
func trimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		CreationTimestamp: m.CreationTimestamp, Annotations: ownAnnotations(m.Annotations),
	}
}

// trimBuild is the informer transform for OpenShift builds.
func trimBuild(obj any) (any, error) {
	b, ok := obj.(*buildv1.Build)
	if !ok {
		return obj, nil // a tombstone
	}
	return &buildv1.Build{
		ObjectMeta: trimMeta(b.ObjectMeta),
		Status: buildv1.BuildStatus{
			Phase: b.Status.Phase, CompletionTimestamp: b.Status.CompletionTimestamp,
		},
	}, nil
}

func openShiftBuild(obj any) (*Build, bool) {
	b, ok := obj.(*buildv1.Build)
	if !ok {
		return nil, false
	}
	out := &Build{
		Ref: build.Ref{Kind: build.KindBuild, Namespace: b.Namespace, Name: b.Name},
		UID: b.UID, ResourceVersion: b.ResourceVersion, Annotations: b.Annotations, Finished: b.CreationTimestamp.Time,
	}
	if phase, done := build.OpenShiftPhase(b.Status.Phase); done {
		out.Phase = phase
		if t := b.Status.CompletionTimestamp; t != nil {
			out.Finished = t.Time
		}
	}
	return out, true
}

// trimRunStatus keeps a PipelineRun's Succeeded condition and completion time.
func trimRunStatus(s *pipelinev1.PipelineRunStatus) pipelinev1.PipelineRunStatus {
	out := pipelinev1.PipelineRunStatus{}
	if c := s.GetCondition(apis.ConditionSucceeded); c != nil {
		out.SetCondition(c)
	}
	out.CompletionTime = s.CompletionTime
	return out
}

func trimPipelineRun(obj any) (any, error) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return obj, nil
	}
	return &pipelinev1.PipelineRun{ObjectMeta: trimMeta(pr.ObjectMeta), Status: trimRunStatus(&pr.Status)}, nil
}

func trimTaskRun(obj any) (any, error) {
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return obj, nil
	}
	out := &pipelinev1.TaskRun{ObjectMeta: trimMeta(tr.ObjectMeta)}
	if c := tr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
		out.Status.SetCondition(c)
	}
	out.Status.CompletionTime = tr.Status.CompletionTime
	return out, nil
}

func tektonBuild(kind build.Kind, meta *metav1.ObjectMeta, c *apis.Condition, completion *metav1.Time) *Build {
	out := &Build{
		Ref: build.Ref{Kind: kind, Namespace: meta.Namespace, Name: meta.Name},
		UID: meta.UID, ResourceVersion: meta.ResourceVersion, Annotations: meta.Annotations, Finished: meta.CreationTimestamp.Time,
	}
	var status corev1.ConditionStatus
	var reason string
	if c != nil {
		status, reason = c.Status, c.Reason
	}
	if phase, done := build.TektonPhase(status, reason); done {
		out.Phase = phase
		if completion != nil {
			out.Finished = completion.Time
		}
	}
	return out
}

func pipelineRunBuild(obj any) (*Build, bool) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return nil, false
	}
	return tektonBuild(build.KindPipelineRun, &pr.ObjectMeta, pr.Status.GetCondition(apis.ConditionSucceeded), pr.Status.CompletionTime), true
}

func taskRunBuild(obj any) (*Build, bool) {
	tr, ok := obj.(*pipelinev1.TaskRun)
	if !ok {
		return nil, false
	}
	return tektonBuild(build.KindTaskRun, &tr.ObjectMeta, tr.Status.GetCondition(apis.ConditionSucceeded), tr.Status.CompletionTime), true
}

// trimBuildRun is the informer transform for Shipwright BuildRuns, read as unstructured
// objects: it keeps the metadata trimMeta keeps, the Succeeded condition and the
// completion time.
func trimBuildRun(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone
	}
	created, _, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", "creationTimestamp")
	meta := map[string]any{
		"name": u.GetName(), "namespace": u.GetNamespace(), "uid": string(u.GetUID()),
		"resourceVersion": u.GetResourceVersion(), "creationTimestamp": created,
	}
	if own := ownAnnotations(u.GetAnnotations()); own != nil {
		annotations := make(map[string]any, len(own))
		for k, v := range own {
			annotations[k] = v
		}
		meta["annotations"] = annotations
	}
	status := map[string]any{}
	if c := buildRunCondition(u); c != nil {
		status["conditions"] = []any{c}
	}
	if t, ok, _ := unstructured.NestedString(u.Object, "status", "completionTime"); ok {
		status["completionTime"] = t
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": meta, "status": status,
	}}, nil
}

// buildRunCondition is a BuildRun's Succeeded condition, nil when it has none.
func buildRunCondition(u *unstructured.Unstructured) map[string]any {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == string(apis.ConditionSucceeded) {
			return m
		}
	}
	return nil
}

func buildRunBuild(obj any) (*Build, bool) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, false
	}
	out := &Build{
		Ref: build.Ref{Kind: build.KindBuildRun, Namespace: u.GetNamespace(), Name: u.GetName()},
		UID: u.GetUID(), ResourceVersion: u.GetResourceVersion(), Annotations: ownAnnotations(u.GetAnnotations()),
		Finished: u.GetCreationTimestamp().Time,
	}
	var status, reason string
	if c := buildRunCondition(u); c != nil {
		status, _ = c["status"].(string)
		reason, _ = c["reason"].(string)
	}
	if phase, done := build.ShipwrightPhase(corev1.ConditionStatus(status), reason); done {
		out.Phase = phase
		if s, ok, _ := unstructured.NestedString(u.Object, "status", "completionTime"); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				out.Finished = t
			}
		}
	}
	return out, true
}

// groupVersionREST is a REST client of one API group and version for objects the watcher
// reads as unstructured (Shipwright's): the annotation patches go through it.
func groupVersionREST(cfg *rest.Config, groupVersion string) (rest.Interface, error) {
	if cfg == nil {
		return nil, fmt.Errorf("no client configuration for %s", groupVersion)
	}
	gv, err := schema.ParseGroupVersion(groupVersion)
	if err != nil {
		return nil, err
	}
	c := dynamic.ConfigFor(cfg)
	c.GroupVersion, c.APIPath = &gv, "/apis"
	client, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("making the %s client: %w", groupVersion, err)
	}
	return client, nil
}

// sourceFactories holds the informer factories of the watched namespaces.
type sourceFactories struct {
	builds  map[string]buildinformers.SharedInformerFactory
	tekton  map[string]tektoninformers.SharedInformerFactory
	dynamic map[string]dynamicinformer.DynamicSharedInformerFactory
}

func (f *sourceFactories) start(stop <-chan struct{}) {
	for _, b := range f.builds {
		b.Start(stop)
	}
	for _, t := range f.tekton {
		t.Start(stop)
	}
	for _, d := range f.dynamic {
		d.Start(stop)
	}
}

func (f *sourceFactories) shutdown() {
	for _, b := range f.builds {
		b.Shutdown()
	}
	for _, t := range f.tekton {
		t.Shutdown()
	}
	for _, d := range f.dynamic {
		d.Shutdown()
	}
}

// newSources makes the informers of the watched kinds in the watched namespaces.
func newSources(c Clients, cfg *Config) ([]*source, *sourceFactories, error) {
	namespaces := cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	facts := &sourceFactories{
		builds:  map[string]buildinformers.SharedInformerFactory{},
		tekton:  map[string]tektoninformers.SharedInformerFactory{},
		dynamic: map[string]dynamicinformer.DynamicSharedInformerFactory{},
	}
	// Our own analysis runs are never builds to analyse.
	selector := LabelManagedBy + "!=" + ManagedBy
	if cfg.TektonSelector != "" {
		selector = cfg.TektonSelector + "," + selector
	}
	var sources []*source
	for _, kind := range cfg.Kinds {
		s := &source{kind: kind, informers: map[string]cache.SharedIndexInformer{}}
		for _, ns := range namespaces {
			var inf cache.SharedIndexInformer
			switch kind {
			case build.KindBuild:
				f := buildinformers.NewSharedInformerFactoryWithOptions(c.Build, cfg.Resync,
					buildinformers.WithNamespace(ns), buildinformers.WithTransform(trimBuild))
				facts.builds[ns] = f
				inf = f.Build().V1().Builds().Informer()
			case build.KindPipelineRun, build.KindTaskRun:
				f, ok := facts.tekton[ns]
				if !ok {
					f = tektoninformers.NewSharedInformerFactoryWithOptions(c.Tekton, cfg.Resync,
						tektoninformers.WithNamespace(ns),
						tektoninformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
					facts.tekton[ns] = f
				}
				if kind == build.KindPipelineRun {
					inf = f.Tekton().V1().PipelineRuns().Informer()
					if err := inf.SetTransform(trimPipelineRun); err != nil {
						return nil, nil, err
					}
				} else {
					inf = f.Tekton().V1().TaskRuns().Informer()
					if err := inf.SetTransform(trimTaskRun); err != nil {
						return nil, nil, err
					}
				}
			case build.KindBuildRun:
				if c.Collect.Objects == nil {
					return nil, nil, fmt.Errorf("watching %s: no dynamic client", kind)
				}
				api := apiOf(kind)
				gv, err := schema.ParseGroupVersion(api.groupVersion)
				if err != nil {
					return nil, nil, err
				}
				f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.Collect.Objects, cfg.Resync, ns, nil)
				facts.dynamic[ns] = f
				inf = f.ForResource(gv.WithResource(api.resource)).Informer()
				if err := inf.SetTransform(trimBuildRun); err != nil {
					return nil, nil, err
				}
			default:
				return nil, nil, fmt.Errorf("unknown build kind %q", kind)
			}
			s.informers[ns] = inf
		}
		s.api = apiOf(kind)
		switch kind {
		case build.KindBuild:
			s.toBuild, s.rest = openShiftBuild, c.Build.BuildV1().RESTClient()
		case build.KindPipelineRun:
			s.toBuild, s.rest = pipelineRunBuild, c.Tekton.TektonV1().RESTClient()
		case build.KindTaskRun:
			s.toBuild, s.rest = taskRunBuild, c.Tekton.TektonV1().RESTClient()
		case build.KindBuildRun:
			s.toBuild = buildRunBuild
			var err error
			if s.rest, err = groupVersionREST(c.REST, s.api.groupVersion); err != nil {
				return nil, nil, err
			}
		}
		sources = append(sources, s)
	}
	return sources, facts, nil
}
