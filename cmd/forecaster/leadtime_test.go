package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// podSeries returns the kube-state-metrics series of one pod that the lead
// time query of docs/adopting.md reads: kube_pod_created,
// kube_pod_status_ready_time and kube_pod_status_ready{condition="true"},
// created at created and ready startup later (ready false: not ready yet),
// with a sample a minute over the half hour before end.
func podSeries(pod string, created time.Time, startup time.Duration, ready bool, end time.Time) []prompb.TimeSeries {
	series := func(name string, v float64, labels ...prompb.Label) prompb.TimeSeries {
		ts := prompb.TimeSeries{Labels: append([]prompb.Label{
			{Name: "__name__", Value: name}, {Name: "namespace", Value: "shop"}, {Name: "pod", Value: pod}, {Name: "uid", Value: pod + "-uid"},
		}, labels...)}
		if len(labels) > 0 { // labels sorted by name: condition before namespace
			ts.Labels = append([]prompb.Label{ts.Labels[0], labels[0]}, ts.Labels[1:len(ts.Labels)-1]...)
		}
		for i := 0; i <= 30; i++ {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: end.Add(time.Duration(i-30) * time.Minute).UnixMilli(), Value: v})
		}
		return ts
	}
	isReady := 0.0
	if ready {
		isReady = 1
	}
	return []prompb.TimeSeries{
		series("kube_pod_created", float64(created.Unix())),
		series("kube_pod_status_ready_time", float64(created.Add(startup).Unix())),
		series("kube_pod_status_ready", isReady, prompb.Label{Name: "condition", Value: "true"}),
	}
}

// leadTimeQuery is the query docs/adopting.md gives, word for word.
const leadTimeQuery = `max(
    max by (namespace, pod, uid) (
      kube_pod_status_ready_time{namespace="shop", pod=~"checkout-[a-z0-9]+-[a-z0-9]{5}"}
        and on (namespace, pod, uid)
      (kube_pod_status_ready{namespace="shop", pod=~"checkout-[a-z0-9]+-[a-z0-9]{5}", condition="true"} == 1)
    )
  - on (namespace, pod, uid)
    max by (namespace, pod, uid) (kube_pod_created{namespace="shop", pod=~"checkout-[a-z0-9]+-[a-z0-9]{5}"})
)`

// TestLeadTimeAuto runs the forecaster in push mode with lead_time: auto
// and the query docs/adopting.md gives, fed the kube-state-metrics series
// of the Deployment checkout's pods. With pods that took 40 s and 70 s to be
// ready, the longest start-up at every point is max(40, 70) = 70 s, so the
// 0.9 quantile over the day is 70 s: the plan's lead time. A third pod
// that took 200 s makes it 200 s at the next measurement (every refit, 2 s
// here). Never counted: a pod of another Deployment (checkout-worker, 900 s)
// and a pod not ready (600 s).
func TestLeadTimeAuto(t *testing.T) {
	config := filepath.Join(t.TempDir(), "kedastral.yml")
	body := `workloads:
  - name: app
    query: sum(load)
    interval: 1s
    refit_interval: 2s
    step: 1m
    window: 30m
    horizon: 10m
    model: baseline
    capacity:
      lead_time: auto
      lead_time_query: |
` + indent(leadTimeQuery, "        ") + "\n"
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	fc := startForecaster(t, []string{"--config.file=" + config, "--stale-after=10m",
		"--storage.path=" + filepath.Join(t.TempDir(), "data")}, nil, true)
	testutil.WaitFor(t, 30*time.Second, "the receiver", func() bool {
		code, _, _ := get(t, fc.url+"/-/healthy")
		return code == 200
	})
	now := time.Now().Truncate(time.Minute)
	created := now.Add(-2 * time.Hour)
	series := []prompb.TimeSeries{loadSeries("load", now)}
	series = append(series, podSeries("checkout-7d4f9-abcde", created, 40*time.Second, true, now)...)
	series = append(series, podSeries("checkout-7d4f9-fghij", created, 70*time.Second, true, now)...)
	series = append(series, podSeries("checkout-7d4f9-notrd", created, 600*time.Second, false, now)...)
	series = append(series, podSeries("checkout-worker-5c8b7-zzzzz", created, 900*time.Second, true, now)...)
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", series...); code != 204 {
		t.Fatalf("remote write: %d", code)
	}
	leadTime := func(want float64) func() bool {
		return func() bool {
			s, _, ok := fc.snapshot(t, "app")
			return ok && s.LeadTimeSeconds == want && s.LeadTimeMeasuredSeconds == want
		}
	}
	testutil.WaitFor(t, 30*time.Second, "a lead time of 70 s", leadTime(70))
	if v := fc.metrics(t).Value(t, "kedastral_forecast_lead_time_seconds", prometheus.Labels{"workload": "app"}); v != 70 {
		t.Errorf("kedastral_forecast_lead_time_seconds = %v, want 70", v)
	}
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", podSeries("checkout-7d4f9-klmno", created, 200*time.Second, true, now)...); code != 204 {
		t.Fatalf("remote write: %d", code)
	}
	testutil.WaitFor(t, 30*time.Second, "a lead time of 200 s", leadTime(200))
	fc.Terminate(t)
}

// indent prefixes every line of s with prefix.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
