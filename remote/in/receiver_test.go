package in

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/internal/testutil"
	"github.com/HatiCode/kedastral/remote/read"
)

const (
	contentTypeV1 = "application/x-protobuf;proto=prometheus.WriteRequest"
	contentTypeV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

// writeURL is the address of the tests' remote-write requests; the receiver
// answers whatever the path.
const writeURL = "http://kedastral.test/api/v1/write"

// testNow is the receiver's clock in these tests: samples are written
// shortly before it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ms returns the Prometheus timestamp minutes before testNow.
func ms(minutesBefore int) int64 {
	return testNow.Add(-time.Duration(minutesBefore) * time.Minute).UnixMilli()
}

// testReceiver is a receiver on a real embedded storage in a temp dir that
// keeps the series of http_requests_total{job="api"}.
func testReceiver(t *testing.T) (*Receiver, *Storage, *prometheus.Registry) {
	t.Helper()
	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	reg := prometheus.NewRegistry()
	rc := NewReceiver(st.Appendable(), ReceiverOptions{Registerer: reg, MaxBodyBytes: 64 << 10, Now: func() time.Time { return testNow }})
	if err := rc.SetQueries([]string{`sum(rate(http_requests_total{job="api"}[5m]))`}); err != nil {
		t.Fatal(err)
	}
	return rc, st, reg
}

// series1 is a remote-write 1.0 series with labels given as name, value, ...
// in the order given (which may be unsorted on purpose).
func series1(lv []string, samples ...prompb.Sample) prompb.TimeSeries {
	ts := prompb.TimeSeries{Samples: samples}
	for i := 0; i < len(lv); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: lv[i], Value: lv[i+1]})
	}
	return ts
}

// series2 is a remote-write 2.0 series whose labels are symbolised in the
// order given.
func series2(st *writev2.SymbolsTable, lv []string, samples ...writev2.Sample) writev2.TimeSeries {
	ts := writev2.TimeSeries{Samples: samples}
	for _, s := range lv {
		ts.LabelsRefs = append(ts.LabelsRefs, st.Symbolize(s))
	}
	return ts
}

// send has rc answer req, a request built by testutil.WriteRequestV1 or
// WriteRequestV2 as a sender sends it.
func send(rc http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rc.ServeHTTP(rec, req)
	return rec
}

// post sends body as it is, with Content-Type contentType and
// Content-Encoding snappy: for the bodies no sender sends (not snappy, not
// protobuf, arbitrary). A sender's request is sent by send.
func post(rc http.Handler, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "2.0.0")
	return send(rc, req)
}

// stored returns the samples stored for the series selector sel.
func stored(t *testing.T, st *Storage, sel ...*labels.Matcher) map[string][]float64 {
	t.Helper()
	q, err := st.Queryable().Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string][]float64{}
	set := q.Select(context.Background(), true, nil, sel...)
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() != 0 {
			_, v := it.At()
			out[set.At().Labels().String()] = append(out[set.At().Labels().String()], v)
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	apiLabels   = []string{"__name__", "http_requests_total", "instance", "a:80", "job", "api"}
	otherLabels = []string{"__name__", "node_cpu_seconds_total", "cpu", "0", "job", "node"}
	anyName     = labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
)

func TestReceiverV1StoresWhatQueriesSelect(t *testing.T) {
	rc, st, reg := testReceiver(t)
	rec := send(rc, testutil.WriteRequestV1(t, writeURL,
		series1(apiLabels, prompb.Sample{Timestamp: ms(2), Value: 10}, prompb.Sample{Timestamp: ms(1), Value: 25}),
		series1(otherLabels, prompb.Sample{Timestamp: ms(1), Value: 7}),
	))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d (%s), want 204", rec.Code, rec.Body)
	}
	if h := rec.Header().Get("X-Prometheus-Remote-Write-Samples-Written"); h != "" {
		t.Errorf("a 1.0 answer has written-samples header %q", h)
	}
	got := stored(t, st, anyName)
	want := map[string][]float64{`{__name__="http_requests_total", instance="a:80", job="api"}`: {10, 25}}
	if len(got) != 1 || !equalFloats(got[`{__name__="http_requests_total", instance="a:80", job="api"}`], want[`{__name__="http_requests_total", instance="a:80", job="api"}`]) {
		t.Errorf("stored %v, want %v", got, want)
	}
	// 2 samples stored; the node series (1 sample) dropped.
	metrics := testutil.Gather(t, reg)
	for name, want := range map[string]float64{
		"kedastral_receiver_samples_stored_total":  2,
		"kedastral_receiver_samples_dropped_total": 1,
		"kedastral_receiver_series_dropped_total":  1,
	} {
		if got := metrics.Value(t, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func TestReceiverV2WrittenHeaders(t *testing.T) {
	rc, st, _ := testReceiver(t)
	syms := writev2.NewSymbolTable()
	ts := []writev2.TimeSeries{
		series2(&syms, apiLabels, writev2.Sample{Timestamp: ms(2), Value: 1}, writev2.Sample{Timestamp: ms(1), Value: 2}, writev2.Sample{Timestamp: ms(0), Value: 3}),
		series2(&syms, otherLabels, writev2.Sample{Timestamp: ms(1), Value: 9}),
	}
	rec := send(rc, testutil.WriteRequestV2(t, writeURL, syms.Symbols(), ts...))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d (%s), want 204", rec.Code, rec.Body)
	}
	// 3 stored + 1 dropped by choice, which is acknowledged as written.
	if h := rec.Header().Get("X-Prometheus-Remote-Write-Samples-Written"); h != "4" {
		t.Errorf("samples written header %q, want 4", h)
	}
	for _, name := range []string{"X-Prometheus-Remote-Write-Histograms-Written", "X-Prometheus-Remote-Write-Exemplars-Written"} {
		if h := rec.Header().Get(name); h != "0" {
			t.Errorf("%s = %q, want 0", name, h)
		}
	}
	if got := stored(t, st, anyName); len(got) != 1 || len(got[`{__name__="http_requests_total", instance="a:80", job="api"}`]) != 3 {
		t.Errorf("stored %v, want the 3 samples of the api series", got)
	}
}

// TestReceiverAcknowledgesExemplars: exemplars are acknowledged as written
// and dropped, on series kept and dropped alike, and histograms of a
// dropped series count as histograms. The request: the api series (kept)
// with 2 samples and 2 exemplars; node_cpu (dropped) with 1 sample, 1
// histogram and 3 exemplars. Written: 2 + 1 = 3 samples, 1 histogram,
// 2 + 3 = 5 exemplars.
func TestReceiverAcknowledgesExemplars(t *testing.T) {
	rc, st, reg := testReceiver(t)
	syms := writev2.NewSymbolTable()
	ex := func(n int) []writev2.Exemplar {
		out := make([]writev2.Exemplar, n)
		for i := range out {
			out[i] = writev2.Exemplar{LabelsRefs: []uint32{syms.Symbolize("trace_id"), syms.Symbolize(fmt.Sprint(i))}, Value: 1, Timestamp: ms(1)}
		}
		return out
	}
	api := series2(&syms, apiLabels, writev2.Sample{Timestamp: ms(2), Value: 1}, writev2.Sample{Timestamp: ms(1), Value: 2})
	api.Exemplars = ex(2)
	other := series2(&syms, otherLabels, writev2.Sample{Timestamp: ms(1), Value: 9})
	other.Histograms = []writev2.Histogram{writev2.FromIntHistogram(0, ms(1), &histogram.Histogram{Count: 1, Sum: 1, ZeroThreshold: 1e-128, ZeroCount: 1})}
	other.Exemplars = ex(3)
	rec := send(rc, testutil.WriteRequestV2(t, writeURL, syms.Symbols(), api, other))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d (%s), want 204", rec.Code, rec.Body)
	}
	for name, want := range map[string]string{
		"X-Prometheus-Remote-Write-Samples-Written":    "3",
		"X-Prometheus-Remote-Write-Histograms-Written": "1",
		"X-Prometheus-Remote-Write-Exemplars-Written":  "5",
	} {
		if h := rec.Header().Get(name); h != want {
			t.Errorf("%s = %q, want %s", name, h, want)
		}
	}
	if n := testutil.Gather(t, reg).Value(t, "kedastral_receiver_exemplars_dropped_total", nil); n != 5 {
		t.Errorf("kedastral_receiver_exemplars_dropped_total = %v, want 5", n)
	}
	if got := stored(t, st, anyName); len(got) != 1 || len(got[`{__name__="http_requests_total", instance="a:80", job="api"}`]) != 2 {
		t.Errorf("stored %v, want the api series' 2 samples", got)
	}
}

func TestReceiverHistograms(t *testing.T) {
	rc, st, _ := testReceiver(t)
	if err := rc.SetQueries([]string{`histogram_quantile(0.9, sum(rate(latency_seconds[5m])))`}); err != nil {
		t.Fatal(err)
	}
	h := &histogram.Histogram{Count: 3, Sum: 1.5, Schema: 0, ZeroThreshold: 1e-128, ZeroCount: 0,
		PositiveSpans: []histogram.Span{{Offset: 0, Length: 2}}, PositiveBuckets: []int64{1, 1}}
	ts := series1([]string{"__name__", "latency_seconds", "job", "api"})
	ts.Histograms = []prompb.Histogram{prompb.FromIntHistogram(ms(1), h)}
	rec := send(rc, testutil.WriteRequestV1(t, writeURL, ts))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d (%s), want 204", rec.Code, rec.Body)
	}
	q, _ := st.Queryable().Querier(math.MinInt64, math.MaxInt64)
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "latency_seconds"))
	if !set.Next() {
		t.Fatal("the histogram series was not stored")
	}
	it := set.At().Iterator(nil)
	if vt := it.Next(); vt.String() != "histogram" {
		t.Fatalf("stored a %s, want a histogram", vt)
	}
	if _, got := it.AtHistogram(nil); got.Count != 3 || got.Sum != 1.5 {
		t.Errorf("stored count %d sum %v, want 3 and 1.5", got.Count, got.Sum)
	}
}

// unreadable fails the test when read: a 415 must come before the body.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body was read")
	return 0, io.EOF
}

func TestReceiverRefusesBeforeReading(t *testing.T) {
	rc, _, _ := testReceiver(t)
	for _, tc := range []struct {
		name, contentType, encoding string
		method                      string
		want                        int
	}{
		{"json", "application/json", "snappy", http.MethodPost, http.StatusUnsupportedMediaType},
		{"text", "text/plain", "", http.MethodPost, http.StatusUnsupportedMediaType},
		{"unknown proto", "application/x-protobuf;proto=io.prometheus.write.v3.Request", "snappy", http.MethodPost, http.StatusUnsupportedMediaType},
		{"bad parameter", "application/x-protobuf;proto", "snappy", http.MethodPost, http.StatusUnsupportedMediaType},
		{"gzip", contentTypeV1, "gzip", http.MethodPost, http.StatusUnsupportedMediaType},
		{"zstd", contentTypeV2, "zstd", http.MethodPost, http.StatusUnsupportedMediaType},
		{"GET", contentTypeV1, "snappy", http.MethodGet, http.StatusMethodNotAllowed},
		{"PUT", contentTypeV1, "snappy", http.MethodPut, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/api/v1/write", unreadable{t})
			req.Header.Set("Content-Type", tc.contentType)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tc.want)
			}
			if strings.TrimSpace(rec.Body.String()) == "" {
				t.Error("no message in the body")
			}
		})
	}
}

func TestReceiverBadRequests(t *testing.T) {
	valid := series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1})
	syms := writev2.NewSymbolTable()
	for _, tc := range []struct {
		name        string
		contentType string
		body        func(t *testing.T) []byte
		wantCode    int
		wantMsg     string
		// wantStored is the samples of the api series stored afterwards.
		wantStored int
	}{
		{"bad snappy", contentTypeV1, func(*testing.T) []byte { return []byte("not snappy at all") }, 400, "", 0},
		{"not protobuf", contentTypeV1, func(*testing.T) []byte { return snappy.Encode(nil, []byte{0xff, 0xff, 0xff}) }, 400, "decode remote-write 1.0", 0},
		{"not protobuf v2", contentTypeV2, func(*testing.T) []byte { return snappy.Encode(nil, []byte{0x0a, 0xff}) }, 400, "decode remote-write 2.0", 0},
		{"duplicate labels", contentTypeV1, func(t *testing.T) []byte {
			return testutil.WriteBodyV1(t, series1([]string{"__name__", "http_requests_total", "job", "api", "job", "web"}, prompb.Sample{Timestamp: ms(1), Value: 1}), valid)
		}, 400, "duplicate label job", 1},
		{"no metric name", contentTypeV1, func(t *testing.T) []byte {
			return testutil.WriteBodyV1(t, series1([]string{"job", "api"}, prompb.Sample{Timestamp: ms(1), Value: 1}), valid)
		}, 400, "no metric name", 1},
		{"invalid utf-8", contentTypeV1, func(t *testing.T) []byte {
			return testutil.WriteBodyV1(t, series1([]string{"__name__", "http_requests_total", "job", "a\xffb"}, prompb.Sample{Timestamp: ms(1), Value: 1}), valid)
		}, 400, "not valid UTF-8", 1},
		{"out of order", contentTypeV1, func(t *testing.T) []byte {
			return testutil.WriteBodyV1(t, series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1}, prompb.Sample{Timestamp: ms(3), Value: 2}))
		}, 400, "out of order", 1},
		{"duplicate timestamp", contentTypeV1, func(t *testing.T) []byte {
			return testutil.WriteBodyV1(t, series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1}, prompb.Sample{Timestamp: ms(1), Value: 2}))
		}, 400, "duplicate sample", 1},
		{"too far ahead", contentTypeV1, func(t *testing.T) []byte {
			return testutil.WriteBodyV1(t, series1(apiLabels, prompb.Sample{Timestamp: ms(-11), Value: 1}), valid)
		}, 400, "in the future", 1},
		{"v2 reference outside symbols", contentTypeV2, func(t *testing.T) []byte {
			return testutil.WriteBodyV2(t, syms.Symbols(), writev2.TimeSeries{LabelsRefs: []uint32{0, 999}, Samples: []writev2.Sample{{Timestamp: ms(1), Value: 1}}})
		}, 400, "outside the symbol table", 0},
		{"v2 odd references", contentTypeV2, func(t *testing.T) []byte {
			return testutil.WriteBodyV2(t, syms.Symbols(), writev2.TimeSeries{LabelsRefs: []uint32{0}, Samples: []writev2.Sample{{Timestamp: ms(1), Value: 1}}})
		}, 400, "odd number", 0},
		{"v2 empty series", contentTypeV2, func(t *testing.T) []byte {
			ts := series2(&syms, apiLabels)
			return testutil.WriteBodyV2(t, syms.Symbols(), ts)
		}, 400, "no sample", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, st, reg := testReceiver(t)
			rec := post(rc, tc.contentType, tc.body(t))
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantMsg) {
				t.Errorf("status %d %q, want %d with %q", rec.Code, strings.TrimSpace(rec.Body.String()), tc.wantCode, tc.wantMsg)
			}
			got := stored(t, st, anyName)
			if n := len(got[`{__name__="http_requests_total", instance="a:80", job="api"}`]); n != tc.wantStored {
				t.Errorf("%d samples stored, want %d: %v", n, tc.wantStored, got)
			}
			// The receiver keeps serving: a valid write after the bad one.
			if rec := send(rc, testutil.WriteRequestV1(t, writeURL, series1(apiLabels, prompb.Sample{Timestamp: ms(0), Value: 5}))); rec.Code != http.StatusNoContent {
				t.Errorf("valid write after a bad one: %d %s", rec.Code, rec.Body)
			}
			_ = reg
		})
	}
}

// TestReceiverSortsLabels: series whose labels are not sorted by name are
// stored under their sorted labels, as Prometheus stores them, in 1.0 and
// 2.0; a name that repeats once sorted is still refused. Each request: the
// api series unsorted (instance, job, __name__: 1 sample) and a series of
// node_cpu (dropped by choice, 1 sample), both acknowledged: 2 written.
func TestReceiverSortsLabels(t *testing.T) {
	unsorted := []string{"instance", "a:80", "job", "api", "__name__", "http_requests_total"}
	syms := writev2.NewSymbolTable()
	ts2 := []writev2.TimeSeries{series2(&syms, unsorted, writev2.Sample{Timestamp: ms(1), Value: 7}), series2(&syms, []string{"job", "node", "__name__", "node_cpu_seconds_total"}, writev2.Sample{Timestamp: ms(1), Value: 1})}
	requests := map[string]*http.Request{
		contentTypeV1: testutil.WriteRequestV1(t, writeURL, series1(unsorted, prompb.Sample{Timestamp: ms(1), Value: 7}), series1([]string{"job", "node", "__name__", "node_cpu_seconds_total"}, prompb.Sample{Timestamp: ms(1), Value: 1})),
		contentTypeV2: testutil.WriteRequestV2(t, writeURL, syms.Symbols(), ts2...),
	}
	for contentType, req := range requests {
		t.Run(contentType, func(t *testing.T) {
			rc, st, reg := testReceiver(t)
			rec := send(rc, req)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d (%s), want 204", rec.Code, strings.TrimSpace(rec.Body.String()))
			}
			if h := rec.Header().Get("X-Prometheus-Remote-Write-Samples-Written"); contentType == contentTypeV2 && h != "2" {
				t.Errorf("samples written %q, want 2", h)
			}
			got := stored(t, st, anyName)
			if v := got[`{__name__="http_requests_total", instance="a:80", job="api"}`]; len(got) != 1 || len(v) != 1 || v[0] != 7 {
				t.Errorf("stored %v, want the api series' one sample 7 under its sorted labels", got)
			}
			for reason, n := range testutil.Gather(t, reg).Values(t, "kedastral_receiver_samples_rejected_total", "reason") {
				if n != 0 {
					t.Errorf("%v samples rejected (reason %q), want 0", n, reason)
				}
			}
		})
	}
	t.Run("repeated once sorted", func(t *testing.T) {
		rc, _, _ := testReceiver(t)
		dup := []string{"job", "api", "__name__", "http_requests_total", "job", "web"}
		rec := send(rc, testutil.WriteRequestV1(t, writeURL, series1(dup, prompb.Sample{Timestamp: ms(1), Value: 1})))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "duplicate label job") {
			t.Errorf("status %d %q, want 400 naming the duplicate label", rec.Code, strings.TrimSpace(rec.Body.String()))
		}
	})
}

func TestReceiverBodyLimit(t *testing.T) {
	rc, _, _ := testReceiver(t) // 64 KiB limit
	big := make([]byte, 65<<10)
	for _, tc := range []struct {
		name          string
		contentLength int64
	}{
		{"declared", int64(len(big))},
		{"chunked", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(big))
			req.ContentLength = tc.contentLength
			req.Header.Set("Content-Type", contentTypeV1)
			req.Header.Set("Content-Encoding", "snappy")
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d (%s), want 413", rec.Code, rec.Body)
			}
		})
	}
}

func TestReceiverPaused(t *testing.T) {
	rc, st, _ := testReceiver(t)
	ts := series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1})
	rc.Pause()
	rec := send(rc, testutil.WriteRequestV1(t, writeURL, ts))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("paused: status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	rc.Resume()
	if rec := send(rc, testutil.WriteRequestV1(t, writeURL, ts)); rec.Code != http.StatusNoContent {
		t.Errorf("resumed: status %d (%s), want 204", rec.Code, rec.Body)
	}
	if got := stored(t, st, anyName); len(got) != 1 {
		t.Errorf("stored %v, want the one sample sent after resuming", got)
	}
}

func TestReceiverSetQueries(t *testing.T) {
	rc, st, _ := testReceiver(t)
	if err := rc.SetQueries([]string{`sum(`}); err == nil {
		t.Error("a query that does not parse was accepted")
	}
	// The selection before the refused one still holds: the api series is kept.
	req := testutil.WriteRequestV1(t, writeURL,
		series1(apiLabels, prompb.Sample{Timestamp: ms(3), Value: 1}),
		series1(otherLabels, prompb.Sample{Timestamp: ms(3), Value: 1}))
	if rec := send(rc, req); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d", rec.Code)
	}
	// A reload that selects the node series, by a regular expression on the
	// name, instead of the api one.
	if err := rc.SetQueries([]string{`sum by (cpu) ({__name__=~"node_.*", job="node"})`}); err != nil {
		t.Fatal(err)
	}
	req = testutil.WriteRequestV1(t, writeURL,
		series1(apiLabels, prompb.Sample{Timestamp: ms(2), Value: 2}),
		series1(otherLabels, prompb.Sample{Timestamp: ms(2), Value: 2}))
	if rec := send(rc, req); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d", rec.Code)
	}
	got := stored(t, st, anyName)
	if api, node := got[`{__name__="http_requests_total", instance="a:80", job="api"}`], got[`{__name__="node_cpu_seconds_total", cpu="0", job="node"}`]; !equalFloats(api, []float64{1}) || !equalFloats(node, []float64{2}) {
		t.Errorf("api %v and node %v, want [1] (before the reload) and [2] (after)", api, node)
	}
}

// failingAppendable fails every append: a disk that is full or gone, which a
// real storage cannot be made to show here.
type failingAppendable struct{}

func (failingAppendable) AppenderV2(context.Context) storage.AppenderV2 { return failingAppender{} }

type failingAppender struct{}

func (failingAppender) Append(storage.SeriesRef, labels.Labels, int64, int64, float64, *histogram.Histogram, *histogram.FloatHistogram, storage.AOptions) (storage.SeriesRef, error) {
	return 0, errors.New("disk full")
}
func (failingAppender) Commit() error   { return nil }
func (failingAppender) Rollback() error { return nil }

func TestReceiverStorageFailureIsRetryable(t *testing.T) {
	rc := NewReceiver(failingAppendable{}, ReceiverOptions{Now: func() time.Time { return testNow }})
	if err := rc.SetQueries([]string{`http_requests_total`}); err != nil {
		t.Fatal(err)
	}
	rec := send(rc, testutil.WriteRequestV1(t, writeURL, series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1})))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "disk full") {
		t.Errorf("status %d %q, want 500 saying disk full", rec.Code, rec.Body)
	}
}

func TestStorageQueryRange(t *testing.T) {
	rc, st, _ := testReceiver(t)
	// A counter rising 60 per minute, one sample every 15 s over 20 minutes:
	// rate(...[5m]) is 1 per second wherever the window is full.
	var samples []prompb.Sample
	for i := 0; i <= 80; i++ {
		samples = append(samples, prompb.Sample{Timestamp: ms(20) + int64(i)*15_000, Value: float64(i) * 15})
	}
	if rec := send(rc, testutil.WriteRequestV1(t, writeURL, series1(apiLabels, samples...))); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d (%s)", rec.Code, rec.Body)
	}
	v, _, err := st.QueryRange(context.Background(), `sum(rate(http_requests_total{job="api"}[5m]))`,
		v1.Range{Start: testNow.Add(-10 * time.Minute), End: testNow, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m := v.(model.Matrix)
	if len(m) != 1 || len(m[0].Values) != 11 {
		t.Fatalf("result %v, want one series of 11 points", m)
	}
	for _, p := range m[0].Values {
		if math.Abs(float64(p.Value)-1) > 1e-9 {
			t.Errorf("rate at %v = %v, want 1", p.Timestamp, p.Value)
		}
	}
	if _, _, err := st.QueryRange(context.Background(), `sum(`, v1.Range{Start: testNow, End: testNow, Step: time.Minute}); err == nil {
		t.Error("a query that does not parse ran")
	} else if qe, ok := errors.AsType[*read.QueryError](err); !ok || qe.Reason != "bad_query" {
		t.Errorf("error %v, want a bad_query QueryError", err)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestReceiverLimits: a request over a per-request limit is refused whole
// with 413 naming the flag, before anything is stored; a series over a
// per-series limit is refused in a 400 naming the flag, the others stored.
// Each case sends the api series (3 labels: __name__, instance, job; 1
// sample at ms(1), value 1) and a second series of the same metric.
func TestReceiverLimits(t *testing.T) {
	second := func(lv ...string) prompb.TimeSeries {
		return series1(append([]string{"__name__", "http_requests_total"}, lv...), prompb.Sample{Timestamp: ms(1), Value: 2}, prompb.Sample{Timestamp: ms(0), Value: 3})
	}
	api := series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1})
	long := strings.Repeat("v", 11)
	for _, tc := range []struct {
		name        string
		limits      Limits
		second      prompb.TimeSeries
		wantCode    int
		wantFlag    string
		wantLimit   string
		wantStored  int // series stored
		wantLimited float64
	}{
		// 2 series > 1.
		{"series per request", Limits{SeriesPerRequest: 1}, second("job", "b"), 413, "--receiver.max-series-per-request", limitSeriesPerRequest, 0, 1},
		// 1 + 2 = 3 samples > 2.
		{"samples per request", Limits{SamplesPerRequest: 2}, second("job", "b"), 413, "--receiver.max-samples-per-request", limitSamplesPerRequest, 0, 1},
		// 4 labels > 3; the api series' 3 pass.
		{"labels per series", Limits{LabelsPerSeries: 3}, second("job", "b", "pod", "p", "zone", "a"), 400, "--receiver.max-labels-per-series", limitLabelsPerSeries, 1, 1},
		// "instance" is 8 bytes > 5 in both series: none stored.
		{"label name length", Limits{LabelNameLength: 5}, second("instance", "x"), 400, "--receiver.max-label-name-length", limitLabelNameLength, 0, 2},
		// A value of 22 bytes > 20; the longest of the api series is the
		// metric name's 19.
		{"label value length", Limits{LabelValueLength: 20}, second("job", long+long), 400, "--receiver.max-label-value-length", limitLabelValueLength, 1, 1},
		{"within every limit", DefaultLimits(), second("job", "b"), 204, "", limitSeriesPerRequest, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			reg := prometheus.NewRegistry()
			rc := NewReceiver(st.Appendable(), ReceiverOptions{Registerer: reg, Now: func() time.Time { return testNow }, Limits: tc.limits})
			if err := rc.SetQueries([]string{`http_requests_total`}); err != nil {
				t.Fatal(err)
			}
			rec := send(rc, testutil.WriteRequestV1(t, writeURL, api, tc.second))
			if rec.Code != tc.wantCode || !strings.Contains(rec.Body.String(), tc.wantFlag) {
				t.Errorf("status %d %q, want %d naming %s", rec.Code, strings.TrimSpace(rec.Body.String()), tc.wantCode, tc.wantFlag)
			}
			if got := stored(t, st, anyName); len(got) != tc.wantStored {
				t.Errorf("%d series stored, want %d: %v", len(got), tc.wantStored, got)
			}
			if got := testutil.Gather(t, reg).Value(t, "kedastral_receiver_limited_total", prometheus.Labels{"limit": tc.wantLimit}); got != tc.wantLimited {
				t.Errorf("kedastral_receiver_limited_total{limit=%q} = %v, want %v", tc.wantLimit, got, tc.wantLimited)
			}
		})
	}
	t.Run("v2 series per request", func(t *testing.T) {
		st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		rc := NewReceiver(st.Appendable(), ReceiverOptions{Now: func() time.Time { return testNow }, Limits: Limits{SeriesPerRequest: 1}})
		syms := writev2.NewSymbolTable()
		ts := []writev2.TimeSeries{series2(&syms, apiLabels, writev2.Sample{Timestamp: ms(1), Value: 1}), series2(&syms, otherLabels, writev2.Sample{Timestamp: ms(1), Value: 1})}
		rec := send(rc, testutil.WriteRequestV2(t, writeURL, syms.Symbols(), ts...))
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "--receiver.max-series-per-request") {
			t.Errorf("status %d %q, want 413 naming the flag", rec.Code, strings.TrimSpace(rec.Body.String()))
		}
	})
}

// TestReceiverMaxSeries: with --receiver.max-series=2 and two series
// stored, a third new series is refused in a 400 naming the flag while a
// sample of a series already held is stored in the same request; the
// series held keep receiving samples.
func TestReceiverMaxSeries(t *testing.T) {
	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	reg := prometheus.NewRegistry()
	rc := NewReceiver(st.Appendable(), ReceiverOptions{Registerer: reg, Now: func() time.Time { return testNow }, Limits: Limits{Series: 2}, Series: st})
	if err := rc.SetQueries([]string{`http_requests_total`}); err != nil {
		t.Fatal(err)
	}
	job := func(j string, at int) prompb.TimeSeries {
		return series1([]string{"__name__", "http_requests_total", "job", j}, prompb.Sample{Timestamp: ms(at), Value: float64(at)})
	}
	if rec := send(rc, testutil.WriteRequestV1(t, writeURL, job("a", 3), job("b", 3))); rec.Code != http.StatusNoContent {
		t.Fatalf("two series: %d %s", rec.Code, rec.Body)
	}
	if n := st.HeadSeries(); n != 2 {
		t.Fatalf("%d series in the head, want 2", n)
	}
	rec := send(rc, testutil.WriteRequestV1(t, writeURL, job("a", 2), job("c", 2)))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "--receiver.max-series") {
		t.Errorf("a held series and a third new one: %d %q, want 400 naming --receiver.max-series", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	if rec := send(rc, testutil.WriteRequestV1(t, writeURL, job("b", 1))); rec.Code != http.StatusNoContent {
		t.Errorf("a held series after the refusal: %d %s", rec.Code, rec.Body)
	}
	got := stored(t, st, anyName)
	want := map[string]int{`{__name__="http_requests_total", job="a"}`: 2, `{__name__="http_requests_total", job="b"}`: 2}
	if len(got) != len(want) {
		t.Errorf("stored %v, want series a and b only", got)
	}
	for s, n := range want {
		if len(got[s]) != n {
			t.Errorf("%s: %d samples, want %d", s, len(got[s]), n)
		}
	}
	if n := testutil.Gather(t, reg).Value(t, "kedastral_receiver_limited_total", prometheus.Labels{"limit": limitSeries}); n != 1 {
		t.Errorf("kedastral_receiver_limited_total{limit=\"series\"} = %v, want 1", n)
	}
}
