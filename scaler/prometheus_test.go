package scaler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
	"github.com/HatiCode/kedastral/remote/out"
)

// remoteWrite sends the snapshots to the remote-write endpoint at rawURL as
// a forecaster with external label replica would, and waits until they are
// flushed.
func remoteWrite(t *testing.T, rawURL, replica string, snaps ...forecast.Snapshot) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := out.DefaultConfig()
	cfg.URL = &config.URL{URL: u}
	cfg.QueueConfig.BatchSendDeadline = model.Duration(10 * time.Millisecond)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := out.NewSender(out.SenderOptions{Registerer: reg, FlushTimeout: waitTimeout})
	if err := s.Apply([]out.Config{cfg}, map[string]string{"replica": replica}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	for _, snap := range snaps {
		s.Published(snap)
	}
	cancel() // Run flushes the queue, then returns
	<-done
	sent := testutil.Gather(t, reg).Values(t, "kedastral_remote_write_samples_sent_total", "url")[cfg.URL.Redacted()]
	failed := testutil.Gather(t, reg).Values(t, "kedastral_remote_write_samples_failed_total", "url")[cfg.URL.Redacted()]
	dropped := testutil.Gather(t, reg).Values(t, "kedastral_remote_write_samples_dropped_total", "url")[cfg.URL.Redacted()]
	if sent == 0 || failed != 0 || dropped != 0 {
		t.Fatalf("remote write of replica %s: %v sent, %v failed, %v dropped", replica, sent, failed, dropped)
	}
}

// planSnapshot is a forecast of workload made at at, planning desired now
// and one more replica a minute later.
func planSnapshot(workload string, at time.Time, desired int) forecast.Snapshot {
	return forecast.Snapshot{
		Workload: workload, Model: "baseline", GeneratedAt: at, StepSeconds: 60, HorizonSeconds: 120,
		Values: []float64{100, 110}, DesiredReplicas: []int{desired, desired + 1},
		ObservedValue: 95, ObservedAt: at,
	}
}

// TestPrometheusSource reads plans remote-written into a real Prometheus by
// an HA pair of forecasters (replica a and b).
func TestPrometheusSource(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	now := time.Now().Truncate(time.Second)
	// checkout: a forecast a minute ago (9) and stopped; b forecast then
	// (5) and 15 s ago (6). search: only a, 2 minutes ago (3).
	remoteWrite(t, prom.URL+"/api/v1/write", "a",
		planSnapshot("checkout", now.Add(-time.Minute), 9),
		planSnapshot("search", now.Add(-2*time.Minute), 3))
	remoteWrite(t, prom.URL+"/api/v1/write", "b",
		planSnapshot("checkout", now.Add(-time.Minute), 5),
		planSnapshot("checkout", now.Add(-15*time.Second), 6))

	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	src, err := NewPrometheus(prom.URL, &http.Client{Timeout: waitTimeout}, metrics.SourceErrors)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		workload string
		want     Plan
		wantErr  error
	}{
		{
			// topk(1, generated) picks b (now−15s > now−1m); b's desired
			// there is 6, then 7 at horizon 1m. a's 9, though larger, is not
			// taken: not max().
			name: "the freshest replica wins", workload: "checkout",
			want: Plan{Desired: 6, GeneratedAt: now.Add(-15 * time.Second), Step: time.Minute, Horizon: 2 * time.Minute,
				Steps: []PlanStep{{0, 6}, {time.Minute, 7}}},
		},
		{
			name: "a single replica", workload: "search",
			want: Plan{Desired: 3, GeneratedAt: now.Add(-2 * time.Minute), Step: time.Minute, Horizon: 2 * time.Minute,
				Steps: []PlanStep{{0, 3}, {time.Minute, 4}}},
		},
		{name: "no series", workload: "cart", wantErr: ErrNotFound},
		{
			// The selector is quoted: a workload with a quote matches
			// nothing rather than breaking the query.
			name: "quote in the name", workload: `check"out`, wantErr: ErrNotFound,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := src.Fetch(callCtx(t), tc.workload)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch = %+v, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !samePlan(got, tc.want) {
				t.Errorf("Fetch = %+v, want %+v", got, tc.want)
			}
		})
	}
	if errs := testutil.Gather(t, reg).Values(t, "kedastral_scaler_source_errors_total", "reason"); nonZero(errs) != 0 {
		t.Errorf("source errors %v, want none", errs)
	}

	t.Run("served over gRPC", func(t *testing.T) {
		h := startScalerWith(t, src, reg, metrics, harnessOptions{})
		h.clock.Set(now) // b's plan is 15 s old: fresh
		waitLoaded(t, h.cache, "checkout")
		if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
			t.Errorf("GetMetrics = %d, want 6", got)
		}
		// staleAfter=10s: 15 s > 10 s, stale, but within its horizon: its
		// count for now, horizon 0s, 6.
		if got := h.getMetrics(t, workloadMD("checkout", KeyStaleAfter, "10s")); got != 6 {
			t.Errorf("GetMetrics with staleAfter=10s = %d, want 6", got)
		}
		// A minute later, horizon 1m: 7; two, past the 2m horizon: defaultMin.
		h.clock.Set(now.Add(time.Minute))
		if got := h.getMetrics(t, workloadMD("checkout", KeyStaleAfter, "10s")); got != 7 {
			t.Errorf("a minute later: GetMetrics = %d, want 7", got)
		}
		h.clock.Set(now.Add(2 * time.Minute))
		if got := h.getMetrics(t, workloadMD("checkout", KeyStaleAfter, "10s")); got != 2 {
			t.Errorf("past the horizon: GetMetrics = %d, want defaultMin 2", got)
		}
	})
}

// TestPrometheusDown: a Prometheus that cannot be reached is a query error,
// counted, not ErrNotFound (which would drop the cached plan).
func TestPrometheusDown(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	src, err := NewPrometheus("http://"+prometheustest.FreeAddr(t), &http.Client{Timeout: waitTimeout}, metrics.SourceErrors)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(callCtx(t), "checkout")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Fetch from nowhere: %v, want a query error", err)
	}
	if got := promtest.ToFloat64(metrics.SourceErrors.WithLabelValues("prometheus", "query")); got != 1 {
		t.Errorf("source errors{prometheus,query} = %v, want 1", got)
	}
}

// samePlan reports whether two plans are equal, their times by Equal.
func samePlan(a, b Plan) bool {
	return a.Desired == b.Desired && a.GeneratedAt.Equal(b.GeneratedAt) && a.Step == b.Step &&
		a.Horizon == b.Horizon && slices.Equal(a.Steps, b.Steps)
}

// fakePrometheusAPI answers instant queries: desired for the query of the
// desired replicas, replicas for that of the plan by horizon, generated
// for that of the forecast's time, each a whole /api/v1/query answer.
func fakePrometheusAPI(t *testing.T, desired, replicas, generated string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path != "/api/v1/query" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body := generated
		switch q := r.Form.Get("query"); {
		case strings.Contains(q, "kedastral_forecast_replicas"):
			body = replicas
		case strings.Contains(q, "kedastral_forecast_desired_replicas"):
			body = desired
		}
		if code, ok := strings.CutPrefix(body, "HTTP "); ok {
			w.Header().Set("Content-Type", "application/json")
			status, _ := strconv.Atoi(code[:3])
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"internal","error":"` + code[4:] + `"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// vector is an instant-query answer of one sample of value v.
func vector(v string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1772366400,"` + v + `"]}]}}`
}

const emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`

// byHorizon is an instant-query answer of one sample per horizon: pairs
// of a horizon label and a value.
func byHorizon(pairs ...string) string {
	var samples []string
	for i := 0; i+1 < len(pairs); i += 2 {
		samples = append(samples, `{"metric":{"horizon":"`+pairs[i]+`"},"value":[1772366400,"`+pairs[i+1]+`"]}`)
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

// TestPrometheusAnswers checks what the Prometheus source makes of each
// answer, from a fake Prometheus API.
func TestPrometheusAnswers(t *testing.T) {
	// 1772366400 is t0, 2026-03-01T12:00:00Z; .25 s is exact in binary.
	for _, tc := range []struct {
		name                         string
		desired, replicas, generated string
		want                         Plan
		wantErr                      error
		// reason is the source error Fetch fails with; counted, one the
		// plan's horizons are refused with while the plan for now stands.
		reason, counted string
	}{
		{
			name: "a plan", desired: vector("6"), generated: vector("1772366400.25"),
			want: Plan{Desired: 6, GeneratedAt: t0.Add(250 * time.Millisecond)},
		},
		{
			// Sorted by horizon, whatever the order of the answer; the step
			// is the smallest gap, 1m, and the plan reaches 2m + 1m.
			name: "a plan and its horizons", desired: vector("6"), generated: vector("1772366400"),
			replicas: byHorizon("1m", "7", "0s", "6", "2m", "9"),
			want: Plan{Desired: 6, GeneratedAt: t0, Step: time.Minute, Horizon: 3 * time.Minute,
				Steps: []PlanStep{{0, 6}, {time.Minute, 7}, {2 * time.Minute, 9}}},
		},
		{
			// Thinned horizons: 0s, 5m, 29m. The step is the smallest gap, 5m.
			name: "thinned horizons", desired: vector("6"), generated: vector("1772366400"),
			replicas: byHorizon("0s", "6", "5m", "8", "29m", "4"),
			want: Plan{Desired: 6, GeneratedAt: t0, Step: 5 * time.Minute, Horizon: 34 * time.Minute,
				Steps: []PlanStep{{0, 6}, {5 * time.Minute, 8}, {29 * time.Minute, 4}}},
		},
		{
			// Without horizon 0s the horizons cannot be placed: the plan for
			// now only.
			name: "no horizon 0s", desired: vector("6"), generated: vector("1772366400"),
			replicas: byHorizon("1m", "7", "2m", "9"),
			want:     Plan{Desired: 6, GeneratedAt: t0},
		},
		{
			name: "a horizon that is not a duration", desired: vector("6"), generated: vector("1772366400"),
			replicas: byHorizon("0s", "6", "soon", "7"),
			want:     Plan{Desired: 6, GeneratedAt: t0}, counted: "invalid",
		},
		{
			name: "a NaN count at a horizon", desired: vector("6"), generated: vector("1772366400"),
			replicas: byHorizon("0s", "6", "1m", "NaN"),
			want:     Plan{Desired: 6, GeneratedAt: t0}, counted: "invalid",
		},
		{
			name: "the horizons' query fails", desired: vector("6"), generated: vector("1772366400"),
			replicas: "HTTP 503 too many queries",
			want:     Plan{Desired: 6, GeneratedAt: t0}, counted: "query",
		},
		{name: "zero replicas", desired: vector("0"), generated: vector("1772366400"), want: Plan{Desired: 0, GeneratedAt: t0}},
		{name: "no desired series", desired: emptyVector, generated: vector("1772366400"), wantErr: ErrNotFound},
		{name: "no generated series", desired: vector("6"), generated: emptyVector, wantErr: ErrNotFound},
		{name: "negative desired", desired: vector("-1"), generated: vector("1772366400"), reason: "invalid"},
		{
			// 2^31 = 2147483648 > MaxInt32 = 2^31 − 1.
			name: "desired of 2^31", desired: vector("2147483648"), generated: vector("1772366400"), reason: "invalid",
		},
		{name: "generated 0", desired: vector("6"), generated: vector("0"), reason: "invalid"},
		{
			// 2099-01-01: far past now + MaxClockSkew.
			name: "generated in 2099", desired: vector("6"), generated: vector("4070908800"), reason: "invalid",
		},
		{
			// NaN passes d < 0 || d > 2^31; int(NaN) must not be served.
			name: "desired NaN", desired: vector("NaN"), generated: vector("1772366400"), reason: "invalid",
		},
		{
			// +Inf passes g <= 0, and int64(+Inf) is not a time.
			name: "generated +Inf", desired: vector("6"), generated: vector("+Inf"), reason: "invalid",
		},
		{
			name:    "a scalar, not a vector",
			desired: `{"status":"success","data":{"resultType":"scalar","result":[1772366400,"6"]}}`, generated: vector("1772366400"),
			reason: "bad_body",
		},
		{name: "Prometheus error", desired: "HTTP 503 too many queries", generated: vector("1772366400"), reason: "query"},
	} {
		if tc.replicas == "" {
			tc.replicas = emptyVector
		}
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			metrics := NewMetrics(reg)
			src, err := NewPrometheus(fakePrometheusAPI(t, tc.desired, tc.replicas, tc.generated), &http.Client{}, metrics.SourceErrors)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Fetch(callCtx(t), "checkout")
			errs := testutil.Gather(t, reg).Values(t, "kedastral_scaler_source_errors_total", "reason")
			switch {
			case tc.reason != "":
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("Fetch = %+v, %v; want an error counted as %q", got, err, tc.reason)
				}
				if nonZero(errs) != 1 || errs[tc.reason] != 1 {
					t.Errorf("source errors %v, want %s: 1", errs, tc.reason)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch = %+v, %v; want %v", got, err, tc.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if !samePlan(got, tc.want) {
					t.Errorf("Fetch = %+v, want %+v", got, tc.want)
				}
			}
			switch {
			case tc.counted != "":
				if nonZero(errs) != 1 || errs[tc.counted] != 1 {
					t.Errorf("source errors %v, want %s: 1", errs, tc.counted)
				}
			case tc.reason == "" && nonZero(errs) != 0:
				t.Errorf("source errors %v, want none", errs)
			}
		})
	}
}
