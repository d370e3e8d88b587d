package forecast

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
)

// fakeSource serves load(t) on the grid asked for; NaN marks a missing step.
type fakeSource struct {
	mu    sync.Mutex
	load  func(t time.Time) float64
	err   error
	calls int
}

func (f *fakeSource) Range(_ context.Context, start, end time.Time, step time.Duration) (Series, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return Series{}, f.err
	}
	s := Series{Start: start, Step: step}
	for t := start; !t.After(end); t = t.Add(step) {
		s.Values = append(s.Values, f.load(t))
	}
	return s, nil
}

func constant(v float64) func(time.Time) float64 { return func(time.Time) float64 { return v } }

func testEngine(t *testing.T, cfg WorkloadConfig, src Source, now time.Time) (*Engine, *Store, *Metrics) {
	t.Helper()
	store, metrics := NewStore(), NewMetrics(prometheus.NewRegistry())
	e, err := NewEngine(cfg, src, EngineDeps{
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

func testWorkload() WorkloadConfig {
	cfg := DefaultWorkloadConfig()
	cfg.Name, cfg.Query = "checkout", "sum(rate(http_requests_total[1m]))"
	return cfg
}

// TestEngineTick checks DESIGN.md's forecaster acceptance case at the engine:
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
	// before, prev = min = 2 and up-max-factor 2 allows ceil(2 × 2) = 4, then
	// ceil(4 × 2) = 8 ≥ 6, so the plan is 4, 6, 6, ...
	wantPlan := slices.Repeat([]int{6}, 30)
	wantPlan[0] = 4
	if !slices.Equal(s.DesiredReplicas, wantPlan) {
		t.Errorf("plan %v, want %v", s.DesiredReplicas, wantPlan)
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

	// The second tick starts from the 4 served: ceil(4 × 2) = 8 ≥ 6, so 6.
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
			wantReason: ReasonNoData,
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
				if got := testutil.ToFloat64(metrics.Errors.WithLabelValues(ComponentSource, tc.wantReason)); got != 1 {
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
