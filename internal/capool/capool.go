// Package capool reads extra CA certificates to trust besides the system's: a PEM file, or
// a directory of them, as Kubernetes mounts a ConfigMap or Secret without subPath.
package capool

import (
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxBytes bounds what Load reads, all files together.
const MaxBytes = 4 << 20

// Load returns the system's pool with the certificates at path added: a PEM file, or every
// file of a directory (entries starting with "." are skipped: Kubernetes mounts keep their
// data in ..data). Files in a directory holding no certificate, such as a Secret's tls.key,
// are passed over; it is an error when no file holds one.
func Load(path string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w; give a PEM file of CA certificates, or a directory of them", err)
	}
	if !info.IsDir() {
		pem, err := readLimited(path, MaxBytes)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate; give the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)", path)
		}
		return pool, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("listing the CA certificates: %w", err)
	}
	var (
		read  []string
		found bool
		left  int64 = MaxBytes
	)
	for _, e := range entries {
		file := filepath.Join(path, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() {
			continue // a subdirectory, or a link to nothing
		}
		pem, err := readLimited(file, left)
		if err != nil {
			return nil, err
		}
		left -= int64(len(pem))
		read = append(read, e.Name())
		if pool.AppendCertsFromPEM(pem) {
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("no file in the directory %s holds a PEM certificate (read: %s); give the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)",
			path, strings.Join(read, ", "))
	}
	return pool, nil
}

// readLimited reads the file at path, at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: the CA certificates are larger than %d bytes: %w", path, MaxBytes, fs.ErrInvalid)
	}
	return data, nil
}
