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
	"unicode/utf8"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
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
}

// Receiver is the forecaster's remote-write endpoint (POST /api/v1/write). It
// speaks Prometheus remote-write 1.0 and 2.0, keeps only the series that some
// workload's query selects, and appends their samples to storage; the other
// series are acknowledged, dropped and counted. It is safe for concurrent
// use.
//
// Answers follow the remote-write specifications: 204 when everything was
// stored or dropped by choice; 415 for a content type or encoding it does
// not speak, before reading the body; 413 for a body over the limit; 400 for
// a body that does not decode, labels that are invalid, unsorted or
// duplicated, and samples out of order, too old or too far ahead (the valid
// series of the request are still stored, and nothing is gained by a retry);
// 503 while a backfill runs and 500 when storage fails, the only answers a
// sender should retry.
type Receiver struct {
	app     storage.AppendableV2
	logger  *slog.Logger
	maxBody int64
	now     func() time.Time
	write   http.Handler

	selectors atomic.Pointer[selectorIndex]
	paused    atomic.Bool

	stored        prometheus.Counter
	dropped       prometheus.Counter
	seriesDropped prometheus.Counter
	rejected      *prometheus.CounterVec
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
		app:     app,
		logger:  opts.Logger.With("component", "receiver"),
		maxBody: opts.MaxBodyBytes,
		now:     opts.Now,
		stored: f.NewCounter(prometheus.CounterOpts{
			Name: "kedastral_receiver_samples_stored_total",
			Help: "Samples and histograms received by remote write and stored, for a workload's query selects their series.",
		}),
		dropped: f.NewCounter(prometheus.CounterOpts{
			Name: "kedastral_receiver_samples_dropped_total",
			Help: "Samples and histograms received by remote write and dropped, for no workload's query selects their series.",
		}),
		seriesDropped: f.NewCounter(prometheus.CounterOpts{
			Name: "kedastral_receiver_series_dropped_total",
			Help: "Series received by remote write and dropped, for no workload's query selects them; a series sent in n requests counts n times.",
		}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kedastral_receiver_samples_rejected_total",
			Help: "Samples and histograms received by remote write and refused with a 400, by reason.",
		}, []string{"reason"}),
	}
	for _, reason := range []string{rejectInvalidLabels, rejectOutOfOrder, rejectTooFarAhead, rejectInvalidHistogram, rejectEmptySeries} {
		rc.rejected.WithLabelValues(reason)
	}
	rc.selectors.Store(&selectorIndex{byName: map[string][][]*labels.Matcher{}})
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
	contentType := r.Header.Get("Content-Type")
	if contentType == "" {
		contentType = "application/x-protobuf"
	}
	msgType, err := remoteapi.ParseProtoMsg(contentType)
	if err == nil && !acceptedMessages.Contains(msgType) {
		err = fmt.Errorf("%s messages are not accepted; this receiver accepts %s", msgType, acceptedMessages)
	}
	if err != nil {
		http.Error(w, "unsupported content type: "+err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, string(remoteapi.SnappyBlockCompression)) {
		http.Error(w, fmt.Sprintf("unsupported content encoding %q: only snappy is accepted", enc), http.StatusUnsupportedMediaType)
		return
	}
	if rc.paused.Load() {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "not accepting writes yet: history is being backfilled; retry", http.StatusServiceUnavailable)
		return
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
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	inner.ServeHTTP(w, r)
}

// receiverStore is the storage side of Prometheus's remote-write handler.
type receiverStore struct {
	rc *Receiver
}

// Store decodes one decompressed request and appends what it keeps.
func (s receiverStore) Store(r *http.Request, msgType remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	resp := remoteapi.NewWriteResponse()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		resp.SetStatusCode(http.StatusBadRequest)
		return resp, fmt.Errorf("read body: %w", err)
	}
	var b *batch
	switch msgType {
	case remoteapi.WriteV1MessageType:
		// 1.0 is decoded series by series as it is appended: a body that
		// turns out malformed is rolled back.
		b = s.rc.newBatch(r)
		if err = b.writeV1(body); err != nil {
			if de, ok := errors.AsType[*decodeError](err); ok {
				_ = b.app.Rollback()
				resp.SetStatusCode(http.StatusBadRequest)
				return resp, de
			}
		}
	default:
		var req writev2.Request
		if err := req.Unmarshal(body); err != nil {
			resp.SetStatusCode(http.StatusBadRequest)
			return resp, fmt.Errorf("decode remote-write 2.0 request: %w", err)
		}
		b = s.rc.newBatch(r)
		err = b.writeV2(&req)
	}
	if err != nil {
		_ = b.app.Rollback()
		resp.SetStatusCode(http.StatusInternalServerError)
		return resp, fmt.Errorf("store samples: %w", err)
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

// batch appends one request.
type batch struct {
	rc      *Receiver
	app     storage.AppenderV2
	sel     *selectorIndex
	maxT    int64
	scratch []labels.Label
	builder labels.ScratchBuilder

	stats         remoteapi.WriteResponseStats
	stored        int
	dropped       int
	seriesDropped int
	badSamples    int
	rejected      map[string]int
	bad           []error
	// newest is the newest timestamp appended to each series (by label
	// hash) in this request: the storage checks order only against what is
	// committed, and would drop a later sample that is older silently.
	newest map[uint64]int64
}

func (rc *Receiver) newBatch(r *http.Request) *batch {
	return &batch{
		rc:       rc,
		app:      rc.app.AppenderV2(r.Context()),
		sel:      rc.selectors.Load(),
		maxT:     timestamp.FromTime(rc.now().Add(maxAhead)),
		builder:  labels.NewScratchBuilder(16),
		rejected: map[string]int{},
		newest:   map[uint64]int64{},
	}
}

// writeV1 appends a remote-write 1.0 request, given in protobuf wire
// format. Series no selector can keep (by metric name) are counted and
// dropped without being decoded, once their labels are seen to be valid;
// the others are decoded one at a time. Only a storage failure, or a body
// that does not decode (a *decodeError), is an error; bad series are recorded
// for the 400 answer.
func (b *batch) writeV1(body []byte) error {
	var ts prompb.TimeSeries
	for i := 0; len(body) > 0; i++ {
		raw, err := nextSeriesV1(&body)
		if err != nil {
			return err
		}
		if raw == nil {
			i--
			continue
		}
		if name, n, ok := peekSeriesV1(raw); ok && !b.sel.mayKeep(name) {
			b.drop(n)
			continue
		}
		ts = prompb.TimeSeries{Labels: ts.Labels[:0], Samples: ts.Samples[:0], Exemplars: ts.Exemplars[:0], Histograms: ts.Histograms[:0]}
		if err := ts.Unmarshal(raw); err != nil {
			return &decodeError{fmt.Errorf("series %d: %w", i, err)}
		}
		if err := b.seriesV1(i, &ts); err != nil {
			return err
		}
	}
	return nil
}

// seriesV1 appends one decoded remote-write 1.0 series.
func (b *batch) seriesV1(i int, ts *prompb.TimeSeries) error {
	b.scratch = b.scratch[:0]
	for _, l := range ts.Labels {
		b.scratch = append(b.scratch, labels.Label{Name: l.Name, Value: l.Value})
	}
	ls, keep := b.admit(i, len(ts.Samples)+len(ts.Histograms))
	if !keep {
		return nil
	}
	return appendSeries(b, ls, ts.Samples, ts.Histograms)
}

// sampleProto is a float sample of remote write, 1.0 or 2.0.
type sampleProto[T any] interface {
	*T
	GetTimestamp() int64
	GetValue() float64
}

// histogramProto is a native histogram sample of remote write, 1.0 or 2.0.
type histogramProto[T any] interface {
	*T
	GetTimestamp() int64
	IsFloatHistogram() bool
	ToIntHistogram() *histogram.Histogram
	ToFloatHistogram() *histogram.FloatHistogram
}

// appendSeries appends the float samples, then the histograms, of one series
// entry of the request.
func appendSeries[S, H any, PS sampleProto[S], PH histogramProto[H]](b *batch, ls labels.Labels, samples []S, hists []H) error {
	sa := b.begin(ls)
	for i := range samples {
		sp := PS(&samples[i])
		if err := b.add(sa, sp.GetTimestamp(), sp.GetValue(), nil, nil); err != nil {
			return err
		}
	}
	for i := range hists {
		hp := PH(&hists[i])
		var err error
		if hp.IsFloatHistogram() {
			err = b.add(sa, hp.GetTimestamp(), 0, nil, hp.ToFloatHistogram())
		} else {
			err = b.add(sa, hp.GetTimestamp(), 0, hp.ToIntHistogram(), nil)
		}
		if err != nil {
			return err
		}
	}
	b.end(sa)
	return nil
}

// writeV2 appends a remote-write 2.0 request, whose labels are references
// into its symbol table.
func (b *batch) writeV2(req *writev2.Request) error {
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		n := len(ts.Samples) + len(ts.Histograms)
		if err := b.symbols(ts.LabelsRefs, req.Symbols); err != nil {
			b.reject(rejectInvalidLabels, n, fmt.Errorf("series %d: %w", i, err))
			continue
		}
		if n == 0 {
			b.reject(rejectEmptySeries, 0, fmt.Errorf("series %d has no sample and no histogram", i))
			continue
		}
		ls, keep := b.admit(i, n)
		if !keep {
			continue
		}
		if err := appendSeries(b, ls, ts.Samples, ts.Histograms); err != nil {
			return err
		}
	}
	return nil
}

// symbols resolves label references into b.scratch.
func (b *batch) symbols(refs []uint32, symbols []string) error {
	if len(refs)%2 != 0 {
		return fmt.Errorf("odd number of label references (%d)", len(refs))
	}
	b.scratch = b.scratch[:0]
	for i := 0; i < len(refs); i += 2 {
		if int(refs[i]) >= len(symbols) || int(refs[i+1]) >= len(symbols) {
			return fmt.Errorf("label reference %d=%d outside the symbol table of %d", refs[i], refs[i+1], len(symbols))
		}
		b.scratch = append(b.scratch, labels.Label{Name: symbols[refs[i]], Value: symbols[refs[i+1]]})
	}
	return nil
}

// admit checks the labels in b.scratch and says whether their n samples are
// to be stored; it records refused and dropped series.
func (b *batch) admit(i, n int) (labels.Labels, bool) {
	if err := checkLabels(b.scratch); err != nil {
		b.reject(rejectInvalidLabels, n, fmt.Errorf("series %d: %w", i, err))
		return labels.EmptyLabels(), false
	}
	if !b.sel.keep(b.scratch) {
		b.drop(n)
		return labels.EmptyLabels(), false
	}
	b.builder.Reset()
	for _, l := range b.scratch {
		b.builder.Add(l.Name, l.Value)
	}
	return b.builder.Labels(), true
}

// drop records a series of n samples that no workload selects. Dropping by
// choice is a success for the sender, as a relabelling drop would be: it is
// acknowledged as written.
func (b *batch) drop(n int) {
	b.dropped += n
	b.seriesDropped++
	b.stats.Samples += n
}

// seriesAppend is the state of one series while its samples are appended.
type seriesAppend struct {
	ls   labels.Labels
	hash uint64
	ref  storage.SeriesRef
	// last is the newest timestamp appended to the series in this request,
	// when seen.
	last int64
	seen bool
}

// begin starts appending the samples of one series entry of the request.
func (b *batch) begin(ls labels.Labels) *seriesAppend {
	sa := &seriesAppend{ls: ls, hash: ls.Hash()}
	sa.last, sa.seen = b.newest[sa.hash]
	return sa
}

// end records the newest timestamp appended to the series.
func (b *batch) end(sa *seriesAppend) {
	if sa.seen {
		b.newest[sa.hash] = sa.last
	}
}

// add appends one float sample (h and fh nil) or histogram. Samples the
// storage refuses as a sender's mistake are recorded for the 400 answer; any
// other failure is returned.
func (b *batch) add(sa *seriesAppend, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram) error {
	at := func() string { return timestamp.Time(t).UTC().Format(time.RFC3339Nano) }
	if t > b.maxT {
		b.reject(rejectTooFarAhead, 1, fmt.Errorf("sample at %s of %s is more than %s in the future", at(), sa.ls, maxAhead))
		return nil
	}
	if sa.seen && t <= sa.last {
		err := storage.ErrOutOfOrderSample
		if t == sa.last {
			err = storage.ErrDuplicateSampleForTimestamp
		}
		b.reject(rejectOutOfOrder, 1, fmt.Errorf("%w: %s at %s", err, sa.ls, at()))
		return nil
	}
	ref, err := b.app.Append(sa.ref, sa.ls, 0, t, v, h, fh, storage.AOptions{})
	var herr histogram.Error
	switch {
	case err == nil:
		if h != nil || fh != nil {
			b.stats.Histograms++
		} else {
			b.stats.Samples++
		}
		b.stored++
		sa.ref, sa.last, sa.seen = ref, t, true
		return nil
	case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrOutOfBounds),
		errors.Is(err, storage.ErrDuplicateSampleForTimestamp), errors.Is(err, storage.ErrTooOldSample):
		b.reject(rejectOutOfOrder, 1, fmt.Errorf("%w: %s at %s", err, sa.ls, at()))
		return nil
	case errors.As(err, &herr):
		b.reject(rejectInvalidHistogram, 1, fmt.Errorf("%w: %s at %s", err, sa.ls, at()))
		return nil
	default:
		return err
	}
}

// reject records n refused samples and why.
func (b *batch) reject(reason string, n int, err error) {
	b.rejected[reason] += n
	b.badSamples += n
	if len(b.bad) <= maxErrorsShown {
		b.bad = append(b.bad, err)
	}
}

// count adds the batch to the receiver's metrics once it is committed.
func (b *batch) count() {
	b.rc.stored.Add(float64(b.stored))
	b.rc.dropped.Add(float64(b.dropped))
	b.rc.seriesDropped.Add(float64(b.seriesDropped))
	for reason, n := range b.rejected {
		b.rc.rejected.WithLabelValues(reason).Add(float64(n))
	}
	if len(b.bad) > 0 {
		b.rc.logger.Warn("Remote write refused samples", "samples", b.badSamples, "stored", b.stored, "err", b.bad[0])
	}
}

// badRequest is the error of a 400 answer: the first refusals, and how many
// samples were refused in all.
func (b *batch) badRequest() error {
	shown := b.bad
	more := ""
	if len(shown) > maxErrorsShown {
		shown = shown[:maxErrorsShown]
		more = "; and more"
	}
	msgs := make([]string, len(shown))
	for i, err := range shown {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("%d sample(s) refused, the valid ones were stored: %s%s",
		b.badSamples, strings.Join(msgs, "; "), more)
}

// checkLabels refuses a label set that has no metric name, a name or value
// that is not valid UTF-8 (or an empty name), or labels that are not sorted
// by name or repeat one.
func checkLabels(ls []labels.Label) error {
	if len(ls) == 0 {
		return errors.New("no labels")
	}
	hasName := false
	for i, l := range ls {
		if !model.UTF8Validation.IsValidLabelName(l.Name) {
			return fmt.Errorf("invalid label name %q", l.Name)
		}
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("label %s has a value that is not valid UTF-8", l.Name)
		}
		if l.Name == model.MetricNameLabel {
			hasName = l.Value != ""
		}
		if i > 0 {
			switch prev := ls[i-1].Name; {
			case prev == l.Name:
				return fmt.Errorf("duplicate label %s", l.Name)
			case prev > l.Name:
				return fmt.Errorf("labels not sorted by name: %s after %s", l.Name, prev)
			}
		}
	}
	if !hasName {
		return errors.New("no metric name (__name__ label)")
	}
	return nil
}
