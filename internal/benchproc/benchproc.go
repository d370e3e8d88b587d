// Package benchproc runs the servers a benchmark measures (the forecaster,
// Prometheus) as child processes on 127.0.0.1 and reads their /metrics.
package benchproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Bounds of the waits on a server.
const (
	readyTimeout = 10 * time.Minute
	stopTimeout  = 30 * time.Second
)

// Server is a server under measurement: a child process on 127.0.0.1 with
// its own directory.
type Server struct {
	// Name names it in errors and logs.
	Name string
	// URL is its base URL, http://127.0.0.1:port.
	URL string
	dir string
	log string
	cmd *exec.Cmd
	// exited is closed when the process ends, with its Wait error in waitErr.
	exited  chan struct{}
	waitErr error
	client  *http.Client
}

// Start runs binary with args, the flag that sets its listen address
// added, logging to a file in dir, and waits until readyPath answers 200.
func Start(ctx context.Context, name, binary, dir, listenFlag, readyPath string, args []string) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Name:   name,
		URL:    "http://" + addr,
		dir:    dir,
		log:    filepath.Join(dir, name+".log"),
		exited: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second},
	}
	logFile, err := os.Create(s.log)
	if err != nil {
		return nil, fmt.Errorf("create the log of %s: %w", name, err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(binary, append(args, listenFlag+"="+addr)...) //nolint:gosec // the binaries of bin/, run on purpose
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.WaitReady(ctx, readyPath); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s did not become ready: %w\n%s", name, err, s.LogTail())
	}
	return s, nil
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the call.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WaitReady waits until path answers 200, for at most ten minutes.
func (s *Server) WaitReady(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, http.NoBody)
		if err != nil {
			return err
		}
		if resp, err := s.client.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited: %w", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after stopTimeout) and waits
// for it.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// LogTail returns the last lines the server logged.
func (s *Server) LogTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// Scrape reads the server's /metrics, in the text format.
func (s *Server) Scrape(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %s", s.Name, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse the metrics of %s: %w", s.Name, err)
	}
	return families, nil
}

// Value returns the value of the first series of a counter or gauge family.
func Value(mf *dto.MetricFamily) (float64, error) {
	if mf == nil || len(mf.GetMetric()) == 0 {
		return 0, errors.New("not exposed")
	}
	m := mf.GetMetric()[0]
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), nil
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), nil
	default:
		return 0, fmt.Errorf("type %s is neither counter nor gauge", mf.GetType())
	}
}
