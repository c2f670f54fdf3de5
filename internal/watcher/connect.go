package watcher

import (
	"fmt"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// connectTekton makes Tekton clients for targets: the watcher's own for an empty
// kubeconfig path, else one from that file (with the watcher's QPS and burst).
func connectTekton(own Clients) func(kubeconfig string) (tektonclient.Interface, error) {
	return func(kubeconfig string) (tektonclient.Interface, error) {
		if kubeconfig == "" {
			return own.Tekton, nil
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("loading kubeconfig %s (fix the target's kubeconfig path, or mount its Secret there): %w", kubeconfig, err)
		}
		if own.REST != nil {
			cfg.QPS, cfg.Burst = own.REST.QPS, own.REST.Burst
		}
		cfg.UserAgent = rest.DefaultKubernetesUserAgent() + " build-watcher"
		client, err := tektonclient.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("making the Tekton client of kubeconfig %s: %w", kubeconfig, err)
		}
		return client, nil
	}
}
