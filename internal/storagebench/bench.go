package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/in"
)

// measure appends the samples, waits for compaction and takes the figures.
func measure(ctx context.Context, o options, dir string) (result, error) {
	b, err := openBench(o, dir)
	if err != nil {
		return result{}, err
	}
	defer b.close()
	end := time.Now().Add(-time.Minute).Truncate(o.interval)
	start := end.Add(-time.Duration(o.days * float64(24*time.Hour))).Truncate(o.interval)
	began := time.Now()
	if err := b.fill(ctx, start, end); err != nil {
		return b.res, err
	}
	b.res.appendTime = time.Since(began)
	if err := b.settle(); err != nil {
		return b.res, err
	}
	if err := b.queries(ctx, start, end); err != nil {
		return b.res, err
	}
	return b.res, b.reopen()
}

// bench is one run of measure: the storage being filled and what was
// measured of it so far.
type bench struct {
	o   options
	dir string
	reg *prometheus.Registry
	st  *in.Storage
	res result
	// The empty storage's own memory (its series map's stripes, ...) is
	// not per series.
	heap0, rss0 uint64
	rssOK       bool
}

// openBench opens an empty storage in dir and measures its memory.
func openBench(o options, dir string) (*bench, error) {
	b := &bench{o: o, dir: dir, reg: prometheus.NewRegistry()}
	var err error
	if b.st, err = in.OpenStorage(in.StorageOptions{Path: dir, Retention: o.retention, Registerer: b.reg}); err != nil {
		return nil, err
	}
	b.heap0, b.rss0, b.rssOK = memory()
	b.res.heapEmpty, b.res.rssEmpty = b.heap0, b.rss0
	return b, nil
}

// close closes the storage if it is still open.
func (b *bench) close() {
	if b.st != nil {
		_ = b.st.Close()
	}
}

// fill appends every series from start to end at the interval, in batches,
// letting the head compact every two hours of data as it does in real time,
// and measures the write-ahead log two hours in (nothing compacted yet: it
// holds every sample) and at its largest.
func (b *bench) fill(ctx context.Context, start, end time.Time) error {
	gen := newGenerator(b.o)
	app := b.st.Appendable().AppenderV2(ctx)
	pending := 0
	commit := func() error {
		if pending == 0 {
			return nil
		}
		pending = 0
		err := app.Commit()
		app = b.st.Appendable().AppenderV2(ctx)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	walMeasured := false
	for t := start; !t.After(end); t = t.Add(b.o.interval) {
		compact := t.Sub(start) > headSpan && t.Sub(start)%(2*time.Hour) == 0
		first := !walMeasured && !t.Before(start.Add(2*time.Hour))
		if compact || first {
			if err := commit(); err != nil {
				return err
			}
			if err := b.walCheckpoint(compact, first); err != nil {
				return err
			}
			walMeasured = walMeasured || first
		}
		for i := range b.o.series {
			ts, v := gen.next(i, t)
			ref, err := app.Append(gen.refs[i], gen.labels[i], 0, ts, v, nil, nil, storage.AOptions{})
			if err != nil {
				return fmt.Errorf("append: %w", err)
			}
			gen.refs[i] = ref
			b.res.samples++
			if pending++; pending >= b.o.batch {
				if err := commit(); err != nil {
					return err
				}
			}
		}
	}
	if err := commit(); err != nil {
		return err
	}
	if err := app.Rollback(); err != nil {
		return fmt.Errorf("rollback an empty appender: %w", err)
	}
	return nil
}

// walCheckpoint measures the write-ahead log: its peak before a compaction
// (and waits for the head to compact), and its size per sample the first
// time.
func (b *bench) walCheckpoint(compact, first bool) error {
	wal, err := dirSize(filepath.Join(b.dir, "wal"))
	if err != nil {
		return err
	}
	if first {
		b.res.walPerSample, b.res.walSamples = float64(wal)/float64(b.res.samples), b.res.samples
	}
	if compact {
		b.res.walPeak = max(b.res.walPeak, wal)
		return waitHead(b.reg, time.Minute)
	}
	return nil
}

// settle waits for the last compactions, then measures the memory per
// series and the head's series.
func (b *bench) settle() error {
	if err := waitCompacted(b.reg, 3*time.Minute); err != nil {
		return err
	}
	heap1, rss1, rssOK1 := memory()
	b.res.heapPerSeries = float64(int64(heap1)-int64(b.heap0)) / float64(b.o.series)
	b.res.rssPerSeries, b.res.rssKnown = float64(int64(rss1)-int64(b.rss0))/float64(b.o.series), b.rssOK && rssOK1
	b.res.headSeries = gauge(b.reg, "prometheus_tsdb_head_series")
	return nil
}

// queries times a workload's query of one series and of all of them over
// the window before end.
func (b *bench) queries(ctx context.Context, start, end time.Time) error {
	window := min(b.o.window, end.Sub(start)-time.Hour)
	one := b.st.Source(`sum(rate(bench_requests_total{path="/api/v1/resource/0"}[5m]))`, slog.New(slog.DiscardHandler))
	all := b.st.Source(`sum(rate(bench_requests_total[5m]))`, slog.New(slog.DiscardHandler))
	var err error
	if b.res.queryOne, b.res.queryPoints, err = timeQuery(ctx, one, end.Add(-window), end); err != nil {
		return err
	}
	b.res.queryAll, _, err = timeQuery(ctx, all, end.Add(-window), end)
	return err
}

// reopen closes the storage, measures its disk as a restart finds it (head
// chunks flushed), and times opening it again.
func (b *bench) reopen() error {
	err := b.st.Close()
	b.st = nil
	if err != nil {
		return err
	}
	if b.res.disk, err = usage(b.dir); err != nil {
		return err
	}
	began := time.Now()
	again, err := in.OpenStorage(in.StorageOptions{Path: b.dir, Retention: b.o.retention, Registerer: prometheus.NewRegistry()})
	if err != nil {
		return fmt.Errorf("open again: %w", err)
	}
	b.res.reopen = time.Since(began)
	return again.Close()
}

// timeQuery runs a workload's range query over [start, end] at a 1m step, as
// a tick does, three times, and returns the fastest and the points read.
func timeQuery(ctx context.Context, src forecast.Source, start, end time.Time) (time.Duration, int, error) {
	best := time.Duration(math.MaxInt64)
	points := 0
	for range 3 {
		began := time.Now()
		s, err := src.Range(ctx, start, end, time.Minute)
		if err != nil {
			return 0, 0, fmt.Errorf("range query: %w", err)
		}
		best = min(best, time.Since(began))
		points = 0
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				points++
			}
		}
	}
	return best, points, nil
}
