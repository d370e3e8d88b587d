package forecast

import (
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/synthetic"
)

// weekOfMinutes returns a week of one-minute load with a daily cycle and
// noise, like busy web traffic: 10,080 points.
func weekOfMinutes() Series {
	return Series{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: synthetic.WebTraffic(7 * 24 * 60)}
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
// of one-minute history, by a fitted model (no refit): computed in full
// ("full", a history that may have changed anywhere), and carried on from
// the last tick's state ("carried": the history is the same as the last,
// so that only the 6 minutes a source may still change are smoothed again,
// as at the engine's ticks).
func BenchmarkModelPredict(b *testing.B) {
	history := weekOfMinutes()
	for _, name := range ModelNames() {
		for _, carried := range []bool{false, true} {
			h, mode := history, "full"
			if carried {
				h.Unchanged, mode = history.End().Add(history.Step), "carried"
			}
			b.Run(name+"/"+mode, func(b *testing.B) {
				m, err := NewModel(name, ModelOptions{RefitInterval: 24 * time.Hour, EvalHorizon: 5 * time.Minute, Settle: 6 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.Predict(history, 30); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Predict(h, 30); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
