package in

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/histogram"
	promvalue "github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// Queries of the parity tests: one selects the metric the cases send, the
// other selects nothing they send, as in production most series are
// selected by no workload.
const (
	dropMetric = "rpc_latency_seconds"
	keepQuery  = `histogram_quantile(0.9, sum(rate(rpc_latency_seconds[5m])))`
	dropQuery  = `sum(rate(app_requests_total[5m]))`
)

// hist is a native histogram sample: an integer one (h) or a float one.
type hist struct {
	t  int64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// spec is a series of a test request, sent as remote write 1.0 or 2.0.
type spec struct {
	labels  []string
	samples []prompb.Sample
	hists   []hist
	// exemplars are valid exemplars; badExemplars (2.0 only) have a label
	// reference outside the symbol table.
	exemplars, badExemplars int
	// badHelp (2.0 only) makes the metadata's help reference outside the
	// symbol table.
	badHelp bool
}

func (s spec) v1() prompb.TimeSeries {
	ts := series1(s.labels, s.samples...)
	for _, h := range s.hists {
		if h.fh != nil {
			ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(h.t, h.fh))
		} else {
			ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(h.t, h.h))
		}
	}
	for i := range s.exemplars {
		ts.Exemplars = append(ts.Exemplars, prompb.Exemplar{Labels: []prompb.Label{{Name: "trace_id", Value: strconv.Itoa(i)}}, Value: 1, Timestamp: ms(1)})
	}
	return ts
}

func (s spec) v2(syms *writev2.SymbolsTable) writev2.TimeSeries {
	ts := series2(syms, s.labels)
	for _, p := range s.samples {
		ts.Samples = append(ts.Samples, writev2.Sample{Timestamp: p.Timestamp, Value: p.Value})
	}
	for _, h := range s.hists {
		if h.fh != nil {
			ts.Histograms = append(ts.Histograms, writev2.FromFloatHistogram(0, h.t, h.fh))
		} else {
			ts.Histograms = append(ts.Histograms, writev2.FromIntHistogram(0, h.t, h.h))
		}
	}
	for i := range s.exemplars {
		ts.Exemplars = append(ts.Exemplars, writev2.Exemplar{LabelsRefs: []uint32{syms.Symbolize("trace_id"), syms.Symbolize(strconv.Itoa(i))}, Value: 1, Timestamp: ms(1)})
	}
	for range s.badExemplars {
		ts.Exemplars = append(ts.Exemplars, writev2.Exemplar{LabelsRefs: []uint32{syms.Symbolize("trace_id"), 9999}, Value: 1, Timestamp: ms(1)})
	}
	if s.badHelp {
		ts.Metadata.HelpRef = 9999
	}
	return ts
}

// Histograms of the tests. A bucket count of an integer histogram is the
// sum of the deltas up to it.
var (
	// Buckets 1 and 1+1=2: 3 observations, as counted.
	goodHist = &histogram.Histogram{Count: 3, Sum: 1.5, ZeroThreshold: 1e-128,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{1, 1}}
	// Buckets 10 and 10+3=13: 23 observations, and a count of 99.
	badCountHist = &histogram.Histogram{Count: 99, Sum: 1.5, ZeroThreshold: 1e-128,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{10, 3}}
	// A span of 3 buckets and 2 buckets.
	badSpanHist = &histogram.Histogram{Count: 3, Sum: 1.5, ZeroThreshold: 1e-128,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 3}}, PositiveBuckets: []int64{1, 1}}
	// Buckets 2 and 2-3=-1: a negative count.
	negativeHist = &histogram.Histogram{Count: 1, Sum: 1.5, ZeroThreshold: 1e-128,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{2, -3}}
	// Buckets 1 and 2: 3 observations, as counted.
	goodFloatHist = &histogram.FloatHistogram{Count: 3, Sum: 1.5, ZeroThreshold: 1e-128,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{1, 2}}
	// Buckets 1 and -2: a negative count. (A float histogram's count is
	// not checked against its buckets, which rounding may make differ.)
	negativeFloatHist = &histogram.FloatHistogram{Count: 3, Sum: 1.5, ZeroThreshold: 1e-128,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []float64{1, -2}}
)

// written is what the X-Prometheus-Remote-Write-*-Written headers of a 2.0
// answer say.
type written struct{ samples, histograms, exemplars int }

// dropCase is a request of the parity tests, and its answer.
type dropCase struct {
	name   string
	series []spec
	// v2Only cases use what 1.0 cannot send.
	v2Only   bool
	wantCode int
	// want is the written headers of a 2.0 answer.
	want written
	// wantRejected is kedastral_receiver_samples_rejected_total by reason.
	wantRejected map[string]float64
	// wantMsg is in the body of a 400.
	wantMsg string
}

// dropCases are requests that a series selected by no workload must be
// answered as if it were stored. The series' labels are sorted (the 1.0
// fast path reads them) unless said.
func dropCases() []dropCase {
	name := []string{"__name__", dropMetric, "job", "api"}
	other := []string{"__name__", dropMetric, "job", "web"}
	return []dropCase{
		// Histograms are histograms written, not samples: 2 of them, 0
		// samples.
		{name: "histograms", series: []spec{{labels: name, hists: []hist{{t: ms(2), h: goodHist}, {t: ms(1), fh: goodFloatHist}}}},
			wantCode: 204, want: written{0, 2, 0}},
		// 2 samples (one a staleness marker, one NaN: both valid) and 1
		// exemplar; then a histogram and 2 exemplars: 2, 1 and 3 written.
		{name: "samples, histograms and exemplars", series: []spec{
			{labels: name, samples: []prompb.Sample{{Timestamp: ms(2), Value: math.NaN()}, {Timestamp: ms(1), Value: math.Float64frombits(promvalue.StaleNaN)}}, exemplars: 1},
			{labels: other, hists: []hist{{t: ms(1), h: goodHist}}, exemplars: 2},
		}, wantCode: 204, want: written{2, 1, 3}},
		// The suite's bad_count_histogram: count 99, buckets of 23. The
		// valid series beside it is written: 1 sample.
		{name: "histogram count mismatch", series: []spec{
			{labels: name, hists: []hist{{t: ms(1), h: badCountHist}}},
			{labels: other, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}},
		}, wantCode: 400, want: written{1, 0, 0}, wantRejected: map[string]float64{rejectInvalidHistogram: 1}, wantMsg: "23 observations found in buckets, but the Count field is 99"},
		// A valid histogram, then the bad one: 1 written, 1 refused.
		{name: "float histogram negative bucket", series: []spec{{labels: name, hists: []hist{{t: ms(2), fh: goodFloatHist}, {t: ms(1), fh: negativeFloatHist}}}},
			wantCode: 400, want: written{0, 1, 0}, wantRejected: map[string]float64{rejectInvalidHistogram: 1}, wantMsg: "negative"},
		{name: "histogram spans and buckets differ", series: []spec{{labels: name, hists: []hist{{t: ms(1), h: badSpanHist}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidHistogram: 1}, wantMsg: "spans need 3 buckets, have 2 buckets"},
		{name: "histogram negative bucket", series: []spec{{labels: name, hists: []hist{{t: ms(1), h: negativeHist}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidHistogram: 1}, wantMsg: "negative"},
		// 11 minutes ahead, more than the 10 allowed; the sample before
		// it is written.
		{name: "sample too far ahead", series: []spec{{labels: name, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}, {Timestamp: ms(-11), Value: 2}}}},
			wantCode: 400, want: written{1, 0, 0}, wantRejected: map[string]float64{rejectTooFarAhead: 1}, wantMsg: "in the future"},
		{name: "histogram too far ahead", series: []spec{{labels: name, hists: []hist{{t: ms(-11), h: goodHist}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectTooFarAhead: 1}, wantMsg: "in the future"},
		// Unsorted labels are sorted, as Prometheus does: 1 written.
		{name: "unsorted labels", series: []spec{{labels: []string{"job", "api", "__name__", dropMetric}, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}}},
			wantCode: 204, want: written{1, 0, 0}},
		// An unsorted series with a bad histogram and a good one: 1 of 2.
		{name: "unsorted labels, histogram count mismatch", series: []spec{{labels: []string{"job", "api", "__name__", dropMetric}, hists: []hist{{t: ms(2), h: goodHist}, {t: ms(1), h: badCountHist}}}},
			wantCode: 400, want: written{0, 1, 0}, wantRejected: map[string]float64{rejectInvalidHistogram: 1}, wantMsg: "Count field is 99"},
		{name: "duplicate label", series: []spec{{labels: []string{"__name__", dropMetric, "job", "api", "job", "web"}, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidLabels: 1}, wantMsg: "duplicate label job"},
		{name: "empty metric name", series: []spec{{labels: []string{"__name__", "", "job", "api"}, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidLabels: 1}, wantMsg: "no metric name"},
		{name: "empty label name", series: []spec{{labels: []string{"", "x", "__name__", dropMetric}, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidLabels: 1}, wantMsg: "invalid label name"},
		{name: "invalid utf-8 value", series: []spec{{labels: []string{"__name__", dropMetric, "job", "a\xffb"}, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidLabels: 1}, wantMsg: "not valid UTF-8"},
		// Metadata outside the symbol table: the series is refused, its
		// 2 samples with it.
		{name: "metadata reference outside the symbols", v2Only: true, series: []spec{{labels: name, samples: []prompb.Sample{{Timestamp: ms(2), Value: 1}, {Timestamp: ms(1), Value: 1}}, badHelp: true}},
			wantCode: 400, wantRejected: map[string]float64{rejectInvalidLabels: 2}, wantMsg: "metadata help or unit reference"},
		// 1 exemplar of 3 is bad: the sample and 2 exemplars are written.
		{name: "exemplar reference outside the symbols", v2Only: true, series: []spec{{labels: name, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}, exemplars: 2, badExemplars: 1}},
			wantCode: 400, want: written{1, 0, 2}, wantMsg: "exemplar 2: label reference"},
		{name: "no sample", v2Only: true, series: []spec{{labels: name}},
			wantCode: 400, wantMsg: "no sample"},
	}
}

// TestReceiverAnswersDroppedAsKept: a series that no workload selects is
// answered as it would be if it were stored, as Prometheus, which stores
// every series, answers it: the same status, the same written headers (a
// histogram counted as a histogram) and the same refusals, in 1.0 (by the
// fast path that does not decode a series when it can) and 2.0.
func TestReceiverAnswersDroppedAsKept(t *testing.T) {
	for _, tc := range dropCases() {
		for _, contentType := range []string{contentTypeV1, contentTypeV2} {
			if tc.v2Only && contentType == contentTypeV1 {
				continue
			}
			for _, query := range []string{keepQuery, dropQuery} {
				t.Run(tc.name+"/"+protocolName(contentType)+"/"+map[string]string{keepQuery: "kept", dropQuery: "dropped"}[query], func(t *testing.T) {
					checkDropCase(t, tc, contentType, query)
				})
			}
		}
	}
}

func protocolName(contentType string) string {
	if contentType == contentTypeV2 {
		return "v2"
	}
	return "v1"
}

func checkDropCase(t *testing.T, tc dropCase, contentType, query string) {
	t.Helper()
	rc, st, reg := testReceiver(t)
	if err := rc.SetQueries([]string{query}); err != nil {
		t.Fatal(err)
	}
	var req *http.Request
	if contentType == contentTypeV1 {
		ts := make([]prompb.TimeSeries, len(tc.series))
		for i, s := range tc.series {
			ts[i] = s.v1()
		}
		req = testutil.WriteRequestV1(t, writeURL, ts...)
	} else {
		syms := writev2.NewSymbolTable()
		ts := make([]writev2.TimeSeries, len(tc.series))
		for i, s := range tc.series {
			ts[i] = s.v2(&syms)
		}
		req = testutil.WriteRequestV2(t, writeURL, syms.Symbols(), ts...)
	}
	rec := send(rc, req)
	if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantMsg) {
		t.Errorf("status %d %q, want %d with %q", rec.Code, strings.TrimSpace(rec.Body.String()), tc.wantCode, tc.wantMsg)
	}
	if contentType == contentTypeV2 {
		if got := writtenHeaders(t, rec); got != tc.want {
			t.Errorf("written %+v, want %+v", got, tc.want)
		}
	}
	metrics := testutil.Gather(t, reg)
	for _, reason := range []string{rejectInvalidLabels, rejectLabelLimit, rejectSeriesLimit, rejectOutOfOrder, rejectTooFarAhead, rejectInvalidHistogram, rejectEmptySeries} {
		if got := metrics.Value(t, "kedastral_receiver_samples_rejected_total", prometheus.Labels{"reason": reason}); got != tc.wantRejected[reason] {
			t.Errorf("kedastral_receiver_samples_rejected_total{reason=%q} = %v, want %v", reason, got, tc.wantRejected[reason])
		}
	}
	if query == dropQuery {
		if got := stored(t, st, anyName); len(got) != 0 {
			t.Errorf("stored %v of series no workload selects", got)
		}
	}
}

// writtenHeaders reads the X-Prometheus-Remote-Write-*-Written headers.
func writtenHeaders(t *testing.T, rec *httptest.ResponseRecorder) written {
	t.Helper()
	n := func(kind string) int {
		h := rec.Header().Get("X-Prometheus-Remote-Write-" + kind + "-Written")
		v, err := strconv.Atoi(h)
		if err != nil {
			t.Fatalf("%s written header %q: %v", kind, h, err)
		}
		return v
	}
	return written{n("Samples"), n("Histograms"), n("Exemplars")}
}

// TestReceiverLimitsBoundKeptSeries: the per-series limits bound the series
// kept only; a series no workload selects is dropped whatever its labels,
// in 1.0 (read unread or decoded, its labels unsorted) and 2.0. The series
// has 3 labels, more than the limit of 2.
func TestReceiverLimitsBoundKeptSeries(t *testing.T) {
	sorted := []string{"__name__", dropMetric, "job", "api", "zone", "a"}
	unsorted := []string{"zone", "a", "__name__", dropMetric, "job", "api"}
	for _, tc := range []struct {
		name        string
		contentType string
		labels      []string
		query       string
		wantCode    int
	}{
		{"v1 dropped", contentTypeV1, sorted, dropQuery, 204},
		{"v1 unsorted dropped", contentTypeV1, unsorted, dropQuery, 204},
		{"v2 dropped", contentTypeV2, sorted, dropQuery, 204},
		{"v1 kept", contentTypeV1, sorted, keepQuery, 400},
		{"v2 kept", contentTypeV2, sorted, keepQuery, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			rc := NewReceiver(st.Appendable(), ReceiverOptions{Now: func() time.Time { return testNow }, Limits: Limits{LabelsPerSeries: 2}})
			if err := rc.SetQueries([]string{tc.query}); err != nil {
				t.Fatal(err)
			}
			s := spec{labels: tc.labels, samples: []prompb.Sample{{Timestamp: ms(1), Value: 1}}}
			req := testutil.WriteRequestV1(t, writeURL, s.v1())
			if tc.contentType == contentTypeV2 {
				syms := writev2.NewSymbolTable()
				ts := s.v2(&syms)
				req = testutil.WriteRequestV2(t, writeURL, syms.Symbols(), ts)
			}
			if rec := send(rc, req); rec.Code != tc.wantCode {
				t.Errorf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.wantCode)
			}
		})
	}
}

// TestWriteV1DropsValidSeriesUnread: series no workload selects whose float
// samples are valid are dropped without being decoded, so without an
// allocation however many they are; a histogram is decoded to be checked.
// Each body holds 100 series, sorted labels.
func TestWriteV1DropsValidSeriesUnread(t *testing.T) {
	floats := make([]prompb.TimeSeries, 100)
	hists := make([]prompb.TimeSeries, 100)
	for i := range floats {
		lv := []string{"__name__", dropMetric, "job", strconv.Itoa(i)}
		floats[i] = series1(lv, prompb.Sample{Timestamp: ms(2), Value: 1}, prompb.Sample{Timestamp: ms(1), Value: 2})
		hists[i] = spec{labels: lv, hists: []hist{{t: ms(1), h: goodHist}}}.v1()
	}
	for _, tc := range []struct {
		name       string
		series     []prompb.TimeSeries
		wantAllocs bool
	}{
		{"float samples", floats, false},
		{"histograms", hists, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, _ := testReceiver(t)
			if err := rc.SetQueries([]string{dropQuery}); err != nil {
				t.Fatal(err)
			}
			raw, err := (&prompb.WriteRequest{Timeseries: tc.series}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			b := rc.newBatch(httptest.NewRequest(http.MethodPost, "/api/v1/write", nil))
			defer func() { _ = b.app.Rollback() }()
			allocs := testing.AllocsPerRun(10, func() {
				if err := b.writeV1(raw); err != nil {
					t.Fatal(err)
				}
			})
			if got := allocs > 0; got != tc.wantAllocs {
				t.Errorf("%v allocations a request; want some: %v", allocs, tc.wantAllocs)
			}
			// 100 series of 1 histogram or 2 samples, dropped each of the 11
			// runs (AllocsPerRun warms up once): 1,100 series.
			if b.seriesDropped != 1100 || b.badSamples != 0 {
				t.Errorf("%d series dropped and %d samples refused, want 1100 and 0", b.seriesDropped, b.badSamples)
			}
		})
	}
}
