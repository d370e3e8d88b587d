package in

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

func TestPeekSeriesV1(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ts         prompb.TimeSeries
		wantName   string
		wantCounts seriesCounts
		wantOK     bool
	}{
		{"valid", series1(apiLabels, prompb.Sample{Timestamp: 1, Value: 1}, prompb.Sample{Timestamp: 2, Value: 2}), "http_requests_total", seriesCounts{samples: 2}, true},
		{"histograms count", prompb.TimeSeries{Labels: series1(apiLabels).Labels, Histograms: []prompb.Histogram{{Timestamp: 1}}}, "http_requests_total", seriesCounts{histograms: 1}, true},
		{"exemplars count", prompb.TimeSeries{Labels: series1(apiLabels).Labels, Samples: []prompb.Sample{{Timestamp: 1}}, Exemplars: []prompb.Exemplar{{Timestamp: 1}, {Timestamp: 2}}}, "http_requests_total", seriesCounts{samples: 1, exemplars: 2}, true},
		{"no samples", series1(apiLabels), "http_requests_total", seriesCounts{}, true},
		{"unsorted", series1([]string{"job", "api", "__name__", "x"}), "", seriesCounts{}, false},
		{"duplicate", series1([]string{"__name__", "x", "job", "a", "job", "b"}), "", seriesCounts{}, false},
		{"no name", series1([]string{"job", "api"}), "", seriesCounts{}, false},
		{"empty name", series1([]string{"__name__", ""}), "", seriesCounts{}, false},
		{"empty label name", series1([]string{"", "v", "__name__", "x"}), "", seriesCounts{}, false},
		{"invalid utf-8 value", series1([]string{"__name__", "x", "job", "\xff"}), "", seriesCounts{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.ts.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			name, c, ok := peekSeriesV1(raw)
			if ok != tc.wantOK || (ok && (string(name) != tc.wantName || c != tc.wantCounts)) {
				t.Errorf("peek = %q, %+v, %v; want %q, %+v, %v", name, c, ok, tc.wantName, tc.wantCounts, tc.wantOK)
			}
		})
	}
}

// FuzzPeekSeriesV1 checks the allocation-free peek against the full decoder:
// for every series the decoder reads, the peek finds the same metric name
// and count, and finds the labels valid exactly when checkLabels does.
func FuzzPeekSeriesV1(f *testing.F) {
	for _, ts := range []prompb.TimeSeries{
		series1(apiLabels, prompb.Sample{Timestamp: 1, Value: 1}),
		series1([]string{"job", "api", "__name__", "x"}, prompb.Sample{Timestamp: 1, Value: 1}),
		series1([]string{"__name__", "x", "a", "\xff"}),
	} {
		raw, err := ts.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		name, c, ok := peekSeriesV1(raw)
		var ts prompb.TimeSeries
		if err := ts.Unmarshal(raw); err != nil {
			return // the receiver answers 400 unless the series is dropped
		}
		ls := make([]labels.Label, len(ts.Labels))
		for i, l := range ts.Labels {
			ls[i] = labels.Label{Name: l.Name, Value: l.Value}
		}
		valid := checkLabels(ls) == nil
		if ok != valid {
			t.Fatalf("peek says valid=%v, checkLabels says %v, for %v", ok, valid, ts.Labels)
		}
		want := seriesCounts{len(ts.Samples), len(ts.Histograms), len(ts.Exemplars)}
		if ok && (string(name) != value(ls, "__name__") || c != want) {
			t.Fatalf("peek %q and %+v, decoder %q and %+v", name, c, value(ls, "__name__"), want)
		}
	})
}
