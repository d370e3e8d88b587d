// Package prometheustest runs a real Prometheus server for tests: the
// prometheus binary built by `make` from the pinned Prometheus module, on
// 127.0.0.1, with its own temporary data directory. Under -short the tests
// that would start it, or run promtool, skip.
package prometheustest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds the wait for a started Prometheus to answer /-/ready.
const readyTimeout = 2 * time.Minute

// ModuleRoot returns the directory of the main module's go.mod, the
// repository's root, from anywhere below it (deploy/ included).
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(mod) == mainModule {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("the go.mod of %s not found above the working directory", mainModule)
		}
		dir = parent
	}
}

// mainModule is the path of the project's main module; deploy/ is a module
// of its own below it.
const mainModule = "github.com/HatiCode/kedastral"

// modulePath returns the module path a go.mod declares.
func modulePath(mod []byte) string {
	for _, line := range strings.Split(string(mod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// Binary returns the path of bin/name (prometheus or promtool) under the
// module root, failing the test when `make` has not built it. Under -short
// it skips the test, which is about to run it.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	skipIfShort(tb)
	path := filepath.Join(ModuleRoot(tb), "bin", name)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("%s is missing: run `make test`, or `make %s`, to build it from the pinned Prometheus module", path, filepath.Join("bin", name))
	}
	return path
}

// skipIfShort skips the test under -short, which leaves out the tests that
// start processes.
func skipIfShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts Prometheus or promtool: not run under -short")
	}
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the call.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Options configures a Server.
type Options struct {
	// Config is the prometheus.yml; empty means a global section only.
	Config string
	// DataDir is the TSDB directory; empty means a new temporary one.
	DataDir string
	// Args are more command-line flags.
	Args []string
	// WebConfig is a --web.config.file (TLS, basic auth); its relative paths
	// are taken from Dir.
	WebConfig string
	// Dir is the server's working directory for its files; empty means a new
	// temporary one.
	Dir string
	// HTTPS serves the API over TLS (WebConfig must set tls_server_config).
	HTTPS bool
	// Username and Password are sent on the readiness probe when set.
	Username, Password string
}

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL of its HTTP API, http://127.0.0.1:PORT.
	URL string
	// Addr is its listen address.
	Addr string
	// DataDir is its TSDB directory.
	DataDir string

	tb   testing.TB
	opts Options
	args []string
	log  string
	cmd  *exec.Cmd
	// exited is closed when the process ends, with its Wait error in waitErr.
	exited  chan struct{}
	waitErr error
}

// Start starts a Prometheus and waits until it is ready. It is stopped when
// the test ends. Under -short it skips the test.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	skipIfShort(tb)
	dir := opts.Dir
	if dir == "" {
		dir = tb.TempDir()
	}
	if opts.Config == "" {
		opts.Config = "global:\n  scrape_interval: 1s\n"
	}
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(opts.Config), 0o600); err != nil {
		tb.Fatal(err)
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(dir, "data")
	}
	if opts.WebConfig != "" {
		webPath := filepath.Join(dir, "web.yml")
		if err := os.WriteFile(webPath, []byte(opts.WebConfig), 0o600); err != nil {
			tb.Fatal(err)
		}
		opts.Args = append(opts.Args, "--web.config.file="+webPath)
	}
	scheme := "http"
	if opts.HTTPS {
		scheme = "https"
	}
	addr := FreeAddr(tb)
	s := &Server{
		URL:     scheme + "://" + addr,
		Addr:    addr,
		DataDir: opts.DataDir,
		tb:      tb,
		opts:    opts,
		log:     filepath.Join(dir, "prometheus.log"),
		args: append([]string{
			"--config.file=" + configPath,
			"--storage.tsdb.path=" + opts.DataDir,
			"--web.listen-address=" + addr,
			"--web.enable-lifecycle",
		}, opts.Args...),
	}
	tb.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Restart starts the stopped server again, on the same address and data.
func (s *Server) Restart() {
	s.tb.Helper()
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(Binary(s.tb, "prometheus"), s.args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start prometheus: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan<- struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	if err := s.waitReady(); err != nil {
		s.Stop()
		s.tb.Fatalf("prometheus did not become ready: %v\n%s", err, s.LogTail())
	}
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		// The probe only asks whether the server is up; tests check TLS themselves.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // readiness probe only
	}}
	req, err := http.NewRequest(http.MethodGet, s.URL+"/-/ready", nil)
	if err != nil {
		return err
	}
	if s.opts.Username != "" {
		req.SetBasicAuth(s.opts.Username, s.opts.Password)
	}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("exited: %w", s.waitErr)
		default:
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out")
}

// Stop stops the server (SIGTERM, then SIGKILL after 30 s) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// LogTail returns the last lines Prometheus logged.
func (s *Server) LogTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
