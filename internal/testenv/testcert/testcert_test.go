package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestServerAndClientCertificates(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, serverKey, err := ca.Issue(Loopback("server"))
	if err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey, err := ca.Issue(Leaf{Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, Usage: x509.ExtKeyUsageClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.PEM()) {
		t.Fatal("CA PEM does not parse")
	}
	srvPair, err := tls.X509KeyPair(serverCert, serverKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.Organization[0]))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvPair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()
	cliPair, err := tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		config  *tls.Config
		wantErr bool
	}{
		{name: "trusted CA and client certificate", config: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cliPair}}},
		{name: "no client certificate", config: &tls.Config{RootCAs: pool}, wantErr: true},
		{name: "CA not trusted", config: &tls.Config{Certificates: []tls.Certificate{cliPair}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: tt.config}}
			resp, err := client.Get(srv.URL)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatal("request succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
	}
}
