package in

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
	"github.com/HatiCode/kedastral/remote/read"
)

// realLoad is 50 minutes of two instances of a request counter, every 15 s,
// ending at end: instance a restarts (its counter resets) halfway, instance b
// is silent for 10 minutes; plus a gauge with one NaN sample.
func realLoad(end time.Time) []prompb.TimeSeries {
	a := series1([]string{"__name__", "http_requests_total", "instance", "a", "job", "api"})
	b := series1([]string{"__name__", "http_requests_total", "instance", "b", "job", "api"})
	g := series1([]string{"__name__", "queue_depth", "job", "api"})
	start := end.Add(-50 * time.Minute)
	for i := 0; i <= 200; i++ {
		ts := start.Add(time.Duration(i) * 15 * time.Second).UnixMilli()
		va := float64(i * 7)
		if i >= 100 {
			va = float64((i - 100) * 9) // reset
		}
		a.Samples = append(a.Samples, prompb.Sample{Timestamp: ts, Value: va})
		if i < 80 || i > 120 {
			b.Samples = append(b.Samples, prompb.Sample{Timestamp: ts, Value: float64(i * 3)})
		}
		vg := float64(i%13) * 2.5
		if i == 150 {
			vg = math.NaN()
		}
		g.Samples = append(g.Samples, prompb.Sample{Timestamp: ts, Value: vg})
	}
	return []prompb.TimeSeries{a, b, g}
}

var equivalenceQueries = []string{
	`sum(rate(http_requests_total{job="api"}[5m]))`,
	`sum by (instance) (increase(http_requests_total[2m]))`,
	`http_requests_total{instance="b"}`,
	`max_over_time(queue_depth[3m])`,
	`sum(http_requests_total offset 5m) + 1`,
	`queue_depth * on(job) group_left sum by (job) (rate(http_requests_total[1m]))`,
}

// TestEmbeddedMatchesPrometheus writes the same samples to a real Prometheus
// and to the embedded storage, and reads each query back through pull-mode
// and push-mode sources: the series must be the same, so one workload
// configuration means the same in both modes.
func TestEmbeddedMatchesPrometheus(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	end := time.Now().Truncate(time.Minute)
	load := realLoad(end)
	if code := testutil.PushV1(t, prom.URL+"/api/v1/write", load...); code/100 != 2 {
		t.Fatalf("remote write to %s: status %d", prom.URL, code)
	}

	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc := NewReceiver(st.Appendable(), ReceiverOptions{})
	if err := rc.SetQueries(equivalenceQueries); err != nil {
		t.Fatal(err)
	}
	if rec := send(rc, testutil.WriteRequestV1(t, writeURL, load...)); rec.Code != http.StatusNoContent {
		t.Fatalf("embedded write: %d %s", rec.Code, rec.Body)
	}

	client, err := read.NewClient(read.ClientOptions{URL: prom.URL, HTTP: config.DefaultHTTPClientConfig, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := end.Add(-45 * time.Minute)
	for _, q := range equivalenceQueries {
		t.Run(q, func(t *testing.T) {
			pulled, err := client.Source(q, slog.New(slog.DiscardHandler)).Range(context.Background(), start, end, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			pushed, err := st.Source(q, slog.New(slog.DiscardHandler)).Range(context.Background(), start, end, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if !pulled.Start.Equal(pushed.Start) || len(pulled.Values) != len(pushed.Values) {
				t.Fatalf("pulled %d points from %v, pushed %d from %v", len(pulled.Values), pulled.Start, len(pushed.Values), pushed.Start)
			}
			finite := 0
			for i := range pulled.Values {
				p, e := pulled.Values[i], pushed.Values[i]
				if math.IsNaN(p) != math.IsNaN(e) || (!math.IsNaN(p) && math.Abs(p-e) > 1e-9*math.Max(1, math.Abs(p))) {
					t.Errorf("step %d: Prometheus %v, embedded %v", i, p, e)
				}
				if !math.IsNaN(p) {
					finite++
				}
			}
			if finite < 10 {
				t.Errorf("only %d finite points: the query tests nothing", finite)
			}
		})
	}
}

// TestBackfillFromPrometheus reads a real Prometheus's samples by remote read
// into an empty storage, then again from the newest one: every sample
// arrives once, exactly as Prometheus holds it.
func TestBackfillFromPrometheus(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	end := time.Now().Truncate(time.Minute)
	load := realLoad(end)
	if code := testutil.PushV1(t, prom.URL+"/api/v1/write", load...); code/100 != 2 {
		t.Fatalf("remote write to %s: status %d", prom.URL, code)
	}

	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client, err := read.NewReadClient(prom.URL, config.DefaultHTTPClientConfig, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The api counters only: the gauge is not selected.
	sels, err := Selectors([]string{`sum(rate(http_requests_total{job="api"}[5m]))`})
	if err != nil {
		t.Fatal(err)
	}
	// Up to 20 minutes before the end: a backfill in pieces, then the rest.
	middle := end.Add(-20 * time.Minute)
	appended, _, err := read.Backfill(context.Background(), client, st.Appendable(), sels, end.Add(-3*time.Hour), middle, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	newest, ok := st.MaxTime()
	if !ok || !newest.Before(middle) {
		t.Fatalf("newest stored sample at %v (%v), want before %v", newest, ok, middle)
	}
	more, _, err := read.Backfill(context.Background(), client, st.Appendable(), sels, newest.Add(time.Millisecond), end.Add(time.Millisecond), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Instance a: 201 samples; b: 201 − 41 silent = 160.
	if appended+more != 201+160 {
		t.Errorf("appended %d + %d samples, want 201 + 160 = 361", appended, more)
	}
	got := stored(t, st, anyName)
	for _, ts := range load[:2] {
		var want []float64
		for _, s := range ts.Samples {
			want = append(want, s.Value)
		}
		key := `{__name__="http_requests_total", instance="` + ts.Labels[1].Value + `", job="api"}`
		if !equalFloats(got[key], want) {
			t.Errorf("%s: stored %d samples, want the %d Prometheus holds", key, len(got[key]), len(want))
		}
	}
	if len(got) != 2 {
		t.Errorf("stored %d series, want the 2 selected", len(got))
	}
}
