package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/engine"
	"github.com/HatiCode/kedastral/remote/in"
	"github.com/HatiCode/kedastral/remote/read"
)

// backfillMargin is read before the longest window, for the range functions
// (rate over a few minutes, an hour at most in practice) of its first steps.
const backfillMargin = time.Hour

// pushMode is the embedded storage and the remote-write receiver that fills it.
type pushMode struct {
	storage  *in.Storage
	receiver *in.Receiver
}

// openPush opens the embedded storage at --storage.path and builds the
// receiver.
func openPush(f *flags, reg prometheus.Registerer, metrics *engine.Metrics, logger *slog.Logger) (*pushMode, error) {
	st, err := in.OpenStorage(in.StorageOptions{
		Path:         f.storagePath,
		Retention:    time.Duration(f.retention),
		MinFreeBytes: uint64(f.minFreeSpace),
		Logger:       logger,
		Registerer:   reg,
		Errors:       metrics.Errors,
	})
	if err != nil {
		return nil, err
	}
	rcv := in.NewReceiver(st.Appendable(), in.ReceiverOptions{
		MaxBodyBytes:  int64(f.maxBodyBytes),
		MaxConcurrent: f.maxInFlight,
		Writable:      st.Writable,
		Limits:        f.limits,
		Series:        st,
		Logger:        logger,
		Registerer:    reg,
	})
	return &pushMode{storage: st, receiver: rcv}, nil
}

// backfill reads once from Prometheus the history the storage lacks: from
// its newest sample (or, when it is empty, from the start of the longest
// window) to now. The receiver answers 503 meanwhile, so senders retry
// later rather than write ahead of the backfill.
func (p *pushMode) backfill(ctx context.Context, cfg *config.Config, now time.Time, logger *slog.Logger) error {
	var longest time.Duration
	for _, w := range cfg.Workloads {
		longest = max(longest, time.Duration(w.Points()-1)*time.Duration(w.Step))
		if w.Capacity.LeadTimeQuery != "" {
			longest = max(longest, config.LeadTimeSpan)
		}
	}
	queries := cfg.Queries()
	from := now.Add(-longest - backfillMargin)
	if newest, ok := p.storage.MaxTime(); ok && newest.After(from) {
		from = newest.Add(time.Millisecond)
	}
	selectors, err := in.Selectors(queries)
	if err != nil {
		return err
	}
	client, err := read.NewReadClient(cfg.Prometheus.URL.String(), cfg.Prometheus.HTTPClientConfig, time.Duration(cfg.Prometheus.Timeout))
	if err != nil {
		return err
	}
	p.receiver.Pause()
	defer p.receiver.Resume()
	logger.Info("Backfilling history from Prometheus", "from", from.UTC(), "to", now.UTC(), "prometheus", cfg.Prometheus.URL.Redacted())
	began := time.Now()
	appended, skipped, err := read.Backfill(ctx, client, p.storage.Appendable(), selectors, from, now, logger)
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	logger.Info("Backfill done", "samples", appended, "skipped", skipped, "duration", time.Since(began))
	return nil
}
