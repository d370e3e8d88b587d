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
		DesiredReplicas: []int{12, 12, 12},
		ObservedValue:   380,
		ObservedAt:      generated,
	}
}

func TestCollector(t *testing.T) {
	store := forecast.NewStore()
	store.Put(testSnapshot())
	// Scraped 90 s after the forecast was made.
	c := NewCollector(store, func() time.Time { return generated.Add(90 * time.Second) })
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
# HELP kedastral_forecast_generated_timestamp_seconds Unix time at which the forecast was made.
# TYPE kedastral_forecast_generated_timestamp_seconds gauge
kedastral_forecast_generated_timestamp_seconds{workload="checkout"} 1.7723664e+09
# HELP kedastral_forecast_observed_value Newest load observed when the forecast was made.
# TYPE kedastral_forecast_observed_value gauge
kedastral_forecast_observed_value{workload="checkout"} 380
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
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestCollectorEmptyAndInvalid(t *testing.T) {
	store := forecast.NewStore()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(store, nil))
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

// BenchmarkCollect gathers 1,000 workloads of 30 horizons: 60,000 series
// and 5,000 more.
func BenchmarkCollect(b *testing.B) {
	store := forecast.NewStore()
	for i := range 1000 {
		s := testSnapshot()
		s.Workload = fmt.Sprintf("workload-%04d", i)
		s.Values = make([]float64, 30)
		s.DesiredReplicas = make([]int, 30)
		store.Put(s)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(store, nil))
	b.ReportAllocs()
	for range b.N {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
