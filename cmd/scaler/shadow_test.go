package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestShadowModeEndToEnd runs the built forecaster in shadow mode against
// a real Prometheus, and the built scaler against it, as KEDA talks to it.
// The load is 1,000 until T0, then 100; 100 per pod, headroom 1. After T0
// the plan comes down by at most 5 % a tick (floor(10 × 0.95) = 9, then 8,
// 7, …), while the reactive count is ceil(100 / 100) = 1 at once. In shadow
// mode KEDA must get 1, the reactive count, while the plan, still above it,
// is published beside it in the snapshot and on /metrics. In active mode
// the scaler would serve the plan: the test fails if the mode is ignored.
func TestShadowModeEndToEnd(t *testing.T) {
	t.Parallel()
	prom := prometheustest.Start(t, prometheustest.Options{})
	fcAddr := prometheustest.FreeAddr(t)
	t0 := time.Now().Add(15 * time.Second).Unix()
	fc := start(t, "forecaster", bins["forecaster"], []string{
		"--prometheus.url=" + prom.URL,
		"--workload=app", fmt.Sprintf("--query=vector(100 + 900 * (time() < bool %d))", t0),
		"--interval=1s", "--step=1s", "--window=1m", "--horizon=20s", "--lead-time=2s", "--model=baseline",
		"--target-per-pod=100", "--headroom=1", "--min-replicas=1", "--down-max-percent=5",
		"--mode=shadow", "--web.listen-address=" + fcAddr,
	}, nil)
	fc.webURL = "http://" + fcAddr
	fc.waitHTTP(t, "/-/ready")
	s := startScaler(t, "--forecaster.url="+fc.webURL, "--refresh-interval=200ms", "--stale-after=3s", "--default-min=2")
	c := externalscaler.NewExternalScalerClient(dial(t, s.grpcAddr))
	app := map[string]string{"workload": "app"}

	// Before T0 both ask for ceil(1000 / 100) = 10.
	testutil.WaitFor(t, 20*time.Second, "the reactive count of 10 from GetMetrics", func() bool {
		n, err := getMetrics(t, c, app)
		return err == nil && n == 10
	})
	var planned int
	testutil.WaitFor(t, 40*time.Second, "GetMetrics serving 1 while the plan is above it", func() bool {
		snap, ok := fc.snapshot(t, "app")
		if !ok || snap.ObservedValue != 100 || len(snap.PlannedReplicas) == 0 || snap.PlannedReplicas[0] <= 1 {
			return false
		}
		if snap.Mode != "shadow" || snap.DesiredReplicas[0] != 1 || len(snap.DesiredReplicas) != len(snap.PlannedReplicas) {
			t.Fatalf("shadow snapshot: mode %q, desired %v, planned %v; want shadow, 1 at every step", snap.Mode, snap.DesiredReplicas, snap.PlannedReplicas)
		}
		n, err := getMetrics(t, c, app)
		if err != nil {
			t.Fatalf("GetMetrics: %v", err)
		}
		planned = snap.PlannedReplicas[0]
		return n == 1
	})
	families := fc.metrics(t)
	if n := families.Value(t, "kedastral_forecast_desired_replicas", app); n != 1 {
		t.Errorf("kedastral_forecast_desired_replicas = %v, want the reactive count 1", n)
	}
	if n, ok := families.Find(t, "kedastral_forecast_planned_replicas", map[string]string{"workload": "app", "horizon": "0s"}); !ok || n <= 1 {
		t.Errorf("kedastral_forecast_planned_replicas{horizon=0s} = %v (published %v), want the plan, above 1", n, ok)
	}
	t.Logf("KEDA got 1 while the plan asked for %d", planned)
}
