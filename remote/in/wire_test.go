package in

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestPeekSeriesV1(t *testing.T) {
	withExemplars := series1(apiLabels, prompb.Sample{Timestamp: 1})
	withExemplars.Exemplars = []prompb.Exemplar{{Timestamp: 1, Labels: []prompb.Label{{Name: "trace_id", Value: "a"}}}, {Timestamp: 2}}
	for _, tc := range []struct {
		name       string
		ts         prompb.TimeSeries
		wantName   string
		wantCounts seriesCounts
		// wantNewest is the newest float sample's timestamp.
		wantNewest int64
		wantOK     bool
	}{
		// Samples at 1 and 2: the newest is 2.
		{"valid", series1(apiLabels, prompb.Sample{Timestamp: 1, Value: 1}, prompb.Sample{Timestamp: 2, Value: 2}), "http_requests_total", seriesCounts{samples: 2}, 2, true},
		// The newest is the greatest, wherever it is: 7 of 7 and 3.
		{"newest first", series1(apiLabels, prompb.Sample{Timestamp: 7}, prompb.Sample{Timestamp: 3}), "http_requests_total", seriesCounts{samples: 2}, 7, true},
		// No float sample: the newest is math.MinInt64, whatever the histograms.
		{"histograms count", prompb.TimeSeries{Labels: series1(apiLabels).Labels, Histograms: []prompb.Histogram{{Timestamp: 9}}}, "http_requests_total", seriesCounts{histograms: 1}, math.MinInt64, true},
		{"exemplars count", withExemplars, "http_requests_total", seriesCounts{samples: 1, exemplars: 2}, 1, true},
		{"no samples", series1(apiLabels), "http_requests_total", seriesCounts{}, math.MinInt64, true},
		{"unsorted", series1([]string{"job", "api", "__name__", "x"}), "", seriesCounts{}, 0, false},
		{"duplicate", series1([]string{"__name__", "x", "job", "a", "job", "b"}), "", seriesCounts{}, 0, false},
		{"no name", series1([]string{"job", "api"}), "", seriesCounts{}, 0, false},
		{"empty name", series1([]string{"__name__", ""}), "", seriesCounts{}, 0, false},
		{"empty label name", series1([]string{"", "v", "__name__", "x"}), "", seriesCounts{}, 0, false},
		{"invalid utf-8 value", series1([]string{"__name__", "x", "job", "\xff"}), "", seriesCounts{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.ts.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			p, ok := peekSeriesV1(raw)
			if ok != tc.wantOK || (ok && (string(p.name) != tc.wantName || p.counts != tc.wantCounts || p.newest != tc.wantNewest)) {
				t.Errorf("peek = %q, %+v, newest %d, %v; want %q, %+v, newest %d, %v", p.name, p.counts, p.newest, ok, tc.wantName, tc.wantCounts, tc.wantNewest, tc.wantOK)
			}
		})
	}
}

// TestPeekSeriesV1Malformed: a series the decoder refuses is never ok, so
// that it is decoded, and refused, rather than dropped unread. Each case is
// a valid series (__name__="x", one sample) followed by one more field.
func TestPeekSeriesV1Malformed(t *testing.T) {
	base := series1([]string{"__name__", "x"}, prompb.Sample{Timestamp: 1})
	valid, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	varintField := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	for _, tc := range []struct {
		name  string
		extra []byte
		// decodes: the decoder reads it; wantOK: so does the peek, which
		// may refuse what protowire finds malformed and the decoder reads.
		decodes, wantOK bool
	}{
		{"unknown field skipped", varintField(9, 1), true, true},
		// A group of field 8 (0x43) ended by field 782 (0xf4 0x30): found
		// by FuzzPeekSeriesV1. The decoder skips it, protowire refuses it;
		// the series is decoded, and dropped or kept as it should be.
		{"group ended by another field", []byte("C\xf40"), true, false},
		// Tag 0x8a 0x00 is field 1, bytes, in two bytes: valid protobuf,
		// as is the sample's timestamp tag 0x90 0x00 (field 2, varint).
		{"label of a two-byte tag", append([]byte{0x8a, 0x00}, protowire.AppendBytes(nil, append(bytesField(1, []byte("y")), bytesField(2, []byte("v"))...))...), true, true},
		{"sample timestamp of a two-byte tag", bytesField(fieldSeriesSamples, []byte{0x90, 0x00, 0x05}), true, true},
		{"samples as a varint", varintField(fieldSeriesSamples, 1), false, false},
		{"labels as a varint", varintField(fieldSeriesLabels, 1), false, false},
		{"exemplars as a varint", varintField(fieldSeriesExemplars, 1), false, false},
		{"sample timestamp as bytes", bytesField(fieldSeriesSamples, bytesField(2, []byte("x"))), false, false},
		{"sample value as a varint", bytesField(fieldSeriesSamples, varintField(1, 1)), false, false},
		{"sample truncated", bytesField(fieldSeriesSamples, []byte{0x10}), false, false},
		{"exemplar label name as a varint", bytesField(fieldSeriesExemplars, bytesField(1, varintField(1, 1))), false, false},
		{"exemplar timestamp as bytes", bytesField(fieldSeriesExemplars, bytesField(3, nil)), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := append(append([]byte(nil), valid...), tc.extra...)
			var ts prompb.TimeSeries
			if decodes := ts.Unmarshal(raw) == nil; decodes != tc.decodes {
				t.Fatalf("the decoder reads it: %v, want %v", decodes, tc.decodes)
			}
			if _, ok := peekSeriesV1(raw); ok != tc.wantOK {
				t.Errorf("peek ok = %v, want %v", ok, tc.wantOK)
			}
		})
	}
}

// FuzzPeekSeriesV1 checks the allocation-free peek, and the check of the
// histograms of a series dropped unread, against the full decoder: a series
// they let through decodes, has valid labels and valid histograms; and for
// every series the decoder reads, the peek finds the same metric name,
// counts and newest sample, finds the labels valid exactly when checkLabels
// does and, when it does, the histograms valid exactly when they are.
func FuzzPeekSeriesV1(f *testing.F) {
	hist := prompb.FromIntHistogram(5, &histogram.Histogram{Count: 2, ZeroThreshold: 1e-128, PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []int64{2}})
	bad := hist
	bad.Count = &prompb.Histogram_CountInt{CountInt: 99}
	custom := prompb.FromIntHistogram(6, &histogram.Histogram{Schema: histogram.CustomBucketsSchema, Count: 1, PositiveSpans: []histogram.Span{{Offset: 0, Length: 1}}, PositiveBuckets: []int64{1}, CustomValues: []float64{0.5}})
	float := prompb.FromFloatHistogram(7, &histogram.FloatHistogram{Count: 1, ZeroThreshold: 1e-128, NegativeSpans: []histogram.Span{{Offset: 1, Length: 1}}, NegativeBuckets: []float64{1}})
	for _, ts := range []prompb.TimeSeries{
		series1(apiLabels, prompb.Sample{Timestamp: 1, Value: 1}),
		// Buffers reused from a custom-bucket histogram to an exponential one.
		{Labels: series1(apiLabels).Labels, Histograms: []prompb.Histogram{custom, hist, float}},
		series1([]string{"job", "api", "__name__", "x"}, prompb.Sample{Timestamp: 1, Value: 1}),
		series1([]string{"__name__", "x", "a", "\xff"}),
		{Labels: series1(apiLabels).Labels, Histograms: []prompb.Histogram{hist}},
		{Labels: series1(apiLabels).Labels, Histograms: []prompb.Histogram{bad}},
	} {
		raw, err := ts.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	// A valid series and a group the decoder skips and protowire refuses.
	named := series1([]string{"__name__", "x"}, prompb.Sample{Timestamp: 1})
	raw, err := named.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(raw, "C\xf40"...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, ok := peekSeriesV1(raw)
		var hc histogramCheck
		histsOK := hc.series(raw, math.MaxInt64)
		var ts prompb.TimeSeries
		err := ts.Unmarshal(raw)
		if ok && histsOK && err != nil {
			t.Fatalf("dropped unread, but the decoder refuses it: %v", err)
		}
		if err != nil {
			return // the series is decoded, and the receiver answers 400
		}
		ls := make([]labels.Label, len(ts.Labels))
		for i, l := range ts.Labels {
			ls[i] = labels.Label{Name: l.Name, Value: l.Value}
		}
		valid := checkLabels(ls) == nil
		if ok && !valid {
			t.Fatalf("peek says valid, checkLabels says not, for %v", ts.Labels)
		}
		if !ok && valid {
			// The peek may refuse an encoding that protowire finds
			// malformed and the decoder reads (testdata), not a
			// canonical one.
			if _, ok := peekSeriesV1(canonicalV1(t, &ts)); !ok {
				t.Fatalf("peek refuses the valid series %v", ts.Labels)
			}
			return
		}
		newest := int64(math.MinInt64)
		for _, s := range ts.Samples {
			newest = max(newest, s.Timestamp)
		}
		want := seriesCounts{len(ts.Samples), len(ts.Histograms), len(ts.Exemplars)}
		if ok && (string(p.name) != value(ls, "__name__") || p.counts != want || p.newest != newest) {
			t.Fatalf("peek %q, %+v, newest %d; decoder %q, %+v, newest %d", p.name, p.counts, p.newest, value(ls, "__name__"), want, newest)
		}
		histsValid := true
		for i := range ts.Histograms {
			histsValid = histsValid && validateHistogram(&ts.Histograms[i]) == nil
		}
		// A series the peek refuses is decoded whatever its histograms.
		if ok && histsOK != histsValid {
			t.Fatalf("histograms valid: %v read alone, %v decoded with the series", histsOK, histsValid)
		}
	})
}

// canonicalV1 encodes what the decoder read of ts, without the fields it
// skipped.
func canonicalV1(t *testing.T, ts *prompb.TimeSeries) []byte {
	t.Helper()
	c := prompb.TimeSeries{Histograms: ts.Histograms}
	for _, l := range ts.Labels {
		c.Labels = append(c.Labels, prompb.Label{Name: l.Name, Value: l.Value})
	}
	for _, p := range ts.Samples {
		c.Samples = append(c.Samples, prompb.Sample{Value: p.Value, Timestamp: p.Timestamp})
	}
	for _, e := range ts.Exemplars {
		ex := prompb.Exemplar{Value: e.Value, Timestamp: e.Timestamp}
		for _, l := range e.Labels {
			ex.Labels = append(ex.Labels, prompb.Label{Name: l.Name, Value: l.Value})
		}
		c.Exemplars = append(c.Exemplars, ex)
	}
	raw, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
