// Command ingestbench writes docs/ingest-benchmark.md: it measures the
// forecaster's remote-write receiver side by side with a real Prometheus
// receiving the same payloads on the same machine in the same run, for
// series a workload selects (kept, stored) and series none does (dropped
// by the forecaster, stored by Prometheus): samples per second, samples per
// CPU-second and memory per stored series, and the ratios forecaster /
// Prometheus. `make bench-ingest` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/HatiCode/kedastral/internal/benchproc"
)

// maxSpan is how far sample time may run within a phase: Prometheus refuses
// a sample more than an hour older than the newest of its head, and the
// dropped case starts again at the first round's time.
const maxSpan = time.Hour

// options are the command line.
type options struct {
	bin      string
	out      string
	series   int
	rounds   int
	repeats  int
	shards   int
	batch    int
	interval time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory of the prometheus and forecaster binaries")
	flag.StringVar(&o.out, "out", "docs/ingest-benchmark.md", "file to write")
	flag.IntVar(&o.series, "series", 10000, "series of each case")
	flag.IntVar(&o.rounds, "rounds", 240, "samples of each series in each case")
	flag.IntVar(&o.repeats, "repeats", 4, "phases of each case per server, alternating servers; the rounds are split among them")
	flag.IntVar(&o.shards, "shards", 4, "concurrent senders, each sending its series in order, like Prometheus's shards")
	flag.IntVar(&o.batch, "batch", 2000, "samples per request")
	flag.DurationVar(&o.interval, "interval", 15*time.Second, "time between two samples of a series")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, logger)
	stop()
	if err != nil {
		logger.Error("Ingest benchmark failed", "err", err)
		os.Exit(1)
	}
}

// check refuses options that cannot give a fair run.
func (o options) check() error {
	switch {
	case o.series <= 0, o.rounds <= 0, o.shards <= 0, o.batch <= 0, o.interval <= 0:
		return errors.New("series, rounds, shards, batch and interval must be positive")
	case o.repeats <= 0 || o.repeats > o.rounds:
		return fmt.Errorf("repeats must be between 1 and rounds (%d)", o.rounds)
	case time.Duration(o.rounds-1)*o.interval > maxSpan:
		return fmt.Errorf("rounds × interval spans %s, more than the %s Prometheus accepts behind its newest sample",
			time.Duration(o.rounds-1)*o.interval, maxSpan)
	}
	return nil
}

func run(ctx context.Context, o options, logger *slog.Logger) error {
	if err := o.check(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		return fmt.Errorf("make a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	servers, err := startServers(ctx, o.bin, dir)
	for _, s := range servers {
		defer s.Stop()
	}
	if err != nil {
		return err
	}
	sh := shape{
		series:   o.series,
		shards:   o.shards,
		batch:    o.batch,
		interval: o.interval,
		// About an hour ago: every sample is in the past, and within the
		// hour both receivers accept behind their newest sample.
		start: time.Now().Add(-time.Duration(o.rounds)*o.interval - time.Minute).Truncate(time.Second),
	}
	m, err := measure(ctx, o, sh, servers, logger)
	if err != nil {
		return err
	}
	env, err := benchproc.Environment(o.bin)
	if err != nil {
		return err
	}
	rep := report{opts: o, env: env, m: m}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return fmt.Errorf("make the directory of %s: %w", o.out, err)
	}
	f, err := os.Create(o.out)
	if err != nil {
		return fmt.Errorf("create %s: %w", o.out, err)
	}
	if err := rep.writeMarkdown(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	logger.Info("Report written", "file", o.out)
	return rep.writeTables(os.Stdout)
}

// startServers starts a Prometheus and the forecaster, both receiving remote
// write, and returns those that started, Prometheus first.
func startServers(ctx context.Context, bin, dir string) ([]*server, error) {
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  scrape_interval: 15s\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write the prometheus configuration: %w", err)
	}
	prom, err := startServer(ctx, "Prometheus", filepath.Join(bin, "prometheus"), dir, "--web.listen-address", "/-/ready", []string{
		"--config.file=" + config,
		"--storage.tsdb.path=" + filepath.Join(dir, "prometheus-data"),
		"--web.enable-remote-write-receiver",
	})
	if err != nil {
		return nil, err
	}
	// The forecaster is healthy, not ready, until a first forecast, which
	// needs data. Its workload forecasts once an hour: a tick would run
	// the query over every series during the phases.
	fc, err := startServer(ctx, "forecaster", filepath.Join(bin, "forecaster"), dir, "--web.listen-address", "/-/healthy", []string{
		"--storage.path=" + filepath.Join(dir, "forecaster-data"),
		"--workload=bench",
		"--query=" + keptQuery,
		"--interval=1h",
	})
	if err != nil {
		return []*server{prom}, err
	}
	return []*server{prom, fc}, nil
}

// newSenderClient returns the HTTP client of the senders: one kept-alive
// connection per shard.
func newSenderClient(shards int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        shards,
			MaxIdleConnsPerHost: shards,
			DisableCompression:  true,
		},
	}
}
