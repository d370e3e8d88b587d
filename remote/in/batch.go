package in

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
)

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
	// exemplarsDropped are the exemplars acknowledged and not kept.
	exemplarsDropped int
	badSamples       int
	rejected         map[string]int
	// limited counts the series over each per-series limit.
	limited map[string]int
	// head is the storage\'s active series when first asked (-1 before),
	// and kept the series kept since, for Limits.Series.
	head, kept int
	bad        []error
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
		limited:  map[string]int{},
		head:     -1,
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
		if name, c, ok := peekSeriesV1(raw); ok && !b.sel.mayKeep(name) {
			b.drop(c)
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
	ls, keep := b.admit(i, seriesCounts{len(ts.Samples), len(ts.Histograms), len(ts.Exemplars)})
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
		c := seriesCounts{len(ts.Samples), len(ts.Histograms), len(ts.Exemplars)}
		if err := b.symbols(ts.LabelsRefs, req.Symbols); err != nil {
			b.reject(rejectInvalidLabels, c.points(), fmt.Errorf("series %d: %w", i, err))
			continue
		}
		if c.points() == 0 {
			b.reject(rejectEmptySeries, 0, fmt.Errorf("series %d has no sample and no histogram", i))
			continue
		}
		ls, keep := b.admit(i, c)
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

// admit checks the labels in b.scratch and says whether the series' samples
// are to be stored; it records refused and dropped series. The exemplars of
// a series kept are acknowledged and dropped: the forecaster has no use for
// them, and a sender must not retry or count them as failed.
func (b *batch) admit(i int, c seriesCounts) (labels.Labels, bool) {
	// Prometheus sorts the labels it receives rather than refusing them:
	// some senders (OpenTelemetry collectors, agents) do not sort, and
	// their samples must not be lost here when Prometheus would keep them.
	if !slices.IsSortedFunc(b.scratch, byName) {
		slices.SortStableFunc(b.scratch, byName)
	}
	if err := checkLabels(b.scratch); err != nil {
		b.reject(rejectInvalidLabels, c.points(), fmt.Errorf("series %d: %w", i, err))
		return labels.EmptyLabels(), false
	}
	if le, ok := errors.AsType[*limitError](b.rc.limits.checkSeries(b.scratch)); ok {
		b.limited[le.limit]++
		b.reject(rejectLabelLimit, c.points(), fmt.Errorf("series %d: %w", i, le))
		return labels.EmptyLabels(), false
	}
	if !b.sel.keep(b.scratch) {
		b.drop(c)
		return labels.EmptyLabels(), false
	}
	b.exemplarsDropped += c.exemplars
	b.stats.Exemplars += c.exemplars
	b.builder.Reset()
	for _, l := range b.scratch {
		b.builder.Add(l.Name, l.Value)
	}
	ls := b.builder.Labels()
	if le, ok := errors.AsType[*limitError](b.checkNewSeries(ls)); ok {
		b.limited[le.limit]++
		b.reject(rejectSeriesLimit, c.points(), fmt.Errorf("series %d: %w", i, le))
		return labels.EmptyLabels(), false
	}
	return ls, true
}

// byName orders labels by name.
func byName(x, y labels.Label) int { return strings.Compare(x.Name, y.Name) }

// drop records a series that no workload selects. Dropping by choice is a
// success for the sender, as a relabelling drop would be: its samples,
// histograms and exemplars are acknowledged as written.
func (b *batch) drop(c seriesCounts) {
	b.dropped += c.points()
	b.exemplarsDropped += c.exemplars
	b.seriesDropped++
	b.stats.Samples += c.samples
	b.stats.Histograms += c.histograms
	b.stats.Exemplars += c.exemplars
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
	b.rc.exemplarsDropped.Add(float64(b.exemplarsDropped))
	for limit, n := range b.limited {
		b.rc.limited.WithLabelValues(limit).Add(float64(n))
	}
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
// by name or repeat one. The receiver sorts labels before it checks them,
// so that only a repeated name is refused of the last two.
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
