// Package controlplane starts a real etcd and kube-apiserver on loopback for tests: fresh
// certificates, client-certificate auth for an admin, service-account tokens, RBAC on, and
// the CRDs the product works with. The binaries come from `make testenv`.
package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/thoth-station/build-watcher/internal/testenv/modroot"
	"github.com/thoth-station/build-watcher/internal/testenv/testproc"
)

// EnvBinDir names the environment variable that points at the directory of the
// control-plane binaries; when unset, hack/testenv.sh is run to find (or build) them.
const EnvBinDir = "BUILD_WATCHER_TESTENV"

// Options configures Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver and kubectl; default: EnvBinDir or hack/testenv.sh.
	BinDir string
	// Log receives the processes' output; default: a file in the data directory.
	Log io.Writer
	// StartTimeout bounds the start; default 2 minutes.
	StartTimeout time.Duration
}

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	dir       string
	procs     []*testproc.Process
	logFile   *os.File
	admin     *rest.Config
	caPEM     []byte
	host      string
	startTime time.Duration
}

// Start starts etcd and kube-apiserver on free loopback ports and waits until the API
// server is ready. Stop must be called; processes also die with the calling process.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	began := time.Now()
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	bin, err := BinDir(ctx, opts.BinDir, "etcd", "kube-apiserver")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "build-watcher-controlplane-")
	if err != nil {
		return nil, fmt.Errorf("making the data directory: %w", err)
	}
	cp = &ControlPlane{dir: dir}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	log := opts.Log
	if log == nil {
		if cp.logFile, err = os.Create(filepath.Join(dir, "processes.log")); err != nil {
			return nil, err
		}
		log = cp.logFile
	}
	keys, err := newPKI(dir)
	if err != nil {
		return nil, fmt.Errorf("making certificates: %w", err)
	}
	ports, err := testproc.FreePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := cp.start(log, filepath.Join(bin, "etcd"),
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return nil, err
	}
	if err := cp.start(log, filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+filepath.Join(dir, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(dir, "apiserver.key"),
		"--client-ca-file="+filepath.Join(dir, "ca.crt"),
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		// ConfigMaps bypass the watch cache and etcd compacts every 5 s, so that tests can
		// see a real 410 Gone on an expired resource version within seconds.
		"--watch-cache-sizes=configmaps#0",
		"--etcd-compaction-interval=5s",
	); err != nil {
		return nil, err
	}
	cp.host = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	cp.caPEM = keys.caPEM
	cp.admin = &rest.Config{
		Host:            cp.host,
		TLSClientConfig: rest.TLSClientConfig{CAData: keys.caPEM, CertData: keys.adminCert, KeyData: keys.adminKey},
		QPS:             200,
		Burst:           400,
	}
	if err := cp.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("waiting for kube-apiserver (logs in %s): %w", dir, err)
	}
	cp.startTime = time.Since(began)
	return cp, nil
}

// Tool is the path of one binary `make testenv` builds (tkn, argo-lint...), found as BinDir
// finds it.
func Tool(ctx context.Context, name string) (string, error) {
	dir, err := BinDir(ctx, "", name)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// BinDir finds the directory of the test binaries that `make testenv` builds and checks that
// it holds names: dir when given, else $BUILD_WATCHER_TESTENV, else the directory
// hack/testenv.sh prints (building what is missing).
func BinDir(ctx context.Context, dir string, names ...string) (string, error) {
	if dir == "" {
		dir = os.Getenv(EnvBinDir)
	}
	if dir == "" {
		root, err := modroot.Find()
		if err != nil {
			return "", err
		}
		cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "testenv.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("finding the control-plane binaries with hack/testenv.sh (or set %s): %w", EnvBinDir, err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		dir = lines[len(lines)-1]
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("test binary %s missing in %s: run `make testenv`: %w", name, dir, err)
		}
	}
	return dir, nil
}

// start runs a process that dies with the test binary.
func (cp *ControlPlane) start(log io.Writer, path string, args ...string) error {
	p, err := testproc.Start(testproc.Spec{Path: path, Args: args, Log: log})
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	return nil
}

func (cp *ControlPlane) waitReady(ctx context.Context) error {
	client, err := rest.HTTPClientFor(cp.admin)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, p := range cp.procs {
			if err := p.Exited(); err != nil {
				return false, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cp.host+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			return false, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("/readyz answered %d: %s", resp.StatusCode, bytes.TrimSpace(body))
			return false, nil
		}
		return true, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("%w (last: %v)", err, last)
	}
	return err
}

// Stop stops kube-apiserver, then etcd (the other order hangs the API server), by PID,
// and removes the data directory.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		_ = cp.procs[i].Stop(10 * time.Second) // an early exit is in the process log
	}
	cp.procs = nil
	if cp.logFile != nil {
		cp.logFile.Close()
	}
	if cp.dir != "" {
		os.RemoveAll(cp.dir)
	}
}

// PIDs returns the process IDs of etcd and kube-apiserver.
func (cp *ControlPlane) PIDs() []int {
	var pids []int
	for _, p := range cp.procs {
		pids = append(pids, p.PID())
	}
	return pids
}

// StartupTime is how long Start took.
func (cp *ControlPlane) StartupTime() time.Duration { return cp.startTime }

// Config returns a copy of the admin's client configuration (system:masters).
func (cp *ControlPlane) Config() *rest.Config { return rest.CopyConfig(cp.admin) }

// ServiceAccountConfig returns a client configuration that authenticates as the service
// account namespace/name, creating the account when it does not exist. Its permissions are
// whatever RBAC grants it.
func (cp *ControlPlane) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	client, err := kubernetes.NewForConfig(cp.admin)
	if err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating service account %s/%s: %w", namespace, name, err)
	}
	expiry := int64(3600)
	tr, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("requesting a token for %s/%s: %w", namespace, name, err)
	}
	return &rest.Config{
		Host:            cp.host,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.caPEM},
		QPS:             cp.admin.QPS,
		Burst:           cp.admin.Burst,
	}, nil
}

// CreateNamespace makes a namespace with a generated name from prefix, and its default
// service account (no controller manager runs to make it).
func (cp *ControlPlane) CreateNamespace(ctx context.Context, prefix string) (string, error) {
	client, err := kubernetes.NewForConfig(cp.admin)
	if err != nil {
		return "", err
	}
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating a namespace: %w", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "default"}}
	if _, err := client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating the default service account of %s: %w", ns.Name, err)
	}
	return ns.Name, nil
}
