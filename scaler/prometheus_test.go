package scaler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/remote"
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
	cfg := forecast.DefaultRemoteWriteConfig()
	cfg.URL = &config.URL{URL: u}
	cfg.QueueConfig.BatchSendDeadline = model.Duration(10 * time.Millisecond)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := remote.NewSender(remote.SenderOptions{Registerer: reg, FlushTimeout: waitTimeout})
	if err := s.Apply([]forecast.RemoteWriteConfig{cfg}, map[string]string{"replica": replica}); err != nil {
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
	sent := counterValues(t, reg, "kedastral_remote_write_samples_sent_total", "url")[cfg.URL.Redacted()]
	failed := counterValues(t, reg, "kedastral_remote_write_samples_failed_total", "url")[cfg.URL.Redacted()]
	dropped := counterValues(t, reg, "kedastral_remote_write_samples_dropped_total", "url")[cfg.URL.Redacted()]
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
			// there is 6. a's 9, though larger, is not taken: not max().
			name: "the freshest replica wins", workload: "checkout",
			want: Plan{Desired: 6, GeneratedAt: now.Add(-15 * time.Second)},
		},
		{
			name: "a single replica", workload: "search",
			want: Plan{Desired: 3, GeneratedAt: now.Add(-2 * time.Minute)},
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
			if got.Desired != tc.want.Desired || !got.GeneratedAt.Equal(tc.want.GeneratedAt) {
				t.Errorf("Fetch = %d at %s, want %d at %s", got.Desired, got.GeneratedAt.UTC(), tc.want.Desired, tc.want.GeneratedAt.UTC())
			}
		})
	}
	if errs := counterValues(t, reg, "kedastral_scaler_source_errors_total", "reason"); len(errs) != 0 {
		t.Errorf("source errors %v, want none", errs)
	}

	t.Run("served over gRPC", func(t *testing.T) {
		h := startScalerWith(t, src, reg, metrics, harnessOptions{})
		h.clock.Set(now) // b's plan is 15 s old: fresh
		waitLoaded(t, h.cache, "checkout")
		if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
			t.Errorf("GetMetrics = %d, want 6", got)
		}
		// staleAfter=10s: 15 s > 10 s.
		if got := h.getMetrics(t, workloadMD("checkout", KeyStaleAfter, "10s")); got != 2 {
			t.Errorf("GetMetrics with staleAfter=10s = %d, want 2", got)
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
	if got := testutil.ToFloat64(metrics.SourceErrors.WithLabelValues("prometheus", "query")); got != 1 {
		t.Errorf("source errors{prometheus,query} = %v, want 1", got)
	}
}

// fakePrometheusAPI answers instant queries: desired for the query of the
// desired replicas, generated for that of the forecast's time, each a
// whole /api/v1/query answer.
func fakePrometheusAPI(t *testing.T, desired, generated string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path != "/api/v1/query" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body := generated
		if strings.Contains(r.Form.Get("query"), "kedastral_forecast_desired_replicas") {
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

// TestPrometheusAnswers checks what the Prometheus source makes of each
// answer, from a fake Prometheus API.
func TestPrometheusAnswers(t *testing.T) {
	// 1772366400 is t0, 2026-03-01T12:00:00Z; .25 s is exact in binary.
	for _, tc := range []struct {
		name               string
		desired, generated string
		want               Plan
		wantErr            error
		reason             string
	}{
		{
			name: "a plan", desired: vector("6"), generated: vector("1772366400.25"),
			want: Plan{Desired: 6, GeneratedAt: t0.Add(250 * time.Millisecond)},
		},
		{name: "zero replicas", desired: vector("0"), generated: vector("1772366400"), want: Plan{Desired: 0, GeneratedAt: t0}},
		{name: "no desired series", desired: emptyVector, generated: vector("1772366400"), wantErr: ErrNotFound},
		{name: "no generated series", desired: vector("6"), generated: emptyVector, wantErr: ErrNotFound},
		{name: "negative desired", desired: vector("-1"), generated: vector("1772366400"), reason: "invalid"},
		{
			// 2^31 + 1 = 2147483649 > 2^31.
			name: "desired over 2^31", desired: vector("2147483649"), generated: vector("1772366400"), reason: "invalid",
		},
		{name: "generated 0", desired: vector("6"), generated: vector("0"), reason: "invalid"},
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
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			metrics := NewMetrics(reg)
			src, err := NewPrometheus(fakePrometheusAPI(t, tc.desired, tc.generated), &http.Client{}, metrics.SourceErrors)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Fetch(callCtx(t), "checkout")
			errs := counterValues(t, reg, "kedastral_scaler_source_errors_total", "reason")
			switch {
			case tc.reason != "":
				if err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("Fetch = %+v, %v; want an error counted as %q", got, err, tc.reason)
				}
				if len(errs) != 1 || errs[tc.reason] != 1 {
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
				if got.Desired != tc.want.Desired || !got.GeneratedAt.Equal(tc.want.GeneratedAt) {
					t.Errorf("Fetch = %d at %s, want %d at %s", got.Desired, got.GeneratedAt.UTC(), tc.want.Desired, tc.want.GeneratedAt.UTC())
				}
			}
			if tc.reason == "" && len(errs) != 0 {
				t.Errorf("source errors %v, want none", errs)
			}
		})
	}
}
