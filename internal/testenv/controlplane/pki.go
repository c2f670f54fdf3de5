package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/thoth-station/build-watcher/internal/testenv/testcert"
)

// pki is what one control plane trusts, made fresh at start.
type pki struct {
	caPEM     []byte
	adminCert []byte // PEM, group system:masters
	adminKey  []byte // PEM
}

// newPKI writes into dir: ca.crt, apiserver.crt/key (for loopback and the in-cluster
// names), sa.key/sa.pub (service-account token signing), and keeps an admin client
// certificate in the system:masters group in memory.
func newPKI(dir string) (*pki, error) {
	ca, err := testcert.NewCA("build-watcher test CA")
	if err != nil {
		return nil, err
	}
	serving, servingKey, err := ca.Issue(testcert.Loopback("kube-apiserver", "kubernetes", "kubernetes.default", "kubernetes.default.svc"))
	if err != nil {
		return nil, err
	}
	p := &pki{caPEM: ca.PEM()}
	p.adminCert, p.adminKey, err = ca.Issue(testcert.Leaf{
		Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		Usage:   x509.ExtKeyUsageClientAuth,
	})
	if err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saKeyPEM, err := testcert.KeyPEM(saKey)
	if err != nil {
		return nil, err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ca.crt":        p.caPEM,
		"apiserver.crt": serving,
		"apiserver.key": servingKey,
		"sa.key":        saKeyPEM,
		"sa.pub":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return p, nil
}
