package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// buildLogPath matches OpenShift's build log subresource; podLogPath the pod log, which
// a real cluster serves from the kubelet (there is none here).
var (
	buildLogPath = regexp.MustCompile(`^/apis/build\.openshift\.io/v1/namespaces/([^/]+)/builds/([^/]+)/log$`)
	podLogPath   = regexp.MustCompile(`^/api/v1/namespaces/([^/]+)/pods/([^/]+)/log$`)
)

// LogFront is a plain-HTTP front on loopback for the control plane: it serves OpenShift's
// builds/{name}/log subresource, which a CRD cannot have, and pods/{name}/log, which needs a
// kubelet, from logs registered by the test, and proxies everything else to kube-apiserver. Callers with a bearer token act as
// themselves (RBAC applies, to logs too); callers without one act as the admin.
type LogFront struct {
	cp       *ControlPlane
	server   *http.Server
	listener net.Listener
	admin    http.RoundTripper
	anon     http.RoundTripper

	mu   sync.Mutex
	logs map[string]func() io.Reader
}

// StartLogFront starts the front on a free loopback port; Close stops it.
func (cp *ControlPlane) StartLogFront() (*LogFront, error) {
	admin, err := rest.TransportFor(cp.admin)
	if err != nil {
		return nil, err
	}
	anon, err := rest.TransportFor(&rest.Config{Host: cp.host, TLSClientConfig: rest.TLSClientConfig{CAData: cp.caPEM}})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the log front: %w", err)
	}
	f := &LogFront{cp: cp, listener: l, admin: admin, anon: anon, logs: map[string]func() io.Reader{}}
	f.server = &http.Server{Handler: f}
	go func() { _ = f.server.Serve(l) }()
	return f, nil
}

// Close stops the front.
func (f *LogFront) Close() error { return f.server.Close() }

// URL is the front's base URL.
func (f *LogFront) URL() string { return "http://" + f.listener.Addr().String() }

// Config returns base pointed at the front: same identity, plain HTTP on loopback.
func (f *LogFront) Config(base *rest.Config) *rest.Config {
	c := rest.CopyConfig(base)
	c.Host = f.URL()
	c.TLSClientConfig = rest.TLSClientConfig{}
	return c
}

// SetBuildLog registers the log served for build namespace/name.
func (f *LogFront) SetBuildLog(namespace, name string, log []byte) {
	f.SetBuildLogSource(namespace, name, func() io.Reader { return bytes.NewReader(log) })
}

// SetBuildLogSource registers a log that open streams anew for every request, for logs
// too large to hold (benchmarks).
func (f *LogFront) SetBuildLogSource(namespace, name string, open func() io.Reader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs[namespace+"/"+name] = open
}

// SetPodLog registers the log of one container of pod namespace/name.
func (f *LogFront) SetPodLog(namespace, pod, container string, log []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs["pod/"+namespace+"/"+pod+"/"+container] = func() io.Reader { return bytes.NewReader(log) }
}

// DeleteBuildLog forgets a build's log, as when OpenShift has pruned it.
func (f *LogFront) DeleteBuildLog(namespace, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.logs, namespace+"/"+name)
}

// ServeHTTP serves build logs and proxies the rest.
func (f *LogFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	transport := f.admin
	if r.Header.Get("Authorization") != "" {
		transport = f.anon // the caller's token travels on
	}
	if m := buildLogPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		f.serveLog(w, r, transport, m[1], m[2])
		return
	}
	if m := podLogPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		f.servePodLog(w, r, transport, m[1], m[2], r.URL.Query().Get("container"))
		return
	}
	target, _ := url.Parse(f.cp.host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	proxy.FlushInterval = -1 // watches stream
	proxy.ServeHTTP(w, r)
}

func (f *LogFront) serveLog(w http.ResponseWriter, r *http.Request, transport http.RoundTripper, namespace, name string) {
	client, err := f.callerClient(r, transport)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	if err := authorize(r.Context(), client, namespace, "build.openshift.io", "builds", "log", name); err != nil {
		writeStatus(w, err)
		return
	}
	// The build must exist, as on OpenShift.
	if err := client.CoreV1().RESTClient().Get().AbsPath("/apis/build.openshift.io/v1/namespaces", namespace, "builds", name).Do(r.Context()).Error(); err != nil {
		writeStatus(w, err)
		return
	}
	f.mu.Lock()
	open, ok := f.logs[namespace+"/"+name]
	f.mu.Unlock()
	if !ok {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Group: "build.openshift.io", Resource: "builds/log"}, name))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, open())
}

// servePodLog serves a registered container log of an existing pod, as the kubelet would.
func (f *LogFront) servePodLog(w http.ResponseWriter, r *http.Request, transport http.RoundTripper, namespace, pod, container string) {
	client, err := f.callerClient(r, transport)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	if err := authorize(r.Context(), client, namespace, "", "pods", "log", pod); err != nil {
		writeStatus(w, err)
		return
	}
	p, err := client.CoreV1().Pods(namespace).Get(r.Context(), pod, metav1.GetOptions{})
	if err != nil {
		writeStatus(w, err)
		return
	}
	if container == "" && len(p.Spec.Containers) == 1 {
		container = p.Spec.Containers[0].Name
	}
	key := "pod/" + namespace + "/" + pod + "/" + container
	f.mu.Lock()
	open, ok := f.logs[key]
	f.mu.Unlock()
	if !ok && r.URL.Query().Get("follow") == "true" {
		// A follower (kubectl logs -f, tkn --showlog) waits for the container, as on a
		// kubelet; here its log comes whole when it has finished.
		open, ok = f.awaitPodLog(r.Context(), client, namespace, pod, key)
	}
	if !ok {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: no log registered", container, pod)))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, open())
}

// awaitPodLog waits for a container's log to be registered while its pod exists and is not
// finished (then for a few seconds more: the runner registers logs after the status).
func (f *LogFront) awaitPodLog(ctx context.Context, client kubernetes.Interface, namespace, pod, key string) (func() io.Reader, bool) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var finishedAt time.Time
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil, false
		case <-tick.C:
		}
		f.mu.Lock()
		open, ok := f.logs[key]
		f.mu.Unlock()
		if ok {
			return open, true
		}
		if !finishedAt.IsZero() {
			if time.Since(finishedAt) > 5*time.Second {
				return nil, false
			}
			continue
		}
		if i%10 != 0 {
			continue
		}
		p, err := client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			finishedAt = time.Now()
		}
	}
}

// callerClient is a clientset acting as the caller of r.
func (f *LogFront) callerClient(r *http.Request, transport http.RoundTripper) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(&rest.Config{Host: f.cp.host, Transport: &headerTransport{
		base: transport, authorization: r.Header.Get("Authorization"),
	}})
}

// authorize asks the API server whether the caller may get the subresource, as the real
// servers do for builds/log and pods/log.
func authorize(ctx context.Context, client kubernetes.Interface, namespace, group, resource, subresource, name string) error {
	review, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: "get", Group: group, Resource: resource, Subresource: subresource, Name: name,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	if !review.Status.Allowed {
		return apierrors.NewForbidden(schema.GroupResource{Group: group, Resource: resource + "/" + subresource}, name,
			fmt.Errorf("the caller may not get %s/%s of %s/%s", resource, subresource, namespace, name))
	}
	return nil
}

// headerTransport sets the caller's Authorization header on every request.
type headerTransport struct {
	base          http.RoundTripper
	authorization string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.authorization != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", t.authorization)
	}
	return t.base.RoundTrip(r)
}

// writeStatus answers with a Kubernetes Status object for err.
func writeStatus(w http.ResponseWriter, err error) {
	status := apierrors.NewInternalError(err).ErrStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s.Status()
	}
	status.Kind, status.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(status.Code))
	_ = json.NewEncoder(w).Encode(status)
}

// CreateBuild creates the OpenShift build b in namespace, sets its status to b.Status as
// the build controller would (the status subresource), and registers log as its log
// (nil: none, as when it has been pruned). It returns the build as stored.
func (f *LogFront) CreateBuild(ctx context.Context, namespace string, b *buildv1.Build, log []byte) (*buildv1.Build, error) {
	client, err := buildclient.NewForConfig(f.cp.admin)
	if err != nil {
		return nil, err
	}
	status := b.Status
	created, err := client.BuildV1().Builds(namespace).Create(ctx, b, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating build %s/%s: %w", namespace, b.Name, err)
	}
	created.Status = status
	updated, err := client.BuildV1().Builds(namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("setting the status of build %s/%s: %w", namespace, b.Name, err)
	}
	if log != nil {
		f.SetBuildLog(namespace, b.Name, log)
	}
	return updated, nil
}
