package in

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/internal/clip"
)

// DefaultMaxBodyBytes is the default limit on a remote-write body, compressed.
// Prometheus sends at most a few hundred kilobytes per request.
const DefaultMaxBodyBytes = 16 << 20

// maxAhead is how far in the future a sample may be, as in Prometheus's own
// receiver: a sample beyond it is refused as out of bounds.
const maxAhead = 10 * time.Minute

// maxErrorsShown bounds the errors listed in a 400 answer.
const maxErrorsShown = 10

// Reasons of kedastral_receiver_samples_rejected_total{reason}.
const (
	rejectInvalidLabels    = "invalid_labels"
	rejectLabelLimit       = "label_limit"
	rejectSeriesLimit      = "series_limit"
	rejectOutOfOrder       = "out_of_order"
	rejectTooFarAhead      = "too_far_ahead"
	rejectInvalidHistogram = "invalid_histogram"
	rejectEmptySeries      = "empty_series"
)

// acceptedMessages are the remote-write protocols the receiver speaks.
var acceptedMessages = remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}

// ReceiverOptions configures a Receiver.
type ReceiverOptions struct {
	// MaxBodyBytes limits a request body, compressed; larger ones are answered
	// 413. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger logs refused requests.
	Logger *slog.Logger
	// Registerer receives the kedastral_receiver_* metrics; nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock that bounds future samples; nil means time.Now.
	Now func() time.Time
	// Limits bound requests and series; the zero value sets none.
	Limits Limits
	// Series counts the storage's active series, for Limits.Series; nil
	// leaves that limit off.
	Series SeriesCounter
	// MaxConcurrent bounds the requests read, decoded and appended at
	// once; another is answered 429 with Retry-After at once, which
	// Prometheus's sender retries. Zero means no bound.
	MaxConcurrent int
	// Writable, when set, is asked before each request's body is read: an
	// error (a nearly full disk) is answered 503 with Retry-After, so that
	// the sender keeps the samples and retries.
	Writable func() error
}

// maxErrorAnswer bounds the text of an error answer, and of the log line
// of a failed request, in bytes: a request of invalid series must not get
// an answer (or a log) the size of the request.
const maxErrorAnswer = 4096

// Receiver is the forecaster's remote-write endpoint (POST /api/v1/write). It
// speaks Prometheus remote-write 1.0 and 2.0, keeps only the series that some
// workload's query selects, and appends their samples to storage; the other
// series are checked as the storage would check them, then acknowledged (each
// kind in its written header), dropped and counted, so that a sender is
// answered as if they were stored. It is safe for concurrent use.
//
// Answers follow the remote-write specifications: 204 when everything was
// stored or dropped by choice; 415 for a content type or encoding it does
// not speak, before reading the body; 413 for a body over the limit or a
// request over a per-request limit (Limits); 400 for a body that does not
// decode, labels that are invalid, duplicated or over a per-series limit
// (unsorted labels are sorted, as Prometheus does), and samples out of
// order, too old or too far ahead (the valid series of the request are
// still stored, and nothing is gained by a retry); 503 while a backfill
// runs and 500 when storage fails, the only answers a sender should retry.
type Receiver struct {
	app     storage.AppendableV2
	logger  *slog.Logger
	maxBody int64
	limits  Limits
	series  SeriesCounter
	now     func() time.Time
	write   http.Handler

	selectors atomic.Pointer[selectorIndex]
	paused    atomic.Bool
	writable  func() error
	// slots holds a token per request in flight when MaxConcurrent is set.
	slots chan struct{}

	stored        prometheus.Counter
	dropped       prometheus.Counter
	seriesDropped prometheus.Counter
	// exemplarsDropped counts exemplars acknowledged and not kept.
	exemplarsDropped prometheus.Counter
	rejected         *prometheus.CounterVec
	limited          *prometheus.CounterVec
}

// NewReceiver returns a Receiver that appends to app. It keeps no series until
// SetQueries names the workloads' queries.
func NewReceiver(app storage.AppendableV2, opts ReceiverOptions) *Receiver {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	rc := &Receiver{
		app:      app,
		logger:   opts.Logger.With("component", "receiver"),
		maxBody:  opts.MaxBodyBytes,
		limits:   opts.Limits,
		series:   opts.Series,
		now:      opts.Now,
		writable: opts.Writable,
	}
	if opts.MaxConcurrent > 0 {
		rc.slots = make(chan struct{}, opts.MaxConcurrent)
	}
	rc.registerCounters(f)
	rc.selectors.Store(&selectorIndex{byName: map[string]*nameSelectors{}})
	requests := f.NewCounterVec(prometheus.CounterOpts{
		Name: "kedastral_receiver_requests_total",
		Help: "Remote-write requests answered, by HTTP status code.",
	}, []string{"code"})
	duration := f.NewHistogramVec(prometheus.HistogramOpts{
		Name:                        "kedastral_receiver_request_duration_seconds",
		Help:                        "Time to answer a remote-write request.",
		Buckets:                     prometheus.DefBuckets,
		NativeHistogramBucketFactor: 1.1,
	}, []string{"code"})
	inner := remoteapi.NewWriteHandler(receiverStore{rc}, acceptedMessages,
		remoteapi.WithWriteHandlerLogger(rc.logger),
		remoteapi.WithWriteHandlerMiddlewares(remoteapi.SnappyDecodeMiddleware(rc.logger)))
	rc.write = promhttp.InstrumentHandlerCounter(requests,
		promhttp.InstrumentHandlerDuration(duration, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc.serve(w, r, inner)
		})))
	return rc
}

// registerCounters makes the receiver's counters with f.
func (rc *Receiver) registerCounters(f promauto.Factory) {
	rc.stored = f.NewCounter(prometheus.CounterOpts{
		Name: "kedastral_receiver_samples_stored_total",
		Help: "Samples and histograms received by remote write and stored, for a workload's query selects their series.",
	})
	rc.dropped = f.NewCounter(prometheus.CounterOpts{
		Name: "kedastral_receiver_samples_dropped_total",
		Help: "Samples and histograms received by remote write and dropped, for no workload's query selects their series.",
	})
	rc.seriesDropped = f.NewCounter(prometheus.CounterOpts{
		Name: "kedastral_receiver_series_dropped_total",
		Help: "Series received by remote write and dropped, for no workload's query selects them; a series sent in n requests counts n times.",
	})
	rc.exemplarsDropped = f.NewCounter(prometheus.CounterOpts{
		Name: "kedastral_receiver_exemplars_dropped_total",
		Help: "Exemplars received by remote write, acknowledged as written and dropped: forecasts have no use for them.",
	})
	rc.rejected = f.NewCounterVec(prometheus.CounterOpts{
		Name: "kedastral_receiver_samples_rejected_total",
		Help: "Samples and histograms received by remote write and refused with a 400, by reason.",
	}, []string{"reason"})
	rc.limited = f.NewCounterVec(prometheus.CounterOpts{
		Name: "kedastral_receiver_limited_total",
		Help: "Remote-write requests (per-request limits, answered 413) and series (per-series limits, refused in a 400) over a limit, by limit.",
	}, []string{"limit"})
	for limit := range limitFlags() {
		rc.limited.WithLabelValues(limit)
	}
	for _, reason := range []string{rejectInvalidLabels, rejectLabelLimit, rejectSeriesLimit, rejectOutOfOrder, rejectTooFarAhead, rejectInvalidHistogram, rejectEmptySeries} {
		rc.rejected.WithLabelValues(reason)
	}
}

// SetQueries makes the receiver keep exactly the series that the PromQL
// queries select; it is called at start and on every reload. On error the
// previous selection stays.
func (rc *Receiver) SetQueries(queries []string) error {
	idx, err := newSelectorIndex(queries)
	if err != nil {
		return err
	}
	rc.selectors.Store(idx)
	return nil
}

// Pause makes the receiver answer 503 with Retry-After until Resume, for
// example while a backfill appends older samples than a sender would.
func (rc *Receiver) Pause() { rc.paused.Store(true) }

// Resume undoes Pause.
func (rc *Receiver) Resume() { rc.paused.Store(false) }

// ServeHTTP answers a remote-write request.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.write.ServeHTTP(w, r)
}

// serve checks what can be checked before the body is read, reads it within
// the limit, and hands it to Prometheus's remote-write handler, which
// decompresses it and calls receiverStore.Store.
func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request, inner http.Handler) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: remote write uses POST", http.StatusMethodNotAllowed)
		return
	}
	// Both headers are required: a browser's form post (a "simple" request,
	// sent cross-site without a CORS preflight) can carry neither.
	contentType := r.Header.Get("Content-Type")
	if contentType == "" {
		http.Error(w, "no Content-Type: remote write is application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	msgType, err := remoteapi.ParseProtoMsg(contentType)
	if err == nil && !acceptedMessages.Contains(msgType) {
		err = fmt.Errorf("%s messages are not accepted; this receiver accepts %s", msgType, acceptedMessages)
	}
	if err != nil {
		http.Error(w, "unsupported content type: "+clip.String(err.Error()), http.StatusUnsupportedMediaType)
		return
	}
	if enc := r.Header.Get("Content-Encoding"); !strings.EqualFold(enc, string(remoteapi.SnappyBlockCompression)) {
		http.Error(w, fmt.Sprintf("unsupported content encoding %q: remote write is snappy", clip.String(enc)), http.StatusUnsupportedMediaType)
		return
	}
	if !rc.admit(w) {
		return
	}
	if rc.slots != nil {
		select {
		case rc.slots <- struct{}{}:
			defer func() { <-rc.slots }()
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, fmt.Sprintf("%d requests are being written, the limit (--receiver.max-concurrent-requests); retry", cap(rc.slots)), http.StatusTooManyRequests)
			return
		}
	}
	if r.ContentLength > rc.maxBody {
		http.Error(w, fmt.Sprintf("body of %d bytes is over the limit of %d bytes", r.ContentLength, rc.maxBody), http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, fmt.Sprintf("body is over the limit of %d bytes", rc.maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read body: "+clip.String(err.Error()), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	inner.ServeHTTP(w, r)
}

// admit answers 503 with Retry-After, and returns false, while a backfill
// runs or the storage says it cannot take writes.
func (rc *Receiver) admit(w http.ResponseWriter) bool {
	if rc.paused.Load() {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "not accepting writes yet: history is being backfilled; retry", http.StatusServiceUnavailable)
		return false
	}
	if rc.writable != nil {
		if err := rc.writable(); err != nil {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "not accepting writes: "+clip.N(err.Error(), maxErrorAnswer)+"; retry", http.StatusServiceUnavailable)
			return false
		}
	}
	return true
}

// receiverStore is the storage side of Prometheus's remote-write handler.
type receiverStore struct {
	rc *Receiver
}

// Store decodes one decompressed request and appends what it keeps. The
// error, which is both the answer's text and the 5xx log line, is cut to
// maxErrorAnswer bytes.
func (s receiverStore) Store(r *http.Request, msgType remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	resp, err := s.store(r, msgType)
	if err != nil && len(err.Error()) > maxErrorAnswer {
		err = errors.New(clip.N(err.Error(), maxErrorAnswer))
	}
	return resp, err
}

// store is Store without the bound on the error.
func (s receiverStore) store(r *http.Request, msgType remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	resp := remoteapi.NewWriteResponse()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		resp.SetStatusCode(http.StatusBadRequest)
		return resp, fmt.Errorf("read body: %w", err)
	}
	b, code, err := s.append(r, msgType, body)
	if err != nil {
		resp.SetStatusCode(code)
		return resp, err
	}
	if err := b.app.Commit(); err != nil {
		resp.SetStatusCode(http.StatusInternalServerError)
		return resp, fmt.Errorf("commit samples: %w", err)
	}
	b.count()
	resp.Add(b.stats)
	if b.badSamples > 0 || len(b.bad) > 0 {
		resp.SetStatusCode(http.StatusBadRequest)
		return resp, b.badRequest()
	}
	return resp, nil
}

// append decodes body, checks the per-request limits, and appends what it
// keeps to a batch it does not commit. On error it returns the status to
// answer: 400 for a body that does not decode, 413 over a limit, 500 when
// storage fails (the batch is rolled back).
func (s receiverStore) append(r *http.Request, msgType remoteapi.WriteMessageType, body []byte) (*batch, int, error) {
	if msgType == remoteapi.WriteV1MessageType {
		series, samples, err := countV1(body)
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		if err := s.rc.checkRequest(series, samples); err != nil {
			return nil, http.StatusRequestEntityTooLarge, err
		}
		// 1.0 is decoded series by series as it is appended: a body that
		// turns out malformed is rolled back.
		b := s.rc.newBatch(r)
		if err := b.writeV1(body); err != nil {
			_ = b.app.Rollback()
			if de, ok := errors.AsType[*decodeError](err); ok {
				return nil, http.StatusBadRequest, de
			}
			return nil, http.StatusInternalServerError, fmt.Errorf("store samples: %w", err)
		}
		return b, 0, nil
	}
	var req writev2.Request
	if err := req.Unmarshal(body); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("decode remote-write 2.0 request: %w", err)
	}
	samples := 0
	for i := range req.Timeseries {
		samples += len(req.Timeseries[i].Samples) + len(req.Timeseries[i].Histograms)
	}
	if err := s.rc.checkRequest(len(req.Timeseries), samples); err != nil {
		return nil, http.StatusRequestEntityTooLarge, err
	}
	b := s.rc.newBatch(r)
	if err := b.writeV2(&req); err != nil {
		_ = b.app.Rollback()
		return nil, http.StatusInternalServerError, fmt.Errorf("store samples: %w", err)
	}
	return b, 0, nil
}
