package main

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/internal/prometheustest"
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

	waitFor(t, 90*time.Second, "ten seconds of load received", func() bool {
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
	_, families := fc.metrics(t)
	stored, _ := value(families, "kedastral_receiver_samples_stored_total", nil)
	dropped, _ := value(families, "kedastral_receiver_series_dropped_total", nil)
	// Prometheus sends up, scrape_duration_seconds, ... of the target too:
	// those are dropped; e2e_requests_total, about one sample a second, kept
	// (at least the two a rate needs).
	if stored < 2 || dropped < 10 {
		t.Errorf("stored %v samples and dropped %v series; want ≥ 2 and ≥ 10", stored, dropped)
	}
	if n, _ := value(families, "kedastral_receiver_requests_total", map[string]string{"code": "204"}); n < 1 {
		t.Errorf("no remote-write request answered 204: %v", n)
	}
	fc.terminate(t)
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
	waitFor(t, 30*time.Second, "the receiver", func() bool {
		code, _, _ := get(t, fc.url+"/-/healthy")
		return code == http.StatusOK
	})
	// 31 points a minute apart, ending now: 100, 101, ..., 130.
	now := time.Now().Truncate(time.Minute)
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "load"}, {Name: "job", Value: "app"}}}
	for i := 0; i <= 30; i++ {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: now.Add(time.Duration(i-30) * time.Minute).UnixMilli(), Value: float64(100 + i)})
	}
	raw, err := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, fc.url+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("remote write: %s", resp.Status)
	}
	if err := fc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-fc.exited

	again := startForecaster(t, args, nil, true)
	waitFor(t, 30*time.Second, "a forecast after the restart", func() bool {
		_, _, ok := again.snapshot(t, "app")
		return ok
	})
	s, _, _ := again.snapshot(t, "app")
	// The window of 30m/1m = 30 points holds the last 30 written before the
	// kill, 101..130 (a point at most 5 minutes after a sample takes its
	// value, as in PromQL): the newest, 130, is the observed value.
	if s.ObservedValue != 130 {
		t.Errorf("observed %v after the restart, want 130; log:\n%s", s.ObservedValue, again.logs())
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
	again.terminate(t)
}
