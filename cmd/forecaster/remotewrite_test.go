package main

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestRemoteWriteEndToEnd: the forecaster reads a real Prometheus and
// remote-writes its forecasts back into it; PromQL on Prometheus then
// returns the values of /forecast/current, and the KEDA trigger's query
// returns exactly one series, the planned replicas.
func TestRemoteWriteEndToEnd(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	fc := startForecaster(t, []string{
		"--prometheus.url=" + prom.URL,
		"--remote-write.url=" + prom.URL + "/api/v1/write",
		"--remote-write.external-label=replica=a",
		"--publish.horizons=all",
		"--workload=checkout", "--query=vector(450)",
		"--interval=1s", "--step=1m", "--window=10m", "--horizon=5m", "--lead-time=1m",
		"--target-per-pod=100", "--headroom=1", "--min-replicas=1",
	}, nil, true)
	client, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	promAPI := v1.NewAPI(client)
	instant := func(q string, at time.Time) model.Vector {
		t.Helper()
		v, _, _, err := promAPI.Query(context.Background(), q, at)
		if err != nil {
			t.Fatal(err)
		}
		return v.(model.Vector)
	}
	// Take one snapshot, then wait (the batch deadline is 5 s) until its
	// desired replicas are in Prometheus at its time (half a millisecond
	// after it, as the sample's timestamp is cut to the millisecond).
	testutil.WaitFor(t, time.Minute, "a first forecast", func() bool { _, _, ok := fc.snapshot(t, "checkout"); return ok })
	s, _, _ := fc.snapshot(t, "checkout")
	at := s.GeneratedAt.Add(500 * time.Microsecond)
	var checked bool
	testutil.WaitFor(t, time.Minute, "the forecast in Prometheus", func() bool {
		v := instant(`kedastral_forecast_desired_replicas{workload="checkout"}`, at)
		if len(v) != 1 || v[0].Timestamp.Time().Before(at.Add(-time.Millisecond)) {
			return false
		}
		checked = true
		if float64(v[0].Value) != float64(s.DesiredReplicas[0]) || v[0].Metric["replica"] != "a" {
			t.Errorf("KEDA query: %v, want one series of %d with replica=a", v, s.DesiredReplicas[0])
		}
		for i, want := range s.Values {
			horizon := model.Duration(time.Duration(i) * time.Minute) // "0s", "1m", ...
			q := fmt.Sprintf(`kedastral_forecast_value{workload="checkout",horizon="%s"}`, horizon)
			if v := instant(q, at); len(v) != 1 || math.Abs(float64(v[0].Value)-want) > 1e-9 {
				t.Errorf("%s: %v, want %v as in /forecast/current", q, v, want)
			}
			q = fmt.Sprintf(`kedastral_forecast_replicas{workload="checkout",horizon="%s"}`, horizon)
			if v := instant(q, at); len(v) != 1 || float64(v[0].Value) != float64(s.DesiredReplicas[i]) {
				t.Errorf("%s: %v, want %d", q, v, s.DesiredReplicas[i])
			}
		}
		return true
	})
	if !checked {
		t.Fatal("nothing compared")
	}
	if n := fc.metrics(t).Value(t, "kedastral_remote_write_samples_sent_total", nil); n == 0 {
		t.Error("kedastral_remote_write_samples_sent_total is 0")
	}
	fc.Terminate(t)
}
