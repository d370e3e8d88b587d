package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/synthetic"
)

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
