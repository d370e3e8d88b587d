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

// TestTLSFilesReload renews the server certificate on disk, as cert-manager
// does in a mounted Secret: the next handshake serves the new one; a broken
// renewal keeps the previous one serving until it is fixed.
func TestTLSFilesReload(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCert(t, dir, "ca", testpki.CA(), nil)
	first := testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	testpki.NewCert(t, dir, "client", testpki.Client(), ca)
	p := func(name string) string { return filepath.Join(dir, name) }

	var logs strings.Builder
	files, err := NewTLSFiles(p("server.crt"), p("server.key"), p("ca.crt"), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
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
	if !strings.Contains(logs.String(), "Reload of the gRPC TLS files failed") {
		t.Errorf("no error logged:\n%s", logs.String())
	}

	// Fixed: served from the next handshake.
	third := testpki.NewCert(t, dir, "server", testpki.Server(), ca)
	touch("server.crt", "server.key")
	expect("fixed", third.Cert.SerialNumber)
}

// TestNewTLSFilesRefuses checks that files unusable at start are an error.
func TestNewTLSFilesRefuses(t *testing.T) {
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
		{"missing certificate", p("none.crt"), p("server.key"), "", "load gRPC certificate"},
		{"key of another certificate", p("server.crt"), p("other.key"), "", "private key does not match"},
		{"missing client CA", p("server.crt"), p("server.key"), p("none.crt"), "read client CA"},
		{"client CA without PEM", p("server.crt"), p("server.key"), p("empty.pem"), "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTLSFiles(tc.cert, tc.key, tc.ca, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
