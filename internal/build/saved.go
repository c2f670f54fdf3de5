package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// This file reads saved build objects (`oc get build -o json`, `kubectl get pipelinerun -o
// yaml`, a List, a JSON array) and serves them to Collect as a cluster would: OpenShift
// Builds as build.openshift.io/v1, Tekton runs as tekton.dev/v1, Shipwright BuildRuns as
// shipwright.io/v1beta1. Collect then reads them by the same code as a cluster's, so a file
// gives the same facts. Saved objects hold no logs.
//
// Tekton's v1beta1 runs are converted as Tekton's own conversion does for every field
// collecting reads (TestSavedTektonConversion checks that against
// github.com/tektoncd/pipeline's ConvertTo), without linking Tekton's API packages into the
// binaries (see tektonv1.go).

// MaxSavedBytes bounds a file of saved objects.
const MaxSavedBytes = 64 << 20

// noSavedLogs is Record.Log.Missing for a build read from a saved object.
const noSavedLogs = "the build was read from a saved object, which holds no logs"

// The Tekton labels that tie a TaskRun to its PipelineRun.
const (
	labelPipelineRun  = "tekton.dev/pipelineRun"
	labelPipelineTask = "tekton.dev/pipelineTask"
)

// Saved is a file of saved build objects.
type Saved struct {
	// source names the file in errors: its path, or "stdin".
	source  string
	objects map[schema.GroupVersionResource][]*unstructured.Unstructured
	builds  []Ref
	// Notes says what was left out of the file and why.
	Notes []string
}

// savedKind is a kind of object a saved file may hold that collecting reads.
type savedKind struct {
	kind     Kind // "" for objects that are not builds of their own (none yet)
	gvr      schema.GroupVersionResource
	typeKind string // the object's kind, e.g. PipelineRun
}

var savedKinds = []savedKind{
	{KindBuild, buildsGVR, "Build"},
	{KindPipelineRun, pipelineRunsGVR, "PipelineRun"},
	{KindTaskRun, taskRunsGVR, "TaskRun"},
	{KindBuildRun, buildRunsGVR, "BuildRun"},
}

// ReadSaved reads saved build objects from r: JSON or YAML, one object, several YAML
// documents, a List (kind List or <Kind>List, items with or without apiVersion and kind),
// or a JSON array of objects. Objects without apiVersion and kind are recognised by their
// fields. Objects of other kinds are left out with a note. namespace is given to objects
// saved without one. source names the file in errors.
func ReadSaved(r io.Reader, source, namespace string) (*Saved, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSavedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading saved objects from %s: %w", source, err)
	}
	if len(data) > MaxSavedBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB: save one build (and its TaskRuns) per file", source, MaxSavedBytes>>20)
	}
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	docs, err := savedDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	s := &Saved{source: source, objects: map[schema.GroupVersionResource][]*unstructured.Unstructured{}}
	for _, d := range docs {
		s.add(d, namespace)
	}
	s.addEmbeddedTaskRuns()
	s.findBuilds()
	if len(s.builds) == 0 {
		msg := fmt.Sprintf("%s holds no build: no OpenShift Build, Tekton PipelineRun or TaskRun, or Shipwright BuildRun", source)
		if len(s.Notes) > 0 {
			msg += " (" + strings.Join(s.Notes, "; ") + ")"
		}
		return nil, errors.New(msg)
	}
	return s, nil
}

// savedObject is one object of a file with the List it came from, for its kind.
type savedObject struct {
	obj map[string]any
	// listAPIVersion and listKind are those of the List holding it, if any.
	listAPIVersion, listKind string
	// where names it in notes: "document 2", "document 1 item 3".
	where string
}

// savedDocuments splits data into objects: YAML or JSON documents, JSON arrays and Lists
// flattened.
func savedDocuments(data []byte) ([]savedObject, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []savedObject
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d is neither JSON nor YAML: %w", n, err)
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		where := fmt.Sprintf("document %d", n)
		var items []json.RawMessage
		if raw[0] == '[' {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		} else {
			items = []json.RawMessage{raw}
		}
		for i, item := range items {
			w := where
			if raw[0] == '[' {
				w = fmt.Sprintf("%s item %d", where, i+1)
			}
			var obj map[string]any
			if err := utiljson.Unmarshal(item, &obj); err != nil {
				return nil, fmt.Errorf("%s is not an object: %w", w, err)
			}
			out = append(out, flattenList(obj, w)...)
		}
	}
}

// flattenList returns a List's items, or the object itself.
func flattenList(obj map[string]any, where string) []savedObject {
	kind, _ := obj["kind"].(string)
	items, isList := obj["items"].([]any)
	if !isList || !(kind == "List" || strings.HasSuffix(kind, "List")) {
		return []savedObject{{obj: obj, where: where}}
	}
	apiVersion, _ := obj["apiVersion"].(string)
	var out []savedObject
	for i, item := range items {
		if m, ok := item.(map[string]any); ok {
			out = append(out, savedObject{obj: m, listAPIVersion: apiVersion, listKind: kind, where: fmt.Sprintf("%s item %d", where, i+1)})
		}
	}
	return out
}

// add normalises one object to the version collecting reads and keeps it, or notes why not.
func (s *Saved) add(o savedObject, namespace string) {
	u := &unstructured.Unstructured{Object: o.obj}
	kind, ok := recognise(o)
	if !ok {
		desc := strings.TrimSpace(u.GetAPIVersion() + " " + u.GetKind())
		if desc == "" {
			desc = "an object without apiVersion and kind"
		}
		s.Notes = append(s.Notes, fmt.Sprintf("%s (%s %s) is not a build: left out", o.where, desc, u.GetName()))
		return
	}
	if _, ok := u.Object["metadata"].(map[string]any); !ok {
		// metadata that is not an object (null, a string) holds no name or namespace, and
		// unstructured's setters fail on it without a word: the object would keep no name.
		delete(u.Object, "metadata")
	}
	if u.GetName() == "" {
		// Partial objects (test data of other projects, hand-cut excerpts) may have none.
		name := fmt.Sprintf("unnamed-%d", len(s.Notes)+s.count()+1)
		s.Notes = append(s.Notes, fmt.Sprintf("%s (a %s) has no metadata.name: read as %s", o.where, kind.typeKind, name))
		u.SetName(name)
	}
	if u.GetNamespace() == "" {
		u.SetNamespace(namespace)
	}
	switch kind.kind {
	case KindPipelineRun, KindTaskRun:
		tektonToV1(u.Object)
	case KindBuildRun:
		buildRunToV1beta1(u.Object)
	}
	u.SetAPIVersion(kind.gvr.GroupVersion().String())
	u.SetKind(kind.typeKind)
	s.put(kind.gvr, u)
}

// put keeps an object, a later one replacing an earlier one of the same name.
func (s *Saved) put(gvr schema.GroupVersionResource, u *unstructured.Unstructured) {
	list := s.objects[gvr]
	for i, old := range list {
		if old.GetNamespace() == u.GetNamespace() && old.GetName() == u.GetName() {
			list[i] = u
			return
		}
	}
	s.objects[gvr] = append(list, u)
}

// recognise tells which kind of build object o is: by apiVersion and kind, by the kind its
// List names, or by its fields.
func recognise(o savedObject) (savedKind, bool) {
	apiVersion, _ := o.obj["apiVersion"].(string)
	kind, _ := o.obj["kind"].(string)
	if kind == "" && o.listKind != "List" {
		kind = strings.TrimSuffix(o.listKind, "List")
		if apiVersion == "" {
			apiVersion = o.listAPIVersion
		}
	}
	if kind == "" {
		return recogniseByFields(o.obj)
	}
	group, _, _ := strings.Cut(apiVersion, "/")
	if !strings.Contains(apiVersion, "/") {
		group = "" // the legacy group-less v1 of OpenShift 3 (/oapi/v1)
	}
	for _, k := range savedKinds {
		if k.typeKind != kind {
			continue
		}
		switch {
		case group == k.gvr.Group:
			return k, true
		case k.kind == KindBuild && group == "" && apiVersion == "v1":
			return k, true
		case apiVersion == "":
			return k, true
		}
	}
	return savedKind{}, false
}

// recogniseByFields tells a build object saved without apiVersion and kind (as Tekton
// Chains' test objects are) by the fields only its kind has.
func recogniseByFields(obj map[string]any) (savedKind, bool) {
	has := func(fields ...string) bool {
		_, found, _ := unstructured.NestedFieldNoCopy(obj, fields...)
		return found
	}
	switch {
	case has("status", "buildSpec"), has("spec", "build"), has("status", "latestTaskRunRef"), has("spec", "buildRef"):
		return savedKinds[3], true
	case has("spec", "strategy", "type"), has("status", "outputDockerImageReference"):
		return savedKinds[0], true
	case has("status", "pipelineResults"), has("status", "childReferences"), has("status", "taskRuns"),
		has("status", "pipelineSpec"), has("spec", "pipelineRef"), has("spec", "pipelineSpec"):
		return savedKinds[1], true
	case has("status", "taskResults"), has("status", "podName"), has("status", "taskSpec"),
		has("spec", "taskRef"), has("spec", "taskSpec"):
		return savedKinds[2], true
	}
	return savedKind{}, false
}

// tektonToV1 turns a tekton.dev PipelineRun or TaskRun, v1beta1 or v1 (or a v1 that still
// holds v1beta1 names, as relabelled objects in the wild do), into the tekton.dev/v1 form of
// every field collecting reads: Tekton's conversion renames status.pipelineResults and
// status.taskResults to status.results and leaves the rest of those fields as they are.
func tektonToV1(obj map[string]any) {
	status, ok := obj["status"].(map[string]any)
	if !ok {
		return
	}
	for _, old := range []string{"pipelineResults", "taskResults"} {
		v, ok := status[old]
		if !ok {
			continue
		}
		if _, has := status["results"]; !has {
			status["results"] = v
		}
		delete(status, old)
	}
}

// buildRunToV1beta1 turns a shipwright.io/v1alpha1 BuildRun into the v1beta1 form of the
// fields collecting reads: status.latestTaskRunRef is status.taskRunName, status.failedAt
// the location of status.failureDetails, the first of status.sources status.source, the
// s2i builder image (status.buildSpec.builder.image) its param builder-image.
func buildRunToV1beta1(obj map[string]any) {
	status, _ := obj["status"].(map[string]any)
	if status == nil {
		return
	}
	if ref, ok := status["latestTaskRunRef"].(string); ok {
		if _, has := status["taskRunName"]; !has {
			status["taskRunName"] = ref
		}
		delete(status, "latestTaskRunRef")
	}
	if at, ok := status["failedAt"].(map[string]any); ok {
		details, _ := status["failureDetails"].(map[string]any)
		if details == nil {
			details = map[string]any{}
			status["failureDetails"] = details
		}
		if _, has := details["location"]; !has {
			details["location"] = at
		}
		delete(status, "failedAt")
	}
	if sources, ok := status["sources"].([]any); ok {
		if _, has := status["source"]; !has && len(sources) > 0 {
			status["source"] = sources[0]
		}
		delete(status, "sources")
	}
	if image, found, _ := unstructured.NestedString(status, "buildSpec", "builder", "image"); found && image != "" {
		params, _, _ := unstructured.NestedSlice(status, "buildSpec", "paramValues")
		named := false
		for _, p := range params {
			if m, ok := p.(map[string]any); ok && m["name"] == "builder-image" {
				named = true
			}
		}
		if !named {
			params = append(params, map[string]any{"name": "builder-image", "value": image})
			_ = unstructured.SetNestedSlice(status, params, "buildSpec", "paramValues")
		}
	}
}

// addEmbeddedTaskRuns makes a TaskRun of every entry of a PipelineRun's status.taskRuns
// (the v1beta1 "embedded status" Tekton wrote before v0.45) that the file does not hold
// itself, as the cluster would still have it: named by the key, labelled with the
// PipelineRun and pipeline task, with the embedded status. Tekton's conversion drops
// status.taskRuns; the reader finds such TaskRuns by those labels.
func (s *Saved) addEmbeddedTaskRuns() {
	for _, pr := range s.objects[pipelineRunsGVR] {
		embedded, _, _ := unstructured.NestedMap(pr.Object, "status", "taskRuns")
		names := make([]string, 0, len(embedded))
		for name := range embedded {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			entry, ok := embedded[name].(map[string]any)
			if !ok || s.has(taskRunsGVR, pr.GetNamespace(), name) {
				continue
			}
			tr := &unstructured.Unstructured{Object: map[string]any{}}
			tr.SetAPIVersion(taskRunsGVR.GroupVersion().String())
			tr.SetKind("TaskRun")
			tr.SetNamespace(pr.GetNamespace())
			tr.SetName(name)
			lbls := map[string]string{labelPipelineRun: pr.GetName()}
			if task, ok := entry["pipelineTaskName"].(string); ok && task != "" {
				lbls[labelPipelineTask] = task
			}
			tr.SetLabels(lbls)
			tr.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: pipelineRunsGVR.GroupVersion().String(), Kind: "PipelineRun", Name: pr.GetName(), UID: pr.GetUID()}})
			if status, ok := entry["status"].(map[string]any); ok {
				tr.Object["status"] = status
				tektonToV1(tr.Object)
			}
			if params := pipelineTaskParams(pr.Object, lbls[labelPipelineTask]); len(params) > 0 {
				tr.Object["spec"] = map[string]any{"params": params}
			}
			s.put(taskRunsGVR, tr)
		}
		unstructured.RemoveNestedField(pr.Object, "status", "taskRuns")
	}
}

// count is the number of objects kept.
func (s *Saved) count() int {
	n := 0
	for _, list := range s.objects {
		n += len(list)
	}
	return n
}

// pipelineTaskParams are the params the controller gave the TaskRun of a pipeline task:
// the task's params in the PipelineRun's resolved pipeline spec, with the run's own params
// put in for $(params.x) references.
func pipelineTaskParams(pr map[string]any, task string) []any {
	if task == "" {
		return nil
	}
	values := map[string]string{}
	runParams, _, _ := unstructured.NestedSlice(pr, "spec", "params")
	for _, p := range runParams {
		if m, ok := p.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				if v, ok := m["value"].(string); ok {
					values[n] = v
				}
			}
		}
	}
	for _, list := range []string{"tasks", "finally"} {
		tasks, _, _ := unstructured.NestedSlice(pr, "status", "pipelineSpec", list)
		for _, t := range tasks {
			m, ok := t.(map[string]any)
			if !ok || m["name"] != task {
				continue
			}
			params, _ := m["params"].([]any)
			out := make([]any, 0, len(params))
			for _, p := range params {
				pm, ok := p.(map[string]any)
				if !ok {
					continue
				}
				pm = runtime.DeepCopyJSON(pm)
				if v, ok := pm["value"].(string); ok {
					pm["value"] = paramRef.ReplaceAllStringFunc(v, func(ref string) string {
						sub := paramRef.FindStringSubmatch(ref)
						if val, ok := values[sub[1]+sub[2]]; ok {
							return val
						}
						return ref
					})
				}
				out = append(out, pm)
			}
			return out
		}
	}
	return nil
}

func (s *Saved) has(gvr schema.GroupVersionResource, namespace, name string) bool {
	for _, u := range s.objects[gvr] {
		if u.GetNamespace() == namespace && u.GetName() == name {
			return true
		}
	}
	return false
}

// findBuilds lists the builds of the file: every object, but the TaskRuns of a PipelineRun
// the file holds, which are part of that build.
func (s *Saved) findBuilds() {
	pipelineRuns := map[string]bool{}
	for _, pr := range s.objects[pipelineRunsGVR] {
		pipelineRuns[pr.GetNamespace()+"/"+pr.GetName()] = true
	}
	for _, k := range savedKinds {
		for _, u := range s.objects[k.gvr] {
			if k.kind == KindTaskRun && pipelineRuns[u.GetNamespace()+"/"+u.GetLabels()[labelPipelineRun]] {
				continue
			}
			s.builds = append(s.builds, Ref{Kind: k.kind, Namespace: u.GetNamespace(), Name: u.GetName()})
		}
	}
}

// Builds lists the builds the file holds.
func (s *Saved) Builds() []Ref { return append([]Ref(nil), s.builds...) }

// Pick chooses the build to collect: the file's only one, or the one named (name, and kind
// and namespace when not empty).
func (s *Saved) Pick(kind Kind, namespace, name string) (Ref, error) {
	var matches []Ref
	for _, b := range s.builds {
		if (name == "" || b.Name == name) && (kind == "" || b.Kind == kind) && (namespace == "" || b.Namespace == namespace) {
			matches = append(matches, b)
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) == 0:
		return Ref{}, fmt.Errorf("%w: %s holds no %s; it holds %s", ErrNotFound, s.source, describeRef(kind, namespace, name), listRefs(s.builds))
	}
	return Ref{}, fmt.Errorf("%s holds %d builds (%s): name one with --build-ref kind/namespace/name or --name", s.source, len(matches), listRefs(matches))
}

func describeRef(kind Kind, namespace, name string) string {
	d := "build"
	if kind != "" {
		d = string(kind)
	}
	if namespace != "" {
		d += " in namespace " + namespace
	}
	if name != "" {
		d += " named " + name
	}
	return d
}

// listRefs lists refs for an error, at most ten.
func listRefs(refs []Ref) string {
	var b strings.Builder
	for i, r := range refs {
		if i == 10 {
			fmt.Fprintf(&b, ", and %d more", len(refs)-10)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}

// Clients serves the saved objects to Collect: read-only, without logs.
func (s *Saved) Clients() Clients { return Clients{Objects: savedClient{s}} }

// savedClient is a read-only dynamic client over saved objects.
type savedClient struct{ s *Saved }

func (c savedClient) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return savedResource{s: c.s, gvr: gvr}
}

// savedResource serves get and list of one resource, in one namespace or all.
type savedResource struct {
	s         *Saved
	gvr       schema.GroupVersionResource
	namespace string
}

// errSavedReadOnly is what every write to saved objects gets.
var errSavedReadOnly = errors.New("saved objects are read-only")

func (r savedResource) Namespace(ns string) dynamic.ResourceInterface {
	r.namespace = ns
	return r
}

func (r savedResource) Get(_ context.Context, name string, _ metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error) {
	if len(subresources) == 0 {
		for _, u := range r.s.objects[r.gvr] {
			if u.GetName() == name && (r.namespace == "" || u.GetNamespace() == r.namespace) {
				return u.DeepCopy(), nil
			}
		}
	}
	return nil, apierrors.NewNotFound(r.gvr.GroupResource(), name)
}

func (r savedResource) List(_ context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	selector, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	list := &unstructured.UnstructuredList{}
	for _, u := range r.s.objects[r.gvr] {
		if (r.namespace == "" || u.GetNamespace() == r.namespace) && selector.Matches(labels.Set(u.GetLabels())) {
			list.Items = append(list.Items, *u.DeepCopy())
		}
	}
	return list, nil
}

func (r savedResource) Watch(context.Context, metav1.ListOptions) (watch.Interface, error) {
	return nil, errors.New("saved objects do not change: there is nothing to watch")
}

func (r savedResource) Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errSavedReadOnly
}

func (r savedResource) Update(context.Context, *unstructured.Unstructured, metav1.UpdateOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errSavedReadOnly
}

func (r savedResource) UpdateStatus(context.Context, *unstructured.Unstructured, metav1.UpdateOptions) (*unstructured.Unstructured, error) {
	return nil, errSavedReadOnly
}

func (r savedResource) Delete(context.Context, string, metav1.DeleteOptions, ...string) error {
	return errSavedReadOnly
}

func (r savedResource) DeleteCollection(context.Context, metav1.DeleteOptions, metav1.ListOptions) error {
	return errSavedReadOnly
}

func (r savedResource) Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errSavedReadOnly
}

func (r savedResource) Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, errSavedReadOnly
}

func (r savedResource) ApplyStatus(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions) (*unstructured.Unstructured, error) {
	return nil, errSavedReadOnly
}

// noLog records a build whose log cannot be had: an empty log file, when one was asked
// for, and the reason in Record.Log.Missing.
func noLog(rec *Record, path, reason string) error {
	l, err := createLog(path, false)
	if err != nil {
		return err
	}
	if err := finishLog(rec, l); err != nil {
		return err
	}
	rec.Log.Missing = reason
	return nil
}

// ReadSavedFile reads saved build objects from path, or from stdin when path is "-".
func ReadSavedFile(path string, stdin io.Reader, namespace string) (*Saved, error) {
	if path == "-" {
		if stdin == nil {
			return nil, errors.New("no standard input to read the saved objects from")
		}
		return ReadSaved(stdin, "stdin", namespace)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the saved objects: %w", err)
	}
	defer f.Close()
	return ReadSaved(f, path, namespace)
}

// IsSavedPath reports whether a --build-ref value names saved objects rather than a
// build: "-" (standard input), or an existing file when it is not kind/namespace/name.
func IsSavedPath(s string) bool {
	if s == "-" {
		return true
	}
	if s == "" {
		return false
	}
	if _, err := ParseRef(s); err == nil {
		return false
	}
	info, err := os.Stat(s)
	return err == nil && info.Mode().IsRegular()
}
