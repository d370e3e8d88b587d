package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/remote/read"
)

// fakeSource serves load(t) on the grid asked for; NaN marks a missing step.
type fakeSource struct {
	mu    sync.Mutex
	load  func(t time.Time) float64
	err   error
	calls int
}

func (f *fakeSource) Range(_ context.Context, start, end time.Time, step time.Duration) (forecast.Series, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return forecast.Series{}, f.err
	}
	s := forecast.Series{Start: start, Step: step}
	for t := start; !t.After(end); t = t.Add(step) {
		s.Values = append(s.Values, f.load(t))
	}
	return s, nil
}

func constant(v float64) func(time.Time) float64 { return func(time.Time) float64 { return v } }

func testEngine(t *testing.T, cfg config.Workload, src forecast.Source, now time.Time) (*Engine, *Store, *Metrics) {
	t.Helper()
	store, metrics := NewStore(), NewMetrics(prometheus.NewRegistry())
	e, err := New(cfg, src, Deps{
		Store:      store,
		Metrics:    metrics,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        func() time.Time { return now },
		StaleAfter: 2 * time.Minute,
		Adapter:    "fake",
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, store, metrics
}

func testWorkload() config.Workload {
	cfg := config.DefaultWorkload()
	cfg.Name, cfg.Query = "checkout", "sum(rate(http_requests_total[1m]))"
	return cfg
}

// TestEngineTick checks the forecaster's acceptance case at the engine:
// after one tick the snapshot has horizon/step = 30m/1m = 30 values and as
// many replicas, then the second tick plans from the first.
func TestEngineTick(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	src := &fakeSource{load: constant(1000)}
	e, store, _ := testEngine(t, testWorkload(), src, now)

	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, ok := store.Get("checkout")
	if !ok {
		t.Fatal("no snapshot after a tick")
	}
	if len(s.Values) != 30 || len(s.DesiredReplicas) != 30 {
		t.Fatalf("%d values and %d replicas, want 30 and 30", len(s.Values), len(s.DesiredReplicas))
	}
	// A constant load of 1000 needs 1000 × 1.2 / 200 = 6 pods. With no plan
	// before, what the load observed needs (the same 6) stands in for it,
	// not min_replicas climbing ×2 a tick, so the plan is 6 from the start.
	wantPlan := slices.Repeat([]int{6}, 30)
	if !slices.Equal(s.DesiredReplicas, wantPlan) || s.ReactiveFloor != 6 || s.ForecastReplicas != 6 {
		t.Errorf("plan %v, floor %d, forecast's %d; want %v, 6, 6", s.DesiredReplicas, s.ReactiveFloor, s.ForecastReplicas, wantPlan)
	}
	if s.DecidedBy != "forecast" || s.PlanBasis != "forecast" || s.PlanHeadroom != 1.2 {
		t.Errorf("decided by %q on %q × %v, want the forecast × 1.2", s.DecidedBy, s.PlanBasis, s.PlanHeadroom)
	}
	for i, v := range s.Values {
		if v != 1000 {
			t.Errorf("value %d = %v, want 1000", i, v)
		}
	}
	if !s.GeneratedAt.Equal(now) || s.StepSeconds != 60 || s.HorizonSeconds != 1800 || s.Model != "baseline" {
		t.Errorf("snapshot header %+v", s)
	}
	if s.ObservedValue != 1000 || !s.ObservedAt.Equal(now) {
		t.Errorf("observed %v at %v, want 1000 at %v", s.ObservedValue, s.ObservedAt, now)
	}
	if s.Metric != testWorkload().Query {
		t.Errorf("metric %q defaults to the query %q", s.Metric, testWorkload().Query)
	}

	// The second tick starts from the 6 served: 6 again.
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, _ := store.Get("checkout"); s.DesiredReplicas[0] != 6 {
		t.Errorf("second tick desired[0] = %d, want 6", s.DesiredReplicas[0])
	}
}

func TestEngineTickBadHistory(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	nan := math.NaN()
	tests := []struct {
		name       string
		src        *fakeSource
		wantErr    bool
		wantReason string
		wantValues int
	}{
		{
			name:    "source error keeps no snapshot",
			src:     &fakeSource{err: errors.New("connection refused")},
			wantErr: true,
		},
		{
			name:       "no value at all",
			src:        &fakeSource{load: constant(nan)},
			wantErr:    true,
			wantReason: read.ReasonNoData,
		},
		{
			// Every 7th minute is missing: interpolated, counted once, forecast made.
			name: "gaps are interpolated and counted",
			src: &fakeSource{load: func(t time.Time) float64 {
				if t.Minute()%7 == 3 {
					return nan
				}
				return 500
			}},
			wantReason: ReasonGap,
			wantValues: 30,
		},
		{
			// Nothing in the last 5 minutes: older than stale-after (2m).
			name: "old data is refused",
			src: &fakeSource{load: func(t time.Time) float64 {
				if t.After(now.Add(-5 * time.Minute)) {
					return nan
				}
				return 500
			}},
			wantErr:    true,
			wantReason: ReasonStaleData,
		},
		{
			// The last minute is missing (1m old, within stale-after): the model
			// forecasts one step further so that values still start at now.
			name: "a missing newest step is skipped",
			src: &fakeSource{load: func(t time.Time) float64 {
				if t.Equal(now) {
					return nan
				}
				return 500
			}},
			wantValues: 30,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, store, metrics := testEngine(t, testWorkload(), tc.src, now)
			err := e.Tick(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			s, ok := store.Get("checkout")
			if ok == tc.wantErr {
				t.Errorf("snapshot published: %v, want %v", ok, !tc.wantErr)
			}
			if ok && len(s.Values) != tc.wantValues {
				t.Errorf("%d values, want %d", len(s.Values), tc.wantValues)
			}
			if tc.wantReason != "" {
				if got := testutil.ToFloat64(metrics.Errors.WithLabelValues(read.ComponentSource, tc.wantReason)); got != 1 {
					t.Errorf("kedastral_errors_total{reason=%q} = %v, want 1", tc.wantReason, got)
				}
			}
		})
	}
}

// TestEngineReadsTheWindow checks the range asked of the source: Window/Step
// points ending at now.
func TestEngineReadsTheWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var gotStart, gotEnd time.Time
	src := &fakeSource{load: func(t time.Time) float64 {
		if gotStart.IsZero() {
			gotStart = t
		}
		gotEnd = t
		return 1
	}}
	e, _, _ := testEngine(t, testWorkload(), src, now)
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 30 points a minute apart ending at 12:00 start at 11:31.
	if want := now.Add(-29 * time.Minute); !gotStart.Equal(want) || !gotEnd.Equal(now) {
		t.Errorf("range [%v, %v], want [%v, %v]", gotStart, gotEnd, want, now)
	}
}

// TestEngineIntervalsAndAccuracy ticks once a minute for 40 minutes over a
// load of 1000 plus a repeating pseudo-noise of −300..+300 in steps of 100
// (the minute × 37 mod 7). The first tick replays the model over its 30-point
// window: from the origins 29 − 5 − 20 = 4 to 28, horizon i is judged from
// the 25 − i origins whose target is in the window, at least 21 ≥ 10. So
// every snapshot, the first included, carries the interval and the accuracy
// of all 5 horizons; and planning on the upper bound plans from it.
func TestEngineIntervalsAndAccuracy(t *testing.T) {
	load := func(t time.Time) float64 {
		return 1000 + 100*float64((t.Unix()/60*37)%7-3)
	}
	for _, planOn := range []capacity.Basis{capacity.BasisForecast, capacity.BasisUpper} {
		t.Run(string(planOn), func(t *testing.T) {
			cfg := testWorkload()
			cfg.Model = forecast.ModelBaseline
			cfg.Interval, cfg.Horizon = model.Duration(time.Minute), model.Duration(5*time.Minute)
			cfg.Capacity.PlanOn, cfg.Capacity.Headroom = planOn, 1
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			e, store, _ := testEngine(t, cfg, &fakeSource{load: load}, now)
			e.deps.Now = func() time.Time { return now }
			var s forecast.Snapshot
			for tick := range 40 {
				prev, _ := store.Get("checkout")
				if err := e.Tick(context.Background()); err != nil {
					t.Fatal(err)
				}
				s, _ = store.Get("checkout")
				now = now.Add(time.Minute)
				if len(s.Lower) != 5 || len(s.Upper) != 5 || len(s.Accuracy) != 5 {
					t.Fatalf("tick %d: %d lower, %d upper, %d accuracy; want 5 each", tick, len(s.Lower), len(s.Upper), len(s.Accuracy))
				}
				for i := range s.Values {
					if s.Lower[i] > s.Upper[i] || s.Lower[i] < 0 {
						t.Errorf("tick %d: interval %d is [%v, %v]", tick, i, s.Lower[i], s.Upper[i])
					}
				}
				prevPlan := -1
				if tick > 0 {
					prevPlan = prev.ForecastReplicas
				}
				want, err := cfg.Capacity.Plan(capacity.Input{Values: s.Values, Upper: s.Upper, Step: time.Minute,
					Observed: s.ObservedValue, Prev: prevPlan})
				if err != nil || !slices.Equal(s.DesiredReplicas, want.Desired) || s.PlanBasis != string(planOn) {
					t.Errorf("tick %d: plan %v on %s, want %v planned on the %s (err %v)", tick, s.DesiredReplicas, s.PlanBasis, want.Desired, planOn, err)
				}
			}
			for _, a := range s.Accuracy {
				if a.Samples < 30 || !(a.ErrorRatio > 0 && a.ErrorRatio < 1) || math.Abs(a.BiasRatio) > a.ErrorRatio {
					t.Errorf("accuracy %+v: want ≥ 30 samples, 0 < WAPE < 1, |bias| ≤ WAPE", a)
				}
			}
			if s.LowerQuantile != 0.1 || s.UpperQuantile != 0.9 || s.Model != forecast.ModelBaseline || s.ConfiguredModel != forecast.ModelBaseline {
				t.Errorf("snapshot quantiles %v, %v, model %q (%q)", s.LowerQuantile, s.UpperQuantile, s.Model, s.ConfiguredModel)
			}
		})
	}
}

// TestEngineAutoNamesItsChoice checks that with the auto model the snapshot
// names the model auto chose, and the configuration auto.
func TestEngineAutoNamesItsChoice(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := testWorkload()
	cfg.Model = forecast.ModelAuto
	e, store, _ := testEngine(t, cfg, &fakeSource{load: constant(300)}, now)
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := store.Get("checkout")
	if s.ConfiguredModel != forecast.ModelAuto || s.Model == forecast.ModelAuto || !slices.Contains(forecast.ModelNames(), s.Model) {
		t.Errorf("snapshot model %q, configured %q; want a chosen model, configured auto", s.Model, s.ConfiguredModel)
	}
}

// TestEngineSeedNeedsHistory checks that a window too short to judge ten
// forecasts per horizon gives no interval at first: 8 points and a horizon
// of 5 replay origins 0..6, and horizon 4 is judged only from origins 0..3.
func TestEngineSeedNeedsHistory(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := testWorkload()
	cfg.Window, cfg.Horizon = model.Duration(8*time.Minute), model.Duration(5*time.Minute)
	e, store, _ := testEngine(t, cfg, &fakeSource{load: constant(100)}, now)
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := store.Get("checkout")
	if s.Lower != nil || s.Upper != nil {
		t.Errorf("interval %v, %v from 8 points; want none yet", s.Lower, s.Upper)
	}
	if len(s.Accuracy) != 5 || s.Accuracy[4].Samples != 4 || s.Accuracy[0].ErrorRatio != 0 {
		t.Errorf("accuracy %+v; want 5 horizons, 4 samples at 4m, exact on a constant", s.Accuracy)
	}
}

func TestRecent(t *testing.T) {
	history := forecast.Series{Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	for _, tc := range []struct {
		name string
		n    int
		span time.Duration
		want []float64
	}{
		// n = 3 steps back from the newest point: 4 points, 6..9.
		{"steps", 3, time.Minute, []float64{6, 7, 8, 9}},
		// the span 5m is longer than 2 steps: 5 steps back, 6 points 4..9.
		{"span", 2, 5 * time.Minute, []float64{4, 5, 6, 7, 8, 9}},
		// 60 steps back runs past the 10 points held: all of them.
		{"short history", 60, time.Hour, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := recent(history, tc.n, tc.span)
			if !slices.Equal(got, tc.want) {
				t.Errorf("recent = %v, want %v", got, tc.want)
			}
			got[0] = -1
			if history.Values[0] == -1 || history.Values[len(history.Values)-len(got)] == -1 {
				t.Error("recent shares memory with the history")
			}
		})
	}
}
