// Package kube loads the Kubernetes client configuration the binaries run with: a
// kubeconfig (a path, $KUBECONFIG or ~/.kube/config), else the pod's service account.
package kube

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The client rate limits of collect-build and submit-thoth, which read one build each:
// client-go's own (5 QPS) is too low for a PipelineRun with many TaskRuns. build-watcher
// sets its own (watchrun.WatcherQPS).
const (
	StepQPS   = 50
	StepBurst = 100
)

// Config is a loaded client configuration and the namespace it defaults to.
type Config struct {
	REST      *rest.Config
	Namespace string
}

// Load returns the configuration: the kubeconfig at path when given, else the default
// loading rules ($KUBECONFIG, ~/.kube/config), else, when none of those files exists, the
// in-cluster configuration of the pod it runs in (client-go's order). path may be a
// list of files as $KUBECONFIG is (the binaries' --kubeconfig flag reads that variable):
// joined by the OS's list separator (':'), they are merged as kubectl merges them,
// files that do not exist and blank entries skipped.
func Load(path string) (*Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	switch {
	case strings.ContainsRune(path, filepath.ListSeparator):
		rules.Precedence = slices.DeleteFunc(filepath.SplitList(path), func(p string) bool { return strings.TrimSpace(p) == "" })
	case path != "":
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) || errors.Is(err, clientcmd.ErrEmptyConfig) {
			return nil, errors.New("no Kubernetes configuration: run in a pod, set KUBECONFIG or give --kubeconfig")
		}
		return nil, fmt.Errorf("loading the Kubernetes configuration (fix --kubeconfig or KUBECONFIG, or run in a pod): %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the default namespace: %w", err)
	}
	cfg.QPS, cfg.Burst = StepQPS, StepBurst
	return &Config{REST: cfg, Namespace: ns}, nil
}
