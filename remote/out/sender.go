package out

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"
	promvalue "github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

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
}

// Sender remote-writes every published forecast to the configured
// endpoints, as the kedastral_forecast_* series of /metrics stamped at the
// forecast's time, with the external labels. Each endpoint has its own
// bounded queue and goroutine, so a slow endpoint delays no other and no
// forecast; samples of a series are sent in order. When a workload is
// removed, staleness markers end its series. It is a listener of the engine's snapshot store (engine.StoreListener).
type Sender struct {
	logger  *slog.Logger
	now     func() time.Time
	flush   time.Duration
	metrics senderMetrics

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
		logger: opts.Logger.With("component", "remote_write"),
		now:    opts.Now,
		flush:  opts.FlushTimeout,
		last:   map[string]forecast.Snapshot{},
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

// item is one snapshot to send, or, when staleAt is set, to end.
type item struct {
	snap     forecast.Snapshot
	external labels.Labels
	staleAt  time.Time
	samples  int
}

// queue is one endpoint: its queue of items and the goroutine that sends them.
type queue struct {
	cfg     Config
	api     *remoteapi.API
	msgType remoteapi.WriteMessageType
	logger  *slog.Logger
	flush   time.Duration
	meta    []exporter.Metric

	sent, failed, dropped, retries prometheus.Counter
	pending, lastSend              prometheus.Gauge

	mu      sync.Mutex
	items   []item
	samples int
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

func (s *Sender) newQueue(cfg Config) (*queue, error) {
	name := remoteName(cfg)
	client, err := config.NewClientFromConfig(cfg.HTTPClientConfig, "remote_write_"+name,
		config.WithUserAgent("kedastral/"+version.Version))
	if err != nil {
		return nil, fmt.Errorf("remote_write %s: %w", name, err)
	}
	client.Timeout = time.Duration(cfg.RemoteTimeout)
	lv := []string{name, cfg.URL.Redacted()}
	client.Transport = sendTransport{headers: cfg.Headers, bytes: s.metrics.bytes.WithLabelValues(lv...), next: client.Transport}
	qc := cfg.QueueConfig
	apiOpts := []remoteapi.APIOption{
		remoteapi.WithAPIHTTPClient(client),
		remoteapi.WithAPIPath(""),
		remoteapi.WithAPIBackoff(remoteapi.BackoffConfig{Min: time.Duration(qc.MinBackoff), Max: time.Duration(qc.MaxBackoff)}),
	}
	if !qc.RetryOnRateLimit {
		apiOpts = append(apiOpts, remoteapi.WithAPINoRetryOnRateLimit())
	}
	api, err := remoteapi.NewAPI(cfg.URL.String(), apiOpts...)
	if err != nil {
		return nil, fmt.Errorf("remote_write %s: %w", name, err)
	}
	m := s.metrics
	return &queue{
		cfg:      cfg,
		api:      api,
		msgType:  remoteapi.WriteMessageType(cfg.ProtobufMessage),
		logger:   s.logger.With("remote_name", name),
		flush:    s.flush,
		meta:     exporter.Metrics(),
		sent:     m.sent.WithLabelValues(lv...),
		failed:   m.failed.WithLabelValues(lv...),
		dropped:  m.dropped.WithLabelValues(lv...),
		retries:  m.retries.WithLabelValues(lv...),
		pending:  m.pending.WithLabelValues(lv...),
		lastSend: m.lastSend.WithLabelValues(lv...),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}, nil
}

// sendTransport adds the configured headers to every request and counts
// the bytes sent.
type sendTransport struct {
	headers map[string]string
	bytes   prometheus.Counter
	next    http.RoundTripper
}

func (t sendTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		r = r.Clone(r.Context())
		for k, v := range t.headers {
			r.Header.Set(k, v)
		}
	}
	if r.ContentLength > 0 {
		t.bytes.Add(float64(r.ContentLength))
	}
	return t.next.RoundTrip(r)
}

// push adds it to the queue, dropping the oldest items while the queue
// would hold more than its capacity.
func (q *queue) push(it item) {
	it.samples = q.count(it)
	q.mu.Lock()
	q.items = append(q.items, it)
	q.samples += it.samples
	dropped := 0
	for q.samples > q.cfg.QueueConfig.Capacity && len(q.items) > 0 {
		dropped += q.items[0].samples
		q.samples -= q.items[0].samples
		q.items[0] = item{}
		q.items = q.items[1:]
	}
	q.pending.Set(float64(q.samples))
	q.mu.Unlock()
	if dropped > 0 {
		q.dropped.Add(float64(dropped))
		q.logger.Warn("Remote-write queue full: the oldest forecasts were dropped", "samples", dropped)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// count returns the number of samples an item sends.
func (q *queue) count(it item) int {
	n := 0
	exporter.EachSeries(it.snap, it.snap.GeneratedAt, func(id exporter.MetricID, _ float64, _ ...string) {
		if q.meta[id].RemoteWrite {
			n++
		}
	})
	return n
}

// start runs the queue's goroutine under ctx, once.
func (q *queue) start(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return
	}
	q.started = true
	ctx, q.cancel = context.WithCancel(ctx)
	go func() {
		defer close(q.done)
		q.run(ctx)
	}()
}

// stop ends the queue (after its flush) and waits for it.
func (q *queue) stop() {
	q.mu.Lock()
	started, cancel := q.started, q.cancel
	q.mu.Unlock()
	if started {
		cancel()
		<-q.done
	}
}

// wait waits for the queue's goroutine to end.
func (q *queue) wait() {
	q.mu.Lock()
	started := q.started
	q.mu.Unlock()
	if started {
		<-q.done
	}
}

// run sends batches until ctx is done, then flushes. Requests run under
// their own context, which ends only a flush timeout after ctx: a request in
// flight at shutdown may finish.
func (q *queue) run(ctx context.Context) {
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stopFlushTimer := context.AfterFunc(ctx, func() { time.AfterFunc(q.flush, cancelSend) })
	defer stopFlushTimer()
	deadline := time.Duration(q.cfg.QueueConfig.BatchSendDeadline)
	for {
		// Wait for a full batch or for the oldest sample's deadline.
		q.mu.Lock()
		full := q.samples >= q.cfg.QueueConfig.MaxSamplesPerSend
		empty := q.samples == 0
		q.mu.Unlock()
		if empty {
			select {
			case <-ctx.Done():
				q.drain(sendCtx)
				return
			case <-q.wake:
				continue
			}
		}
		if !full {
			timer := time.NewTimer(deadline)
		waiting:
			for {
				select {
				case <-ctx.Done():
					timer.Stop()
					q.drain(sendCtx)
					return
				case <-timer.C:
					break waiting
				case <-q.wake:
					q.mu.Lock()
					full = q.samples >= q.cfg.QueueConfig.MaxSamplesPerSend
					q.mu.Unlock()
					if full {
						timer.Stop()
						break waiting
					}
				}
			}
		}
		q.sendBatch(sendCtx)
		if ctx.Err() != nil {
			q.drain(sendCtx)
			return
		}
	}
}

// drain sends what is queued until sendCtx ends (a flush timeout after the
// shutdown), and counts the rest as dropped.
func (q *queue) drain(sendCtx context.Context) {
	for sendCtx.Err() == nil {
		q.mu.Lock()
		empty := len(q.items) == 0
		q.mu.Unlock()
		if empty {
			return
		}
		q.sendBatch(sendCtx)
	}
	q.mu.Lock()
	left := q.samples
	q.items, q.samples = nil, 0
	q.pending.Set(0)
	q.mu.Unlock()
	if left > 0 {
		q.dropped.Add(float64(left))
		q.logger.Warn("Shutdown came before these forecasts could be sent", "samples", left)
	}
}

// sendBatch takes whole items up to max_samples_per_send (at least one) off
// the queue and sends them, in requests of at most max_samples_per_send.
func (q *queue) sendBatch(ctx context.Context) {
	limit := q.cfg.QueueConfig.MaxSamplesPerSend
	q.mu.Lock()
	n, samples := 0, 0
	for n < len(q.items) && (n == 0 || samples+q.items[n].samples <= limit) {
		samples += q.items[n].samples
		n++
	}
	batch := slices.Clone(q.items[:n])
	clear(q.items[:n])
	q.items = q.items[n:]
	q.samples -= samples
	q.pending.Set(float64(q.samples))
	q.mu.Unlock()

	series := q.series(batch)
	for first := 0; first < len(series); first += limit {
		q.send(ctx, series[first:min(first+limit, len(series))])
	}
}

// series turns items into remote-write 1.0 series, one sample each. The
// labels and samples of a batch share two backing arrays.
func (q *queue) series(items []item) []prompb.TimeSeries {
	n, width := 0, 0
	for _, it := range items {
		n += it.samples
		width = max(width, it.external.Len()+3)
	}
	out := make([]prompb.TimeSeries, 0, n)
	arena := make([]prompb.Label, 0, n*width)
	samples := make([]prompb.Sample, 0, n)
	for _, it := range items {
		ts := it.snap.GeneratedAt.UnixMilli()
		stale := !it.staleAt.IsZero()
		if stale {
			ts = it.staleAt.UnixMilli()
		}
		exporter.EachSeries(it.snap, it.snap.GeneratedAt, func(id exporter.MetricID, v float64, labelValues ...string) {
			m := q.meta[id]
			if !m.RemoteWrite {
				return
			}
			first := len(arena)
			arena = append(arena, prompb.Label{Name: model.MetricNameLabel, Value: m.Name})
			for i, name := range m.LabelNames {
				arena = append(arena, prompb.Label{Name: name, Value: labelValues[i]})
			}
			it.external.Range(func(l labels.Label) { arena = append(arena, prompb.Label{Name: l.Name, Value: l.Value}) })
			ls := arena[first:len(arena):len(arena)]
			slices.SortFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
			if stale {
				v = math.Float64frombits(promvalue.StaleNaN)
			}
			samples = append(samples, prompb.Sample{Timestamp: ts, Value: v})
			out = append(out, prompb.TimeSeries{Labels: ls, Samples: samples[len(samples)-1 : len(samples) : len(samples)]})
		})
	}
	return out
}

// send writes one request, retrying what a retry may fix until it succeeds
// or ctx ends.
func (q *queue) send(ctx context.Context, series []prompb.TimeSeries) {
	var msg any = &prompb.WriteRequest{Timeseries: series}
	if q.msgType == remoteapi.WriteV2MessageType {
		msg = toV2(series)
	}
	_, err := q.api.Write(ctx, q.msgType, msg, remoteapi.WithWriteRetryCallback(func(err error) {
		q.retries.Inc()
		q.logger.Warn("Remote write failed, retrying", "err", err)
	}))
	n := float64(len(series))
	switch {
	case err == nil:
		q.sent.Add(n)
		q.lastSend.SetToCurrentTime()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		q.dropped.Add(n)
		q.logger.Warn("Remote write abandoned at shutdown", "samples", len(series), "err", err)
	default:
		q.failed.Add(n)
		q.logger.Error("Remote write refused; not retried", "samples", len(series), "err", err)
	}
}

// toV2 re-encodes 1.0 series as a remote-write 2.0 request.
func toV2(series []prompb.TimeSeries) *writev2.Request {
	st := writev2.NewSymbolTable()
	out := make([]writev2.TimeSeries, len(series))
	var b labels.ScratchBuilder
	for i, ts := range series {
		out[i] = writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(ts.ToLabels(&b, nil), nil),
			Samples:    []writev2.Sample{{Timestamp: ts.Samples[0].Timestamp, Value: ts.Samples[0].Value}},
			Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE},
		}
	}
	return &writev2.Request{Symbols: st.Symbols(), Timeseries: out}
}
