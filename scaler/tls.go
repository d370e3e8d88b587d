package scaler

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
)

// ServerTLS is the gRPC server's TLS configuration, in exporter-toolkit's
// terms: either a web configuration file (the format of --web.config.file;
// its tls_server_config is used) or the certificate files given by flags.
// Everything is read again at each TLS handshake, by exporter-toolkit's own
// code, so a certificate renewed on disk (by cert-manager, into a mounted
// Secret) or an edited file is served from the next connection without a
// restart. A configuration that cannot be read, or a pair that does not
// match, keeps the last good configuration serving and is logged.
type ServerTLS struct {
	file   string
	flags  web.TLSConfig
	logger *slog.Logger

	mu   sync.Mutex
	last *tls.Config
	// failing is true while the reloads fail, so that a broken
	// configuration is logged once, not at every handshake.
	failing bool
}

// TLSFromFiles returns the TLS configuration of a certificate, its key and,
// when clientCAFile is set, the CA bundle client certificates must chain to
// (mutual TLS, RequireAndVerifyClientCert), with exporter-toolkit's
// defaults: TLS 1.2 to 1.3.
func TLSFromFiles(certFile, keyFile, clientCAFile string) web.TLSConfig {
	c := web.TLSConfig{
		TLSCertPath: certFile, TLSKeyPath: keyFile, ClientCAs: clientCAFile,
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13,
	}
	if clientCAFile != "" {
		c.ClientAuth = "RequireAndVerifyClientCert"
	}
	return c
}

// NewServerTLS reads the web configuration file, or fromFlags when file is
// empty, and fails when it cannot serve TLS now.
func NewServerTLS(file string, fromFlags web.TLSConfig, logger *slog.Logger) (*ServerTLS, error) {
	s := &ServerTLS{file: file, flags: fromFlags, logger: logger}
	cfg, err := s.load()
	if err != nil {
		return nil, err
	}
	s.last = cfg
	return s, nil
}

// MutualTLS reports whether the configuration asks clients for a
// certificate.
func (s *ServerTLS) MutualTLS() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.ClientAuth != tls.NoClientCert
}

// Config returns the configuration to serve with; each handshake uses the
// files' current content.
func (s *ServerTLS) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.current(), nil
		},
	}
}

// current loads the configuration again, or returns the last good one when
// that fails.
func (s *ServerTLS) current() *tls.Config {
	cfg, err := s.load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if !s.failing {
			// A renewal caught half-written shows up here too: the next
			// handshake tries again.
			s.logger.Error("Reload of the gRPC TLS configuration failed; serving the previous one", "component", "scaler", "err", err)
		}
		s.failing = true
		return s.last
	}
	if s.failing {
		s.logger.Info("Reloaded the gRPC TLS configuration", "component", "scaler")
	}
	s.failing, s.last = false, cfg
	return cfg
}

// load reads the configuration into a TLS configuration with its
// certificate loaded, so that it serves as it was read.
func (s *ServerTLS) load() (*tls.Config, error) {
	c := s.flags
	if s.file != "" {
		var err error
		if c, err = readWebConfig(s.file); err != nil {
			return nil, err
		}
	}
	cfg, err := web.ConfigToTLSConfig(&c)
	if err != nil {
		return nil, fmt.Errorf("gRPC TLS: %w", err)
	}
	// A client CA bundle without a certificate in it would refuse every
	// client without saying why.
	if cfg.ClientCAs != nil && cfg.ClientCAs.Equal(x509.NewCertPool()) {
		return nil, fmt.Errorf("gRPC TLS: client CA %s holds no PEM certificate", c.ClientCAs)
	}
	cert, err := cfg.GetCertificate(nil)
	if err != nil {
		return nil, fmt.Errorf("gRPC TLS: %w", err)
	}
	cfg.Certificates, cfg.GetCertificate = []tls.Certificate{*cert}, nil
	// gRPC needs HTTP/2 negotiated by ALPN; credentials.NewTLS only adds
	// it to the outer configuration.
	cfg.NextProtos = []string{"h2"}
	return cfg, nil
}

// readWebConfig reads the tls_server_config of a web configuration file,
// with exporter-toolkit's defaults and its paths relative to the file's
// folder. The file is validated by exporter-toolkit first; basic_auth_users
// is refused, as KEDA's External Scaler trigger sends no credentials.
func readWebConfig(file string) (web.TLSConfig, error) {
	if err := web.Validate(file); err != nil {
		return web.TLSConfig{}, fmt.Errorf("gRPC web config %s: %w", file, err)
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return web.TLSConfig{}, fmt.Errorf("gRPC web config: %w", err)
	}
	c := web.Config{TLSConfig: web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}}
	if err := yaml.UnmarshalStrict(content, &c); err != nil {
		return web.TLSConfig{}, fmt.Errorf("gRPC web config %s: %w", file, err)
	}
	switch {
	case len(c.Users) > 0:
		return web.TLSConfig{}, fmt.Errorf("gRPC web config %s: basic_auth_users does not apply to gRPC (KEDA sends no credentials): use client_auth_type", file)
	case !c.TLSConfig.IsEnabled():
		return web.TLSConfig{}, fmt.Errorf("gRPC web config %s: %w", file, errNoTLS)
	}
	c.TLSConfig.SetDirectory(filepath.Dir(file))
	return c.TLSConfig, nil
}

// errNoTLS is a web configuration without tls_server_config.
var errNoTLS = errors.New("no tls_server_config: without TLS, leave the flag out")
