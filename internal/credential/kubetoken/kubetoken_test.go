package kubetoken

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/credential"
)

const secretToken = "sha256~S3cretT0kenValue"

// kubeconfig returns a kubeconfig whose current context's user has the
// given user fields (YAML lines indented under "user:").
func kubeconfig(user string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://api.example.com:6443
users:
- name: u
  user:
` + user + `
contexts:
- name: ctx
  context:
    cluster: c
    user: u
current-context: ctx
`
}

// isolate points HOME at an empty temp directory and KUBECONFIG at a file
// that does not exist in it, and turns off client-go's in-cluster
// detection, so the machine's own configuration is never read. (client-go
// resolves ~/.kube/config when its package is initialised, so a non-empty
// KUBECONFIG is what keeps it from being read.) It returns the directory.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	return dir
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServiceAccountToken(t *testing.T) {
	tests := []struct {
		name string
		// setup writes files into dir and returns the TokenSource to use;
		// it may set KUBECONFIG.
		setup func(t *testing.T, dir string) TokenSource
	}{
		{"token file", func(t *testing.T, dir string) TokenSource {
			return TokenSource{TokenPath: writeFile(t, filepath.Join(dir, "token"), "  "+secretToken+"\n")}
		}},
		{"token file wins over kubeconfig", func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    token: other")))
			return TokenSource{TokenPath: writeFile(t, filepath.Join(dir, "token"), secretToken)}
		}},
		{"KUBECONFIG token", func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    token: "+secretToken)))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}},
		{"KUBECONFIG tokenFile", func(t *testing.T, dir string) TokenSource {
			tf := writeFile(t, filepath.Join(dir, "tf"), secretToken+"\n")
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    tokenFile: "+tf)))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}},
		{"explicit Kubeconfig", func(t *testing.T, dir string) TokenSource {
			return TokenSource{
				TokenPath:  filepath.Join(dir, "missing"),
				Kubeconfig: writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    token: "+secretToken)),
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			src := tt.setup(t, dir)
			got, err := src.ServiceAccountToken(context.Background())
			if err != nil {
				t.Fatalf("ServiceAccountToken = %v", err)
			}
			if got != secretToken {
				t.Errorf("ServiceAccountToken = %q, want %q", got, secretToken)
			}
		})
	}
}

func TestServiceAccountTokenBadInput(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		setup    func(t *testing.T, dir string) TokenSource
		wantIs   error
		wantText []string
	}{
		{"no token anywhere", context.Background(), func(t *testing.T, dir string) TokenSource {
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}, credential.ErrNoToken, []string{"missing", "run inside a pod", "oc login"}},
		{"kubeconfig user without token", context.Background(), func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    username: bob\n    password: "+secretToken)))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}, credential.ErrNoToken, []string{"no bearer token", "oc login"}},
		{"kubeconfig blank token", context.Background(), func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig(`    token: "  "`)))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}, credential.ErrNoToken, []string{"oc login"}},
		{"empty token file", context.Background(), func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    token: "+secretToken)))
			return TokenSource{TokenPath: writeFile(t, filepath.Join(dir, "token"), " \n")}
		}, nil, []string{"token", "empty"}},
		{"token path is a directory", context.Background(), func(t *testing.T, dir string) TokenSource {
			return TokenSource{TokenPath: dir}
		}, nil, []string{"reading service-account token"}},
		{"kubeconfig tokenFile missing", context.Background(), func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    tokenFile: "+filepath.Join(dir, "gone"))))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}, fs.ErrNotExist, []string{"gone"}},
		{"kubeconfig tokenFile empty", context.Background(), func(t *testing.T, dir string) TokenSource {
			tf := writeFile(t, filepath.Join(dir, "tf"), "\n")
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), kubeconfig("    tokenFile: "+tf)))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}, nil, []string{"empty"}},
		{"malformed kubeconfig", context.Background(), func(t *testing.T, dir string) TokenSource {
			t.Setenv("KUBECONFIG", writeFile(t, filepath.Join(dir, "kc"), "users:\n- name: u\n  user:\n    token: "+secretToken+"\n  : [\n"))
			return TokenSource{TokenPath: filepath.Join(dir, "missing")}
		}, nil, []string{"kubeconfig"}},
		{"explicit kubeconfig missing", context.Background(), func(t *testing.T, dir string) TokenSource {
			return TokenSource{TokenPath: filepath.Join(dir, "missing"), Kubeconfig: filepath.Join(dir, "nokc")}
		}, fs.ErrNotExist, []string{"nokc"}},
		{"canceled context", canceled, func(t *testing.T, dir string) TokenSource {
			return TokenSource{TokenPath: writeFile(t, filepath.Join(dir, "token"), secretToken)}
		}, context.Canceled, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := isolate(t)
			src := tt.setup(t, dir)
			got, err := src.ServiceAccountToken(tt.ctx)
			if err == nil {
				t.Fatalf("ServiceAccountToken = %q, want an error", got)
			}
			if got != "" {
				t.Errorf("ServiceAccountToken returned %q with an error", got)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if tt.wantIs != credential.ErrNoToken && errors.Is(err, credential.ErrNoToken) {
				t.Errorf("error %v wraps credential.ErrNoToken", err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "S3cret") {
				t.Errorf("error %q holds the token", err)
			}
		})
	}
}

// TestServiceAccountTokenDefaultPath: without a TokenPath the pod's token file is read; a
// missing one (injected here, so that the test runs in a pod too) is named in the error.
func TestServiceAccountTokenDefaultPath(t *testing.T) {
	isolate(t)
	if got := (TokenSource{}).tokenPath(); got != credential.ServiceAccountTokenPath {
		t.Errorf("default token path %q, want %q", got, credential.ServiceAccountTokenPath)
	}
	missing := filepath.Join(t.TempDir(), "serviceaccount", "token")
	_, err := TokenSource{TokenPath: missing}.ServiceAccountToken(context.Background())
	if !errors.Is(err, credential.ErrNoToken) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ServiceAccountToken = %v, want credential.ErrNoToken naming %s", err, missing)
	}
}
