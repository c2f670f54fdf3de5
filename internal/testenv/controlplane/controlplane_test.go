package controlplane

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	imagev1 "github.com/openshift/api/image/v1"
	buildclient "github.com/openshift/client-go/build/clientset/versioned"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

var cp *ControlPlane

// envPanic makes the test binary start a control plane and panic, for TestNoProcessLeftOnPanic.
const envPanic = "BUILD_WATCHER_CONTROLPLANE_PANIC"

func TestMain(m *testing.M) {
	if os.Getenv(envPanic) != "" {
		started, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Println("start failed:", err)
			os.Exit(1)
		}
		fmt.Println("pids:", strings.Trim(fmt.Sprint(started.PIDs()), "[]"))
		panic("a test panicked with the control plane running")
	}
	os.Exit(Main(context.Background(), m, &cp))
}

// TestNoProcessLeftOnPanic runs this test binary in a mode that starts a control plane
// and panics; etcd and kube-apiserver must die with it.
func TestNoProcessLeftOnPanic(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envPanic+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the panicking binary exited 0:\n%s", out)
	}
	var pids []int
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "pids: "); ok {
			for _, f := range strings.Fields(rest) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
		}
	}
	if len(pids) != 2 {
		t.Fatalf("no PIDs reported:\n%s", out)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("processes %v outlived the panicking test binary", pids)
	}
}

// isZombie reports whether pid has exited but was not reaped yet (its parent died).
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func namespace(t *testing.T) string {
	t.Helper()
	ns, err := cp.CreateNamespace(t.Context(), "smoke")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func kube(t *testing.T) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreateWatchRelist(t *testing.T) {
	ns, client := namespace(t), kube(t)
	cms := client.CoreV1().ConfigMaps(ns)
	list, err := cms.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(t.Context(), metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := range 3 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}, Data: map[string]string{"i": fmt.Sprint(i)}}
		if _, err := cms.Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != fmt.Sprintf("cm-%d", i) {
				t.Fatalf("event %d = %s %v", i, ev.Type, ev.Object)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no watch event %d", i)
		}
	}
	relist, err := cms.List(t.Context(), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil || len(relist.Items) != 3 {
		t.Fatalf("relist: %d items, %v", len(relist.Items), err)
	}
}

// TestInformerRelistsOnGone: an informer whose watch breaks and resumes only after its
// resource version has expired gets 410 Gone, lists again (client-go's watch-list or a plain
// list) and converges, objects made meanwhile included.
func TestInformerRelistsOnGone(t *testing.T) {
	ns, client := namespace(t), kube(t)
	cms := client.CoreV1().ConfigMaps(ns)
	for i := range 5 {
		if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu      sync.Mutex
		current watch.Interface
		syncs   atomic.Int32 // initial lists, by list or watch-list
		resumes atomic.Int32
		release = make(chan struct{})
	)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			syncs.Add(1)
			return cms.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
				syncs.Add(1)
			} else if resumes.Add(1) == 1 {
				select { // the first resume, after the break, waits until the version expired
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			w, err := cms.Watch(ctx, opts)
			if err == nil {
				mu.Lock()
				current = w
				mu.Unlock()
			}
			return w, err
		},
	}
	informer := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, cache.Indexers{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer never synced")
	}
	synced := informer.LastSyncResourceVersion()

	// Break the watch; the informer's next watch waits on release. With client-go's
	// WatchListClient (on by default) the syncing watch-list stream is the steady watch.
	mu.Lock()
	if current == nil {
		mu.Unlock()
		t.Fatal("informer synced without a watch-list stream: is WatchListClient off?")
	}
	current.Stop()
	mu.Unlock()
	if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "made-meanwhile"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// etcd compacts every 5 s: wait until a watch from the informer's version gets 410.
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if _, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-1"}, Data: map[string]string{"t": time.Now().String()}}, metav1.UpdateOptions{}); err != nil {
			return false, err
		}
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: synced})
		if err != nil {
			return apierrors.IsResourceExpired(err) || apierrors.IsGone(err), nil
		}
		defer w.Stop()
		select {
		case ev := <-w.ResultChan():
			status, ok := ev.Object.(*metav1.Status)
			return ev.Type == watch.Error && ok && status.Code == 410, nil
		case <-time.After(time.Second):
			return false, nil
		}
	})
	if err != nil {
		t.Fatalf("resource version %s never expired: %v", synced, err)
	}
	close(release)
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, exists, _ := informer.GetStore().GetByKey(ns + "/made-meanwhile")
		return exists, nil
	})
	if err != nil || syncs.Load() < 2 {
		t.Fatalf("informer did not list again after 410 Gone (%d initial lists): %v", syncs.Load(), err)
	}
	if n := len(informer.GetStore().List()); n != 6 {
		t.Errorf("informer holds %d objects, want 6", n)
	}
}

func TestRBACDenialAndGrant(t *testing.T) {
	ns, client := namespace(t), kube(t)
	cfg, err := cp.ServiceAccountConfig(t.Context(), ns, "reader")
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sa.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("list without rights: %v, want Forbidden", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm-reader"}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"},
	}}}
	if _, err := client.RbacV1().Roles(ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cm-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "cm-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := sa.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("list after the grant still fails: %v", err)
	}
	if _, err := sa.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("secrets without rights: %v, want Forbidden", err)
	}
}

func TestTektonRoundTrip(t *testing.T) {
	ns := namespace(t)
	tc, err := tektonclient.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	task := &pipelinev1.Task{ObjectMeta: metav1.ObjectMeta{Name: "build"}, Spec: pipelinev1.TaskSpec{
		Results: []pipelinev1.TaskResult{{Name: "IMAGE_DIGEST"}, {Name: "IMAGE_URL"}},
		Steps:   []pipelinev1.Step{{Name: "build", Image: "quay.io/buildah/stable", Command: []string{"buildah", "bud"}}},
	}}
	if _, err := tc.TektonV1().Tasks(ns).Create(t.Context(), task, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pipeline := &pipelinev1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "build"}, Spec: pipelinev1.PipelineSpec{
		Tasks: []pipelinev1.PipelineTask{{Name: "build", TaskRef: &pipelinev1.TaskRef{Name: "build"}}},
	}}
	if _, err := tc.TektonV1().Pipelines(ns).Create(t.Context(), pipeline, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pr := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "build-1", Labels: map[string]string{"app": "x"}}, Spec: pipelinev1.PipelineRunSpec{
		PipelineRef: &pipelinev1.PipelineRef{Name: "build"},
		Status:      pipelinev1.PipelineRunSpecStatusPending,
	}}
	if _, err := tc.TektonV1().PipelineRuns(ns).Create(t.Context(), pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := tc.TektonV1().PipelineRuns(ns).Get(t.Context(), "build-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Status != pipelinev1.PipelineRunSpecStatusPending || got.Spec.PipelineRef.Name != "build" {
		t.Errorf("PipelineRun came back as %+v", got.Spec)
	}
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: "build-1-build"}, Spec: pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: "build"}}}
	if _, err := tc.TektonV1().TaskRuns(ns).Create(t.Context(), tr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	trs, err := tc.TektonV1().TaskRuns(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(trs.Items) != 1 {
		t.Fatalf("TaskRuns: %d, %v", len(trs.Items), err)
	}
}

func TestOpenShiftRoundTripAndLogs(t *testing.T) {
	ns := namespace(t)
	front, err := cp.StartLogFront()
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	bc, err := buildclient.NewForConfig(front.Config(cp.Config()))
	if err != nil {
		t.Fatal(err)
	}
	builds := bc.BuildV1().Builds(ns)
	w, err := builds.Watch(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	build := &buildv1.Build{
		ObjectMeta: metav1.ObjectMeta{Name: "app-1"},
		Spec: buildv1.BuildSpec{CommonSpec: buildv1.CommonSpec{Strategy: buildv1.BuildStrategy{
			Type:           buildv1.SourceBuildStrategyType,
			SourceStrategy: &buildv1.SourceBuildStrategy{From: corev1.ObjectReference{Kind: "DockerImage", Name: "quay.io/thoth-station/s2i-thoth-ubi9-py311:latest"}},
		}}},
	}
	created, err := builds.Create(t.Context(), build, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = buildv1.BuildStatus{Phase: buildv1.BuildPhaseComplete, OutputDockerImageReference: "image-registry.openshift-image-registry.svc:5000/" + ns + "/app:latest",
		Output: buildv1.BuildStatusOutput{To: &buildv1.BuildStatusOutputTo{ImageDigest: "sha256:" + fmt.Sprintf("%064d", 7)}}}
	if _, err := builds.UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[watch.EventType]bool{}
	for !seen[watch.Modified] {
		select {
		case ev := <-w.ResultChan():
			seen[ev.Type] = true
			if b := ev.Object.(*buildv1.Build); ev.Type == watch.Modified && b.Status.Phase != buildv1.BuildPhaseComplete {
				t.Errorf("modified build in phase %q", b.Status.Phase)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("watch events seen: %v", seen)
		}
	}
	got, err := builds.Get(t.Context(), "app-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Strategy.SourceStrategy.From.Name != build.Spec.Strategy.SourceStrategy.From.Name || got.Status.Output.To.ImageDigest == "" {
		t.Errorf("build came back as %+v", got)
	}

	ic, err := imageclient.NewForConfig(cp.Config())
	if err != nil {
		t.Fatal(err)
	}
	is := &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Name: "app"}}
	if _, err := ic.ImageV1().ImageStreams(ns).Create(t.Context(), is, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	readLog := func(client buildclient.Interface, name string) (string, error) {
		rc, err := client.BuildV1().RESTClient().Get().Namespace(ns).Resource("builds").Name(name).SubResource("log").Stream(t.Context())
		if err != nil {
			return "", err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		return string(data), err
	}
	if _, err := readLog(bc, "app-1"); !apierrors.IsNotFound(err) {
		t.Errorf("log before it is registered: %v, want NotFound", err)
	}
	front.SetBuildLog(ns, "app-1", []byte("STEP 1/3: FROM ubi9\nsuccess\n"))
	if log, err := readLog(bc, "app-1"); err != nil || log != "STEP 1/3: FROM ubi9\nsuccess\n" {
		t.Errorf("log = %q, %v", log, err)
	}
	if _, err := readLog(bc, "no-such-build"); !apierrors.IsNotFound(err) {
		t.Errorf("log of a missing build: %v, want NotFound", err)
	}
	saCfg, err := cp.ServiceAccountConfig(t.Context(), ns, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := buildclient.NewForConfig(front.Config(saCfg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readLog(nobody, "app-1"); !apierrors.IsForbidden(err) {
		t.Errorf("log for a service account without rights: %v, want Forbidden", err)
	}
}

func TestPodLogFront(t *testing.T) {
	ns := namespace(t)
	front, err := cp.StartLogFront()
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close()
	client, err := kubernetes.NewForConfig(front.Config(cp.Config()))
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "build-pod"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "step-build", Image: "quay.io/buildah/stable"}, {Name: "step-push", Image: "quay.io/buildah/stable"},
	}}}
	if _, err := client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	front.SetPodLog(ns, "build-pod", "step-build", []byte("STEP 1/2: FROM ubi9\n"))
	got, err := client.CoreV1().Pods(ns).GetLogs("build-pod", &corev1.PodLogOptions{Container: "step-build"}).DoRaw(t.Context())
	if err != nil || string(got) != "STEP 1/2: FROM ubi9\n" {
		t.Errorf("log = %q, %v", got, err)
	}
	if _, err := client.CoreV1().Pods(ns).GetLogs("build-pod", &corev1.PodLogOptions{Container: "step-push"}).DoRaw(t.Context()); !apierrors.IsBadRequest(err) {
		t.Errorf("log of a container without one: %v, want BadRequest", err)
	}
	if _, err := client.CoreV1().Pods(ns).GetLogs("no-such-pod", &corev1.PodLogOptions{}).DoRaw(t.Context()); !apierrors.IsNotFound(err) {
		t.Errorf("log of a missing pod: %v, want NotFound", err)
	}
}
