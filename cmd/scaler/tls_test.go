package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// pki is a test PKI written as PEM files: a CA, a server certificate for
// 127.0.0.1 signed by it, a client certificate signed by it, and a client
// certificate signed by another CA.
type pki struct {
	caCert, serverCert, serverKey string
	clientCert, clientKey         string
	otherCACert                   string
	otherClientCert               string
	otherClientKey                string
}

// authority is a CA that signs certificates.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// newCert makes a certificate from tmpl signed by parent (self-signed when
// parent is nil) and writes it and its key to dir/name.crt and dir/name.key.
func newCert(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *authority) *authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.Subject = pkix.Name{CommonName: name}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, kind string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".crt", "CERTIFICATE", der)
	write(name+".key", "EC PRIVATE KEY", keyDER)
	return &authority{cert: cert, key: key}
}

// newPKI writes a fresh test PKI to a temporary directory.
func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca := func() *x509.Certificate {
		return &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	}
	client := func() *x509.Certificate {
		return &x509.Certificate{KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	}
	good := newCert(t, dir, "ca", ca(), nil)
	other := newCert(t, dir, "other-ca", ca(), nil)
	newCert(t, dir, "server", &x509.Certificate{
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}, good)
	newCert(t, dir, "client", client(), good)
	newCert(t, dir, "other-client", client(), other)
	p := func(name string) string { return filepath.Join(dir, name) }
	return pki{
		caCert: p("ca.crt"), serverCert: p("server.crt"), serverKey: p("server.key"),
		clientCert: p("client.crt"), clientKey: p("client.key"),
		otherCACert: p("other-ca.crt"), otherClientCert: p("other-client.crt"), otherClientKey: p("other-client.key"),
	}
}

// tlsClient returns the dial option of a KEDA trigger with caCert (the CA
// it trusts) and, when certFile is set, tlsClientCert and tlsClientKey.
func tlsClient(t *testing.T, caFile, certFile, keyFile string) grpc.DialOption {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

// checkClients calls GetMetricSpec over a new connection per case: ok cases
// must succeed, the others fail with Unavailable, never hang.
func checkClients(t *testing.T, addr string, cases []struct {
	name string
	opt  grpc.DialOption
	ok   bool
}) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []grpc.DialOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			c := externalscaler.NewExternalScalerClient(dial(t, addr, opts...))
			spec, err := getMetricSpec(t, c, map[string]string{"workload": "app"})
			switch {
			case tc.ok && err != nil:
				t.Errorf("GetMetricSpec: %v, want success", err)
			case tc.ok && len(spec.GetMetricSpecs()) != 1:
				t.Errorf("GetMetricSpec = %v, want one spec", spec)
			case !tc.ok && err == nil:
				t.Error("GetMetricSpec succeeded, want a refused connection")
			case !tc.ok && status.Code(err) != codes.Unavailable:
				t.Errorf("GetMetricSpec: %v, want Unavailable", err)
			}
			if err != nil {
				t.Logf("error: %v", err)
			}
		})
	}
}

// TestTLS: with --grpc.tls-cert-file and --grpc.tls-key-file, a client that
// trusts the CA (KEDA's caCert) is served; a plaintext client and a client
// that does not trust the CA are not.
func TestTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startScaler(t, noForecaster(t), "--grpc.tls-cert-file="+p.serverCert, "--grpc.tls-key-file="+p.serverKey)
	waitFor(t, 10*time.Second, "the scaler to log tls=true mtls=false", func() bool { return strings.Contains(s.Logs(), " tls=true mtls=false") })
	checkClients(t, s.grpcAddr, []struct {
		name string
		opt  grpc.DialOption
		ok   bool
	}{
		{"trusts the CA", tlsClient(t, p.caCert, "", ""), true},
		{"trusts the CA, sends a client certificate anyway", tlsClient(t, p.caCert, p.clientCert, p.clientKey), true},
		{"plaintext", nil, false},
		{"trusts another CA", tlsClient(t, p.otherCACert, "", ""), false},
	})
}

// TestMutualTLS: with --grpc.tls-client-ca-file as well, only a client
// whose certificate (KEDA's tlsClientCert and tlsClientKey) chains to that
// CA is served.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	s := startScaler(t, noForecaster(t), "--grpc.tls-cert-file="+p.serverCert, "--grpc.tls-key-file="+p.serverKey,
		"--grpc.tls-client-ca-file="+p.caCert)
	waitFor(t, 10*time.Second, "the scaler to log tls=true mtls=true", func() bool { return strings.Contains(s.Logs(), " tls=true mtls=true") })
	checkClients(t, s.grpcAddr, []struct {
		name string
		opt  grpc.DialOption
		ok   bool
	}{
		{"client certificate of the CA", tlsClient(t, p.caCert, p.clientCert, p.clientKey), true},
		{"no client certificate", tlsClient(t, p.caCert, "", ""), false},
		{"client certificate of another CA", tlsClient(t, p.caCert, p.otherClientCert, p.otherClientKey), false},
		{"plaintext", nil, false},
		{"good client certificate, server not trusted", tlsClient(t, p.otherCACert, p.clientCert, p.clientKey), false},
	})
	// The HTTP side stays plain HTTP (its TLS is --web.config.file's).
	if code, _ := get(t, s.webURL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz answered %d", code)
	}
}
