package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// bins holds the forecaster, built once for every test here, as a user
// runs it (nothing under -short, where the tests that run it skip).
var bins = map[string]string{}

func TestMain(m *testing.M) {
	os.Exit(proctest.Main(m, map[string]string{"forecaster": "."}, bins))
}

// process is a running forecaster.
type process struct {
	*proctest.Process
	url string
}

// startForecaster runs the binary with args (plus --web.listen-address on a
// free port unless listen is false) and env added to the environment.
func startForecaster(t *testing.T, args []string, env []string, listen bool) *process {
	t.Helper()
	addr := prometheustest.FreeAddr(t)
	if listen {
		args = append(args, "--web.listen-address="+addr)
	}
	return &process{Process: proctest.Start(t, "forecaster", bins["forecaster"], args, env), url: "http://" + addr}
}

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// snapshot fetches /forecast/current for workload; ok is false on any other
// status than 200.
func (p *process) snapshot(t *testing.T, workload string) (forecast.Snapshot, http.Header, bool) {
	t.Helper()
	code, header, body := get(t, p.url+"/forecast/current?workload="+workload)
	if code != http.StatusOK {
		return forecast.Snapshot{}, header, false
	}
	var s forecast.Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("decode snapshot %s: %v", body, err)
	}
	return s, header, true
}

// metrics scrapes /metrics and parses it.
func (p *process) metrics(t *testing.T) testutil.Families {
	t.Helper()
	return testutil.Scrape(t, p.url+"/metrics")
}

// rampTarget serves a counter whose rate rises linearly: the count x seconds
// after start is 50x + 2x², so its rate is 50 + 4x requests per second.
type rampTarget struct {
	start time.Time
}

func (r rampTarget) rate(at time.Time) float64 {
	return 50 + 4*at.Sub(r.start).Seconds()
}

func (r rampTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	x := time.Since(r.start).Seconds()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE e2e_requests_total counter\ne2e_requests_total %g\n", 50*x+2*x*x)
}

// TestEndToEnd runs the built forecaster against a real Prometheus that
// scrapes a target of known load, then takes Prometheus away and brings it
// back.
func TestEndToEnd(t *testing.T) {
	target := rampTarget{start: time.Now()}
	srv := httptest.NewServer(target)
	defer srv.Close()
	prom := prometheustest.Start(t, prometheustest.Options{Config: fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(srv.URL, "http://"))})

	fc := startForecaster(t, []string{
		"--prometheus.url=" + prom.URL,
		"--workload=app",
		"--query=sum(rate(e2e_requests_total[5s]))",
		"--step=1s", "--window=30s", "--horizon=30s", "--interval=1s", "--stale-after=3s",
		"--target-per-pod=100", "--headroom=1", "--lead-time=2s", "--prewarm-window=0s",
		"--min-replicas=1", "--max-replicas=100", "--up-max-factor=100", "--down-max-percent=100",
		"--prometheus.timeout=2s",
	}, nil, true)

	testutil.WaitFor(t, time.Minute, "/-/ready", func() bool {
		code, _, _ := get(t, fc.url+"/-/ready")
		return code == http.StatusOK
	})
	// Let ten seconds of history build up so that the 5 s rates are full.
	testutil.WaitFor(t, time.Minute, "ten seconds of load", func() bool {
		s, _, ok := fc.snapshot(t, "app")
		return ok && s.ObservedAt.Sub(target.start) > 10*time.Second
	})

	s, header, _ := fc.snapshot(t, "app")
	t.Run("snapshot", func(t *testing.T) {
		// horizon/step = 30s/1s = 30 values and 30 replicas.
		if len(s.Values) != 30 || len(s.DesiredReplicas) != 30 {
			t.Fatalf("%d values, %d replicas; want 30 and 30", len(s.Values), len(s.DesiredReplicas))
		}
		if s.StepSeconds != 1 || s.HorizonSeconds != 30 || s.Workload != "app" || s.Model != "baseline" {
			t.Errorf("snapshot header %+v", s)
		}
		if got := header.Get("X-Kedastral-Stale"); got != "false" {
			t.Errorf("X-Kedastral-Stale = %q on a fresh snapshot", got)
		}
	})
	t.Run("forecast follows the curve", func(t *testing.T) {
		// rate(...[5s]) at time g averages the true rate over about the last
		// 5 s: between rate(g − 6 s) and rate(g) with scrape jitter.
		lo, hi := target.rate(s.ObservedAt.Add(-6*time.Second)), target.rate(s.ObservedAt)
		if s.ObservedValue < lo*0.95 || s.ObservedValue > hi*1.05 {
			t.Errorf("observed %v, want within [%v, %v]", s.ObservedValue, lo, hi)
		}
		// The load rises, so the baseline floors the forecast at the newest
		// point of the history (the last of recent; the observed value is
		// read at now itself, up to a step later).
		newest := s.Recent[len(s.Recent)-1]
		for i, v := range s.Values {
			if v < newest || v > newest*1.5 {
				t.Errorf("value %d = %v, outside [%v, %v]", i, v, newest, newest*1.5)
			}
		}
		// headroom 1, target 100, lead 2s = 2 steps, no pre-warm, no rate
		// limit: desired[i] = ceil(values[min(i+2, 29)] / 100).
		for i, d := range s.DesiredReplicas {
			if want := int(math.Ceil(s.Values[min(i+2, 29)]/100 - 1e-9)); d != want {
				t.Errorf("desired[%d] = %d, want ceil(%v / 100) = %d", i, d, s.Values[min(i+2, 29)], want)
			}
		}
	})
	t.Run("metrics", func(t *testing.T) {
		code, _, body := get(t, fc.url+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics answered %d", code)
		}
		families := testutil.ParseText(t, body)
		for _, name := range []string{
			"kedastral_forecast_value", "kedastral_forecast_replicas", "kedastral_forecast_desired_replicas",
			"kedastral_desired_replicas", "kedastral_forecast_observed_value",
			"kedastral_forecast_generated_timestamp_seconds", "kedastral_forecast_age_seconds",
			"kedastral_adapter_collect_seconds", "kedastral_model_predict_seconds",
			"kedastral_capacity_compute_seconds", "kedastral_build_info",
		} {
			families.Family(t, name)
		}
		// The default key horizons of 30 one-second steps and a 2 s lead
		// time: now, the lead time and the last step.
		if n := len(families.Family(t, "kedastral_forecast_value").GetMetric()); n != 3 {
			t.Errorf("%d kedastral_forecast_value series, want one per key horizon: 3", n)
		}
		for h, want := range map[string]bool{"0s": true, "1s": false, "2s": true, "29s": true} {
			if _, ok := families.Find(t, "kedastral_forecast_value", prometheus.Labels{"workload": "app", "horizon": h}); ok != want {
				t.Errorf("kedastral_forecast_value{horizon=%q} published: %v, want %v", h, ok, want)
			}
		}
		check := exec.Command(prometheustest.Binary(t, "promtool"), "check", "metrics")
		check.Stdin = bytes.NewReader(body)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	// Prometheus goes away: the last snapshot is still served, marked stale,
	// and the failures are counted.
	prom.Stop()
	testutil.WaitFor(t, 30*time.Second, "a stale snapshot", func() bool {
		_, header, ok := fc.snapshot(t, "app")
		return ok && header.Get("X-Kedastral-Stale") == "true"
	})
	lastGood, _, _ := fc.snapshot(t, "app")
	if n := fc.metrics(t).Value(t, "kedastral_errors_total", prometheus.Labels{"component": "source", "reason": "unavailable"}); n < 1 {
		t.Errorf("kedastral_errors_total{component=\"source\",reason=\"unavailable\"} = %v, want ≥ 1", n)
	}
	if code, _, _ := get(t, fc.url+"/-/healthy"); code != http.StatusOK {
		t.Errorf("/-/healthy answered %d while Prometheus is down", code)
	}

	// Prometheus comes back on the same address: fresh forecasts again.
	prom.Restart()
	testutil.WaitFor(t, time.Minute, "a fresh snapshot", func() bool {
		s, header, ok := fc.snapshot(t, "app")
		return ok && header.Get("X-Kedastral-Stale") == "false" && s.GeneratedAt.After(lastGood.GeneratedAt)
	})

	fc.Terminate(t)
}
