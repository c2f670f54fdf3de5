// Command argo-lint validates Argo Workflows and Argo Events objects with Argo's own
// validation (workflow/validate, as `argo lint` and the workflow-controller run it; the
// validation of Argo Events' controllers), for the tests of the main module: tasks/argo, the
// Workflows build-watcher makes, and examples/argo-events. make testenv builds it beside the
// workflow-controller, from the same Argo version.
//
// Usage: argo-lint [--submit] FILE...
//
// Every file holds YAML documents of kind WorkflowTemplate, ClusterWorkflowTemplate,
// Workflow, EventBus, EventSource or Sensor, decoded strictly: an unknown or duplicated
// field is an error. The templates of all files resolve each other's references
// (templateRef, workflowTemplateRef). Without --submit a Workflow is linted (missing argument
// values are allowed); with it, it is validated as the controller validates a submitted
// Workflow. A Sensor is validated against the EventBus it names, which must be in the files;
// the Workflow a Sensor's k8s trigger creates is validated as a submitted Workflow too. Each
// failure is one line on stderr naming the file and the object; the exit status is 1 when
// any failed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"

	eventsv1 "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	"github.com/argoproj/argo-events/pkg/eventsources/sources/resource"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned/fake"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// doc is one decoded object and where it came from.
type doc struct {
	where string
	obj   any
}

func main() {
	submit := flag.Bool("submit", false, "validate Workflows as submitted (every argument must have a value), not linted")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: argo-lint [--submit] FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var docs []doc
	failed := false
	for _, f := range flag.Args() {
		d, err := decodeFile(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "argo-lint: %v\n", err)
			failed = true
		}
		docs = append(docs, d...)
	}
	for _, err := range validateAll(docs, *submit) {
		fmt.Fprintf(os.Stderr, "argo-lint: %v\n", err)
		failed = true
	}
	if failed {
		os.Exit(1)
	}
	fmt.Printf("argo-lint: %d objects valid\n", len(docs))
}

// decodeFile decodes every document of the file strictly by its kind.
func decodeFile(path string) ([]doc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var (
		docs []doc
		errs []error
	)
	for i := 1; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return docs, fmt.Errorf("%s: reading document %d: %w", path, i, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			errs = append(errs, fmt.Errorf("%s (document %d): %w", path, i, err))
			continue
		}
		if head.Kind == "" && head.APIVersion == "" {
			i-- // a document holding only comments
			continue
		}
		where := fmt.Sprintf("%s (document %d: %s)", path, i, head.Kind)
		if head.APIVersion != "argoproj.io/v1alpha1" {
			errs = append(errs, fmt.Errorf("%s: apiVersion %q, want argoproj.io/v1alpha1", where, head.APIVersion))
			continue
		}
		var obj any
		switch head.Kind {
		case "WorkflowTemplate":
			obj = &wfv1.WorkflowTemplate{}
		case "ClusterWorkflowTemplate":
			obj = &wfv1.ClusterWorkflowTemplate{}
		case "Workflow":
			obj = &wfv1.Workflow{}
		case "EventBus":
			obj = &eventsv1.EventBus{}
		case "EventSource":
			obj = &eventsv1.EventSource{}
		case "Sensor":
			obj = &eventsv1.Sensor{}
		default:
			errs = append(errs, fmt.Errorf("%s: kind %q is none of WorkflowTemplate, ClusterWorkflowTemplate, Workflow, EventBus, EventSource, Sensor", where, head.Kind))
			continue
		}
		if err := yaml.UnmarshalStrict(raw, obj); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		docs = append(docs, doc{where: where, obj: obj})
	}
	return docs, errors.Join(errs...)
}

// validateAll validates every object, with every template of docs resolvable by reference.
func validateAll(docs []doc, submit bool) []error {
	client := fake.NewSimpleClientset()
	ctx := context.Background()
	var errs []error
	namespace := "default"
	for _, d := range docs {
		switch o := d.obj.(type) {
		case *wfv1.WorkflowTemplate:
			t := o.DeepCopy()
			t.Namespace = namespace
			if _, err := client.ArgoprojV1alpha1().WorkflowTemplates(namespace).Create(ctx, t, metav1.CreateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.where, err))
			}
		case *wfv1.ClusterWorkflowTemplate:
			if _, err := client.ArgoprojV1alpha1().ClusterWorkflowTemplates().Create(ctx, o.DeepCopy(), metav1.CreateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.where, err))
			}
		}
	}
	wftmpls := templateresolution.WrapWorkflowTemplateInterface(client.ArgoprojV1alpha1().WorkflowTemplates(namespace))
	cwftmpls := templateresolution.WrapClusterWorkflowTemplateInterface(client.ArgoprojV1alpha1().ClusterWorkflowTemplates())
	lint := validate.ValidateOpts{Lint: true}
	buses := map[string]*eventsv1.EventBus{}
	for _, d := range docs {
		if b, ok := d.obj.(*eventsv1.EventBus); ok {
			buses[b.Name] = b
		}
	}
	for _, d := range docs {
		var err error
		switch o := d.obj.(type) {
		case *wfv1.WorkflowTemplate:
			err = validate.ValidateWorkflowTemplate(wftmpls, cwftmpls, o, nil, validate.ValidateOpts{Lint: true, WorkflowTemplateValidation: true})
		case *wfv1.ClusterWorkflowTemplate:
			err = validate.ValidateClusterWorkflowTemplate(wftmpls, cwftmpls, o, nil, validate.ValidateOpts{Lint: true, WorkflowTemplateValidation: true})
		case *wfv1.Workflow:
			opts := lint
			if submit {
				opts = validate.ValidateOpts{Submit: true}
			}
			err = validate.ValidateWorkflow(wftmpls, cwftmpls, o, nil, opts)
		case *eventsv1.EventBus:
			err = validateEventBus(o)
		case *eventsv1.EventSource:
			err = validateEventSource(o)
		case *eventsv1.Sensor:
			err = validateSensor(o, buses, wftmpls, cwftmpls)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.where, err))
		}
	}
	return errs
}

// validateEventSource validates each resource event source of an EventSource as Argo Events'
// resource event source does at start (the only kind examples/argo-events uses; others are
// refused here rather than passed unchecked).
func validateEventSource(es *eventsv1.EventSource) error {
	if err := eventsv1.ValidateEventSource(es); err != nil {
		return err
	}
	spec := es.Spec
	spec.Resource = nil
	if !reflect.DeepEqual(spec, eventsv1.EventSourceSpec{EventBusName: es.Spec.EventBusName, Service: es.Spec.Service, Template: es.Spec.Template, Replicas: es.Spec.Replicas}) {
		return errors.New("argo-lint validates resource event sources only")
	}
	if len(es.Spec.Resource) == 0 {
		return errors.New("no resource event source")
	}
	for name, src := range es.Spec.Resource {
		l := &resource.EventListener{EventSourceName: es.Name, EventName: name, ResourceEventSource: src}
		if err := l.ValidateEventSource(context.Background()); err != nil {
			return fmt.Errorf("resource event %q: %w", name, err)
		}
	}
	return nil
}

// validateEventBus checks what examples/argo-events relies on: a JetStream bus with a
// version (Argo Events' controllers validate buses in packages that need a controller-runtime
// older than the Kubernetes modules here, so these checks are ours).
func validateEventBus(b *eventsv1.EventBus) error {
	if b.Spec.JetStream == nil && b.Spec.NATS == nil && b.Spec.Kafka == nil && b.Spec.JetStreamExotic == nil {
		return errors.New("no bus: set one of jetStream, nats, kafka, jetStreamExotic")
	}
	if j := b.Spec.JetStream; j != nil && j.Version == "" {
		return errors.New("jetStream has no version")
	}
	return nil
}

// validateSensor checks a Sensor against its EventBus (it must be in the files), its
// dependencies and triggers, and validates the Workflow each k8s trigger creates as a
// submitted Workflow with Argo's own validation. (As for buses, Argo Events' sensor
// validation lives in a package that does not build here; these checks are ours.)
func validateSensor(s *eventsv1.Sensor, buses map[string]*eventsv1.EventBus, wftmpls templateresolution.WorkflowTemplateNamespacedGetter, cwftmpls templateresolution.ClusterWorkflowTemplateGetter) error {
	bus := s.Spec.EventBusName
	if bus == "" {
		bus = "default"
	}
	if buses[bus] == nil {
		return fmt.Errorf("its EventBus %q is in none of the files", bus)
	}
	if len(s.Spec.Dependencies) == 0 {
		return errors.New("no dependencies")
	}
	deps := map[string]bool{}
	for _, d := range s.Spec.Dependencies {
		if d.Name == "" || d.EventSourceName == "" || d.EventName == "" {
			return fmt.Errorf("dependency %q: name, eventSourceName and eventName are required", d.Name)
		}
		deps[d.Name] = true
	}
	if len(s.Spec.Triggers) == 0 {
		return errors.New("no triggers")
	}
	for _, tr := range s.Spec.Triggers {
		if tr.Template == nil || tr.Template.Name == "" {
			return errors.New("a trigger without a template name")
		}
		k8s := tr.Template.K8s
		if k8s == nil {
			return fmt.Errorf("trigger %s: argo-lint checks k8s triggers only", tr.Template.Name)
		}
		if k8s.Operation != eventsv1.Create {
			return fmt.Errorf("trigger %s: operation %q, want create", tr.Template.Name, k8s.Operation)
		}
		if k8s.Source == nil || k8s.Source.Resource == nil {
			return fmt.Errorf("trigger %s: no source.resource", tr.Template.Name)
		}
		for _, p := range k8s.Parameters {
			if p.Src == nil || !deps[p.Src.DependencyName] {
				return fmt.Errorf("trigger %s: parameter for %s takes its value from no dependency of the Sensor", tr.Template.Name, p.Dest)
			}
			if p.Dest == "" {
				return fmt.Errorf("trigger %s: a parameter without dest", tr.Template.Name)
			}
		}
		var wf wfv1.Workflow
		if err := yaml.UnmarshalStrict(k8s.Source.Resource.Value, &wf); err != nil {
			return fmt.Errorf("trigger %s: the resource it creates: %w", tr.Template.Name, err)
		}
		if wf.Kind != "Workflow" {
			continue
		}
		if wf.Name == "" {
			wf.Name = "placeholder"
		}
		if err := validate.ValidateWorkflow(wftmpls, cwftmpls, &wf, nil, validate.ValidateOpts{Submit: true}); err != nil {
			return fmt.Errorf("trigger %s: the Workflow it creates: %w", tr.Template.Name, err)
		}
	}
	return nil
}
