package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/HatiCode/kedastral/internal/benchproc"
)

// The modes measured.
const (
	modePush = "push"
	modePull = "pull"
)

// settleLimit bounds the wait for the fits of the first round; past it the
// steady state is measured with fits still running, and said so.
const settleLimit = 20 * time.Minute

// stats are the figures read from the forecaster's /metrics at one time.
type stats struct {
	at             time.Time
	cpu, rss, heap float64
	// ticks and failed count kedastral_tick_seconds by result; buckets
	// are the cumulative counts of the successful ones.
	ticks, failed float64
	buckets       []bucket
	sent          float64
	fits          float64
	deferred      float64
	maxAge        float64
	// promCPU is Prometheus's CPU time, in pull mode.
	promCPU float64
}

// bucket is one cumulative bucket of a histogram.
type bucket struct {
	le    float64
	count float64
}

// result is the measurement of one mode and size.
type result struct {
	mode string
	n    int
	// load is the time the history took to load.
	load time.Duration
	// ready is the time from start to /-/ready: every workload published.
	ready time.Duration
	// settled is the time from start until no fit was deferred for an
	// interval: every workload fitted.
	settled    time.Duration
	start, end stats
	// /metrics at the end: bytes, series and the time to get it.
	metricsBytes  int
	metricsSeries int
	metricsWall   time.Duration
}

// measureCase loads the history, starts the forecaster on n workloads,
// waits for its first round, and measures its steady state.
func measureCase(ctx context.Context, o options, mode string, n int, dir string, logger *slog.Logger) (result, error) {
	res := result{mode: mode, n: n}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sink.Close()
	target, prom, err := loadHistory(ctx, o, mode, n, dir, &res, logger)
	if err != nil {
		return res, err
	}
	if prom != nil {
		defer prom.Stop()
	}
	cfg := filepath.Join(dir, "forecaster.yml")
	if err := os.WriteFile(cfg, []byte(config(o, n, prom, sink.URL)), 0o600); err != nil {
		return res, err
	}
	began := time.Now()
	fc, err := benchproc.Start(ctx, "forecaster", filepath.Join(o.bin, "forecaster"), dir, "--web.listen-address", "/-/healthy",
		[]string{"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "forecaster-data")})
	if err != nil {
		return res, err
	}
	defer fc.Stop()
	if target == "" {
		target = fc.URL // push mode: the load goes to the forecaster itself
	}
	feed, err := newFeeder(target+"/api/v1/write", n)
	if err != nil {
		return res, err
	}
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	liveErr := make(chan error, 1)
	go func() { liveErr <- feed.live(liveCtx, o.scrape) }()
	if err := fc.WaitReady(ctx, "/-/ready"); err != nil {
		return res, fmt.Errorf("first round: %w\n%s", err, fc.LogTail())
	}
	res.ready = time.Since(began)
	logger.Info("Every workload published", "after", res.ready.Round(time.Second))
	if res.settled, err = settle(ctx, fc, o.interval, began); err != nil {
		return res, err
	}
	logger.Info("Every workload fitted", "after", res.settled.Round(time.Second))
	time.Sleep(o.interval)
	if res.start, err = read(ctx, fc, prom); err != nil {
		return res, err
	}
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case err := <-liveErr:
		return res, fmt.Errorf("live load: %w", err)
	case <-time.After(o.measure):
	}
	if res.end, err = read(ctx, fc, prom); err != nil {
		return res, err
	}
	res.metricsBytes, res.metricsSeries, res.metricsWall, err = getMetrics(ctx, fc.URL)
	return res, err
}

// loadHistory starts the server that receives the load (the forecaster in
// push mode, stopped again once loaded; Prometheus in pull mode, left
// running) and remote-writes the window of history of every workload
// into it. It returns the URL the live load goes to.
func loadHistory(ctx context.Context, o options, mode string, n int, dir string, res *result, logger *slog.Logger) (string, *benchproc.Server, error) {
	var srv *benchproc.Server
	var err error
	if mode == modePush {
		// One workload selects every series, and ticks once an hour: none
		// runs while the history loads.
		srv, err = benchproc.Start(ctx, "forecaster (loading)", filepath.Join(o.bin, "forecaster"), dir, "--web.listen-address", "/-/healthy",
			[]string{"--storage.path=" + filepath.Join(dir, "forecaster-data"), "--workload=loader", "--query=sum(" + metric + ")", "--interval=1h"})
	} else {
		promCfg := filepath.Join(dir, "prometheus.yml")
		if err := os.WriteFile(promCfg, []byte("global:\n  scrape_interval: 15s\n"), 0o600); err != nil {
			return "", nil, err
		}
		srv, err = benchproc.Start(ctx, "Prometheus", filepath.Join(o.bin, "prometheus"), dir, "--web.listen-address", "/-/ready",
			[]string{"--config.file=" + promCfg, "--storage.tsdb.path=" + filepath.Join(dir, "prometheus-data"), "--web.enable-remote-write-receiver"})
	}
	if err != nil {
		return "", nil, err
	}
	feed, err := newFeeder(srv.URL+"/api/v1/write", n)
	if err != nil {
		srv.Stop()
		return "", nil, err
	}
	to := time.Now().Truncate(historyStep)
	began := time.Now()
	if err := feed.history(ctx, to.Add(-o.window), to); err != nil {
		srv.Stop()
		return "", nil, fmt.Errorf("load the history: %w\n%s", err, srv.LogTail())
	}
	res.load = time.Since(began)
	logger.Info("History loaded", "samples", n*int(o.window/historyStep+1), "in", res.load.Round(time.Second))
	if mode == modePush {
		srv.Stop()
		// The measured forecaster listens elsewhere; the live load goes
		// to it, at an address known once it runs.
		return "", nil, nil
	}
	return srv.URL, srv, nil
}

// config is the forecaster's configuration file: n workloads, each reading
// its own series, at the interval and window of o, remote-writing to sink.
func config(o options, n int, prom *benchproc.Server, sink string) string {
	var b strings.Builder
	if prom != nil {
		fmt.Fprintf(&b, "prometheus:\n  url: %s\n", prom.URL)
	}
	fmt.Fprintf(&b, "remote_write:\n  - url: %s/api/v1/write\n    name: sink\n", sink)
	b.WriteString("workloads:\n")
	for i := range n {
		if i == 0 {
			fmt.Fprintf(&b, "  - &w\n    name: %s\n    query: %s{workload=%q}\n    interval: %s\n    window: %s\n"+
				"    step: 1m\n    horizon: 30m\n    model: auto\n    capacity:\n      target_per_pod: 50\n      lead_time: 3m\n",
				workloadName(i), metric, workloadName(i), o.interval, o.window)
			continue
		}
		fmt.Fprintf(&b, "  - <<: *w\n    name: %s\n    query: %s{workload=%q}\n", workloadName(i), metric, workloadName(i))
	}
	return b.String()
}

// settle waits until no fit has been deferred for an interval, and returns
// the time since began; 0 when fits were still deferred at settleLimit.
func settle(ctx context.Context, fc *benchproc.Server, interval time.Duration, began time.Time) (time.Duration, error) {
	last := -1.0
	for time.Since(began) < settleLimit {
		st, err := read(ctx, fc, nil)
		if err != nil {
			return 0, err
		}
		if st.deferred == last {
			return time.Since(began) - interval, nil
		}
		last = st.deferred
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(interval):
		}
	}
	return 0, nil
}

// read scrapes the forecaster (and Prometheus, when given).
func read(ctx context.Context, fc, prom *benchproc.Server) (stats, error) {
	st := stats{at: time.Now()}
	families, err := fc.Scrape(ctx)
	if err != nil {
		return st, err
	}
	for name, dst := range map[string]*float64{
		"process_cpu_seconds_total":           &st.cpu,
		"process_resident_memory_bytes":       &st.rss,
		"go_memstats_heap_inuse_bytes":        &st.heap,
		"kedastral_model_fits_total":          &st.fits,
		"kedastral_model_fits_deferred_total": &st.deferred,
	} {
		if *dst, err = benchproc.Value(families[name]); err != nil {
			return st, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, m := range families["kedastral_remote_write_samples_sent_total"].GetMetric() {
		st.sent += m.GetCounter().GetValue()
	}
	for _, m := range families["kedastral_forecast_age_seconds"].GetMetric() {
		st.maxAge = math.Max(st.maxAge, m.GetGauge().GetValue())
	}
	for _, m := range families["kedastral_tick_seconds"].GetMetric() {
		h := m.GetHistogram()
		if label(m, "result") != "success" {
			st.failed += float64(h.GetSampleCount())
			continue
		}
		st.ticks += float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			st.buckets = append(st.buckets, bucket{le: b.GetUpperBound(), count: float64(b.GetCumulativeCount())})
		}
		st.buckets = append(st.buckets, bucket{le: math.Inf(1), count: float64(h.GetSampleCount())})
	}
	if prom != nil {
		pf, err := prom.Scrape(ctx)
		if err != nil {
			return st, err
		}
		if st.promCPU, err = benchproc.Value(pf["process_cpu_seconds_total"]); err != nil {
			return st, err
		}
	}
	return st, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// getMetrics gets /metrics as Prometheus scrapes it (text format) and
// returns its size, its series and the time it took.
func getMetrics(ctx context.Context, url string) (int, int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", http.NoBody)
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	wall := time.Since(began)
	if err != nil {
		return 0, 0, 0, err
	}
	series := 0
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			series++
		}
	}
	return len(body), series, wall, nil
}
