package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// snapshot fetches the forecaster's /forecast/current for workload; ok is
// false on any other status than 200.
func (p *process) snapshot(t *testing.T, workload string) (forecast.Snapshot, bool) {
	t.Helper()
	code, body := get(t, p.webURL+"/forecast/current?workload="+workload)
	if code != http.StatusOK {
		return forecast.Snapshot{}, false
	}
	var s forecast.Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("decode snapshot %s: %v", body, err)
	}
	return s, true
}

// TestEndToEnd runs the built forecaster against a real Prometheus and the
// built scaler against the forecaster, and talks to the scaler as KEDA
// does. Then the forecaster dies: the scaler keeps answering, with the last
// plan until it is stale, then with --default-min.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	prom := prometheustest.Start(t, prometheustest.Options{})
	fcAddr := prometheustest.FreeAddr(t)
	fc := start(t, "forecaster", forecasterBinary, []string{
		"--prometheus.url=" + prom.URL,
		"--workload=app", "--query=vector(450)",
		"--interval=1s", "--step=1m", "--window=10m", "--horizon=5m", "--lead-time=1m",
		"--target-per-pod=100", "--headroom=1", "--min-replicas=1",
		"--web.listen-address=" + fcAddr,
	}, nil)
	fc.webURL = "http://" + fcAddr
	fc.waitHTTP(t, "/-/ready")
	// Wait for the plan to settle. The first plan starts from
	// --min-replicas=1 as the previous one and may grow ×2 (--up-max-factor's
	// default) a step, so desiredReplicas[0] goes 2, 4, 5 over the first
	// ticks. Settled, it is what the load needs: the load at --lead-time=1m
	// (one step ahead) and over the default 2m pre-warm window after it, ×
	// headroom / target-per-pod, rounded up.
	var (
		snap forecast.Snapshot
		want int64
	)
	waitFor(t, 30*time.Second, "a settled plan", func() bool {
		var ok bool
		snap, ok = fc.snapshot(t, "app")
		if !ok || len(snap.Values) != 5 || len(snap.DesiredReplicas) != 5 {
			return false
		}
		want = int64(math.Ceil(slices.Max(snap.Values[1:4])*1/100 - 1e-9))
		return int64(snap.DesiredReplicas[0]) == want
	})
	// The load is a constant 450, headroom 1 and 100 per pod: every step
	// needs ceil(450 × 1 / 100) = ceil(4.5) = 5 replicas, above
	// --min-replicas=1.
	if want != 5 {
		t.Fatalf("forecaster plans desiredReplicas[0] = %d (snapshot %+v), want ceil(450/100) = 5", want, snap)
	}

	s := startScaler(t, "--forecaster.url="+fc.webURL, "--refresh-interval=200ms", "--stale-after=3s", "--default-min=2")
	c := externalscaler.NewExternalScalerClient(dial(t, s.grpcAddr))
	app := map[string]string{"workload": "app"}

	// The first call starts the refreshing of the workload and answers the
	// default; soon the forecaster's plan is served.
	waitFor(t, 20*time.Second, "the forecaster's plan from GetMetrics", func() bool {
		n, err := getMetrics(t, c, app)
		if err != nil {
			t.Fatalf("GetMetrics: %v", err)
		}
		if n != want && n != 2 {
			t.Fatalf("GetMetrics = %d, want the default 2 or the plan %d", n, want)
		}
		return n == want
	})
	if active, err := isActive(t, c, app); err != nil || !active {
		t.Fatalf("IsActive with a fresh plan of %d = %v, %v; want true", want, active, err)
	}
	// KEDA's external-push trigger holds StreamIsActive open: it says true
	// at once, and false when the plan goes stale.
	streamCtx, cancelStream := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStream()
	stream, err := c.StreamIsActive(streamCtx, ref(app))
	if err != nil {
		t.Fatalf("StreamIsActive: %v", err)
	}
	if first, err := stream.Recv(); err != nil || !first.GetResult() {
		t.Fatalf("StreamIsActive first message %v, %v; want true", first, err)
	}
	before := s.metrics(t)
	staleBefore, _ := value(before, "kedastral_scaler_snapshot_stale_total", map[string]string{"reason": "stale"})
	if n, _ := value(before, "kedastral_scaler_returned_replicas", map[string]string{"workload": "app"}); n != float64(want) {
		t.Errorf("kedastral_scaler_returned_replicas{workload=app} = %v, want %d", n, want)
	}

	// The forecaster dies without a word. The plan just served is at most
	// --interval + --refresh-interval old, well within --stale-after.
	if err := fc.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-fc.Exited()
	var (
		answers  []int64
		fellBack time.Time
	)
	waitFor(t, 20*time.Second, "the fallback to --default-min", func() bool {
		n, err := getMetrics(t, c, app)
		if err != nil {
			t.Fatalf("GetMetrics after the forecaster died: %v, want an answer", err)
		}
		if len(answers) == 0 || answers[len(answers)-1] != n {
			answers = append(answers, n)
		}
		if n == 2 {
			fellBack = time.Now()
			return true
		}
		return false
	})
	// The answers go from the last plan to the default, once.
	if len(answers) != 2 || answers[0] != want || answers[1] != 2 {
		t.Errorf("GetMetrics answered %v after the forecaster died, want [%d 2]", answers, want)
	}
	t.Logf("fell back to --default-min %v after the kill", fellBack.Sub(killed).Round(time.Millisecond))
	// From then on: the default, inactive, and no error.
	for range 5 {
		if n, err := getMetrics(t, c, app); err != nil || n != 2 {
			t.Errorf("GetMetrics with a stale plan = %d, %v; want --default-min 2", n, err)
		}
		if active, err := isActive(t, c, app); err != nil || active {
			t.Errorf("IsActive with a stale plan = %v, %v; want false", active, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if next, err := stream.Recv(); err != nil || next.GetResult() {
		t.Errorf("StreamIsActive after the plan went stale: %v, %v; want false", next, err)
	}
	cancelStream()
	after := s.metrics(t)
	if staleAfter, _ := value(after, "kedastral_scaler_snapshot_stale_total", map[string]string{"reason": "stale"}); staleAfter < staleBefore+6 {
		t.Errorf("kedastral_scaler_snapshot_stale_total{reason=stale} went from %v to %v, want ≥ 6 more", staleBefore, staleAfter)
	}
	if n, _ := value(after, "kedastral_scaler_source_errors_total", map[string]string{"source": "forecaster", "reason": "unavailable"}); n < 1 {
		t.Errorf("kedastral_scaler_source_errors_total{source=forecaster,reason=unavailable} = %v, want ≥ 1", n)
	}
	if n, _ := value(after, "kedastral_scaler_returned_replicas", map[string]string{"workload": "app"}); n != 2 {
		t.Errorf("kedastral_scaler_returned_replicas{workload=app} = %v, want 2", n)
	}
	// A ScaledObject that tolerates older plans still gets the last one.
	if n, err := getMetrics(t, c, map[string]string{"workload": "app", "staleAfter": "1h"}); err != nil || n != want {
		t.Errorf("GetMetrics with staleAfter=1h = %d, %v; want the last plan %d", n, err, want)
	}
	s.Terminate(t)
}
