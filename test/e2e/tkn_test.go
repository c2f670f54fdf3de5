package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/thoth-station/build-watcher/internal/testenv/controlplane"
	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/registrytest"
	"github.com/thoth-station/build-watcher/internal/testenv/tektontest"
)

// manualCommands returns the tkn task start and tkn pipeline start commands of
// examples/manual/README.md, each joined from its continuation lines, in order.
func manualCommands(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "examples", "manual", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	var cur strings.Builder
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock && strings.HasPrefix(line, "```sh")
			continue
		}
		if !inBlock {
			continue
		}
		if cur.Len() == 0 && !strings.HasPrefix(line, "tkn task start ") && !strings.HasPrefix(line, "tkn pipeline start ") {
			continue
		}
		if body, more := strings.CutSuffix(line, "\\"); more {
			cur.WriteString(body)
			continue
		}
		cur.WriteString(line)
		cmds = append(cmds, cur.String())
		cur.Reset()
	}
	return cmds
}

// startedRE finds the run tkn started, as it prints it.
var startedRE = regexp.MustCompile(`(TaskRun|PipelineRun) started: (\S+)`)

// TestManualTknCommands runs, with the real tkn, every tkn task start and tkn pipeline start
// command that examples/manual/README.md shows, as written but for the names of this test's
// stand-ins: the namespace team-a, the build app-7, quay.io/team-a (the push registry), the
// OpenShift registry's image, and the Thoth host. Each must exit 0 with its run Succeeded;
// the set-up follows the README too (rbac.yaml, a docker-registry Secret
// registry-credentials, the ConfigMap openshift-service-ca.crt).
func TestManualTknCommands(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := t.Context()
	root, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	tkn, err := controlplane.Tool(ctx, "tkn")
	if err != nil {
		t.Fatal(err)
	}
	cmds := manualCommands(t, root)
	if len(cmds) != 5 {
		t.Fatalf("examples/manual/README.md shows %d tkn start commands, want 5 (collect-build, mirror-image, submit-thoth, thoth-build-analysis, the Pipeline):\n%s", len(cmds), strings.Join(cmds, "\n"))
	}

	// The README's set-up, in the test's namespace.
	s.applyManualRBAC(t, root)
	src := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true})
	dst := registrytest.StartDistribution(t, registrytest.DistributionOptions{TLS: true, Auth: true})
	s.createCAConfigMap(t, "openshift-service-ca.crt", "service-ca.crt", src, dst)
	s.createDockerSecret(t, "registry-credentials", dst)
	b := s.makeS2IBuild(t, "app-7", src)

	kubeconfig := s.tknKubeconfig(t)
	replacer := strings.NewReplacer(
		"image-registry.openshift-image-registry.svc:5000/team-a/app@sha256:5f2b...", b.output,
		"quay.io/team-a", dst.Host()+"/thoth",
		"khemenu.thoth-station.ninja", s.thoth.URL(),
		"build/team-a/", "build/"+s.ns+"/",
	)
	for i, doc := range cmds {
		line := replacer.Replace(doc)
		if strings.Contains(line, "team-a") || strings.Contains(line, "...") {
			t.Fatalf("command %d still names something of the README's cluster after the substitutions: %s", i+1, line)
		}
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+filepath.Dir(tkn)+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir(), "NO_COLOR=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		m := startedRE.FindStringSubmatch(out.String())
		if err != nil || m == nil {
			t.Fatalf("%s\n(as run: %s)\nexit: %v; output:\n%s", doc, line, err, out.String())
		}
		// tkn returns once the logs end; the controller marks the run done a moment later
		// (as on any cluster, where one then runs tkn taskrun describe --last).
		wctx, cancel := context.WithTimeout(ctx, runTimeout)
		var cond *apis.Condition
		switch m[1] {
		case "TaskRun":
			tr, err := tektontest.WaitTaskRun(wctx, s.tekton, s.ns, m[2])
			if err != nil {
				t.Fatal(err)
			}
			cond = tr.Status.GetCondition(apis.ConditionSucceeded)
		case "PipelineRun":
			pr, err := tektontest.WaitPipelineRun(wctx, s.tekton, s.ns, m[2])
			if err != nil {
				t.Fatal(err)
			}
			cond = pr.Status.GetCondition(apis.ConditionSucceeded)
		}
		cancel()
		t.Logf("%s:\n%s", line, out.String())
		if !strings.Contains(out.String(), "\n[") {
			t.Errorf("%s: --showlog showed no step's log:\n%s", line, out.String())
		}
		if cond == nil || !cond.IsTrue() {
			t.Errorf("%s: %s %s: %s; tkn's output:\n%s", tkn, m[1], m[2], conditionText(cond), out.String())
			continue
		}
		t.Logf("%s %s succeeded: %s", m[1], m[2], strings.Fields(doc)[3])
	}
	// submit-thoth, the single Task and the Pipeline each submitted the build once.
	if subs := s.submissions(t); len(subs) != 3 {
		t.Errorf("the stand-in accepted %d submissions, want 3", len(subs))
	}
}

// applyManualRBAC applies examples/manual/rbac.yaml in the namespace, as its README says.
func (s *scenario) applyManualRBAC(t *testing.T, root string) {
	t.Helper()
	ctx := t.Context()
	data, err := os.ReadFile(filepath.Join(root, "examples", "manual", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ServiceAccount":
			var o corev1.ServiceAccount
			strict(t, doc, &o)
			_, err = s.kube.CoreV1().ServiceAccounts(s.ns).Create(ctx, &o, metav1.CreateOptions{})
		case "Role":
			var o rbacv1.Role
			strict(t, doc, &o)
			_, err = s.kube.RbacV1().Roles(s.ns).Create(ctx, &o, metav1.CreateOptions{})
		case "RoleBinding":
			var o rbacv1.RoleBinding
			strict(t, doc, &o)
			_, err = s.kube.RbacV1().RoleBindings(s.ns).Create(ctx, &o, metav1.CreateOptions{})
		default:
			t.Fatalf("examples/manual/rbac.yaml: unexpected kind %q", meta.Kind)
		}
		if err != nil {
			t.Fatalf("examples/manual/rbac.yaml: %v", err)
		}
	}
}

func strict(t *testing.T, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatal(err)
	}
}

// createDockerSecret makes what kubectl create secret docker-registry makes: a
// kubernetes.io/dockerconfigjson Secret with the registry's credentials.
func (s *scenario) createDockerSecret(t *testing.T, name string, reg *registrytest.Registry) {
	t.Helper()
	cfg := fmt.Sprintf(`{"auths":{%q:{"username":%q,"password":%q}}}`, reg.Host(), reg.Username(), reg.Password())
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)},
	}
	if _, err := s.kube.CoreV1().Secrets(s.ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// tknKubeconfig writes a kubeconfig for tkn: the control plane through the log front (which
// serves pod logs, as a kubelet would, for --showlog), the test's namespace as the context's.
func (s *scenario) tknKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := env.Front.Config(env.CP.Config())
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e", Namespace: s.ns}
	kc.CurrentContext = "e2e"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
