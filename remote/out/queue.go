package out

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/forecast"
)

// item is one snapshot to send, or, when staleAt is set, to end.
type item struct {
	snap     forecast.Snapshot
	external labels.Labels
	staleAt  time.Time
	samples  int
}

// queue is one endpoint: its queue of items and the goroutine that sends them.
type queue struct {
	cfg Config
	api *remoteapi.API
	// msgType is the protocol sent; a 2.0 endpoint that answers 415 makes
	// it 1.0 for the queue's life. Only the queue's goroutine reads it.
	msgType remoteapi.WriteMessageType
	// refused415 is set by the transport when the endpoint answers 415.
	refused415 *atomic.Bool
	logger     *slog.Logger
	flush      time.Duration
	meta       []exporter.Metric
	// horizons are the horizons of the per-horizon series sent.
	horizons exporter.Horizons

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
	refused415 := &atomic.Bool{}
	client.Transport = sendTransport{headers: cfg.Headers, bytes: s.metrics.bytes.WithLabelValues(lv...),
		refused415: refused415, next: client.Transport}
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
		cfg:        cfg,
		api:        api,
		msgType:    remoteapi.WriteMessageType(cfg.ProtobufMessage),
		refused415: refused415,
		logger:     s.logger.With("remote_name", name),
		flush:      s.flush,
		meta:       exporter.Metrics(),
		horizons:   s.horizons,
		sent:       m.sent.WithLabelValues(lv...),
		failed:     m.failed.WithLabelValues(lv...),
		dropped:    m.dropped.WithLabelValues(lv...),
		retries:    m.retries.WithLabelValues(lv...),
		pending:    m.pending.WithLabelValues(lv...),
		lastSend:   m.lastSend.WithLabelValues(lv...),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}, nil
}

// sendTransport adds the configured headers to every request, counts the
// bytes sent and notes a 415 answer.
type sendTransport struct {
	headers    map[string]string
	bytes      prometheus.Counter
	refused415 *atomic.Bool
	next       http.RoundTripper
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
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnsupportedMediaType {
		t.refused415.Store(true)
	}
	return resp, err
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
	exporter.EachSeries(it.snap, it.snap.GeneratedAt, q.horizons, func(id exporter.MetricID, _ float64, _ ...string) {
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

// send writes one request, retrying what a retry may fix until it succeeds
// or ctx ends. An endpoint that answers a 2.0 request with 415 Unsupported
// Media Type gets it again as 1.0, and 1.0 from then on (the fallback the
// 2.0 specification allows).
func (q *queue) send(ctx context.Context, series []prompb.TimeSeries) {
	q.refused415.Store(false)
	err := q.write(ctx, series)
	if err != nil && q.msgType == remoteapi.WriteV2MessageType && q.refused415.Load() {
		q.logger.Warn("Endpoint refused remote-write 2.0 with 415; falling back to 1.0", "err", err)
		q.msgType = remoteapi.WriteV1MessageType
		err = q.write(ctx, series)
	}
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

// write sends series in the queue's protocol.
func (q *queue) write(ctx context.Context, series []prompb.TimeSeries) error {
	var msg any = &prompb.WriteRequest{Timeseries: series}
	if q.msgType == remoteapi.WriteV2MessageType {
		msg = toV2(series)
	}
	_, err := q.api.Write(ctx, q.msgType, msg, remoteapi.WithWriteRetryCallback(func(err error) {
		q.retries.Inc()
		q.logger.Warn("Remote write failed, retrying", "err", err)
	}))
	return err
}
