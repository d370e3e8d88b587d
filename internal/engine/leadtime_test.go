package engine

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

// answers is a lead time query that answers these values, whatever the
// range; nil fails.
type answers []float64

func (a answers) Range(_ context.Context, start, _ time.Time, step time.Duration) (forecast.Series, error) {
	if a == nil {
		return forecast.Series{}, errors.New("down")
	}
	return forecast.Series{Start: start, Step: step, Values: a}, nil
}

// TestLeadTimeInUse: the lead time a plan uses, from a lead time query
// whose answers are given, with lead_time 3m or auto (0.9 quantile).
func TestLeadTimeInUse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		auto    bool
		answers []float64 // nil: the query fails
		want    time.Duration
	}{
		// Sorted 10, 20, …, 100: rank 0.9 × 9 = 8.1, between 90 and 100:
		// 90 + 0.1 × 10 = 91 s, below the configured 3m, which wins.
		{"configured lead time above the measured one", false, []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 3 * time.Minute},
		{"auto: the measured one alone, 91 s", true, []float64{100, 90, 80, 70, 60, 50, 40, 30, 20, 10}, 91 * time.Second},
		// 0.9 of [200, 300] is 200 + 0.9 × 100 = 290 s, above 3m.
		{"measured above the configured one", false, []float64{200, 300}, 290 * time.Second},
		// NaN, −1 and +Inf are not start-up times: [250] alone.
		{"bad answers dropped", false, []float64{math.NaN(), -1, math.Inf(1), 250}, 250 * time.Second},
		// 90.5 s is planned as 91 s: whole seconds, up.
		{"rounded up to a second", true, []float64{90.5}, 91 * time.Second},
		{"auto, no measurement yet: the default 5m", true, nil, 5 * time.Minute},
		{"no measurement: the configured 3m", false, []float64{math.NaN()}, 3 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
			cfg := testWorkload()
			cfg.Capacity.LeadTime, cfg.Capacity.LeadTimeAuto, cfg.Capacity.LeadTimeQuery = model.Duration(3*time.Minute), tc.auto, "startup"
			if tc.auto {
				cfg.Capacity.LeadTime = 0
			}
			e, _, metrics := testEngine(t, cfg, &fakeSource{load: constant(100)}, now)
			e.lead.source = answers(tc.answers)
			if got := e.inUse(context.Background(), now); got != tc.want {
				t.Errorf("lead time %v, want %v", got, tc.want)
			}
			failed := testutil.ToFloat64(metrics.Errors.WithLabelValues(ComponentLeadTime, ReasonMeasure))
			if wantFailed := tc.answers == nil || len(tc.answers) == 1 && math.IsNaN(tc.answers[0]); (failed == 1) != wantFailed {
				t.Errorf("%v measurement failures counted, want a failure: %v", failed, wantFailed)
			}
		})
	}
}
