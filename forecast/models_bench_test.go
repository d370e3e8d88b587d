package forecast

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// weekOfMinutes returns a week of one-minute load with a daily cycle and
// noise, like busy web traffic: 10,080 points.
func weekOfMinutes() Series {
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 7*24*60)
	for i := range values {
		daily := math.Sin(2 * math.Pi * float64(i) / (24 * 60))
		values[i] = 1000 + 400*daily + rng.NormFloat64()*50
	}
	return Series{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: values}
}

// BenchmarkHoltWintersFit measures what a refit costs: fitting Holt-Winters
// from scratch (with and without its daily season) on a week of one-minute
// history, then forecasting 30 minutes.
func BenchmarkHoltWintersFit(b *testing.B) {
	history := weekOfMinutes()
	b.ReportAllocs()
	for b.Loop() {
		hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, EvalHorizon: 5 * time.Minute})
		if _, err := hw.Predict(history, 30); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkModelPredict measures a tick's forecast of 30 minutes from a week
// of one-minute history, by a fitted model (no refit).
func BenchmarkModelPredict(b *testing.B) {
	history := weekOfMinutes()
	for _, name := range ModelNames() {
		b.Run(name, func(b *testing.B) {
			m, err := NewModel(name, ModelOptions{RefitInterval: 24 * time.Hour, EvalHorizon: 5 * time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Predict(history, 30); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Predict(history, 30); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// memorySource serves a fixed series by time, as a Prometheus would serve a
// stored one: a tick reads only the window it asks for.
type memorySource struct{ s Series }

func (m memorySource) Range(_ context.Context, start, end time.Time, step time.Duration) (Series, error) {
	first := int(start.Sub(m.s.Start) / m.s.Step)
	last := int(end.Sub(m.s.Start) / m.s.Step)
	first, last = max(first, 0), min(last, len(m.s.Values)-1)
	return Series{Start: m.s.Time(first), Step: step, Values: m.s.Values[first : last+1]}, nil
}

// BenchmarkTickWorkloads measures a round of ticks of 1,000 workloads, each
// forecasting 30 minutes from a week of one-minute history with the auto
// model, from memory (no network): one op is the whole round. The first
// round, when every model fits and auto chooses for the first time, is
// reported as first-round-s. Later rounds 30 s apart reuse the fits.
func BenchmarkTickWorkloads(b *testing.B) {
	const workloads = 1000
	week := weekOfMinutes()
	// Two weeks of data so the window can move; the first is the week above.
	long := Series{Start: week.Start, Step: week.Step, Values: append(slices.Clone(week.Values), week.Values...)}
	now := week.End()
	deps := EngineDeps{
		Store:      NewStore(),
		Metrics:    NewMetrics(prometheus.NewRegistry()),
		Logger:     slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return now },
		StaleAfter: 2 * time.Minute,
		Adapter:    "memory",
	}
	engines := make([]*Engine, workloads)
	for i := range engines {
		cfg := DefaultWorkloadConfig()
		cfg.Name, cfg.Query = fmt.Sprintf("workload-%04d", i), "up"
		cfg.Window = model.Duration(7 * 24 * time.Hour)
		e, err := NewEngine(cfg, memorySource{long}, deps)
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
