package main

import (
	"context"
	"errors"
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
	// forecastInterval is the time between two forecasts.
	forecastInterval = 30 * time.Second
	// targetPerPod is the load of one pod: the trace's hourly means (18 to
	// 77 requests a minute) × headroom 1.2 / 6 plan 4 to 16 pods, its bursts
	// (119 a minute at the 99th percentile of 5-minute means) 24.
	targetPerPod = 6
	// storageDir is the forecaster's embedded TSDB, in the data directory.
	storageDir = "forecaster"
)

// forecasterArgs returns the forecaster's command line: push mode, the
// default without --prometheus.url, with its storage at storagePath.
func forecasterArgs(storagePath, listenAddr string) []string {
	return []string{
		"--storage.path=" + storagePath,
		"--workload=" + workload,
		"--metric=http_requests_per_minute",
		"--query=" + query,
		"--window=2d",
		"--step=" + step.String(),
		"--horizon=" + horizon.String(),
		"--interval=" + forecastInterval.String(),
		"--target-per-pod=" + strconv.Itoa(targetPerPod),
		"--min-replicas=2",
		"--max-replicas=30",
		"--web.listen-address=" + listenAddr,
	}
}

// demo runs until ctx is done (or, with --check, until a forecast passes the
// check) and stops everything it started.
func demo(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger) error {
	bin, r, err := prepare(o)
	if err != nil {
		return err
	}
	dir, cleanup, err := dataDir(o.dataDir)
	if err != nil {
		return err
	}
	defer cleanup()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sup := newSupervisor(dir)
	defer func() {
		logger.Info("Stopping the forecaster")
		sup.stop()
	}()
	// failed receives the error of the forecaster if it ends, and of the
	// stream of samples if the receiver refuses it.
	failed := make(chan error, 2)
	go forwardExit(ctx, sup, failed)

	fcURL := "http://" + o.fcAddr
	storage := filepath.Join(dir, storageDir)
	logger.Info("Starting the forecaster in push mode", "storage", storage, "url", fcURL)
	if _, err := sup.start("forecaster", bin, forecasterArgs(storage, o.fcAddr)); err != nil {
		return err
	}
	deadline := time.Now().Add(o.timeout)
	if err := waitReady(ctx, fcURL+"/-/healthy", failed, deadline); err != nil {
		return fmt.Errorf("wait for the forecaster to start: %w", err)
	}
	w, err := newWriter(fcURL+writePath, defaultRetry(), logger)
	if err != nil {
		return err
	}
	p := newPusher(w, demoSeries(r), time.Now(), time.Duration(o.history))
	if err := backfill(ctx, p, time.Duration(o.history), stdout, logger); err != nil {
		select {
		case exit := <-failed: // the forecaster ended: say so rather than how the writes failed
			return exit
		default:
			return err
		}
	}
	stopStream := startStream(ctx, p, failed, logger)
	defer stopStream()
	printSummary(stdout, o, r, fcURL, dir)
	fmt.Fprintf(stdout, "Waiting for the forecaster's first forecast on this history (it forecasts every %s)...\n", forecastInterval)
	if err := waitReady(ctx, fcURL+"/-/ready", failed, deadline); err != nil {
		return fmt.Errorf("wait for the forecaster's first forecast: %w", err)
	}
	if o.check {
		return check(ctx, stdout, r, fcURL, failed, deadline)
	}
	return watch(ctx, stdout, fcURL, r, failed)
}

// forwardExit sends to failed the error of the first child of sup to end,
// until ctx ends.
func forwardExit(ctx context.Context, sup *supervisor, failed chan<- error) {
	select {
	case c := <-sup.died:
		failed <- c.error()
	case <-ctx.Done():
	}
}

// prepare checks what the demo needs before it starts anything: a free
// address, the forecaster, the trace; it returns the forecaster's path and
// the replay.
func prepare(o options) (string, *replay, error) {
	if err := checkFree("forecaster.listen-address", o.fcAddr); err != nil {
		return "", nil, err
	}
	bin := filepath.Join(o.binDir, "forecaster")
	if _, err := os.Stat(bin); err != nil {
		return "", nil, fmt.Errorf("%s is missing (run `make demo`, which builds it, or give --bin-dir): %w", bin, err)
	}
	points, err := trace.ReadFile(o.tracePath)
	if err != nil {
		return "", nil, err
	}
	r, err := newReplay(points, time.Duration(o.history), time.Now())
	if err != nil {
		return "", nil, err
	}
	return bin, r, nil
}

// dataDir returns the data directory and the function that removes it when
// the demo made it: dir, or a new temporary one when dir is empty. It
// refuses a directory whose storage holds an earlier run's samples, which
// the backfill would go back before.
func dataDir(dir string) (string, func(), error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "kedastral-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("make the data directory: %w", err)
		}
		return tmp, func() { _ = os.RemoveAll(tmp) }, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, fmt.Errorf("make the data directory: %w", err)
	}
	storage := filepath.Join(dir, storageDir)
	entries, err := os.ReadDir(storage)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", nil, fmt.Errorf("read the storage directory: %w", err)
	case len(entries) > 0:
		return "", nil, fmt.Errorf("%s holds an earlier run's samples: give --data-dir a new or empty directory, "+
			"since the backfill would go back before them", storage)
	}
	return dir, func() {}, nil
}
