package main

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
	readyTimeout = 2 * time.Minute
	stopTimeout  = 30 * time.Second
	// gcTimeout bounds the wait for a garbage collection in settle.
	gcTimeout = 30 * time.Second
	// sweepWait lets the background sweeper free the spans of a collection
	// before the heap is read.
	sweepWait = 500 * time.Millisecond
)

// server is a remote-write receiver under test: a child process on
// 127.0.0.1 with its own temporary directory.
type server struct {
	name string
	url  string
	dir  string
	log  string
	cmd  *exec.Cmd
	// exited is closed when the process ends, with its Wait error in waitErr.
	exited  chan struct{}
	waitErr error
	client  *http.Client
}

// startServer runs binary with args, the flag that sets its listen address
// added, logging to a file in dir, and waits until readyPath answers 200.
func startServer(ctx context.Context, name, binary, dir, listenFlag, readyPath string, args []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{
		name:   name,
		url:    "http://" + addr,
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
	if err := s.waitReady(ctx, readyPath); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s did not become ready: %w\n%s", name, err, s.logTail())
	}
	return s, nil
}

// freeAddr returns a 127.0.0.1 address with a port free at the time of the call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *server) waitReady(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, http.NoBody)
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

// stop ends the server (SIGTERM, then SIGKILL after stopTimeout) and waits
// for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// logTail returns the last lines the server logged.
func (s *server) logTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// stats are the figures read from a server's /metrics.
type stats struct {
	// cpu is process_cpu_seconds_total.
	cpu float64
	// rss is process_resident_memory_bytes.
	rss float64
	// heap is go_memstats_heap_inuse_bytes.
	heap float64
	// gcs is the number of garbage collections, go_gc_duration_seconds_count.
	gcs uint64
	// series is prometheus_tsdb_head_series, the series the TSDB holds.
	series float64
}

// stats scrapes the server's /metrics.
func (s *server) stats(ctx context.Context) (stats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/metrics", http.NoBody)
	if err != nil {
		return stats{}, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := s.client.Do(req)
	if err != nil {
		return stats{}, fmt.Errorf("scrape %s: %w", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return stats{}, fmt.Errorf("scrape %s: status %s", s.name, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return stats{}, fmt.Errorf("parse the metrics of %s: %w", s.name, err)
	}
	var st stats
	for name, dst := range map[string]*float64{
		"process_cpu_seconds_total":     &st.cpu,
		"process_resident_memory_bytes": &st.rss,
		"go_memstats_heap_inuse_bytes":  &st.heap,
		"prometheus_tsdb_head_series":   &st.series,
	} {
		if *dst, err = value(families[name]); err != nil {
			return stats{}, fmt.Errorf("%s of %s: %w", name, s.name, err)
		}
	}
	gc := families["go_gc_duration_seconds"]
	if gc == nil || len(gc.GetMetric()) == 0 {
		return stats{}, fmt.Errorf("%s exposes no go_gc_duration_seconds", s.name)
	}
	st.gcs = gc.GetMetric()[0].GetSummary().GetSampleCount()
	return st, nil
}

// value returns the value of the first series of a counter or gauge family.
func value(mf *dto.MetricFamily) (float64, error) {
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

// settle returns the server's stats just after a garbage collection, so that
// its heap holds what is live and little garbage. No request makes a Go
// program collect, so it scrapes /metrics until the scrapes' own allocations
// bring the next collection; the heap is read a moment later, once swept.
func (s *server) settle(ctx context.Context) (stats, bool, error) {
	first, err := s.stats(ctx)
	if err != nil {
		return stats{}, false, err
	}
	deadline := time.Now().Add(gcTimeout)
	collected := false
	for !collected && time.Now().Before(deadline) {
		st, err := s.stats(ctx)
		if err != nil {
			return stats{}, false, err
		}
		collected = st.gcs > first.gcs
	}
	select {
	case <-ctx.Done():
		return stats{}, false, ctx.Err()
	case <-time.After(sweepWait):
	}
	st, err := s.stats(ctx)
	return st, collected, err
}
