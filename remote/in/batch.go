package in

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/internal/clip"
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
	// hists checks the histograms of series dropped unread.
	hists histogramCheck
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
// format. A series no selector can keep (by metric name) is dropped without
// being decoded once its labels and samples are seen to be valid (see
// droppableV1); the others are decoded one at a time. Only a storage
// failure, or a body that does not decode (a *decodeError), is an error;
// bad series are recorded for the 400 answer.
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
		if p, ok := peekSeriesV1(raw); ok && !b.sel.mayKeep(p.name) && b.droppableV1(raw, p) {
			b.drop(p.counts)
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

// seriesV1 appends or drops one decoded remote-write 1.0 series.
func (b *batch) seriesV1(i int, ts *prompb.TimeSeries) error {
	b.scratch = b.scratch[:0]
	for _, l := range ts.Labels {
		b.scratch = append(b.scratch, labels.Label{Name: l.Name, Value: l.Value})
	}
	c := seriesCounts{len(ts.Samples), len(ts.Histograms), len(ts.Exemplars)}
	ls, v := b.admit(i, c)
	switch v {
	case dropped:
		dropSeries(b, i, c, ts.Samples, ts.Histograms)
	case kept:
		b.keepExemplars(c.exemplars)
		return appendSeries(b, ls, ts.Samples, ts.Histograms)
	}
	return nil
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
		if err := checkMetadataRefs(&ts.Metadata, len(req.Symbols)); err != nil {
			b.reject(rejectInvalidLabels, c.points(), fmt.Errorf("series %d: %w", i, err))
			continue
		}
		if c.points() == 0 {
			b.reject(rejectEmptySeries, 0, fmt.Errorf("series %d has no sample and no histogram", i))
			continue
		}
		ls, v := b.admit(i, c)
		if v != refused {
			c.exemplars = b.validExemplars(i, ts.Exemplars, req.Symbols)
		}
		switch v {
		case dropped:
			dropSeries(b, i, c, ts.Samples, ts.Histograms)
		case kept:
			b.keepExemplars(c.exemplars)
			if err := appendSeries(b, ls, ts.Samples, ts.Histograms); err != nil {
				return err
			}
		}
	}
	return nil
}

// symbols resolves label references into b.scratch.
func (b *batch) symbols(refs []uint32, symbols []string) error {
	if err := checkRefs(refs, symbols); err != nil {
		return err
	}
	b.scratch = b.scratch[:0]
	for i := 0; i < len(refs); i += 2 {
		b.scratch = append(b.scratch, labels.Label{Name: symbols[refs[i]], Value: symbols[refs[i+1]]})
	}
	return nil
}

// admit checks the labels in b.scratch and says whether the series is
// refused (and recorded so), dropped because no workload selects it, or
// kept. The per-series limits bound the series kept only: a series dropped
// costs nothing to keep.
func (b *batch) admit(i int, c seriesCounts) (labels.Labels, verdict) {
	// Prometheus sorts the labels it receives rather than refusing them:
	// some senders (OpenTelemetry collectors, agents) do not sort, and
	// their samples must not be lost here when Prometheus would keep them.
	if !slices.IsSortedFunc(b.scratch, byName) {
		slices.SortStableFunc(b.scratch, byName)
	}
	if err := checkLabels(b.scratch); err != nil {
		b.reject(rejectInvalidLabels, c.points(), fmt.Errorf("series %d: %w", i, err))
		return labels.EmptyLabels(), refused
	}
	if !b.sel.keep(b.scratch) {
		return labels.EmptyLabels(), dropped
	}
	if le, ok := errors.AsType[*limitError](b.rc.limits.checkSeries(b.scratch)); ok {
		b.limited[le.limit]++
		b.reject(rejectLabelLimit, c.points(), fmt.Errorf("series %d: %w", i, le))
		return labels.EmptyLabels(), refused
	}
	b.builder.Reset()
	for _, l := range b.scratch {
		b.builder.Add(l.Name, l.Value)
	}
	ls := b.builder.Labels()
	if le, ok := errors.AsType[*limitError](b.checkNewSeries(ls)); ok {
		b.limited[le.limit]++
		b.reject(rejectSeriesLimit, c.points(), fmt.Errorf("series %d: %w", i, le))
		return labels.EmptyLabels(), refused
	}
	return ls, kept
}

// keepExemplars acknowledges the n exemplars of a series kept and drops
// them: the forecaster has no use for them, and a sender must not retry or
// count them as failed.
func (b *batch) keepExemplars(n int) {
	b.exemplarsDropped += n
	b.stats.Exemplars += n
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
	if t > b.maxT {
		b.rejectAhead(-1, sa.ls, t)
		return nil
	}
	if sa.seen && t <= sa.last {
		err := storage.ErrOutOfOrderSample
		if t == sa.last {
			err = storage.ErrDuplicateSampleForTimestamp
		}
		b.reject(rejectOutOfOrder, 1, fmt.Errorf("%w: %s at %s", err, clip.String(sa.ls.String()), at(t)))
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
		b.reject(rejectOutOfOrder, 1, fmt.Errorf("%w: %s at %s", err, clip.String(sa.ls.String()), at(t)))
		return nil
	case errors.As(err, &herr):
		b.reject(rejectInvalidHistogram, 1, fmt.Errorf("%w: %s at %s", err, clip.String(sa.ls.String()), at(t)))
		return nil
	default:
		return err
	}
}

// at formats a Prometheus timestamp, in errors.
func at(t int64) string { return timestamp.Time(t).UTC().Format(time.RFC3339Nano) }

// rejectAhead refuses a sample or histogram of series i (-1: not said)
// more than maxAhead in the future.
func (b *batch) rejectAhead(i int, ls fmt.Stringer, t int64) {
	prefix := ""
	if i >= 0 {
		prefix = fmt.Sprintf("series %d: ", i)
	}
	b.reject(rejectTooFarAhead, 1, fmt.Errorf("%ssample at %s of %s is more than %s in the future", prefix, at(t), clip.String(ls.String()), maxAhead))
}

// reject records n refused samples and why.
func (b *batch) reject(reason string, n int, err error) {
	b.rejected[reason] += n
	b.badSamples += n
	b.note(err)
}

// note records an error for the 400 answer.
func (b *batch) note(err error) {
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
