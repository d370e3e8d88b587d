package in

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// Shape of one benchmark request: 500 series of 4 samples, the 2000 samples
// that Prometheus sends at most per request by default.
const (
	benchSeries  = 500
	benchSamples = 4
	// benchStep separates two samples of a series. It is shorter than a
	// scrape interval so that a long run stays within the head's 3h and
	// does not benchmark a compaction; the chunk encoding costs the same
	// for any constant interval.
	benchStep = 100 * time.Millisecond
)

// benchQuery is the workload query of the benchmarks: it selects the series
// named bench_requests_total.
const benchQuery = `sum(rate(bench_requests_total[5m]))`

// benchStart is the timestamp of the first sample; the receiver's clock is a
// day later, so that no sample of a long run is too far ahead.
var benchStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// benchLabels returns the label sets of n series of the metric name, sorted
// by label name, as Prometheus sends an HTTP server's request counter.
func benchLabels(name string, n int) [][]string {
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	codes := []string{"200", "201", "304", "404", "500"}
	out := make([][]string, n)
	for i := range out {
		rest := i / 50
		out[i] = []string{
			"__name__", name,
			"code", codes[rest/len(methods)%len(codes)],
			"instance", fmt.Sprintf("10.0.%d.%d:8080", i%50/10, i%10),
			"job", "api",
			"method", methods[rest%len(methods)],
			"path", "/api/v1/resource/" + strconv.Itoa(rest/(len(methods)*len(codes))),
		}
	}
	return out
}

// benchRequest builds successive requests in one protocol, the samples of
// request i being after those of request i-1.
type benchRequest func(b *testing.B, i int) *http.Request

// benchV1 returns remote-write 1.0 requests of the series lss.
func benchV1(lss [][]string) benchRequest {
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, len(lss))}
	for i, lv := range lss {
		req.Timeseries[i] = series1(lv, make([]prompb.Sample, benchSamples)...)
	}
	return func(b *testing.B, n int) *http.Request {
		for i := range req.Timeseries {
			for j := range req.Timeseries[i].Samples {
				req.Timeseries[i].Samples[j] = prompb.Sample{Timestamp: benchTimestamp(n, j), Value: float64(n*benchSamples + j)}
			}
		}
		return testutil.WriteRequestV1(b, writeURL, req.Timeseries...)
	}
}

// benchV2 returns remote-write 2.0 requests of the series lss.
func benchV2(lss [][]string) benchRequest {
	syms := writev2.NewSymbolTable()
	ts := make([]writev2.TimeSeries, len(lss))
	for i, lv := range lss {
		ts[i] = series2(&syms, lv, make([]writev2.Sample, benchSamples)...)
	}
	return func(b *testing.B, n int) *http.Request {
		for i := range ts {
			for j := range ts[i].Samples {
				ts[i].Samples[j] = writev2.Sample{Timestamp: benchTimestamp(n, j), Value: float64(n*benchSamples + j)}
			}
		}
		return testutil.WriteRequestV2(b, writeURL, syms.Symbols(), ts...)
	}
}

// benchTimestamp is the timestamp of sample j of request n.
func benchTimestamp(n, j int) int64 {
	return benchStart.Add(time.Duration(n*benchSamples+j) * benchStep).UnixMilli()
}

// BenchmarkReceiver measures the remote-write handler on a real embedded
// storage: requests of 2000 samples whose series a workload selects (kept,
// appended to the TSDB) or does not (dropped after a look at their name).
// Building the requests is not timed.
func BenchmarkReceiver(b *testing.B) {
	protocols := []struct {
		name  string
		build func([][]string) benchRequest
	}{
		{"v1", benchV1},
		{"v2", benchV2},
	}
	cases := []struct {
		name   string
		metric string
	}{
		{"kept", "bench_requests_total"},
		{"dropped", "bench_request_duration_seconds_count"},
	}
	for _, p := range protocols {
		for _, c := range cases {
			b.Run(p.name+"/"+c.name, func(b *testing.B) {
				benchmarkReceiver(b, p.build(benchLabels(c.metric, benchSeries)))
			})
		}
	}
}

func benchmarkReceiver(b *testing.B, request benchRequest) {
	st, err := OpenStorage(StorageOptions{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	now := benchStart.Add(24 * time.Hour)
	rc := NewReceiver(st.Appendable(), ReceiverOptions{Now: func() time.Time { return now }})
	if err := rc.SetQueries([]string{benchQuery}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		req := request(b, i)
		b.StartTimer()
		if rec := send(rc, req); rec.Code != http.StatusNoContent {
			b.Fatalf("request %d: status %d (%s), want 204", i, rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*benchSeries*benchSamples)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkWriteV1Dropped measures the 1.0 path of series no workload
// selects, without HTTP and snappy: requests of 500 series of 4 float
// samples (the shape of BenchmarkReceiver), dropped unread, or of 1 native
// histogram of 20 buckets each, decoded alone to be checked (20
// observations, all in the first bucket: valid).
func BenchmarkWriteV1Dropped(b *testing.B) {
	lss := benchLabels("bench_request_duration_seconds_count", benchSeries)
	h := &histogram.Histogram{Count: 20, Sum: 1, ZeroThreshold: 1e-128, PositiveSpans: []histogram.Span{{Offset: 0, Length: 20}}, PositiveBuckets: make([]int64, 20)}
	h.PositiveBuckets[0] = 1
	for _, c := range []struct {
		name  string
		build func(lv []string) prompb.TimeSeries
	}{
		{"floats", func(lv []string) prompb.TimeSeries {
			ts := series1(lv)
			for j := range benchSamples {
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: benchTimestamp(0, j), Value: float64(j)})
			}
			return ts
		}},
		{"histograms", func(lv []string) prompb.TimeSeries {
			ts := series1(lv)
			ts.Histograms = []prompb.Histogram{prompb.FromIntHistogram(benchTimestamp(0, 0), h)}
			return ts
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := prompb.WriteRequest{}
			for _, lv := range lss {
				req.Timeseries = append(req.Timeseries, c.build(lv))
			}
			raw, err := req.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			st, err := OpenStorage(StorageOptions{Path: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			rc := NewReceiver(st.Appendable(), ReceiverOptions{})
			if err := rc.SetQueries([]string{benchQuery}); err != nil {
				b.Fatal(err)
			}
			bt := rc.newBatch(httptest.NewRequest(http.MethodPost, "/api/v1/write", nil))
			defer func() { _ = bt.app.Rollback() }()
			b.ReportAllocs()
			for b.Loop() {
				if err := bt.writeV1(raw); err != nil {
					b.Fatal(err)
				}
			}
			if bt.badSamples != 0 {
				b.Fatalf("%d samples refused", bt.badSamples)
			}
		})
	}
}
