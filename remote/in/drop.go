package in

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/HatiCode/kedastral/internal/clip"
)

// A series that no workload selects is dropped, but first checked as the
// storage would check it had it kept the series, so that a sender is
// answered as Prometheus, which stores every series, would answer it: a
// float sample or histogram too far ahead, or a histogram that is not
// valid, is refused in a 400; the others are acknowledged as written and
// dropped. What depends on what is stored (a sample older than the
// storage's newest, or than the last one of the series) cannot be checked
// for a series that is not stored, and is not.

// verdict is what admit decides for a series.
type verdict int

const (
	// refused series are recorded for the 400 answer.
	refused verdict = iota
	// dropped series are selected by no workload.
	dropped
	// kept series are appended.
	kept
)

// dropSeries checks the float samples and histograms of series i, which no
// workload selects (its labels in b.scratch), and drops it: the valid ones
// are acknowledged as written, the others refused.
func dropSeries[S, H any, PS sampleProto[S], PH histogramProto[H]](b *batch, i int, c seriesCounts, samples []S, hists []H) {
	ls := scratchLabels(b.scratch)
	for j := range samples {
		if t := PS(&samples[j]).GetTimestamp(); t > b.maxT {
			b.rejectAhead(i, ls, t)
			c.samples--
		}
	}
	for j := range hists {
		hp := PH(&hists[j])
		t := hp.GetTimestamp()
		if t > b.maxT {
			b.rejectAhead(i, ls, t)
			c.histograms--
			continue
		}
		if err := validateHistogram[H, PH](hp); err != nil {
			b.reject(rejectInvalidHistogram, 1, fmt.Errorf("series %d: %w: %s at %s", i, err, clip.String(ls.String()), at(t)))
			c.histograms--
		}
	}
	b.drop(c)
}

// validateHistogram returns why the storage would refuse the histogram hp,
// nil if it would not.
func validateHistogram[H any, PH histogramProto[H]](hp PH) error {
	if hp.IsFloatHistogram() {
		return hp.ToFloatHistogram().Validate()
	}
	return hp.ToIntHistogram().Validate()
}

// drop records a series that no workload selects, of c the samples,
// histograms and exemplars found valid. Dropping by choice is a success
// for the sender, as a relabelling drop would be: they are acknowledged
// as written, each in its own header, as Prometheus would acknowledge
// them had it stored them.
func (b *batch) drop(c seriesCounts) {
	b.dropped += c.points()
	b.exemplarsDropped += c.exemplars
	b.seriesDropped++
	b.stats.Samples += c.samples
	b.stats.Histograms += c.histograms
	b.stats.Exemplars += c.exemplars
}

// droppableV1 reports whether the remote-write 1.0 series raw, which no
// workload can select (p is its peek), may be dropped without being
// decoded: its float samples are not too far ahead, and its histograms,
// decoded alone, are neither too far ahead nor invalid. If not, the series
// is decoded in full and each of its samples checked, so that those at
// fault are counted and named in the answer.
func (b *batch) droppableV1(raw []byte, p seriesPeek) bool {
	return p.newest <= b.maxT && (p.counts.histograms == 0 || b.hists.series(raw, b.maxT))
}

// histogramCheck checks the histograms of series dropped unread, reusing
// its buffers from one to the next.
type histogramCheck struct {
	ph       prompb.Histogram
	pos, neg []histogram.Span
}

// series reports whether every histogram of the remote-write 1.0 series
// raw decodes, is at maxT or before, and is valid.
func (hc *histogramCheck) series(raw []byte, maxT int64) bool {
	for len(raw) > 0 {
		f, ok := nextField(&raw)
		if !ok {
			return false
		}
		if f.num == fieldSeriesHistograms && f.typ == protowire.BytesType && !hc.valid(f.v, maxT) {
			return false
		}
	}
	return true
}

// valid reports whether the Histogram raw, in wire format, decodes, is at
// maxT or before, and is valid as validateHistogram finds it, without the
// copies of ToIntHistogram and ToFloatHistogram.
func (hc *histogramCheck) valid(raw []byte, maxT int64) bool {
	ph := &hc.ph
	*ph = prompb.Histogram{PositiveSpans: ph.PositiveSpans[:0], NegativeSpans: ph.NegativeSpans[:0]}
	if ph.Unmarshal(raw) != nil || ph.Timestamp > maxT {
		return false
	}
	hc.pos, hc.neg = appendSpans(hc.pos[:0], ph.PositiveSpans), appendSpans(hc.neg[:0], ph.NegativeSpans)
	if ph.IsFloatHistogram() {
		fh := histogram.FloatHistogram{
			CounterResetHint: histogram.CounterResetHint(ph.ResetHint), Schema: ph.Schema,
			ZeroThreshold: ph.ZeroThreshold, ZeroCount: ph.GetZeroCountFloat(), Count: ph.GetCountFloat(), Sum: ph.Sum,
			PositiveSpans: hc.pos, PositiveBuckets: ph.PositiveCounts, NegativeSpans: hc.neg, NegativeBuckets: ph.NegativeCounts,
			CustomValues: ph.CustomValues,
		}
		return fh.Validate() == nil
	}
	h := histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(ph.ResetHint), Schema: ph.Schema,
		ZeroThreshold: ph.ZeroThreshold, ZeroCount: ph.GetZeroCountInt(), Count: ph.GetCountInt(), Sum: ph.Sum,
		PositiveSpans: hc.pos, PositiveBuckets: ph.PositiveDeltas, NegativeSpans: hc.neg, NegativeBuckets: ph.NegativeDeltas,
		CustomValues: ph.CustomValues,
	}
	return h.Validate() == nil
}

// appendSpans appends the spans of a remote-write histogram to dst.
func appendSpans(dst []histogram.Span, spans []prompb.BucketSpan) []histogram.Span {
	for _, s := range spans {
		dst = append(dst, histogram.Span{Offset: s.Offset, Length: s.Length})
	}
	return dst
}

// checkMetadataRefs returns an error when the help or unit reference of a
// remote-write 2.0 series' metadata is outside the symbol table of n: as
// Prometheus does, the series is then refused.
func checkMetadataRefs(m *writev2.Metadata, n int) error {
	if int(m.HelpRef) >= n || int(m.UnitRef) >= n {
		return fmt.Errorf("metadata help or unit reference (%d, %d) outside the symbol table of %d", m.HelpRef, m.UnitRef, n)
	}
	return nil
}

// validExemplars returns how many of the exemplars of a remote-write 2.0
// series have label references within the symbol table; as Prometheus does,
// the others are refused in the 400 answer and not acknowledged, and the
// series is stored (or dropped) all the same.
func (b *batch) validExemplars(i int, exemplars []writev2.Exemplar, symbols []string) int {
	valid := 0
	for j := range exemplars {
		if err := checkRefs(exemplars[j].LabelsRefs, symbols); err != nil {
			b.note(fmt.Errorf("series %d: exemplar %d: %w", i, j, err))
			continue
		}
		valid++
	}
	return valid
}

// checkRefs returns an error when label references are odd in number or
// outside the symbol table.
func checkRefs(refs []uint32, symbols []string) error {
	if len(refs)%2 != 0 {
		return fmt.Errorf("odd number of label references (%d)", len(refs))
	}
	for i := 0; i < len(refs); i += 2 {
		if int(refs[i]) >= len(symbols) || int(refs[i+1]) >= len(symbols) {
			return fmt.Errorf("label reference %d=%d outside the symbol table of %d", refs[i], refs[i+1], len(symbols))
		}
	}
	return nil
}
