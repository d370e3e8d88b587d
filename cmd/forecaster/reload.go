package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/engine"
	"github.com/HatiCode/kedastral/remote/in"
	"github.com/HatiCode/kedastral/remote/out"
	"github.com/HatiCode/kedastral/remote/read"
)

// reloader loads the configuration and applies it to the scheduler, at start
// and on every reload. A configuration that does not load changes nothing.
type reloader struct {
	flags   *flags
	sched   *engine.Scheduler
	metrics *engine.Metrics
	logger  *slog.Logger

	success     prometheus.Gauge
	successTime prometheus.Gauge

	// storage and receiver are set in push mode, where every workload
	// reads the embedded storage and the receiver keeps what they select.
	storage  *in.Storage
	receiver *in.Receiver
	// sender remote-writes the forecasts to remote_write endpoints.
	sender *out.Sender

	mu         sync.Mutex
	prometheus config.Prometheus
	client     *read.Client
}

func newReloader(f *flags, sched *engine.Scheduler, metrics *engine.Metrics, logger *slog.Logger, reg prometheus.Registerer, push *pushMode, sender *out.Sender) *reloader {
	r := &reloader{
		flags:   f,
		sender:  sender,
		sched:   sched,
		metrics: metrics,
		logger:  logger,
		success: promauto.With(reg).NewGauge(prometheus.GaugeOpts{
			Name: "kedastral_config_last_reload_successful",
			Help: "Whether the last configuration reload succeeded (1) or not (0).",
		}),
		successTime: promauto.With(reg).NewGauge(prometheus.GaugeOpts{
			Name: "kedastral_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration reload.",
		}),
	}
	if push != nil {
		r.storage, r.receiver = push.storage, push.receiver
	}
	return r
}

// reload loads and applies the configuration.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.apply(); err != nil {
		r.success.Set(0)
		return err
	}
	r.success.Set(1)
	r.successTime.SetToCurrentTime()
	return nil
}

func (r *reloader) apply() error {
	cfg, err := r.flags.config()
	if err != nil {
		return err
	}
	if err := r.sender.Apply(cfg.RemoteWrite, cfg.ExternalLabels); err != nil {
		return fmt.Errorf("apply configuration: %w", err)
	}
	if r.storage != nil {
		return r.applyPush(cfg)
	}
	if cfg.Prometheus.URL == nil {
		return errors.New("no prometheus.url: the forecaster started in pull mode, and only a restart switches it to push mode")
	}
	client := r.client
	if client == nil || !reflect.DeepEqual(cfg.Prometheus, r.prometheus) {
		client, err = read.NewClient(read.ClientOptions{
			URL:     cfg.Prometheus.URL.String(),
			HTTP:    cfg.Prometheus.HTTPClientConfig,
			Timeout: time.Duration(cfg.Prometheus.Timeout),
			Errors:  r.metrics.Errors,
		})
		if err != nil {
			return err
		}
	}
	if err := r.sched.Apply(cfg.Workloads, client); err != nil {
		return fmt.Errorf("apply configuration: %w", err)
	}
	r.client, r.prometheus = client, cfg.Prometheus
	r.warnIntervals(cfg)
	r.logger.Info("Configuration loaded", "file", r.flags.configFile, "workloads", len(cfg.Workloads),
		"shard", fmt.Sprintf("%d/%d", r.flags.shardIndex, r.flags.shardCount), "remote_write", len(cfg.RemoteWrite),
		"mode", "pull", "prometheus", cfg.Prometheus.URL.Redacted())
	return nil
}

// applyPush runs the workloads on the embedded storage and makes the
// receiver keep the series their queries select.
func (r *reloader) applyPush(cfg *config.Config) error {
	queries := cfg.Queries()
	if err := r.sched.Apply(cfg.Workloads, r.storage); err != nil {
		return fmt.Errorf("apply configuration: %w", err)
	}
	if err := r.receiver.SetQueries(queries); err != nil {
		return fmt.Errorf("apply configuration: %w", err)
	}
	r.warnIntervals(cfg)
	r.logger.Info("Configuration loaded", "file", r.flags.configFile, "workloads", len(cfg.Workloads),
		"shard", fmt.Sprintf("%d/%d", r.flags.shardIndex, r.flags.shardCount), "remote_write", len(cfg.RemoteWrite), "mode", "push")
	return nil
}

// warnIntervals warns of workloads whose snapshots go stale between ticks.
func (r *reloader) warnIntervals(cfg *config.Config) {
	for _, w := range cfg.Workloads {
		if time.Duration(w.Interval) >= time.Duration(r.flags.staleAfter) {
			r.logger.Warn("Interval is not shorter than --stale-after: the snapshot will be marked stale between ticks",
				"workload", w.Name, "interval", w.Interval, "stale_after", r.flags.staleAfter)
		}
	}
}
