package capool

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thoth-station/build-watcher/internal/testenv/testcert"
)

func TestLoad(t *testing.T) {
	ca, err := testcert.NewCA("capool test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testcert.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ca.Issue(testcert.Loopback("registry"))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := testcert.NewCA("a CA nobody gave")
	if err != nil {
		t.Fatal(err)
	}
	strangerLeaf, _, err := stranger.Issue(testcert.Loopback("registry"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, dir string, files map[string][]byte) {
		for name, data := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name string
		// files are written into a fresh directory; links are made after them.
		files map[string][]byte
		links map[string]string
		path  string // relative to the directory; "" the directory itself
		// trusts lists the CAs whose leaf certificates must verify.
		trusts  []*testcert.CA
		wantErr string
	}{
		{name: "a PEM file", files: map[string][]byte{"ca.crt": ca.PEM()}, path: "ca.crt", trusts: []*testcert.CA{ca}},
		{name: "a file of two CAs", files: map[string][]byte{"ca.crt": append(ca.PEM(), other.PEM()...)}, path: "ca.crt", trusts: []*testcert.CA{ca, other}},
		{name: "a file without PEM", files: map[string][]byte{"ca.crt": []byte("not a certificate")}, path: "ca.crt", wantErr: "ca.crt holds no PEM certificate"},
		{name: "a missing file", path: "nope.crt", wantErr: "no such file"},
		{
			name: "a ConfigMap mounted as a directory",
			// As the kubelet lays it out: keys are links into ..data.
			files:  map[string][]byte{"..2026_11_22/service-ca.crt": ca.PEM(), "..2026_11_22/other.crt": other.PEM()},
			links:  map[string]string{"..data": "..2026_11_22", "service-ca.crt": "..data/service-ca.crt", "other.crt": "..data/other.crt"},
			trusts: []*testcert.CA{ca, other},
		},
		{name: "a TLS Secret as a directory: the key is passed over", files: map[string][]byte{"tls.crt": ca.PEM(), "tls.key": key}, trusts: []*testcert.CA{ca}},
		{name: "a directory without certificates", files: map[string][]byte{"tls.key": key, "note": []byte("x")}, wantErr: "no file in the directory"},
		{name: "an empty directory", wantErr: "no file in the directory"},
		{name: "too large", files: map[string][]byte{"ca.crt": make([]byte, MaxBytes+1)}, path: "ca.crt", wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.files)
			for name, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			pool, err := Load(filepath.Join(dir, tt.path))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.trusts {
				l, _, err := c.Issue(testcert.Loopback("registry"))
				if err != nil {
					t.Fatal(err)
				}
				if err := verify(pool, l); err != nil {
					t.Errorf("a certificate of %v does not verify: %v", c, err)
				}
			}
			if verify(pool, strangerLeaf) == nil {
				t.Error("a certificate of a CA not given verifies")
			}
		})
	}
}

// verify checks a PEM leaf certificate against the pool.
func verify(pool *x509.CertPool, certPEM []byte) error {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return errors.New("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool})
	return err
}
