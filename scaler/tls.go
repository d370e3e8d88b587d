package scaler

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// TLSFiles is the gRPC server's TLS configuration read from PEM files, read
// again when a file changes: a certificate renewed on disk (by
// cert-manager, into a mounted Secret) is served from the next TLS
// handshake, without a restart. A file that cannot be read, or a pair that
// does not match, keeps the last good configuration serving and is logged.
type TLSFiles struct {
	certFile, keyFile, clientCAFile string
	logger                          *slog.Logger

	mu      sync.Mutex
	stamp   []fileStamp
	current *tls.Config
}

// fileStamp is what tells that a file changed.
type fileStamp struct {
	modTime time.Time
	size    int64
}

// NewTLSFiles reads the server certificate and key, and the CA bundle that
// client certificates must chain to when clientCAFile is not empty (mutual
// TLS). It fails when they cannot be read now.
func NewTLSFiles(certFile, keyFile, clientCAFile string, logger *slog.Logger) (*TLSFiles, error) {
	f := &TLSFiles{certFile: certFile, keyFile: keyFile, clientCAFile: clientCAFile, logger: logger}
	stamp := f.stamps()
	cfg, err := f.load()
	if err != nil {
		return nil, err
	}
	f.stamp, f.current = stamp, cfg
	return f, nil
}

// Config returns the server's TLS configuration; each handshake uses the
// files' current content.
func (f *TLSFiles) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return f.config(), nil
		},
	}
}

// config returns the configuration, loading the files again first when one
// changed since the last load.
func (f *TLSFiles) config() *tls.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	stamp := f.stamps()
	if equalStamps(stamp, f.stamp) {
		return f.current
	}
	cfg, err := f.load()
	if err != nil {
		// A renewal caught half-written shows up here too: the next
		// handshake tries again, as the stamp is not kept.
		f.logger.Error("Reload of the gRPC TLS files failed; serving the previous certificate", "component", "scaler", "err", err)
		return f.current
	}
	f.stamp, f.current = stamp, cfg
	f.logger.Info("Reloaded the gRPC TLS files", "component", "scaler", "cert", f.certFile)
	return cfg
}

// files are the paths read, in a fixed order.
func (f *TLSFiles) files() []string {
	files := []string{f.certFile, f.keyFile}
	if f.clientCAFile != "" {
		files = append(files, f.clientCAFile)
	}
	return files
}

// stamps stats every file; a file that cannot be stat'ed gets a zero stamp.
func (f *TLSFiles) stamps() []fileStamp {
	var out []fileStamp
	for _, name := range f.files() {
		var s fileStamp
		if fi, err := os.Stat(name); err == nil {
			s = fileStamp{modTime: fi.ModTime(), size: fi.Size()}
		}
		out = append(out, s)
	}
	return out
}

// equalStamps reports whether two sets of stamps are the same.
func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].modTime.Equal(b[i].modTime) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}

// load reads the files into a TLS configuration.
func (f *TLSFiles) load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("load gRPC certificate: %w", err)
	}
	// gRPC needs HTTP/2 negotiated by ALPN; credentials.NewTLS only adds
	// it to the outer configuration.
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}}
	if f.clientCAFile != "" {
		pem, err := os.ReadFile(f.clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s holds no PEM certificate", f.clientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
