package testutil

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// fakeTB records the failure of a helper; Fatalf ends the goroutine, as
// testing.T's does.
type fakeTB struct {
	testing.TB
	msg string
}

func (*fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a fakeTB on a goroutine of its own and returns the
// failure message, "" when fn did not fail.
func run(fn func(tb testing.TB)) string {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

// wantFailure checks that fn fails with a message containing want.
func wantFailure(t *testing.T, want string, fn func(tb testing.TB)) {
	t.Helper()
	msg := run(fn)
	if msg == "" {
		t.Errorf("did not fail, want a failure containing %q", want)
	} else if !strings.Contains(msg, want) {
		t.Errorf("failed with %q, want it to contain %q", msg, want)
	}
}

func TestWaitFor(t *testing.T) {
	calls := 0
	if msg := run(func(tb testing.TB) {
		WaitFor(tb, time.Minute, "three calls", func() bool { calls++; return calls == 3 })
	}); msg != "" || calls != 3 {
		t.Errorf("failed %q after %d calls, want success at the third", msg, calls)
	}
	wantFailure(t, "timed out after 20ms waiting for never", func(tb testing.TB) {
		WaitFor(tb, 20*time.Millisecond, "never", func() bool { return false })
	})
}

// testRegistry holds test_requests_total{code="200"} 3 and {code="500"} 1,
// test_errors_total{reason="timeout"} 0, test_queue 2 and a histogram.
func testRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "test_requests_total", Help: "h"}, []string{"code"})
	requests.WithLabelValues("200").Add(3)
	requests.WithLabelValues("500").Inc()
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "test_errors_total", Help: "h"}, []string{"reason"})
	errs.WithLabelValues("timeout")
	queue := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_queue", Help: "h"})
	queue.Set(2)
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "test_latency_seconds", Help: "h"})
	latency.Observe(1)
	reg.MustRegister(requests, errs, queue, latency)
	return reg
}

// TestReaders reads the same metrics gathered, scraped and parsed: each
// reader gives the value of a series that exists, and fails the test when
// the family or series is missing or when it cannot tell which series.
func TestReaders(t *testing.T) {
	reg := testRegistry()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	text, err := testutilText(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func(testing.TB) Families{
		"gathered": func(tb testing.TB) Families { return Gather(tb, reg) },
		"scraped":  func(tb testing.TB) Families { return Scrape(tb, srv.URL) },
		"parsed":   func(tb testing.TB) Families { return ParseText(tb, text) },
	} {
		t.Run(name, func(t *testing.T) {
			f := read(t)
			checkReaders(t, f)
		})
	}
}

func checkReaders(t *testing.T, f Families) {
	t.Helper()
	if got := f.Value(t, "test_requests_total", prometheus.Labels{"code": "200"}); got != 3 {
		t.Errorf("requests{code=200} = %v, want 3", got)
	}
	if got := f.Value(t, "test_queue", nil); got != 2 {
		t.Errorf("queue = %v, want 2", got)
	}
	if got := f.Value(t, "test_errors_total", nil); got != 0 {
		t.Errorf("errors = %v, want the 0 of the series that exists", got)
	}
	if got := f.Values(t, "test_requests_total", "code"); len(got) != 2 || got["200"] != 3 || got["500"] != 1 {
		t.Errorf("requests by code = %v", got)
	}
	if _, ok := f.Find(t, "test_requests_total", prometheus.Labels{"code": "404"}); ok {
		t.Error("Find found code 404")
	}
	// A renamed metric fails every reader, 0 or absent as its value may be.
	for what, read := range map[string]func(tb testing.TB){
		"Value":  func(tb testing.TB) { f.Value(tb, "test_request_total", prometheus.Labels{"code": "200"}) },
		"Find":   func(tb testing.TB) { f.Find(tb, "test_error_total", nil) },
		"Values": func(tb testing.TB) { f.Values(tb, "test_error_total", "reason") },
		"Family": func(tb testing.TB) { f.Family(tb, "test_queue_length") },
	} {
		t.Run(what, func(t *testing.T) {
			wantFailure(t, "no metric family test_", read)
		})
	}
	wantFailure(t, "those named test_requests*: test_requests_total", func(tb testing.TB) { f.Value(tb, "test_requests", nil) })
	wantFailure(t, `no series test_requests_total{code="404"}: the family has 2 series: {code="200"} {code="500"}`,
		func(tb testing.TB) { f.Value(tb, "test_requests_total", prometheus.Labels{"code": "404"}) })
	wantFailure(t, `2 series match test_requests_total, want one`, func(tb testing.TB) { f.Value(tb, "test_requests_total", nil) })
	wantFailure(t, "test_latency_seconds is a HISTOGRAM", func(tb testing.TB) { f.Value(tb, "test_latency_seconds", nil) })
	if got := f.Count(t, "test_latency_seconds", nil); got != 1 {
		t.Errorf("latency count = %d, want 1", got)
	}
	wantFailure(t, "test_queue is a GAUGE, not a histogram", func(tb testing.TB) { f.Count(tb, "test_queue", nil) })
	wantFailure(t, "no metric family test_latency ", func(tb testing.TB) { f.Count(tb, "test_latency", nil) })
}

// testutilText returns the body of url.
func testutilText(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func TestScrapeFails(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	wantFailure(t, "404 Not Found", func(tb testing.TB) { Scrape(tb, srv.URL+"/metrics") })
	wantFailure(t, "parse the metrics", func(tb testing.TB) { ParseText(tb, []byte("not metrics {")) })
}

// storeFunc is the store of client_golang's remote-write handler.
type storeFunc func(*http.Request, remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error)

func (f storeFunc) Store(r *http.Request, m remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
	return f(r, m)
}

// received serves req with client_golang's remote-write handler and
// returns the series it decoded, as label sets and their first sample.
func received(t *testing.T, req *http.Request) (remoteapi.WriteMessageType, map[string]float64) {
	t.Helper()
	var msgType remoteapi.WriteMessageType
	got := map[string]float64{}
	h := remoteapi.NewWriteHandler(storeFunc(func(r *http.Request, m remoteapi.WriteMessageType) (*remoteapi.WriteResponse, error) {
		msgType = m
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		b := labels.NewScratchBuilder(4)
		if m == remoteapi.WriteV1MessageType {
			var wr prompb.WriteRequest
			if err := wr.Unmarshal(raw); err != nil {
				return nil, err
			}
			for _, ts := range wr.Timeseries {
				got[ts.ToLabels(&b, nil).String()] = ts.Samples[0].Value
			}
			return nil, nil
		}
		var wr writev2.Request
		if err := wr.Unmarshal(raw); err != nil {
			return nil, err
		}
		resp := remoteapi.NewWriteResponse()
		for _, ts := range wr.Timeseries {
			ls, err := ts.ToLabels(&b, wr.Symbols)
			if err != nil {
				return nil, err
			}
			got[ls.String()] = ts.Samples[0].Value
			resp.Samples++
		}
		return resp, nil
	}), remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("client_golang's handler answered %d: %s", rec.Code, rec.Body)
	}
	return msgType, got
}

// TestWriteRequests: the requests built are those of the remote-write
// specifications, which client_golang's own handler decodes.
func TestWriteRequests(t *testing.T) {
	series1 := prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "api"}},
		Samples: []prompb.Sample{{Timestamp: 1000, Value: 7}},
	}
	syms := writev2.NewSymbolTable()
	series2 := writev2.TimeSeries{
		LabelsRefs: []uint32{syms.Symbolize("__name__"), syms.Symbolize("up"), syms.Symbolize("job"), syms.Symbolize("api")},
		Samples:    []writev2.Sample{{Timestamp: 1000, Value: 8}},
	}
	for _, tc := range []struct {
		name        string
		req         *http.Request
		body        []byte
		contentType string
		version     string
		msgType     remoteapi.WriteMessageType
		value       float64
	}{
		{"1.0", WriteRequestV1(t, "http://receiver/api/v1/write", series1), WriteBodyV1(t, series1),
			"application/x-protobuf", "0.1.0", remoteapi.WriteV1MessageType, 7},
		{"2.0", WriteRequestV2(t, "http://receiver/api/v1/write", syms.Symbols(), series2), WriteBodyV2(t, syms.Symbols(), series2),
			"application/x-protobuf;proto=io.prometheus.write.v2.Request", "2.0.0", remoteapi.WriteV2MessageType, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.Method != http.MethodPost || tc.req.URL.String() != "http://receiver/api/v1/write" {
				t.Errorf("%s %s, want POST http://receiver/api/v1/write", tc.req.Method, tc.req.URL)
			}
			for name, want := range map[string]string{
				"Content-Type": tc.contentType, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": tc.version,
			} {
				if got := tc.req.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			body, err := io.ReadAll(tc.req.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != string(tc.body) {
				t.Error("the body of the request is not the body built alone")
			}
			tc.req.Body = io.NopCloser(strings.NewReader(string(body)))
			msgType, got := received(t, tc.req)
			if want := `{__name__="up", job="api"}`; msgType != tc.msgType || len(got) != 1 || got[want] != tc.value {
				t.Errorf("received %s %v, want %s %s %v", msgType, got, tc.msgType, want, tc.value)
			}
		})
	}
}

func TestPushV1(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path + " " + r.Header.Get("Content-Encoding")
		http.Error(w, "out of order", http.StatusBadRequest)
	}))
	defer srv.Close()
	if code := PushV1(t, srv.URL+"/api/v1/write"); code != http.StatusBadRequest || got != "/api/v1/write snappy" {
		t.Errorf("answered %d after %q, want 400 after a snappy request to /api/v1/write", code, got)
	}
	srv.Close()
	wantFailure(t, "remote write to "+srv.URL, func(tb testing.TB) { PushV1(tb, srv.URL) })
}
