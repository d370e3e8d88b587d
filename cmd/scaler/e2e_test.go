package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
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
// does. Then the forecaster dies: the scaler keeps answering, with the
// last plan's count for the current time while the plan's horizon lasts,
// past --stale-after, then with --default-min; active throughout, since
// --default-min is above zero.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	prom := prometheustest.Start(t, prometheustest.Options{})
	fcAddr := prometheustest.FreeAddr(t)
	// A 5 s step and a 30 s horizon: the plan covers the next 30 s.
	fc := start(t, "forecaster", bins["forecaster"], []string{
		"--prometheus.url=" + prom.URL,
		"--workload=app", "--query=vector(450)",
		"--interval=1s", "--step=5s", "--window=2m", "--horizon=30s", "--lead-time=10s",
		"--target-per-pod=100", "--headroom=1", "--min-replicas=1",
		"--web.listen-address=" + fcAddr,
	}, nil)
	fc.webURL = "http://" + fcAddr
	fc.waitHTTP(t, "/-/ready")
	// The load is a constant 450, headroom 1 and 100 per pod: every step
	// needs ceil(450 × 1 / 100) = ceil(4.5) = 5 replicas, above
	// --min-replicas=1, from the first plan on (it starts from what the
	// load observed needs, not from --min-replicas).
	const want = 5
	snap, ok := fc.snapshot(t, "app")
	if !ok || len(snap.DesiredReplicas) != 6 || slices.ContainsFunc(snap.DesiredReplicas, func(n int) bool { return n != want }) {
		t.Fatalf("forecaster's first plan %+v, want 6 steps of %d", snap, want)
	}
	if snap.ReactiveFloor != want {
		t.Errorf("reactive floor %d, want ceil(450/100) = %d", snap.ReactiveFloor, want)
	}

	s := startScaler(t, "--forecaster.url="+fc.webURL, "--refresh-interval=200ms", "--stale-after=3s", "--default-min=2")
	c := externalscaler.NewExternalScalerClient(dial(t, s.grpcAddr))
	app := map[string]string{"workload": "app"}

	// The first call starts the refreshing of the workload and answers the
	// default; soon the forecaster's plan is served.
	testutil.WaitFor(t, 20*time.Second, "the forecaster's plan from GetMetrics", func() bool {
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
	// at once.
	streamCtx, cancelStream := context.WithTimeout(context.Background(), time.Minute)
	defer cancelStream()
	stream, err := c.StreamIsActive(streamCtx, ref(app))
	if err != nil {
		t.Fatalf("StreamIsActive: %v", err)
	}
	if first, err := stream.Recv(); err != nil || !first.GetResult() {
		t.Fatalf("StreamIsActive first message %v, %v; want true", first, err)
	}
	if n := s.metrics(t).Value(t, "kedastral_scaler_returned_replicas", map[string]string{"workload": "app"}); n != want {
		t.Errorf("kedastral_scaler_returned_replicas{workload=app} = %v, want %d", n, want)
	}

	// The forecaster dies without a word. The plan just served is at most
	// --interval + --refresh-interval old, and reaches 30 s ahead.
	if err := fc.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-fc.Exited()
	var (
		answers  []int64
		fellBack time.Time
	)
	testutil.WaitFor(t, 60*time.Second, "the fallback to --default-min", func() bool {
		n, err := getMetrics(t, c, app)
		if err != nil {
			t.Fatalf("GetMetrics after the forecaster died: %v, want an answer", err)
		}
		if active, err := isActive(t, c, app); err != nil || !active {
			t.Fatalf("IsActive after the forecaster died = %v, %v; want true, as the answer %d is above 0", active, err, n)
		}
		if len(answers) == 0 || answers[len(answers)-1] != n {
			answers = append(answers, n)
		}
		if n == 2 {
			fellBack = time.Now()
			return true
		}
		time.Sleep(50 * time.Millisecond)
		return false
	})
	// The answers follow the last plan (5 at every step), then the default,
	// once.
	if len(answers) != 2 || answers[0] != want || answers[1] != 2 {
		t.Errorf("GetMetrics answered %v after the forecaster died, want [%d 2]", answers, want)
	}
	t.Logf("held the last plan for %v after the kill, then --default-min", fellBack.Sub(killed).Round(time.Millisecond))
	// The stale plan was followed: answers counted as stale, past
	// --stale-after; then past its horizon, as expired.
	after := s.metrics(t)
	if n := after.Value(t, "kedastral_scaler_fallbacks_total", map[string]string{"reason": "stale"}); n < 10 {
		t.Errorf("kedastral_scaler_fallbacks_total{reason=stale} = %v, want the held plan counted, ≥ 10", n)
	}
	if n := after.Value(t, "kedastral_scaler_fallbacks_total", map[string]string{"reason": "expired"}); n < 1 {
		t.Errorf("kedastral_scaler_fallbacks_total{reason=expired} = %v, want ≥ 1", n)
	}
	// From then on: the default, active, and no error.
	for range 5 {
		if n, err := getMetrics(t, c, app); err != nil || n != 2 {
			t.Errorf("GetMetrics with a plan past its horizon = %d, %v; want --default-min 2", n, err)
		}
		if active, err := isActive(t, c, app); err != nil || !active {
			t.Errorf("IsActive with a plan past its horizon = %v, %v; want true (--default-min 2 > 0)", active, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancelStream()
	after = s.metrics(t)
	if n := after.Value(t, "kedastral_scaler_source_errors_total", map[string]string{"source": "forecaster", "reason": "unavailable"}); n < 1 {
		t.Errorf("kedastral_scaler_source_errors_total{source=forecaster,reason=unavailable} = %v, want ≥ 1", n)
	}
	if n := after.Value(t, "kedastral_scaler_returned_replicas", map[string]string{"workload": "app"}); n != 2 {
		t.Errorf("kedastral_scaler_returned_replicas{workload=app} = %v, want 2", n)
	}
	// A ScaledObject that tolerates older plans still gets the last one.
	if n, err := getMetrics(t, c, map[string]string{"workload": "app", "staleAfter": "1h"}); err != nil || n != want {
		t.Errorf("GetMetrics with staleAfter=1h = %d, %v; want the last plan %d", n, err, want)
	}
	s.Terminate(t)
}
