package scaler

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/testpki"
)

// serveTLS accepts TLS connections with cfg until the test ends, completing
// each handshake.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// servedSerial dials addr trusting the CA file, presenting the client
// certificate when given, and returns the serial number of the server
// certificate.
func servedSerial(t *testing.T, addr, caFile, clientCert, clientKey string) (*big.Int, error) {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if clientCert != "" {
		c, err := tls.LoadX509KeyPair(clientCert, clientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// With TLS 1.3 a refused client certificate shows on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// webConfig is a web configuration file of exporter-toolkit's format
// asking for mutual TLS, with paths relative to its folder.
const webConfig = `tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: RequireAndVerifyClientCert
`

// TestServerTLSReload renews the server certificate on disk, as
// cert-manager does in a mounted Secret: the next handshake serves the new
// one; a broken renewal keeps the previous one serving until it is fixed.
// It runs with the flags' files and with a web configuration file.
func TestServerTLSReload(t *testing.T) {
	for _, fromFile := range []bool{false, true} {
		t.Run(map[bool]string{false: "flags", true: "web config file"}[fromFile], func(t *testing.T) {
			testServerTLSReload(t, fromFile)
		})
	}
}

func testServerTLSReload(t *testing.T, fromFile bool) {
	dir := t.TempDir()
	ca := testpki.NewCert(t, dir, "ca", testpki.CA(), nil)
	first := testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	testpki.NewCert(t, dir, "client", testpki.Client(), ca)
	p := func(name string) string { return filepath.Join(dir, name) }

	var logs strings.Builder
	file, flags := "", TLSFromFiles(p("server.crt"), p("server.key"), p("ca.crt"))
	if fromFile {
		file, flags = p("web.yml"), TLSFromFiles("", "", "")
		if err := os.WriteFile(file, []byte(webConfig), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := NewServerTLS(file, flags, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !files.MutualTLS() {
		t.Error("MutualTLS() = false with a client CA")
	}
	addr := serveTLS(t, files.Config())
	expect := func(step string, want *big.Int) {
		t.Helper()
		got, err := servedSerial(t, addr, p("ca.crt"), p("client.crt"), p("client.key"))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got.Cmp(want) != 0 {
			t.Errorf("%s: served serial %v, want %v", step, got, want)
		}
	}
	expect("at start", first.Cert.SerialNumber)

	// touch moves the files' modification time a second on from any
	// earlier write, as a Secret update does, so that the change is seen on
	// file systems with coarse timestamps.
	touches := 0
	touch := func(names ...string) {
		t.Helper()
		touches++
		next := time.Now().Add(time.Duration(touches) * time.Second)
		for _, name := range names {
			if err := os.Chtimes(p(name), next, next); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Mutual TLS holds: no client certificate, no connection.
	if _, err := servedSerial(t, addr, p("ca.crt"), "", ""); err == nil {
		t.Error("a client without a certificate was served")
	}

	// Renewal: a new key pair in place of the old (the modification time
	// moves on, as a Secret update does).
	second := testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	touch("server.crt", "server.key")
	expect("after renewal", second.Cert.SerialNumber)

	// A broken renewal: the key does not parse. The previous pair serves.
	if err := os.WriteFile(p("server.key"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	touch("server.key")
	expect("broken key", second.Cert.SerialNumber)
	if !strings.Contains(logs.String(), "Reload of the gRPC TLS configuration failed") {
		t.Errorf("no error logged:\n%s", logs.String())
	}

	// Fixed: served from the next handshake.
	third := testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	touch("server.crt", "server.key")
	expect("fixed", third.Cert.SerialNumber)
}

// TestNewServerTLSRefuses checks that files unusable at start are an error.
func TestNewServerTLSRefuses(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCert(t, dir, "ca", testpki.CA(), nil)
	testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	testpki.NewCert(t, dir, "other", testpki.Server(), ca)
	if err := os.WriteFile(filepath.Join(dir, "empty.pem"), []byte("no PEM here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		name, cert, key, ca, want string
	}{
		{"missing certificate", p("none.crt"), p("server.key"), "", "failed to read cert_file"},
		{"key of another certificate", p("server.crt"), p("other.key"), "", "private key does not match"},
		{"missing client CA", p("server.crt"), p("server.key"), p("none.crt"), "no such file"},
		{"client CA without PEM", p("server.crt"), p("server.key"), p("empty.pem"), "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServerTLS("", TLSFromFiles(tc.cert, tc.key, tc.ca), slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestWebConfigRefused: web configuration files the gRPC server cannot
// serve with are an error at start, saying why.
func TestWebConfigRefused(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCert(t, dir, "ca", testpki.CA(), nil)
	testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	for _, tc := range []struct{ name, content, want string }{
		{"no tls_server_config", "http_server_config:\n  http2: true\n", "no tls_server_config"},
		{"basic auth users", webConfig + "basic_auth_users:\n  keda: $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n", "basic_auth_users does not apply"},
		{"unknown field", webConfig + "tls_sever_config: {}\n", "tls_sever_config"},
		{"client CA without client auth", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n", "without a Client Auth Policy"},
		{"not YAML", "{", "gRPC web config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "web.yml")
			if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewServerTLS(file, TLSFromFiles("", "", ""), slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := NewServerTLS(filepath.Join(dir, "none.yml"), TLSFromFiles("", "", ""), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a missing web config file was accepted")
	}
}
