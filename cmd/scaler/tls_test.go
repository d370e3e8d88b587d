package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testpki"
	"github.com/HatiCode/kedastral/internal/testutil"
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

// newPKI writes a fresh test PKI to a temporary directory.
func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	good := testpki.NewCert(t, dir, "ca", testpki.CA(), nil)
	other := testpki.NewCert(t, dir, "other-ca", testpki.CA(), nil)
	testpki.NewCert(t, dir, "server", testpki.Server(), good)
	testpki.NewCert(t, dir, "client", testpki.Client(), good)
	testpki.NewCert(t, dir, "other-client", testpki.Client(), other)
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
	testutil.WaitFor(t, 10*time.Second, "the scaler to log tls=true mtls=false", func() bool { return strings.Contains(s.Logs(), " tls=true mtls=false") })
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
	testutil.WaitFor(t, 10*time.Second, "the scaler to log tls=true mtls=true", func() bool { return strings.Contains(s.Logs(), " tls=true mtls=true") })
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

// TestSecuredForecaster runs the forecaster behind --web.config.file (TLS
// and basic auth) and the scaler reading it with --source.http-config-file:
// the plan is served. A scaler with the wrong password gets 401s, counted,
// and answers --default-min.
func TestSecuredForecaster(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := filepath.Dir(p.caCert)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	webConfig := write("web.yml", fmt.Sprintf("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  keda: %s\n", hash))
	write("password", "s3cret\n")
	write("wrong", "guess\n")
	client := func(passwordFile string) string {
		return write("client-"+passwordFile+".yml", fmt.Sprintf("basic_auth:\n  username: keda\n  password_file: %s\ntls_config:\n  ca_file: ca.crt\n", passwordFile))
	}

	prom := prometheustest.Start(t, prometheustest.Options{})
	fcAddr := prometheustest.FreeAddr(t)
	// A constant load of 450 at 100 a pod: ceil(450/100) = 5 replicas.
	fc := start(t, "forecaster", bins["forecaster"], []string{
		"--prometheus.url=" + prom.URL, "--workload=app", "--query=vector(450)",
		"--interval=1s", "--step=5s", "--window=2m", "--horizon=30s", "--lead-time=10s",
		"--target-per-pod=100", "--headroom=1", "--min-replicas=1",
		"--web.listen-address=" + fcAddr, "--web.config.file=" + webConfig,
	}, nil)
	fcURL := "https://" + fcAddr
	good := startScaler(t, "--forecaster.url="+fcURL, "--source.http-config-file="+client("password"), "--refresh-interval=200ms", "--default-min=2")
	bad := startScaler(t, "--forecaster.url="+fcURL, "--source.http-config-file="+client("wrong"), "--refresh-interval=200ms", "--default-min=2")
	app := map[string]string{"workload": "app"}
	c := externalscaler.NewExternalScalerClient(dial(t, good.grpcAddr))
	testutil.WaitFor(t, 60*time.Second, "the plan through TLS and basic auth", func() bool {
		select {
		case <-fc.Exited():
			t.Fatalf("forecaster exited: %v\n%s", fc.Err(), fc.Logs())
		default:
		}
		n, err := getMetrics(t, c, app)
		return err == nil && n == 5
	})
	cb := externalscaler.NewExternalScalerClient(dial(t, bad.grpcAddr))
	testutil.WaitFor(t, 30*time.Second, "the wrong password refused", func() bool {
		if n, err := getMetrics(t, cb, app); err != nil || n != 2 {
			t.Fatalf("GetMetrics with the wrong password = %d, %v; want --default-min 2", n, err)
		}
		n := bad.metrics(t).Value(t, "kedastral_scaler_source_errors_total", map[string]string{"source": "forecaster", "reason": "http_status"})
		return n >= 1
	})
	if !strings.Contains(bad.Logs(), "401") {
		t.Errorf("the scaler with the wrong password did not log the 401:\n%s", bad.Logs())
	}
}

// TestTLSConfigFile: --grpc.tls-config-file, exporter-toolkit's web
// configuration format, serves mutual TLS as the three file flags do.
func TestTLSConfigFile(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	file := filepath.Join(filepath.Dir(p.caCert), "grpc-web.yml")
	content := "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startScaler(t, noForecaster(t), "--grpc.tls-config-file="+file)
	testutil.WaitFor(t, 10*time.Second, "the scaler to log tls=true mtls=true", func() bool { return strings.Contains(s.Logs(), " tls=true mtls=true") })
	checkClients(t, s.grpcAddr, []struct {
		name string
		opt  grpc.DialOption
		ok   bool
	}{
		{"client certificate of the CA", tlsClient(t, p.caCert, p.clientCert, p.clientKey), true},
		{"no client certificate", tlsClient(t, p.caCert, "", ""), false},
		{"client certificate of another CA", tlsClient(t, p.caCert, p.otherClientCert, p.otherClientKey), false},
		{"plaintext", nil, false},
	})
}
