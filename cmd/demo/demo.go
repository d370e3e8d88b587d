package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/HatiCode/kedastral/internal/trace"
)

// What the demo forecasts, and how.
const (
	metricName = "nasa_http_requests"
	targetJob  = "nasa"
	workload   = "nasa-http"
	// query is the load in requests per minute.
	query = "sum(rate(nasa_http_requests_total[5m])) * 60"
	// horizon and step of the forecast: horizon/step values.
	horizon = 30 * time.Minute
	step    = time.Minute
	// targetPerPod is the load of one pod: the trace's hourly means (18 to
	// 77 requests a minute) × headroom 1.2 / 6 plan 4 to 16 pods, its bursts
	// (119 a minute at the 99th percentile of 5-minute means) 24.
	targetPerPod = 6
)

// forecasterArgs returns the forecaster's command line.
func forecasterArgs(promURL, listenAddr string) []string {
	return []string{
		"--prometheus.url=" + promURL,
		"--workload=" + workload,
		"--metric=http_requests_per_minute",
		"--query=" + query,
		"--window=2d",
		"--step=" + step.String(),
		"--horizon=" + horizon.String(),
		"--interval=30s",
		"--target-per-pod=" + strconv.Itoa(targetPerPod),
		"--min-replicas=2",
		"--max-replicas=30",
		"--web.listen-address=" + listenAddr,
	}
}

// demo runs until ctx is done (or, with --check, until a forecast passes the
// check) and stops everything it started.
func demo(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	bins, r, err := prepare(o)
	if err != nil {
		return err
	}
	dir := o.dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "kedastral-demo-"); err != nil {
			return fmt.Errorf("make the data directory: %w", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("make the data directory: %w", err)
	}

	logger.Info("Backfilling Prometheus", "history", o.history, "samples", len(r.history()), "dir", dir)
	p := newPrometheus(o, dir)
	if err := p.backfill(ctx, bins["promtool"], r); err != nil {
		return err
	}
	stopTarget, err := serveTarget(r, o.targetAddr)
	if err != nil {
		return err
	}
	defer stopTarget()

	sup := newSupervisor(dir)
	defer func() {
		logger.Info("Stopping the forecaster and Prometheus")
		sup.stop()
	}()
	if _, err := sup.start("prometheus", bins["prometheus"], p.args()); err != nil {
		return err
	}
	deadline := time.Now().Add(o.timeout)
	if err := waitReady(ctx, p.url+"/-/ready", sup, deadline); err != nil {
		return fmt.Errorf("wait for prometheus: %w", err)
	}
	if err := p.checkBackfill(ctx, len(r.history())); err != nil {
		return err
	}

	logger.Info("Starting the forecaster")
	fcURL := "http://" + o.fcAddr
	if _, err := sup.start("forecaster", bins["forecaster"], forecasterArgs(p.url, o.fcAddr)); err != nil {
		return err
	}
	if err := waitReady(ctx, fcURL+"/-/ready", sup, deadline); err != nil {
		return fmt.Errorf("wait for the forecaster's first forecast: %w", err)
	}
	if o.check {
		s, err := waitForecast(ctx, fcURL, r, sup, deadline)
		if err != nil {
			return err
		}
		printSummary(stdout, o, r, p.url, fcURL, dir)
		fmt.Fprintf(stdout, "Check passed: load %.1f requests/min (trace %.1f), forecast %.1f now and %.1f at the horizon, %d replicas now.\n",
			s.ObservedValue, r.perMinute(s.ObservedAt, 5*time.Minute), s.Values[0], s.Values[len(s.Values)-1], s.DesiredReplicas[0])
		return nil
	}
	printSummary(stdout, o, r, p.url, fcURL, dir)
	return watch(ctx, stdout, fcURL, r, sup)
}

// prepare checks what the demo needs before it starts anything: free
// addresses, the binaries, the trace; it returns the binaries and the replay.
func prepare(o options) (map[string]string, *replay, error) {
	if err := checkFree(o.listenFlags()); err != nil {
		return nil, nil, err
	}
	bins, err := findBinaries(o.binDir)
	if err != nil {
		return nil, nil, err
	}
	points, err := trace.ReadFile(o.tracePath)
	if err != nil {
		return nil, nil, err
	}
	r, err := newReplay(points, time.Duration(o.history), time.Now())
	if err != nil {
		return nil, nil, err
	}
	return bins, r, nil
}

// findBinaries returns the paths of prometheus, promtool and forecaster in dir.
func findBinaries(dir string) (map[string]string, error) {
	bins := map[string]string{}
	for _, name := range []string{"forecaster", "prometheus", "promtool"} {
		bins[name] = filepath.Join(dir, name)
		if _, err := os.Stat(bins[name]); err != nil {
			return nil, fmt.Errorf("%s is missing (run `make demo`, which builds it, or give --bin-dir): %w", bins[name], err)
		}
	}
	return bins, nil
}
