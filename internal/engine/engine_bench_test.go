package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/synthetic"
	"github.com/HatiCode/kedastral/remote/read"
)

// BenchmarkTick measures a whole tick (collect from a real local Prometheus,
// predict, plan, publish) for a 30-point and a 10,080-point (7 days at 1m)
// window, and reports its p50 and p95.
func BenchmarkTick(b *testing.B) {
	prom := startBackfilledPrometheus(b, 8*24*time.Hour)
	for _, bc := range []struct {
		name   string
		window time.Duration
	}{
		{name: "points=30", window: 30 * time.Minute},
		{name: "points=10080", window: 7 * 24 * time.Hour},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := config.DefaultWorkload()
			cfg.Name = "bench"
			cfg.Query = "sum(rate(bench_requests_total[5m]))"
			cfg.Window = model.Duration(bc.window)
			metrics := NewMetrics(prometheus.NewRegistry())
			client, err := read.NewClient(read.ClientOptions{
				URL: prom.URL, HTTP: promconfig.DefaultHTTPClientConfig, Timeout: 10 * time.Second, Errors: metrics.Errors,
			})
			if err != nil {
				b.Fatal(err)
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			store := NewStore()
			e, err := New(cfg, client.Source(cfg.Query, logger), Deps{
				Store: store, Metrics: metrics, Logger: logger, StaleAfter: 2 * time.Minute, Adapter: "prometheus",
			})
			if err != nil {
				b.Fatal(err)
			}
			durations := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				began := time.Now()
				if err := e.Tick(context.Background()); err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(began))
			}
			b.StopTimer()
			if s, _ := store.Get("bench"); len(s.Values) != cfg.Steps() {
				b.Fatalf("snapshot has %d values, want %d", len(s.Values), cfg.Steps())
			}
			slices.Sort(durations)
			b.ReportMetric(quantile(durations, 0.50).Seconds()*1000, "p50-ms")
			b.ReportMetric(quantile(durations, 0.95).Seconds()*1000, "p95-ms")
		})
	}
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// startBackfilledPrometheus starts a Prometheus holding span of history up to
// now of a counter scraped every 15 s, whose rate follows a daily cycle
// between 100 and 300 requests per second.
func startBackfilledPrometheus(b *testing.B, span time.Duration) *prometheustest.Server {
	b.Helper()
	dir := b.TempDir()
	om := filepath.Join(dir, "history.om")
	if err := writeHistory(om, time.Now().Add(-span), time.Now(), 15*time.Second); err != nil {
		b.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	out, err := exec.Command(prometheustest.Binary(b, "promtool"), "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput()
	if err != nil {
		b.Fatalf("promtool create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return prometheustest.Start(b, prometheustest.Options{DataDir: data, Args: []string{"--storage.tsdb.retention.time=30d"}})
}

func writeHistory(path string, from, to time.Time, every time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "# TYPE bench_requests counter")
	count := 0.0
	for t := from; t.Before(to); t = t.Add(every) {
		day := 2 * math.Pi * float64(t.Unix()%86400) / 86400
		count += (200 + 100*math.Sin(day)) * every.Seconds()
		fmt.Fprintf(w, "bench_requests_total{job=\"bench\"} %g %d\n", count, t.Unix())
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// memorySource serves a fixed series by time, as a Prometheus would serve a
// stored one: a tick reads only the window it asks for.
type memorySource struct{ s forecast.Series }

func (m memorySource) Range(_ context.Context, start, end time.Time, step time.Duration) (forecast.Series, error) {
	first := int(start.Sub(m.s.Start) / m.s.Step)
	last := int(end.Sub(m.s.Start) / m.s.Step)
	first, last = max(first, 0), min(last, len(m.s.Values)-1)
	return forecast.Series{Start: m.s.Time(first), Step: step, Values: m.s.Values[first : last+1]}, nil
}

// BenchmarkTickWorkloads measures a round of ticks of 1,000 workloads, each
// forecasting 30 minutes from a week of one-minute history with the auto
// model, from memory (no network): one op is the whole round. The first
// round, when every model fits and auto chooses for the first time, is
// reported as first-round-s. Later rounds 30 s apart reuse the fits.
func BenchmarkTickWorkloads(b *testing.B) {
	const workloads = 1000
	week := forecast.Series{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: synthetic.WebTraffic(7 * 24 * 60)}
	// Two weeks of data so the window can move; the first is the week above.
	long := forecast.Series{Start: week.Start, Step: week.Step, Values: append(slices.Clone(week.Values), week.Values...)}
	now := week.End()
	deps := Deps{
		Store:      NewStore(),
		Metrics:    NewMetrics(prometheus.NewRegistry()),
		Logger:     slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return now },
		StaleAfter: 2 * time.Minute,
		Adapter:    "memory",
	}
	engines := make([]*Engine, workloads)
	for i := range engines {
		cfg := config.DefaultWorkload()
		cfg.Name, cfg.Query = fmt.Sprintf("workload-%04d", i), "up"
		cfg.Window = model.Duration(7 * 24 * time.Hour)
		e, err := New(cfg, memorySource{long}, deps)
		if err != nil {
			b.Fatal(err)
		}
		engines[i] = e
	}
	round := func() {
		for _, e := range engines {
			if err := e.Tick(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	began := time.Now()
	round()
	first := time.Since(began)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(30 * time.Second)
		round()
	}
	b.ReportMetric(first.Seconds(), "first-round-s")
}

// BenchmarkEngineMemory reports the heap one workload holds (bytes per
// workload, after a collection) once its engine has ticked every 30 s for
// an hour and a half of data time, so that its accuracy tracker holds a
// whole accuracy window: 200 workloads of a day of one-minute history,
// forecasting 30 minutes, with the defaults otherwise and with one part
// changed at a time, so the parts' costs show as differences.
func BenchmarkEngineMemory(b *testing.B) {
	day := forecast.Series{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: synthetic.WebTraffic(3 * 24 * 60)}
	for _, bc := range []struct {
		name string
		edit func(*config.Workload)
	}{
		{"defaults", func(*config.Workload) {}},
		{"accuracy_window=0", func(c *config.Workload) { c.AccuracyWindow = 0 }},
		{"model=baseline", func(c *config.Workload) { c.Model = forecast.ModelBaseline }},
		{"window=7d", func(c *config.Workload) { c.Window = model.Duration(7 * 24 * time.Hour) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const workloads = 200
			for b.Loop() {
				now := day.Start.Add(2 * 24 * time.Hour)
				deps := Deps{
					Store: NewStore(), Metrics: NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.DiscardHandler),
					Now: func() time.Time { return now }, StaleAfter: 2 * time.Minute, Adapter: "memory",
				}
				var before runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				engines := make([]*Engine, workloads)
				for i := range engines {
					cfg := config.DefaultWorkload()
					cfg.Name, cfg.Query, cfg.Window = fmt.Sprintf("workload-%04d", i), "up", model.Duration(24*time.Hour)
					bc.edit(&cfg)
					e, err := New(cfg, memorySource{day}, deps)
					if err != nil {
						b.Fatal(err)
					}
					engines[i] = e
				}
				for range 180 { // 90 minutes at 30 s
					for _, e := range engines {
						if err := e.Tick(context.Background()); err != nil {
							b.Fatal(err)
						}
					}
					now = now.Add(30 * time.Second)
				}
				var after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/workloads, "B/workload")
				runtime.KeepAlive(engines)
			}
		})
	}
}
