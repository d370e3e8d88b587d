package read

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testpki"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1, its own
// CA, into dir as cert.crt, and its key as cert.key.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	tmpl := testpki.Server()
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	testpki.NewCert(t, dir, "cert", tmpl, nil)
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
		WebConfig: fmt.Sprintf("tls_server_config:\n  cert_file: cert.crt\n  key_file: cert.key\nbasic_auth_users:\n  kedastral: %s\n", hash),
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
			connection: "  tls_config:\n    ca_file: cert.crt\n  basic_auth:\n    username: kedastral\n    password_file: password\n",
		},
		{
			name:       "no credentials",
			connection: "  tls_config:\n    ca_file: cert.crt\n",
			wantReason: "client_error",
		},
		{
			name:       "wrong password",
			connection: "  tls_config:\n    ca_file: cert.crt\n  basic_auth:\n    username: kedastral\n    password: guess\n",
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
			cfg, err := config.Load([]byte(yaml), dir)
			if err != nil {
				t.Fatal(err)
			}
			errs := newErrors()
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
