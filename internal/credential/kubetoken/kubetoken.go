// Package kubetoken finds the Kubernetes service-account token that submit-thoth hands to
// Thoth with --pass-token: the token file Kubernetes mounts in pods, else the bearer token
// of the current kubeconfig context. It lives apart from package credential (registry
// credentials) so that only the binaries that need a kubeconfig import client-go for it.
package kubetoken

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/thoth-station/build-watcher/internal/credential"
	"github.com/thoth-station/build-watcher/internal/redact"
)

// TokenSource says where ServiceAccountToken looks.
type TokenSource struct {
	TokenPath  string // default credential.ServiceAccountTokenPath
	Kubeconfig string // default: client-go's default loading rules ($KUBECONFIG, ~/.kube/config)
}

// ServiceAccountToken returns the service-account token: from TokenPath when
// that file exists (trimmed; an empty file is an error), else the bearer
// token of the current kubeconfig context (its token, or the content of its
// tokenFile). When there is no token anywhere the error wraps credential.ErrNoToken.
// Errors never hold the token.
func (s TokenSource) ServiceAccountToken(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("getting service-account token: %w", err)
	}
	path := s.tokenPath()
	tok, err := credential.ReadTokenFile(path)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("getting service-account token: %w", err)
	}
	return s.kubeconfigToken(path)
}

// tokenPath is the token file read: TokenPath, else the one Kubernetes mounts in pods.
func (s TokenSource) tokenPath() string {
	if s.TokenPath == "" {
		return credential.ServiceAccountTokenPath
	}
	return s.TokenPath
}

// kubeconfigToken returns the bearer token of the current kubeconfig
// context. tokenPath is named in the credential.ErrNoToken message.
func (s TokenSource) kubeconfigToken(tokenPath string) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	where := "the kubeconfig ($KUBECONFIG, else ~/.kube/config)"
	if s.Kubeconfig != "" {
		rules.ExplicitPath = s.Kubeconfig
		where = "kubeconfig " + s.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return "", fmt.Errorf("%w: %s does not exist and %s is missing or empty; run inside a pod, or log in first (oc login)", credential.ErrNoToken, tokenPath, where)
	}
	if err != nil {
		// client-go's errors name files and contexts, not tokens; redact
		// anyway in case one quotes a line of the file.
		return "", redact.New().Error(fmt.Errorf("loading %s: %w", where, err))
	}
	if tok := strings.TrimSpace(cfg.BearerToken); tok != "" {
		return tok, nil
	}
	if cfg.BearerTokenFile != "" {
		return credential.ReadTokenFile(cfg.BearerTokenFile)
	}
	return "", fmt.Errorf("%w: %s does not exist and the current context of %s has no bearer token; run inside a pod, or log in first (oc login)", credential.ErrNoToken, tokenPath, where)
}
