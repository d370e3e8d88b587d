package main

import (
	"context"
	"fmt"
	"time"

	"github.com/HatiCode/kedastral/internal/benchproc"
)

// Bounds of the waits in settle.
const (
	// gcTimeout bounds the wait for a garbage collection.
	gcTimeout = 30 * time.Second
	// sweepWait lets the background sweeper free the spans of a collection
	// before the heap is read.
	sweepWait = 500 * time.Millisecond
)

// server is a remote-write receiver under test.
type server struct{ *benchproc.Server }

// startServer starts a server: see benchproc.Start.
func startServer(ctx context.Context, name, binary, dir, listenFlag, readyPath string, args []string) (*server, error) {
	s, err := benchproc.Start(ctx, name, binary, dir, listenFlag, readyPath, args)
	if err != nil {
		return nil, err
	}
	return &server{s}, nil
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
	families, err := s.Scrape(ctx)
	if err != nil {
		return stats{}, err
	}
	var st stats
	for name, dst := range map[string]*float64{
		"process_cpu_seconds_total":     &st.cpu,
		"process_resident_memory_bytes": &st.rss,
		"go_memstats_heap_inuse_bytes":  &st.heap,
		"prometheus_tsdb_head_series":   &st.series,
	} {
		if *dst, err = benchproc.Value(families[name]); err != nil {
			return stats{}, fmt.Errorf("%s of %s: %w", name, s.Name, err)
		}
	}
	gc := families["go_gc_duration_seconds"]
	if gc == nil || len(gc.GetMetric()) == 0 {
		return stats{}, fmt.Errorf("%s exposes no go_gc_duration_seconds", s.Name)
	}
	st.gcs = gc.GetMetric()[0].GetSummary().GetSampleCount()
	return st, nil
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
