// Command scalebench writes docs/scale.md: one forecaster replica holding
// 1,000, 3,000 and 10,000 workloads at a 30 s interval, in push mode (fed by
// remote write into its embedded storage) and in pull mode (reading a real
// local Prometheus fed the same way), on this machine: CPU seconds per
// workload-tick, tick latency, time to the first round, memory per workload,
// /metrics size and gather time, and remote-write samples per second.
// `make bench-scale` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/HatiCode/kedastral/internal/benchproc"
)

// options are the command line.
type options struct {
	bin      string
	out      string
	sizes    []int
	modes    []string
	interval time.Duration
	window   time.Duration
	measure  time.Duration
	scrape   time.Duration
}

func main() {
	var o options
	var sizes, modes string
	flag.StringVar(&o.bin, "bin", "bin", "directory of the prometheus and forecaster binaries")
	flag.StringVar(&o.out, "out", "docs/scale.md", "file to write")
	flag.StringVar(&sizes, "workloads", "1000,3000,10000", "numbers of workloads, comma-separated")
	flag.StringVar(&modes, "modes", "push,pull", "modes, comma-separated: push, pull")
	flag.DurationVar(&o.interval, "interval", 30*time.Second, "interval of every workload")
	flag.DurationVar(&o.window, "window", 24*time.Hour, "history window of every workload, at one-minute steps")
	flag.DurationVar(&o.measure, "measure", 3*time.Minute, "steady state measured, after the first round")
	flag.DurationVar(&o.scrape, "scrape-interval", 15*time.Second, "time between two samples of the live load")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := o.parse(sizes, modes)
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, o, logger)
		stop()
	}
	if err != nil {
		logger.Error("Scale benchmark failed", "err", err)
		os.Exit(1)
	}
}

// parse reads the lists of the command line and checks the options.
func (o *options) parse(sizes, modes string) error {
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-workloads: %q is not a positive number", s)
		}
		o.sizes = append(o.sizes, n)
	}
	for _, m := range strings.Split(modes, ",") {
		m = strings.TrimSpace(m)
		if m != modePush && m != modePull {
			return fmt.Errorf("-modes: %q is neither %s nor %s", m, modePush, modePull)
		}
		o.modes = append(o.modes, m)
	}
	switch {
	case o.interval <= 0, o.measure < 2*o.interval, o.scrape <= 0:
		return errors.New("-interval and -scrape-interval must be positive, -measure at least two intervals")
	case o.window < time.Hour:
		return errors.New("-window must be at least an hour")
	}
	return nil
}

// run measures every mode and size and writes the report.
func run(ctx context.Context, o options, logger *slog.Logger) error {
	env, err := benchproc.Environment(o.bin)
	if err != nil {
		return err
	}
	rep := report{env: env, opts: o}
	for _, mode := range o.modes {
		for _, n := range o.sizes {
			dir, err := os.MkdirTemp("", "kedastral-scalebench-")
			if err != nil {
				return err
			}
			logger.Info("Measuring", "mode", mode, "workloads", n)
			res, err := measureCase(ctx, o, mode, n, dir, logger)
			_ = os.RemoveAll(dir)
			if err != nil {
				return fmt.Errorf("%s mode, %d workloads: %w", mode, n, err)
			}
			logger.Info("Measured", "mode", mode, "workloads", n, "cpu_ms_per_tick", res.cpuPerTick()*1000,
				"first_round", res.ready.Round(time.Second), "rss_mib", res.end.rss/(1<<20))
			rep.results = append(rep.results, res)
		}
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	if err := rep.write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	logger.Info("Report written", "file", o.out)
	return nil
}
