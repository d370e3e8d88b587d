package exporter

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/HatiCode/kedastral/forecast"
)

var generated = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // unix 1772366400

func testSnapshot() forecast.Snapshot {
	return forecast.Snapshot{
		Workload:        "checkout",
		Metric:          "rps",
		Model:           "baseline",
		GeneratedAt:     generated,
		StepSeconds:     60,
		HorizonSeconds:  180,
		LeadTimeSeconds: 120,
		Values:          []float64{400, 500, 1000},
		Lower:           []float64{350, 420, 800},
		Upper:           []float64{450, 600, 1300},
		LowerQuantile:   0.1,
		UpperQuantile:   0.9,
		Accuracy: []forecast.HorizonAccuracy{
			{HorizonSeconds: 0, ErrorRatio: 0.05, BiasRatio: -0.01, Samples: 40},
			{HorizonSeconds: 120, ErrorRatio: 0.125, BiasRatio: -0.0625, Samples: 36},
		},
		DesiredReplicas: []int{12, 12, 12},
		// 380 × 1.2 / 200 = 2.28 → 3, below the forecast's 12.
		ReactiveFloor:    3,
		ForecastReplicas: 12,
		DecidedBy:        "forecast",
		PlanBasis:        "upper",
		PlanHeadroom:     1.1,
		ObservedValue:    380,
		ObservedAt:       generated,
	}
}

func TestCollector(t *testing.T) {
	store := &snapshots{}
	store.Put(testSnapshot())
	// Scraped 90 s after the forecast was made.
	c := NewCollector(store, HorizonsAll, func() time.Time { return generated.Add(90 * time.Second) })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)

	want := `
# HELP kedastral_desired_replicas Same as kedastral_forecast_desired_replicas, kept for compatibility.
# TYPE kedastral_desired_replicas gauge
kedastral_desired_replicas{workload="checkout"} 12
# HELP kedastral_forecast_age_seconds Age of the forecast.
# TYPE kedastral_forecast_age_seconds gauge
kedastral_forecast_age_seconds{workload="checkout"} 90
# HELP kedastral_forecast_desired_replicas Replicas wanted now, lead time applied: what the scaler serves.
# TYPE kedastral_forecast_desired_replicas gauge
kedastral_forecast_desired_replicas{workload="checkout"} 12
# HELP kedastral_forecast_bias_ratio Bias of the forecasts made horizon ahead over the accuracy window: sum(forecast-actual) / sum|actual|; negative is under-forecasting.
# TYPE kedastral_forecast_bias_ratio gauge
kedastral_forecast_bias_ratio{horizon="0s",workload="checkout"} -0.01
kedastral_forecast_bias_ratio{horizon="2m",workload="checkout"} -0.0625
# HELP kedastral_forecast_error_ratio WAPE of the forecasts made horizon ahead over the accuracy window: sum|forecast-actual| / sum|actual|.
# TYPE kedastral_forecast_error_ratio gauge
kedastral_forecast_error_ratio{horizon="0s",workload="checkout"} 0.05
kedastral_forecast_error_ratio{horizon="2m",workload="checkout"} 0.125
# HELP kedastral_forecast_generated_timestamp_seconds Unix time at which the forecast was made.
# TYPE kedastral_forecast_generated_timestamp_seconds gauge
kedastral_forecast_generated_timestamp_seconds{workload="checkout"} 1.7723664e+09
# HELP kedastral_forecast_model_info The model that made the workload's forecast (auto names the one it chose); always 1.
# TYPE kedastral_forecast_model_info gauge
kedastral_forecast_model_info{model="baseline",workload="checkout"} 1
# HELP kedastral_forecast_observed_value Newest load observed when the forecast was made.
# TYPE kedastral_forecast_observed_value gauge
kedastral_forecast_observed_value{workload="checkout"} 380
# HELP kedastral_forecast_plan_headroom Headroom applied to the forecast part of the plan: the configured one, or with plan_on auto the one the tuner chose.
# TYPE kedastral_forecast_plan_headroom gauge
kedastral_forecast_plan_headroom{workload="checkout"} 1.1
# HELP kedastral_forecast_reactive_floor_decided 1 when the reactive floor, not the forecast, set the desired replicas; its average over time is the share of time the forecast planned too low.
# TYPE kedastral_forecast_reactive_floor_decided gauge
kedastral_forecast_reactive_floor_decided{workload="checkout"} 0
# HELP kedastral_forecast_reactive_floor_replicas Replicas the load observed now needs, ceil(observed * headroom / target_per_pod): desired replicas are never below it while the reactive floor is on (0 when it is off).
# TYPE kedastral_forecast_reactive_floor_replicas gauge
kedastral_forecast_reactive_floor_replicas{workload="checkout"} 3
# HELP kedastral_forecast_replicas Replicas planned at now + horizon.
# TYPE kedastral_forecast_replicas gauge
kedastral_forecast_replicas{horizon="0s",workload="checkout"} 12
kedastral_forecast_replicas{horizon="1m",workload="checkout"} 12
kedastral_forecast_replicas{horizon="2m",workload="checkout"} 12
# HELP kedastral_forecast_value Forecast load at now + horizon.
# TYPE kedastral_forecast_value gauge
kedastral_forecast_value{horizon="0s",workload="checkout"} 400
kedastral_forecast_value{horizon="1m",workload="checkout"} 500
kedastral_forecast_value{horizon="2m",workload="checkout"} 1000
# HELP kedastral_forecast_value_lower Lower bound of the prediction interval of the load at now + horizon.
# TYPE kedastral_forecast_value_lower gauge
kedastral_forecast_value_lower{horizon="0s",workload="checkout"} 350
kedastral_forecast_value_lower{horizon="1m",workload="checkout"} 420
kedastral_forecast_value_lower{horizon="2m",workload="checkout"} 800
# HELP kedastral_forecast_value_upper Upper bound of the prediction interval of the load at now + horizon.
# TYPE kedastral_forecast_value_upper gauge
kedastral_forecast_value_upper{horizon="0s",workload="checkout"} 450
kedastral_forecast_value_upper{horizon="1m",workload="checkout"} 600
kedastral_forecast_value_upper{horizon="2m",workload="checkout"} 1300
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestCollectorNoIntervalYet checks that a snapshot made before the model's
// errors were known has no interval, accuracy or model series: 3 values + 3
// replicas + 8 per-workload series = 14.
func TestCollectorNoIntervalYet(t *testing.T) {
	s := testSnapshot()
	s.Lower, s.Upper, s.Accuracy, s.Model = nil, nil, nil, ""
	store := &snapshots{}
	store.Put(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(store, HorizonsAll, nil))
	n, err := testutil.GatherAndCount(reg, "kedastral_forecast_value_lower", "kedastral_forecast_value_upper",
		"kedastral_forecast_error_ratio", "kedastral_forecast_bias_ratio", "kedastral_forecast_model_info")
	if err != nil || n != 0 {
		t.Errorf("%d interval, accuracy and model series, err %v; want 0, nil", n, err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 14 {
		t.Errorf("%d series, err %v; want 14, nil", n, err)
	}
}

func TestCollectorEmptyAndInvalid(t *testing.T) {
	store := &snapshots{}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(store, HorizonsAll, nil))
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("empty store: %d series, err %v; want 0, nil", n, err)
	}
	// A workload name that is not UTF-8 fails the scrape with a reason
	// instead of panicking.
	s := testSnapshot()
	s.Workload = "bad\xff"
	store.Put(s)
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("gather err = %v, want an invalid UTF-8 error", err)
	}
}

func TestHorizonLabel(t *testing.T) {
	tests := []struct {
		i    int
		step time.Duration
		want string
	}{
		{0, time.Minute, "0s"},
		{1, time.Minute, "1m"},
		{30, time.Minute, "30m"},
		{90, time.Minute, "1h30m"},
		{3, 30 * time.Second, "1m30s"},
		{1440, time.Minute, "1d"},
	}
	for _, tc := range tests {
		if got := horizonLabel(tc.i, tc.step); got != tc.want {
			t.Errorf("horizonLabel(%d, %v) = %q, want %q", tc.i, tc.step, got, tc.want)
		}
	}
}

// BenchmarkCollect gathers 1,000 workloads of 30 horizons, each with its
// value, interval, accuracy and plan: with every horizon, 180,000 series
// and 6,000 more; with the key horizons (0s, the 2m lead time, 29m),
// 18,000 and 6,000 more.
func BenchmarkCollect(b *testing.B) {
	for _, h := range []Horizons{HorizonsAll, HorizonsKey} {
		b.Run("horizons="+string(h), func(b *testing.B) { benchmarkCollect(b, h) })
	}
}

func benchmarkCollect(b *testing.B, h Horizons) {
	store := &snapshots{}
	for i := range 1000 {
		s := testSnapshot()
		s.Workload = fmt.Sprintf("workload-%04d", i)
		s.Values, s.Lower, s.Upper = make([]float64, 30), make([]float64, 30), make([]float64, 30)
		s.Accuracy = make([]forecast.HorizonAccuracy, 30)
		for h := range s.Accuracy {
			s.Accuracy[h].HorizonSeconds = float64(60 * h)
		}
		s.DesiredReplicas = make([]int, 30)
		store.Put(s)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(store, h, nil))
	b.ReportAllocs()
	for range b.N {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCollectorFloorDecided: the floor series say when the floor, not the
// forecast, set the desired replicas.
func TestCollectorFloorDecided(t *testing.T) {
	s := testSnapshot()
	// The load now is 2000: 2000 × 1.2 / 200 = 12 pods, above a forecast of 8.
	s.ObservedValue, s.ReactiveFloor, s.ForecastReplicas, s.DecidedBy = 2000, 12, 8, "reactive_floor"
	s.PlanHeadroom = 0 // a snapshot without one publishes no headroom
	store := &snapshots{}
	store.Put(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(store, HorizonsAll, nil))
	want := `
# HELP kedastral_forecast_reactive_floor_decided 1 when the reactive floor, not the forecast, set the desired replicas; its average over time is the share of time the forecast planned too low.
# TYPE kedastral_forecast_reactive_floor_decided gauge
kedastral_forecast_reactive_floor_decided{workload="checkout"} 1
# HELP kedastral_forecast_reactive_floor_replicas Replicas the load observed now needs, ceil(observed * headroom / target_per_pod): desired replicas are never below it while the reactive floor is on (0 when it is off).
# TYPE kedastral_forecast_reactive_floor_replicas gauge
kedastral_forecast_reactive_floor_replicas{workload="checkout"} 12
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"kedastral_forecast_reactive_floor_decided", "kedastral_forecast_reactive_floor_replicas", "kedastral_forecast_plan_headroom"); err != nil {
		t.Error(err)
	}
}

// TestCollectorScorecard: the scorecard's sums since the start are
// counters, by policy; actual only when the running replicas are read.
func TestCollectorScorecard(t *testing.T) {
	s := testSnapshot()
	s.Scorecard = &forecast.Scorecard{Total: forecast.ScorecardSums{
		Predictive: forecast.PolicyScore{ScoredSeconds: 7200, ReplicaSeconds: 36000, ShortSeconds: 60},
		Reactive:   forecast.PolicyScore{ScoredSeconds: 7200, ReplicaSeconds: 28800, ShortSeconds: 900},
	}}
	store := &snapshots{}
	store.Put(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(store, HorizonsKey, nil))
	want := `
# HELP kedastral_scorecard_scored_seconds_total Seconds of the steps the scorecard judged for the policy with a load observed: the denominator of short_seconds.
# TYPE kedastral_scorecard_scored_seconds_total counter
kedastral_scorecard_scored_seconds_total{policy="predictive",workload="checkout"} 7200
kedastral_scorecard_scored_seconds_total{policy="reactive",workload="checkout"} 7200
# HELP kedastral_scorecard_short_seconds_total Seconds of the steps judged when the policy's ready replicas would have served less than the load observed.
# TYPE kedastral_scorecard_short_seconds_total counter
kedastral_scorecard_short_seconds_total{policy="predictive",workload="checkout"} 60
kedastral_scorecard_short_seconds_total{policy="reactive",workload="checkout"} 900
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"kedastral_scorecard_scored_seconds_total", "kedastral_scorecard_short_seconds_total", "kedastral_forecast_planned_replicas"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "kedastral_scorecard_replica_seconds_total"); n != 2 || err != nil {
		t.Errorf("%d replica-seconds series, err %v; want 2", n, err)
	}
}
