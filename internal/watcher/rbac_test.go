package watcher_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	buildv1 "github.com/openshift/api/build/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/watcher"
)

// TestConfigRBAC: the watcher runs as the service account of config/ with exactly the
// roles of config/200-rbac.yaml (moved into the test's namespace), and does its whole job:
// state, claims, PipelineRuns, write-back and Events.
func TestConfigRBAC(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.applyRBAC(t, "200-rbac.yaml")
	admin := kubernetes.NewForConfigOrDie(cp.Config())
	r := newRunner(t, e.tekton, 0)
	r.watch(ctx, e.ns)
	cfg := e.config()
	e.startWatcher(cfg)
	names := e.finishBuilds(ctx, "rbac", 10, buildv1.BuildPhaseFailed)
	waitFor(t, ctx, time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkBuilds(ctx, names, e.ns)
	})
	waitFor(t, ctx, 30*time.Second, "an Event per build", func() (bool, string) {
		evs, err := admin.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, ev := range evs.Items {
			if ev.Reason == watcher.ReasonSubmitted && ev.InvolvedObject.Kind == "Build" && ev.Type == corev1.EventTypeNormal &&
				strings.Contains(ev.Message, "base-image-analysis-id=image-analyzer-") {
				n++
			}
		}
		return n == len(names), "events: " + strings.Repeat("+", n)
	})
}

// TestConfigRBACArgo: with --executor argo, the roles of config/200-rbac.yaml and
// config/200-argo-rbac.yaml are enough for the whole job on Workflows.
func TestConfigRBACArgo(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.applyRBAC(t, "200-rbac.yaml", "200-argo-rbac.yaml")
	r := newArgoRunner(t, 0)
	r.watch(ctx, e.ns)
	cfg := e.argoConfig()
	cfg.Workers = 2
	e.startWatcher(cfg)
	names := e.finishBuilds(ctx, "rbac", 6, buildv1.BuildPhaseFailed)
	waitFor(t, ctx, time.Minute, "every build analysed once", func() (bool, string) {
		return e.checkWorkflows(ctx, names, func(string) int { return 1 })
	})
}

// applyRBAC creates the RBAC objects of the files of config/, moved from the namespace
// build-watcher into the test's (ClusterRoles and their bindings renamed for it), and
// points the test's watcher at the service account build-watcher.
func (e *env) applyRBAC(t *testing.T, files ...string) {
	t.Helper()
	ctx := t.Context()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	admin := kubernetes.NewForConfigOrDie(cp.Config())
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(root, "config", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatal(err)
			}
			doc = bytes.ReplaceAll(doc, []byte("namespace: build-watcher"), []byte("namespace: "+e.ns))
			switch meta.Kind {
			case "ClusterRole":
				var o rbacv1.ClusterRole
				mustUnmarshalStrict(t, file, doc, &o)
				o.Name += "-" + e.ns
				_, err = admin.RbacV1().ClusterRoles().Create(ctx, &o, metav1.CreateOptions{})
			case "ClusterRoleBinding":
				var o rbacv1.ClusterRoleBinding
				mustUnmarshalStrict(t, file, doc, &o)
				o.Name += "-" + e.ns
				o.RoleRef.Name += "-" + e.ns
				_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &o, metav1.CreateOptions{})
			case "Role":
				var o rbacv1.Role
				mustUnmarshalStrict(t, file, doc, &o)
				_, err = admin.RbacV1().Roles(e.ns).Create(ctx, &o, metav1.CreateOptions{})
			case "RoleBinding":
				var o rbacv1.RoleBinding
				mustUnmarshalStrict(t, file, doc, &o)
				_, err = admin.RbacV1().RoleBindings(e.ns).Create(ctx, &o, metav1.CreateOptions{})
			default:
				t.Fatalf("config/%s: unexpected kind %q", file, meta.Kind)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if e.rest, err = cp.ServiceAccountConfig(ctx, e.ns, "build-watcher"); err != nil {
		t.Fatal(err)
	}
}

func mustUnmarshalStrict(t *testing.T, file string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("config/%s: %v", file, err)
	}
}
