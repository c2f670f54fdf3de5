package build

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Clients are the API clients collecting needs. Objects are read as unstructured and
// decoded into the API types (OpenShift's and Kubernetes' own, Tekton's mirrored in
// tektonv1.go): the typed clientsets would link every API group's scheme and apply
// configurations into collect-build and submit-thoth, tripling their resident memory.
type Clients struct {
	// Objects gets and watches builds, image streams, Tekton runs and pods.
	Objects dynamic.Interface
	// Logs streams the builds/log and pods/log subresources.
	Logs rest.Interface
}

// The resources collecting reads.
var (
	buildsGVR       = schema.GroupVersionResource{Group: "build.openshift.io", Version: "v1", Resource: "builds"}
	imageStreamsGVR = schema.GroupVersionResource{Group: "image.openshift.io", Version: "v1", Resource: "imagestreams"}
	pipelineRunsGVR = schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "pipelineruns"}
	taskRunsGVR     = schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "taskruns"}
	podsGVR         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	buildRunsGVR    = schema.GroupVersionResource{Group: "shipwright.io", Version: "v1beta1", Resource: "buildruns"}
)

// NewClients makes the clients Collect uses from one configuration.
func NewClients(cfg *rest.Config) (Clients, error) {
	objects, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("making the Kubernetes API client: %w", err)
	}
	logs, err := newLogClient(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("making the Kubernetes log client: %w", err)
	}
	return Clients{Objects: objects, Logs: logs}, nil
}

// newLogClient makes a REST client for raw paths under the API root that decodes the
// server's Status errors, so that a refused or missing log says why.
func newLogClient(cfg *rest.Config) (*rest.RESTClient, error) {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	c := rest.CopyConfig(cfg)
	c.APIPath = "/"
	c.GroupVersion = &schema.GroupVersion{Version: "v1"}
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.UnversionedRESTClientFor(c)
}

// logRequest is a GET of a log subresource: builds/{name}/log or pods/{name}/log.
func logRequest(c Clients, gvr schema.GroupVersionResource, namespace, name string) *rest.Request {
	prefix := "/api"
	if gvr.Group != "" {
		prefix = "/apis/" + gvr.Group
	}
	return c.Logs.Get().AbsPath(prefix, gvr.Version, "namespaces", namespace, gvr.Resource, name, "log")
}

// decode converts an object read through the dynamic client into its type.
func decode[T any](u *unstructured.Unstructured) (*T, error) {
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), out); err != nil {
		return nil, fmt.Errorf("decoding %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return out, nil
}
