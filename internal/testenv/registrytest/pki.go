package registrytest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/thoth-station/build-watcher/internal/testenv/testcert"
)

// certificates are the files of a fresh CA and a server certificate it signed.
type certificates struct {
	caPEM    []byte
	caFile   string
	certFile string
	keyFile  string
}

// writeCertificates makes a CA and a server certificate for 127.0.0.1, ::1 and localhost,
// valid for a day, and writes ca.crt, server.crt and server.key into dir.
func writeCertificates(dir string) (*certificates, error) {
	ca, err := testcert.NewCA("build-watcher registrytest CA")
	if err != nil {
		return nil, err
	}
	cert, key, err := ca.Issue(testcert.Loopback("127.0.0.1"))
	if err != nil {
		return nil, err
	}
	c := &certificates{
		caPEM:    ca.PEM(),
		caFile:   filepath.Join(dir, "ca.crt"),
		certFile: filepath.Join(dir, "server.crt"),
		keyFile:  filepath.Join(dir, "server.key"),
	}
	files := []struct {
		path string
		data []byte
	}{{c.caFile, c.caPEM}, {c.certFile, cert}, {c.keyFile, key}}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", filepath.Base(f.path), err)
		}
	}
	return c, nil
}
