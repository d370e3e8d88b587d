package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key into dir.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "prometheus-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClientAuthAndTLS reads from a real Prometheus that requires TLS and
// basic auth, with the connection settings of a Kedastral config file.
func TestClientAuthAndTLS(t *testing.T) {
	dir := t.TempDir()
	writeSelfSigned(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	prom := prometheustest.Start(t, prometheustest.Options{
		Dir:       dir,
		WebConfig: fmt.Sprintf("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  kedastral: %s\n", hash),
		HTTPS:     true,
		Username:  "kedastral",
		Password:  "s3cret",
	})
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		connection string // the prometheus: section, indented
		wantReason string // "" means success
	}{
		{
			name:       "CA and basic auth from files",
			connection: "  tls_config:\n    ca_file: cert.pem\n  basic_auth:\n    username: kedastral\n    password_file: password\n",
		},
		{
			name:       "no credentials",
			connection: "  tls_config:\n    ca_file: cert.pem\n",
			wantReason: "client_error",
		},
		{
			name:       "wrong password",
			connection: "  tls_config:\n    ca_file: cert.pem\n  basic_auth:\n    username: kedastral\n    password: guess\n",
			wantReason: "client_error",
		},
		{
			name:       "server certificate not trusted",
			connection: "  basic_auth:\n    username: kedastral\n    password_file: password\n",
			wantReason: "unavailable",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			yaml := fmt.Sprintf("prometheus:\n  url: %s\n%sworkloads:\n  - name: w\n    query: vector(7)\n", prom.URL, tc.connection)
			cfg, err := forecast.Load([]byte(yaml), dir)
			if err != nil {
				t.Fatal(err)
			}
			errs := forecast.NewMetrics(prometheus.NewRegistry()).Errors
			c, err := NewClient(ClientOptions{
				URL: cfg.Prometheus.URL.String(), HTTP: cfg.Prometheus.HTTPClientConfig,
				Timeout: 5 * time.Second, Backoff: []time.Duration{10 * time.Millisecond}, Errors: errs,
			})
			if err != nil {
				t.Fatal(err)
			}
			end := time.Now()
			s, err := c.Source("vector(7)", discard()).Range(context.Background(), end.Add(-2*time.Second), end, time.Second)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(s.Values) != 3 || s.Values[2] != 7 {
					t.Errorf("values %v, want [7 7 7]", s.Values)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if got := testutil.ToFloat64(errs.WithLabelValues("source", tc.wantReason)); got != 1 {
				t.Errorf("kedastral_errors_total{reason=%q} = %v, want 1 (err: %v)", tc.wantReason, got, err)
			}
		})
	}
}
