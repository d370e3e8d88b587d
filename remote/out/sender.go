package out

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/forecast"
)

// DefaultFlushTimeout bounds the sending of what is queued at shutdown.
const DefaultFlushTimeout = 5 * time.Second

// SenderOptions configures a Sender.
type SenderOptions struct {
	// Logger logs failed sends.
	Logger *slog.Logger
	// Registerer receives the kedastral_remote_write_* metrics; nil
	// registers none.
	Registerer prometheus.Registerer
	// Now stamps staleness markers; nil means time.Now.
	Now func() time.Time
	// FlushTimeout bounds the sending of what is queued at shutdown; zero
	// means DefaultFlushTimeout.
	FlushTimeout time.Duration
	// Horizons are the horizons of the per-horizon series sent ("" is
	// the default, exporter.HorizonsKey).
	Horizons exporter.Horizons
}

// Sender remote-writes every published forecast to the configured
// endpoints, as the kedastral_forecast_* series of /metrics stamped at the
// forecast's time, with the external labels. Each endpoint has its own
// bounded queue and goroutine, so a slow endpoint delays no other and no
// forecast; samples of a series are sent in order. When a workload is
// removed, staleness markers end its series. It is a listener of the engine's snapshot store (engine.StoreListener).
type Sender struct {
	logger   *slog.Logger
	now      func() time.Time
	flush    time.Duration
	horizons exporter.Horizons
	metrics  senderMetrics

	mu       sync.Mutex
	ctx      context.Context
	external labels.Labels
	queues   []*queue
	// last is the newest snapshot published of each workload, for its
	// staleness markers.
	last map[string]forecast.Snapshot
}

type senderMetrics struct {
	sent, failed, dropped, retries *prometheus.CounterVec
	bytes                          *prometheus.CounterVec
	pending, lastSend              *prometheus.GaugeVec
}

// NewSender returns a Sender with no endpoint; Apply sets them and Run
// sends.
func NewSender(opts SenderOptions) *Sender {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = DefaultFlushTimeout
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	by := []string{"remote_name", "url"}
	counter := func(name, help string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, by)
	}
	return &Sender{
		logger:   opts.Logger.With("component", "remote_write"),
		now:      opts.Now,
		flush:    opts.FlushTimeout,
		horizons: opts.Horizons,
		last:     map[string]forecast.Snapshot{},
		metrics: senderMetrics{
			sent:    counter("kedastral_remote_write_samples_sent_total", "Forecast samples remote-written and acknowledged."),
			failed:  counter("kedastral_remote_write_samples_failed_total", "Forecast samples refused by the endpoint for good (a 4xx other than 429), not retried."),
			dropped: counter("kedastral_remote_write_samples_dropped_total", "Forecast samples dropped unsent: the queue was full, or shutdown came first."),
			retries: counter("kedastral_remote_write_retries_total", "Remote-write requests retried after a 5xx, a 429 or a network error."),
			bytes:   counter("kedastral_remote_write_sent_bytes_total", "Compressed bytes of the remote-write requests sent, retries included."),
			pending: f.NewGaugeVec(prometheus.GaugeOpts{Name: "kedastral_remote_write_queue_samples",
				Help: "Forecast samples waiting in the queue."}, by),
			lastSend: f.NewGaugeVec(prometheus.GaugeOpts{Name: "kedastral_remote_write_last_send_timestamp_seconds",
				Help: "Unix time of the newest successful remote-write request."}, by),
		},
	}
}

// Apply makes the endpoints and external labels those given. Unchanged
// endpoints keep their queue; removed ones flush and stop; new ones start
// (once Run is running). The configurations must be valid.
func (s *Sender) Apply(cfgs []Config, external map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := make([]*queue, 0, len(cfgs))
	var started []*queue
	for _, cfg := range cfgs {
		i := slices.IndexFunc(s.queues, func(q *queue) bool {
			return !slices.Contains(kept, q) && reflect.DeepEqual(q.cfg, cfg)
		})
		if i >= 0 {
			kept = append(kept, s.queues[i])
			continue
		}
		q, err := s.newQueue(cfg)
		if err != nil {
			return err
		}
		kept = append(kept, q)
		started = append(started, q)
	}
	for _, q := range s.queues {
		if !slices.Contains(kept, q) {
			q.stop()
		}
	}
	s.queues = kept
	s.external = labels.FromMap(external)
	if s.ctx != nil {
		for _, q := range started {
			q.start(s.ctx)
		}
	}
	return nil
}

// Run sends until ctx is done, then flushes each queue for at most the
// flush timeout and returns.
func (s *Sender) Run(ctx context.Context) {
	s.mu.Lock()
	s.ctx = ctx
	for _, q := range s.queues {
		q.start(ctx)
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	queues := slices.Clone(s.queues)
	s.mu.Unlock()
	for _, q := range queues {
		q.wait()
	}
}

// Published queues the series of a new snapshot on every endpoint.
func (s *Sender) Published(snap forecast.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[snap.Workload] = snap
	for _, q := range s.queues {
		q.push(item{snap: snap, external: s.external})
	}
}

// Removed queues staleness markers for every series of the workload's last
// snapshot, so that its series end at once rather than after the lookback.
func (s *Sender) Removed(workload string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.last[workload]
	if !ok {
		return
	}
	delete(s.last, workload)
	for _, q := range s.queues {
		q.push(item{snap: snap, external: s.external, staleAt: s.now()})
	}
}

// remoteName is the endpoint's name in metrics and logs: its configured
// name, or the first bytes of the hash of its URL (as Prometheus names its
// remote-write queues).
func remoteName(cfg Config) string {
	if cfg.Name != "" {
		return cfg.Name
	}
	h := sha256.Sum256([]byte(cfg.URL.String()))
	return hex.EncodeToString(h[:3])
}
