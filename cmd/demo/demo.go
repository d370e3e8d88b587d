package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/trace"
)

// What the demo forecasts.
const (
	metricName = "nasa_http_requests"
	job        = "nasa"
	workload   = "nasa-http"
	query      = "sum(rate(nasa_http_requests_total[5m])) * 60"
)

// demo runs until ctx is done (or, with --check, until the first forecast is
// checked) and stops everything it started.
func demo(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	if err := checkFree(map[string]string{
		"prometheus.listen-address": o.promAddr, "forecaster.listen-address": o.fcAddr, "target.listen-address": o.targetAddr,
	}); err != nil {
		return err
	}
	bins := map[string]string{}
	for _, name := range []string{"prometheus", "promtool", "forecaster"} {
		bins[name] = filepath.Join(o.binDir, name)
		if _, err := os.Stat(bins[name]); err != nil {
			return fmt.Errorf("%s is missing: run `make demo`, which builds it", bins[name])
		}
	}
	points, err := trace.ReadFile(o.tracePath)
	if err != nil {
		return err
	}
	r, err := newReplay(points, time.Duration(o.history), time.Now())
	if err != nil {
		return err
	}
	dir := o.dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kedastral-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}

	logger.Info("Backfilling Prometheus with the trace's history", "points", len(r.history()), "history", o.history, "dir", dir)
	if err := backfill(ctx, r, bins["promtool"], dir, o.targetAddr); err != nil {
		return err
	}
	stopTarget, err := serveTarget(r, o.targetAddr)
	if err != nil {
		return err
	}
	defer stopTarget()

	prom, err := startChild("prometheus", bins["prometheus"], []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=30d",
		"--web.listen-address=" + o.promAddr,
	}, dir)
	if err != nil {
		return err
	}
	defer prom.stop()
	promURL := "http://" + o.promAddr
	if err := waitReady(ctx, promURL+"/-/ready", prom, 2*time.Minute); err != nil {
		return err
	}

	logger.Info("Starting the forecaster; its first forecast reads two days of history")
	fc, err := startChild("forecaster", bins["forecaster"], []string{
		"--prometheus.url=" + promURL,
		"--workload=" + workload,
		"--metric=http_requests_per_minute",
		"--query=" + query,
		"--window=2d", "--step=1m", "--horizon=30m", "--interval=30s",
		"--target-per-pod=8", "--min-replicas=1", "--max-replicas=60",
		"--web.listen-address=" + o.fcAddr,
	}, dir)
	if err != nil {
		return err
	}
	defer fc.stop()
	fcURL := "http://" + o.fcAddr
	if err := waitReady(ctx, fcURL+"/-/ready", fc, o.timeout); err != nil {
		return err
	}
	printSummary(stdout, o, r, promURL, fcURL, dir)
	if o.check {
		return checkForecast(fcURL, r)
	}
	return watch(ctx, stdout, fcURL, r, prom, fc)
}

// backfill writes the trace's history as OpenMetrics, with the labels the
// live scrape will give, and turns it into TSDB blocks with promtool.
func backfill(ctx context.Context, r *replay, promtool, dir, targetAddr string) error {
	om := filepath.Join(dir, "history.om")
	f, err := os.Create(om)
	if err != nil {
		return err
	}
	labels := map[string]string{"job": job, "instance": targetAddr}
	if err := trace.WriteOpenMetricsCounter(f, metricName, labels, r.history(), r.shift); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", om, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
		om, filepath.Join(dir, "data")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool tsdb create-blocks-from openmetrics: %w\n%s", err, out)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 15s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, job, targetAddr)
	return os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600)
}

// serveTarget serves the live replay at addr/metrics, as the application
// Prometheus scrapes; the returned function stops it.
func serveTarget(r *replay, addr string) (func(), error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.collector(metricName, "HTTP requests served, replayed from the NASA-HTTP trace.", time.Now))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }, nil
}

// waitReady polls url until it answers 200, c exits, ctx ends or timeout passes.
func waitReady(ctx context.Context, url string, c *child, timeout time.Duration) error {
	deadline := time.After(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.exited:
			return c.died()
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%s not ready after %s; last lines of %s:\n%s", c.name, timeout, c.log, c.tail(10))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// snapshot fetches the workload's snapshot.
func snapshot(fcURL string) (forecast.Snapshot, error) {
	var s forecast.Snapshot
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fcURL + "/forecast/current?workload=" + url.QueryEscape(workload))
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("/forecast/current answered %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// checkForecast checks the first forecast against the trace: 30 values, and
// an observed load near the trace's own at that time (within a factor of 3,
// for the 5-minute rate and the scrape timing).
func checkForecast(fcURL string, r *replay) error {
	s, err := snapshot(fcURL)
	if err != nil {
		return err
	}
	want := r.perMinute(s.ObservedAt, 5*time.Minute)
	switch {
	case len(s.Values) != 30 || len(s.DesiredReplicas) != 30:
		return fmt.Errorf("snapshot has %d values and %d replicas, want 30 and 30", len(s.Values), len(s.DesiredReplicas))
	case !(s.ObservedValue > want/3 && s.ObservedValue < want*3):
		return fmt.Errorf("observed load %.1f/min, but the trace has %.1f/min then", s.ObservedValue, want)
	case s.DesiredReplicas[0] < 1:
		return errors.New("no replica planned")
	}
	return nil
}
