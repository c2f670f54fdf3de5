package credential

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ServiceAccountTokenPath is where Kubernetes mounts a pod's service-account
// token.
const ServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// maxTokenBytes is the largest token file read; real tokens are a few KiB.
const maxTokenBytes = 64 << 10

// ErrNoToken is returned (wrapped) when no service-account token is found.
var ErrNoToken = errors.New("no service-account token")

// ReadTokenFile reads a token file and trims surrounding white space.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading service-account token: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading service-account token %s: %w", path, err)
	}
	if len(data) > maxTokenBytes {
		return "", fmt.Errorf("reading service-account token %s: larger than %d bytes; expected a token file", path, maxTokenBytes)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("reading service-account token %s: the file is empty", path)
	}
	return tok, nil
}
