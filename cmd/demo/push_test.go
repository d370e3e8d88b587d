package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// receiver is a fake remote-write receiver: it decodes every request and
// answers with the next of its statuses (204 once they run out).
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	statuses []int
	body     string // of an answer that is not 204
	requests []*prompb.WriteRequest
	got      chan struct{} // receives after each request, if not nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("Content-Encoding") != "snappy" ||
		r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" || r.Header.Get("User-Agent") != userAgent {
		rc.t.Errorf("headers %v, want those of remote write 1.0 and the demo's User-Agent", r.Header)
	}
	compressed, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Error(err)
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		rc.t.Errorf("decode snappy: %v", err)
	}
	req := &prompb.WriteRequest{}
	if err := req.Unmarshal(raw); err != nil {
		rc.t.Errorf("decode the request: %v", err)
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, req)
	status := http.StatusNoContent
	if len(rc.statuses) > 0 {
		status, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	if status == http.StatusNoContent {
		w.WriteHeader(status)
	} else {
		http.Error(w, rc.body, status)
	}
	if rc.got != nil {
		rc.got <- struct{}{}
	}
}

// serve starts rc and returns a writer to it that sends a request up to
// attempts times, retrying without waiting.
func (rc *receiver) serve(t *testing.T, attempts int) *writer {
	rc.t = t
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return testWriter(t, srv.URL+writePath, attempts)
}

// testWriter returns a writer to url that sends a request up to attempts
// times, retrying without waiting.
func testWriter(t *testing.T, url string, attempts int) *writer {
	t.Helper()
	w, err := newWriter(url, retryPolicy{attempts: attempts}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// tenPerMinute returns a replay of 16 days of 10 requests a minute from
// traceStart, with 14 days of history at now, the midnight of 28 November
// 2026: the shift is whole days, so now plays 15 July 00:00 and the history
// is (1 July 00:00, 15 July 00:00].
func tenPerMinute(t *testing.T) (*replay, time.Time) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	r, err := newReplay(minutes(16*24*60, func(int) float64 { return 10 }), 14*day, now)
	if err != nil {
		t.Fatal(err)
	}
	return r, now
}

func TestNewPusher(t *testing.T) {
	ss := []series{{}, {}, {}}
	tests := []struct {
		name      string
		now       time.Time
		history   time.Duration
		wantFirst time.Time
		wantTicks int // ticks in (now - history, now]
	}{
		{
			// On the grid: 00:00:00 - 1h = 23:00:00; the first tick after
			// it is 23:00:15, and there are 3600 / 15 = 240 ticks to now.
			name: "on the grid", now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), history: time.Hour,
			wantFirst: time.Date(2026, 11, 27, 23, 0, 15, 0, time.UTC), wantTicks: 240,
		},
		{
			// 05:30:20 - 1h = 04:30:20, truncated to 04:30:15, plus 15 s:
			// 04:30:30; the last tick is 05:30:15, (3585 / 15) + 1 = 240.
			name: "off the grid", now: time.Date(2026, 11, 28, 5, 30, 20, 0, time.UTC), history: time.Hour,
			wantFirst: time.Date(2026, 11, 28, 4, 30, 30, 0, time.UTC), wantTicks: 240,
		},
		{
			// 14 days: 14 × 24 × 240 = 80,640 ticks.
			name: "two weeks", now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), history: 14 * day,
			wantFirst: time.Date(2026, 11, 14, 0, 0, 15, 0, time.UTC), wantTicks: 80640,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPusher(nil, ss, tc.now, tc.history)
			if !p.next.Equal(tc.wantFirst) {
				t.Errorf("first tick %v, want %v", p.next, tc.wantFirst)
			}
			if got := int(tc.now.Sub(p.next)/scrapeInterval) + 1; got != tc.wantTicks {
				t.Errorf("%d ticks to now, want %d", got, tc.wantTicks)
			}
			// Three series: 2000 / 3 = 666 ticks, 1,998 samples a request.
			if p.perRequest != 666 {
				t.Errorf("%d ticks a request, want 666", p.perRequest)
			}
		})
	}
}

// TestBackfill sends two weeks of ten requests a minute to a fake receiver
// and checks the requests: their number and size, their order, and the
// counter at a few ticks.
func TestBackfill(t *testing.T) {
	r, now := tenPerMinute(t)
	rc := &receiver{}
	p := newPusher(rc.serve(t, 2), demoSeries(r), now, 14*day)
	ticks, err := p.sendUntil(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	// 80,640 ticks, 666 a request: 121 full requests hold 80,586, the
	// 122nd the other 54.
	if ticks != 80640 || len(rc.requests) != 122 {
		t.Fatalf("%d ticks in %d requests, want 80640 in 122", ticks, len(rc.requests))
	}
	if n := len(rc.requests[121].Timeseries[0].Samples); n != 54 {
		t.Errorf("the last request has %d ticks, want 54", n)
	}
	if !p.next.Equal(now.Add(scrapeInterval)) {
		t.Errorf("next tick %v, want now + 15s", p.next)
	}
	counter, cpu, up := samplesOf(t, rc.requests)
	// The values of the counter by hand. The first point of the history is
	// 1 July 00:01 (10 requests), and the counter is 0 before it. Tick k is at
	// 00:00:15 + 15 s × k of 1 July, trace time.
	for _, tc := range []struct {
		name string
		tick int
		want float64
	}{
		// 00:00:15, before the first point.
		{"first tick", 0, 0},
		// 00:01:00: the first point, 10.
		{"first point", 3, 10},
		// 00:01:15: 10, and a quarter of the next minute's 10: 12.5.
		{"between points", 4, 12.5},
		// 665, the last of the first request: 00:00:15 + 9975 s = 02:46:30;
		// the points 00:01 to 02:46, 166 of them, make 1660, half of the next 5.
		{"last of the first request", 665, 1665},
		// 666, the first of the second: 02:46:45, 1660 + ¾ × 10 = 1667.5.
		{"first of the second request", 666, 1667.5},
		// 80,639, the last: 15 July 00:00, 14 × 1440 = 20,160 points of 10.
		{"now", 80639, 201600},
	} {
		if got := counter[tc.tick].Value; got != tc.want {
			t.Errorf("%s: counter[%d] = %v, want %v", tc.name, tc.tick, got, tc.want)
		}
		// 4 ms of CPU a request.
		if got, want := cpu[tc.tick].Value, 0.004*tc.want; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: cpu[%d] = %v, want %v", tc.name, tc.tick, got, want)
		}
		if up[tc.tick].Value != 1 {
			t.Errorf("%s: up[%d] = %v, want 1", tc.name, tc.tick, up[tc.tick].Value)
		}
	}
	if want := now.Add(-14*day + scrapeInterval).UnixMilli(); counter[0].Timestamp != want {
		t.Errorf("first sample at %d, want %d", counter[0].Timestamp, want)
	}
}

// samplesOf checks that each request holds the three series of demoSeries,
// with as many samples each and at most maxSamplesPerSend in all, and that
// the samples of every series follow each other by 15 s across requests;
// it returns the samples of each series.
func samplesOf(t *testing.T, requests []*prompb.WriteRequest) (counter, cpu, up []prompb.Sample) {
	t.Helper()
	names := []string{"nasa_http_requests_total", "process_cpu_seconds_total", "up"}
	all := make([][]prompb.Sample, len(names))
	for i, req := range requests {
		if len(req.Timeseries) != len(names) {
			t.Fatalf("request %d has %d series, want %d", i, len(req.Timeseries), len(names))
		}
		total := 0
		for j, ts := range req.Timeseries {
			want := []string{"__name__", names[j], "job", "nasa"}
			if got := labelPairs(ts.Labels); !slices.Equal(got, want) {
				t.Fatalf("request %d, series %d: labels %q, want %q", i, j, got, want)
			}
			if len(ts.Samples) != len(req.Timeseries[0].Samples) {
				t.Errorf("request %d: series %d has %d samples, series 0 %d", i, j, len(ts.Samples), len(req.Timeseries[0].Samples))
			}
			total += len(ts.Samples)
			all[j] = append(all[j], ts.Samples...)
		}
		if total > maxSamplesPerSend {
			t.Errorf("request %d has %d samples, over %d", i, total, maxSamplesPerSend)
		}
	}
	for j, samples := range all {
		for k := 1; k < len(samples); k++ {
			if samples[k].Timestamp != samples[k-1].Timestamp+scrapeInterval.Milliseconds() {
				t.Fatalf("%s: sample %d at %d after one at %d, want 15 s later", names[j], k, samples[k].Timestamp, samples[k-1].Timestamp)
			}
		}
	}
	return all[0], all[1], all[2]
}

// labelPairs returns the names and values of labels, in turn.
func labelPairs(labels []prompb.Label) []string {
	pairs := make([]string, 0, 2*len(labels))
	for _, l := range labels {
		pairs = append(pairs, l.Name, l.Value)
	}
	return pairs
}

func TestWriter(t *testing.T) {
	tests := []struct {
		name         string
		statuses     []int
		body         string
		wantAttempts int
		wantErr      string
	}{
		{name: "stored", wantAttempts: 1},
		{name: "unavailable, then stored", statuses: []int{503, 503}, wantAttempts: 3},
		{name: "too many requests, then stored", statuses: []int{429}, wantAttempts: 2},
		{
			name: "out of order", statuses: []int{400}, body: "1 sample(s) refused: out of order sample",
			wantAttempts: 1,
			wantErr:      "the receiver refused the samples with 400 Bad Request: 1 sample(s) refused: out of order sample",
		},
		{
			name: "too large", statuses: []int{413}, body: "body is over the limit",
			wantAttempts: 1, wantErr: "refused the samples with 413 Request Entity Too Large: body is over the limit",
		},
		{
			name: "storage failing", statuses: []int{500, 500, 500, 500}, body: "commit samples: disk full",
			wantAttempts: 3,
			wantErr:      "gave up after 3 attempts: the receiver answered 500 Internal Server Error: commit samples: disk full",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{statuses: tc.statuses, body: tc.body}
			w := rc.serve(t, 3)
			req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
				Labels:  []prompb.Label{{Name: "__name__", Value: "x"}},
				Samples: []prompb.Sample{{Timestamp: 1000, Value: 1}},
			}}}
			err := w.write(context.Background(), req)
			if len(rc.requests) != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", len(rc.requests), tc.wantAttempts)
			}
			for i, got := range rc.requests {
				if g, w := got.Timeseries[0].Samples[0], req.Timeseries[0].Samples[0]; g.Timestamp != w.Timestamp || g.Value != w.Value {
					t.Errorf("attempt %d sent %v, want %v", i, got.Timeseries[0].Samples, req.Timeseries[0].Samples)
				}
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestWriterNeedsARetry(t *testing.T) {
	// client_golang's client reads no retry as retrying forever.
	if _, err := newWriter("http://127.0.0.1:9"+writePath, retryPolicy{attempts: 1}, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "1 attempts, want at least 2") {
		t.Errorf("err = %v, want a refusal of a single attempt", err)
	}
}

func TestWriterConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	w := testWriter(t, srv.URL+writePath, 2)
	err := w.write(context.Background(), &prompb.WriteRequest{})
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 attempts") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want to give up after 2 refused connections", err)
	}
}

// TestBackfillRefused: a 4xx answer ends the backfill at once, with an
// error that says what was refused and why.
func TestBackfillRefused(t *testing.T) {
	r, now := tenPerMinute(t)
	// The second request is refused.
	rc := &receiver{statuses: []int{204, 400}, body: "1998 sample(s) refused: out of order sample"}
	p := newPusher(rc.serve(t, 3), demoSeries(r), now, 14*day)
	var out bytes.Buffer
	err := backfill(context.Background(), p, 14*day, &out, slog.New(slog.DiscardHandler))
	// The second request starts at tick 666: 14 November 00:00:15 + 9990 s
	// = 02:46:45.
	want := "backfill: send the samples from 2026-11-14T02:46:45Z: the receiver refused the samples with " +
		"400 Bad Request: 1998 sample(s) refused: out of order sample"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if len(rc.requests) != 2 {
		t.Errorf("%d requests, want 2: none after the refusal", len(rc.requests))
	}
	if out.Len() > 0 {
		t.Errorf("printed %q for a failed backfill", out.String())
	}
}

// TestStream: the stream first sends the ticks it is behind on, in one
// request, then stops with its context; a refusal ends it with an error.
func TestStream(t *testing.T) {
	r, now := tenPerMinute(t)
	// The pusher's next tick is a minute ago: 23:59:15, 23:59:30,
	// 23:59:45 and 00:00:00 are due now, 4 ticks; the counter then is
	// 201,600 - 10 + 10 × ¼, ½, ¾ and 10.
	clock := func() time.Time { return now }
	tests := []struct {
		name     string
		statuses []int
		wantErr  string
	}{
		{name: "catches up"},
		{name: "refused", statuses: []int{400}, wantErr: "stream: send the samples from 2026-11-27T23:59:15Z: the receiver refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{statuses: tc.statuses, body: "out of order sample", got: make(chan struct{}, 1)}
			p := newPusher(rc.serve(t, 2), demoSeries(r), now.Add(-time.Minute), 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- stream(ctx, p, clock, slog.New(slog.DiscardHandler)) }()
			<-rc.got
			if tc.wantErr != "" {
				// A refusal ends the stream by itself.
				if err := <-done; err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("err = %v, want none after the context ends", err)
			}
			counter, _, _ := samplesOf(t, rc.requests)
			want := []float64{201592.5, 201595, 201597.5, 201600}
			if len(counter) != len(want) {
				t.Fatalf("%d samples, want %d", len(counter), len(want))
			}
			for i, s := range counter {
				if s.Value != want[i] {
					t.Errorf("sample %d = %v, want %v", i, s.Value, want[i])
				}
			}
			if last := counter[len(counter)-1].Timestamp; last != now.UnixMilli() {
				t.Errorf("last sample at %d, want now, %d", last, now.UnixMilli())
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{
		0: "0", 54: "54", 666: "666", 1998: "1,998", 80640: "80,640", 161280: "161,280",
		1000000: "1,000,000", -80640: "-80,640",
	} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
