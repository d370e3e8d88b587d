package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestPushEndToEnd: a real Prometheus scrapes a target of known load and
// remote-writes everything it has to the forecaster, which has no
// Prometheus to query: it keeps the series its query selects, drops the
// rest, and forecasts from them.
func TestPushEndToEnd(t *testing.T) {
	target := rampTarget{start: time.Now()}
	srv := httptest.NewServer(target)
	defer srv.Close()
	addr := prometheustest.FreeAddr(t)
	prom := prometheustest.Start(t, prometheustest.Options{Config: fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
remote_write:
  - url: http://%s/api/v1/write
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 50ms
      max_backoff: 500ms
`, strings.TrimPrefix(srv.URL, "http://"), addr)})
	_ = prom

	fc := startForecaster(t, []string{
		"--web.listen-address=" + addr,
		"--storage.path=" + filepath.Join(t.TempDir(), "data"),
		"--workload=app",
		"--query=sum(rate(e2e_requests_total[5s]))",
		"--step=1s", "--window=30s", "--horizon=30s", "--interval=1s", "--stale-after=5s",
		"--target-per-pod=100", "--headroom=1", "--lead-time=2s", "--prewarm-window=0s",
		"--min-replicas=1", "--max-replicas=100", "--up-max-factor=100", "--down-max-percent=100",
	}, nil, false)
	fc.url = "http://" + addr

	testutil.WaitFor(t, 90*time.Second, "ten seconds of load received", func() bool {
		s, _, ok := fc.snapshot(t, "app")
		return ok && s.ObservedAt.Sub(target.start) > 10*time.Second
	})
	s, _, _ := fc.snapshot(t, "app")
	if len(s.Values) != 30 || len(s.DesiredReplicas) != 30 {
		t.Fatalf("%d values, %d replicas; want 30 and 30", len(s.Values), len(s.DesiredReplicas))
	}
	// As in pull mode: rate(...[5s]) at g is between rate(g − 6 s) and
	// rate(g), give or take scrape jitter.
	lo, hi := target.rate(s.ObservedAt.Add(-6*time.Second)), target.rate(s.ObservedAt)
	if s.ObservedValue < lo*0.95 || s.ObservedValue > hi*1.05 {
		t.Errorf("observed %v, want within [%v, %v]", s.ObservedValue, lo, hi)
	}
	families := fc.metrics(t)
	stored := families.Value(t, "kedastral_receiver_samples_stored_total", nil)
	dropped := families.Value(t, "kedastral_receiver_series_dropped_total", nil)
	// Prometheus sends up, scrape_duration_seconds, ... of the target too:
	// those are dropped; e2e_requests_total, about one sample a second, kept
	// (at least the two a rate needs).
	if stored < 2 || dropped < 10 {
		t.Errorf("stored %v samples and dropped %v series; want ≥ 2 and ≥ 10", stored, dropped)
	}
	if n := families.Value(t, "kedastral_receiver_requests_total", prometheus.Labels{"code": "204"}); n < 1 {
		t.Errorf("no remote-write request answered 204: %v", n)
	}
	fc.Terminate(t)
}

// TestPushSurvivesKill writes history by remote write, kills the forecaster
// with SIGKILL right after the 204, starts it again on the same storage, and
// finds every sample in its first forecast.
func TestPushSurvivesKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{
		"--storage.path=" + dir,
		"--workload=app",
		"--query=sum(load)",
		"--step=1m", "--window=30m", "--horizon=5m", "--interval=1s", "--stale-after=10m",
		"--lead-time=1m", "--model=baseline",
	}
	fc := startForecaster(t, args, nil, true)
	testutil.WaitFor(t, 30*time.Second, "the receiver", func() bool {
		code, _, _ := get(t, fc.url+"/-/healthy")
		return code == http.StatusOK
	})
	// 31 points a minute apart, ending now: 100, 101, ..., 130.
	now := time.Now().Truncate(time.Minute)
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", loadSeries("load", now)); code != http.StatusNoContent {
		t.Fatalf("remote write: %d", code)
	}
	if err := fc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-fc.Exited()

	again := startForecaster(t, args, nil, true)
	testutil.WaitFor(t, 30*time.Second, "a forecast after the restart", func() bool {
		_, _, ok := again.snapshot(t, "app")
		return ok
	})
	s, _, _ := again.snapshot(t, "app")
	// The window of 30m/1m = 30 points holds the last 30 written before the
	// kill, 101..130 (a point at most 5 minutes after a sample takes its
	// value, as in PromQL): the newest, 130, is the observed value.
	if s.ObservedValue != 130 {
		t.Errorf("observed %v after the restart, want 130; log:\n%s", s.ObservedValue, again.Logs())
	}
	// Point k of the window, at ObservedAt − (29−k) minutes, takes the value
	// of the newest sample at or before it: 101 + k, unless the restart
	// crossed into the next minute.
	want := make([]float64, 30)
	for k := range want {
		at := s.ObservedAt.Add(-time.Duration(29-k) * time.Minute)
		want[k] = float64(100 + min(30, int(at.Sub(now.Add(-30*time.Minute))/time.Minute)))
	}
	if !slices.Equal(s.Recent, want) {
		t.Errorf("recent %v, want the 30 points %v", s.Recent, want)
	}
	again.Terminate(t)
}

// TestPushRestartStartsFromTheLastPlan: a forecaster in push mode keeps the
// plans it serves in its own storage, and after a restart its first plan
// starts from the last one rather than from min_replicas climbing ×2 a
// tick. The restart comes with a new target per pod, so that the load now
// needs fewer pods than before: a constant load of 3000 needs
// 3000 × 1.2 / 100 = 36 pods at first, and 3000 × 1.2 / 400 = 9 after. The
// first plan after the restart goes down from 36 by the down limit of
// 50 %: floor(36 × 0.5) = 18; a forecaster that forgot would plan 9 at
// once (and, before the reactive floor, 2 then 4, 8, 9).
func TestPushRestartStartsFromTheLastPlan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	args := func(target string) []string {
		return []string{
			"--storage.path=" + dir,
			"--workload=app",
			"--query=sum(load)",
			"--step=1m", "--window=30m", "--horizon=5m", "--interval=1s", "--stale-after=10m",
			"--lead-time=1m", "--model=baseline", "--max-replicas=100", "--target-per-pod=" + target,
		}
	}
	fc := startForecaster(t, args("100"), nil, true)
	testutil.WaitFor(t, 30*time.Second, "the receiver", func() bool {
		code, _, _ := get(t, fc.url+"/-/healthy")
		return code == http.StatusOK
	})
	now := time.Now().Truncate(time.Minute)
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", constantSeries("load", now, 3000)); code != http.StatusNoContent {
		t.Fatalf("remote write: %d", code)
	}
	testutil.WaitFor(t, 30*time.Second, "a plan of 36", func() bool {
		s, _, ok := fc.snapshot(t, "app")
		return ok && s.DesiredReplicas[0] == 36
	})
	fc.Terminate(t)

	again := startForecaster(t, args("400"), nil, true)
	testutil.WaitFor(t, 30*time.Second, "a forecast after the restart", func() bool {
		_, _, ok := again.snapshot(t, "app")
		return ok
	})
	s, _, _ := again.snapshot(t, "app")
	if s.DesiredReplicas[0] != 18 || s.ReactiveFloor != 9 || s.DecidedBy != "down_limit" {
		t.Errorf("first plan after the restart: %d (floor %d, decided by %s), want 18 (floor 9, down_limit); log:\n%s",
			s.DesiredReplicas[0], s.ReactiveFloor, s.DecidedBy, again.Logs())
	}
	if !strings.Contains(again.Logs(), "Starting from the plan served before the restart") {
		t.Errorf("no log line of the plan read back; log:\n%s", again.Logs())
	}
	again.Terminate(t)
}

// constantSeries is the series name{job="app"} of 31 points a minute apart,
// ending at end, all of value v.
func constantSeries(name string, end time.Time, v float64) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "app"}}}
	for i := 0; i <= 30; i++ {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: end.Add(time.Duration(i-30) * time.Minute).UnixMilli(), Value: v})
	}
	return ts
}

// loadSeries is the series name{job="app"} of 31 points a minute apart,
// ending at end: 100, 101, ..., 130.
func loadSeries(name string, end time.Time) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "app"}}}
	for i := 0; i <= 30; i++ {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: end.Add(time.Duration(i-30) * time.Minute).UnixMilli(), Value: float64(100 + i)})
	}
	return ts
}

// TestPushBackfill starts the forecaster with a receiver and a Prometheus
// that already holds the history: the history is read once by remote read,
// and the first forecast has all of it though nothing was pushed.
func TestPushBackfill(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	now := time.Now().Truncate(time.Minute)
	if code := testutil.PushV1(t, prom.URL+"/api/v1/write", loadSeries("load", now), loadSeries("unrelated", now)); code/100 != 2 {
		t.Fatalf("remote write to Prometheus: %d", code)
	}
	fc := startForecaster(t, []string{
		"--prometheus.url=" + prom.URL, "--web.enable-remote-write-receiver",
		"--storage.path=" + filepath.Join(t.TempDir(), "data"),
		"--workload=app", "--query=sum(load)",
		"--step=1m", "--window=30m", "--horizon=5m", "--interval=1s", "--stale-after=10m",
		"--lead-time=1m", "--model=baseline",
	}, nil, true)
	testutil.WaitFor(t, 30*time.Second, "a forecast from the backfilled history", func() bool {
		_, _, ok := fc.snapshot(t, "app")
		return ok
	})
	s, _, _ := fc.snapshot(t, "app")
	// As in TestPushSurvivesKill: point k takes the newest sample at or
	// before ObservedAt − (29−k) minutes.
	for k, v := range s.Recent {
		at := s.ObservedAt.Add(-time.Duration(29-k) * time.Minute)
		if want := float64(100 + min(30, int(at.Sub(now.Add(-30*time.Minute))/time.Minute))); v != want {
			t.Errorf("recent[%d] = %v, want %v", k, v, want)
		}
	}
	if len(s.Recent) != 30 {
		t.Errorf("%d recent points, want 30", len(s.Recent))
	}
	// 31 samples of load were read; unrelated was not selected. The log
	// says so.
	if !strings.Contains(fc.Logs(), `msg="Backfill done" samples=31`) {
		t.Errorf("log lacks the backfill of 31 samples:\n%s", fc.Logs())
	}
	// The receiver is open once the backfill is done: a newer sample is
	// taken.
	next := prompb.TimeSeries{Labels: loadSeries("load", now).Labels, Samples: []prompb.Sample{{Timestamp: now.Add(time.Second).UnixMilli(), Value: 131}}}
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", next); code != http.StatusNoContent {
		t.Errorf("remote write after the backfill: %d, want 204", code)
	}
	fc.Terminate(t)
}

// TestPushReload changes the workload's query under a running forecaster in
// push mode: the receiver keeps the newly selected series from then on.
func TestPushReload(t *testing.T) {
	config := filepath.Join(t.TempDir(), "kedastral.yml")
	write := func(metric string) {
		t.Helper()
		body := fmt.Sprintf("workloads:\n  - name: app\n    query: sum(%s)\n    interval: 1s\n    step: 1m\n    window: 30m\n    horizon: 5m\n    model: baseline\n", metric)
		if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("load")
	fc := startForecaster(t, []string{"--config.file=" + config, "--stale-after=10m", "--web.enable-lifecycle",
		"--storage.path=" + filepath.Join(t.TempDir(), "data")}, nil, true)
	testutil.WaitFor(t, 30*time.Second, "the receiver", func() bool {
		code, _, _ := get(t, fc.url+"/-/healthy")
		return code == http.StatusOK
	})
	now := time.Now().Truncate(time.Minute)
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", loadSeries("load", now), loadSeries("other", now)); code != http.StatusNoContent {
		t.Fatalf("remote write: %d", code)
	}
	write("other")
	resp, err := http.Post(fc.url+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reload: %s", resp.Status)
	}
	// One newer sample of each, a minute later.
	next := func(name string) prompb.TimeSeries {
		ts := loadSeries(name, now)
		ts.Samples = []prompb.Sample{{Timestamp: now.Add(time.Minute).UnixMilli(), Value: 131}}
		return ts
	}
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", next("load"), next("other")); code != http.StatusNoContent {
		t.Fatalf("remote write: %d", code)
	}
	// Before the reload load was kept (31) and other dropped (31); after it
	// other is kept (1) and load dropped (1): 32 stored, 32 dropped, and
	// one series dropped per request.
	families := fc.metrics(t)
	for name, want := range map[string]float64{
		"kedastral_receiver_samples_stored_total":  32,
		"kedastral_receiver_samples_dropped_total": 32,
		"kedastral_receiver_series_dropped_total":  2,
	} {
		if got := families.Value(t, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	fc.Terminate(t)
}
