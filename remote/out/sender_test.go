package out

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	promvalue "github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// testSnapshot is a forecast of 3 values a minute apart, made at at: 3
// values + 3 replicas + desired + reactive floor + floor decided + observed
// + generated + model info = 12 series remote-written (no interval, no
// accuracy, no plan headroom).
func testSnapshot(workload string, at time.Time, desired int) forecast.Snapshot {
	return forecast.Snapshot{
		Workload: workload, Model: "baseline", GeneratedAt: at, StepSeconds: 60, HorizonSeconds: 180,
		Values: []float64{100, 110, 120}, DesiredReplicas: []int{desired, desired + 1, desired + 2},
		ObservedValue: 95, ObservedAt: at,
	}
}

const seriesPerSnapshot = 12

// recorder is a remote-write endpoint that answers with the codes of
// script, one per request (204 once it runs out), and keeps what it
// accepted: labels → samples.
type recorder struct {
	t       *testing.T
	mu      sync.Mutex
	script  []int
	headers http.Header
	// hang makes requests wait until it is closed.
	hang     chan struct{}
	requests int
	// versions is the X-Prometheus-Remote-Write-Version of each request.
	versions []string
	bytes    int
	got      map[string][]prompb.Sample
	v2       bool
}

func newRecorder(t *testing.T, script ...int) (*recorder, *httptest.Server) {
	r := &recorder{t: t, script: script, got: map[string][]prompb.Sample{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	r.headers = req.Header.Clone()
	r.versions = append(r.versions, req.Header.Get("X-Prometheus-Remote-Write-Version"))
	code := http.StatusNoContent
	if len(r.script) > 0 {
		code, r.script = r.script[0], r.script[1:]
	}
	hang := r.hang
	r.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-req.Context().Done():
			return
		}
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bytes += len(body)
	r.mu.Unlock()
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if code/100 != 2 {
		http.Error(w, "scripted failure", code)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		r.t.Errorf("body is not snappy: %v", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if strings.Contains(req.Header.Get("Content-Type"), "v2") {
		r.v2 = true
		var wr writev2.Request
		if err := wr.Unmarshal(raw); err != nil {
			r.t.Errorf("not a 2.0 request: %v", err)
			return
		}
		for _, ts := range wr.Timeseries {
			var b = labelsBuilder()
			ls, _ := ts.ToLabels(&b, wr.Symbols)
			for _, s := range ts.Samples {
				r.got[ls.String()] = append(r.got[ls.String()], prompb.Sample{Timestamp: s.Timestamp, Value: s.Value})
			}
		}
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", "1")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		r.t.Errorf("not a 1.0 request: %v", err)
		return
	}
	for _, ts := range wr.Timeseries {
		b := labelsBuilder()
		key := ts.ToLabels(&b, nil).String()
		r.got[key] = append(r.got[key], ts.Samples...)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *recorder) samples() map[string][]prompb.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]prompb.Sample, len(r.got))
	for k, v := range r.got {
		out[k] = append([]prompb.Sample(nil), v...)
	}
	return out
}

// testSender returns a running sender to url, sending every horizon, with
// fast backoff and a 50 ms batch deadline, and the function that stops it and waits for its
// flush.
func testSender(t *testing.T, rawURL string, edit func(*Config), external map[string]string) (*Sender, *prometheus.Registry, func()) {
	t.Helper()
	return testSenderAt(t, rawURL, exporter.HorizonsAll, edit, external)
}

// testSenderAt is testSender publishing at the given horizons.
func testSenderAt(t *testing.T, rawURL string, horizons exporter.Horizons, edit func(*Config), external map[string]string) (*Sender, *prometheus.Registry, func()) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.URL = &config.URL{URL: u}
	cfg.Name = "test"
	cfg.Headers = map[string]string{"X-Scope-OrgID": "team-a"}
	cfg.QueueConfig.BatchSendDeadline = model.Duration(50 * time.Millisecond)
	cfg.QueueConfig.MinBackoff = model.Duration(10 * time.Millisecond)
	cfg.QueueConfig.MaxBackoff = model.Duration(50 * time.Millisecond)
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := NewSender(SenderOptions{Registerer: reg, FlushTimeout: 2 * time.Second, Horizons: horizons})
	if err := s.Apply([]Config{cfg}, external); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return s, reg, stop
}

// waitTimeout bounds the waits of these tests.
const waitTimeout = 20 * time.Second

func TestSenderSendsTheSeries(t *testing.T) {
	rec, srv := newRecorder(t)
	s, reg, stop := testSender(t, srv.URL+"/api/v1/write", nil, map[string]string{"replica": "a"})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Published(testSnapshot("checkout", at, 4))
	stop()

	got := rec.samples()
	if len(got) != seriesPerSnapshot {
		t.Fatalf("%d series received, want %d: %v", len(got), seriesPerSnapshot, got)
	}
	for key, want := range map[string]float64{
		`{__name__="kedastral_forecast_desired_replicas", replica="a", workload="checkout"}`:             4,
		`{__name__="kedastral_forecast_value", horizon="2m", replica="a", workload="checkout"}`:          120,
		`{__name__="kedastral_forecast_replicas", horizon="1m", replica="a", workload="checkout"}`:       5,
		`{__name__="kedastral_forecast_model_info", model="baseline", replica="a", workload="checkout"}`: 1,
		`{__name__="kedastral_forecast_generated_timestamp_seconds", replica="a", workload="checkout"}`:  float64(at.Unix()),
	} {
		if s := got[key]; len(s) != 1 || s[0].Value != want || s[0].Timestamp != at.UnixMilli() {
			t.Errorf("%s: %v, want one sample %v at %d", key, s, want, at.UnixMilli())
		}
	}
	for key := range got {
		if strings.Contains(key, "kedastral_desired_replicas") || strings.Contains(key, "age_seconds") {
			t.Errorf("%s is not remote-written", key)
		}
	}
	h := rec.headers
	for name, want := range map[string]string{
		"Content-Type":                      "application/x-protobuf", // 1.0 as the 1.0 specification has it
		"Content-Encoding":                  "snappy",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
		"X-Scope-Orgid":                     "team-a",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if !strings.HasPrefix(h.Get("User-Agent"), "kedastral/") {
		t.Errorf("User-Agent %q", h.Get("User-Agent"))
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_sent_total", nil); got != seriesPerSnapshot {
		t.Errorf("samples sent = %v, want %d", got, seriesPerSnapshot)
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_sent_bytes_total", nil); got <= 0 || got != float64(rec.bytes) {
		t.Errorf("sent bytes = %v, want the %d the endpoint received", got, rec.bytes)
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_last_send_timestamp_seconds", nil); got == 0 {
		t.Error("no last send timestamp")
	}
}

// TestSenderKeyHorizons: by default the per-horizon series are sent at the
// key horizons only. The test snapshot has 3 steps and no lead time: 0s and
// 2m are sent, so 2 values + 2 replicas + 8 per-workload series = 10 of
// the 12.
func TestSenderKeyHorizons(t *testing.T) {
	rec, srv := newRecorder(t)
	s, _, stop := testSenderAt(t, srv.URL, "", nil, nil)
	s.Published(testSnapshot("checkout", time.Unix(1000, 0), 3))
	stop()
	got := rec.samples()
	if len(got) != 10 {
		t.Errorf("%d series sent, want 10", len(got))
	}
	if _, ok := got[`{__name__="kedastral_forecast_value", horizon="1m", workload="checkout"}`]; ok {
		t.Error("the 1m horizon was sent")
	}
	// Replicas 3, 4, 5: the last count is its own, the first the most of
	// steps 0 and 1 = 4.
	if s := got[`{__name__="kedastral_forecast_replicas", horizon="0s", workload="checkout"}`]; len(s) != 1 || s[0].Value != 4 {
		t.Errorf("replicas at 0s: %v, want 4", s)
	}
}

func TestSenderV2(t *testing.T) {
	rec, srv := newRecorder(t)
	s, _, stop := testSender(t, srv.URL, func(c *Config) { c.ProtobufMessage = MessageV2 }, nil)
	s.Published(testSnapshot("checkout", time.Unix(1000, 0), 3))
	stop()
	if !rec.v2 || len(rec.samples()) != seriesPerSnapshot {
		t.Errorf("v2 %v, %d series; want a 2.0 request of %d", rec.v2, len(rec.samples()), seriesPerSnapshot)
	}
	if v := rec.headers.Get("X-Prometheus-Remote-Write-Version"); v != "2.0.0" {
		t.Errorf("version header %q", v)
	}
}

// TestSenderFaults: each endpoint misbehaves in one way, and the sender
// retries exactly what a retry may fix.
func TestSenderFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script []int
		// wantRequests is the requests the endpoint sees for one snapshot
		// sent in one request.
		wantRequests int
		wantSent     float64
		wantFailed   float64
		wantRetries  float64
	}{
		// 500, 503: retried, then the third attempt is accepted.
		{"5xx then recovery", []int{500, 503}, 3, seriesPerSnapshot, 0, 2},
		// 429 with Retry-After: 1: retried after it.
		{"429 retry-after", []int{429}, 2, seriesPerSnapshot, 0, 1},
		// 400: the endpoint will never take it; not retried, counted failed.
		{"400 not retried", []int{400}, 1, 0, seriesPerSnapshot, 0},
		{"404 not retried", []int{404}, 1, 0, seriesPerSnapshot, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, srv := newRecorder(t, tc.script...)
			s, reg, stop := testSender(t, srv.URL, nil, nil)
			s.Published(testSnapshot("checkout", time.Unix(1000, 0), 3))
			testutil.WaitFor(t, waitTimeout, "the snapshot to be settled", func() bool {
				m := testutil.Gather(t, reg)
				return m.Value(t, "kedastral_remote_write_samples_sent_total", nil)+m.Value(t, "kedastral_remote_write_samples_failed_total", nil) == seriesPerSnapshot
			})
			stop()
			if rec.requests != tc.wantRequests {
				t.Errorf("%d requests, want %d", rec.requests, tc.wantRequests)
			}
			for name, want := range map[string]float64{
				"kedastral_remote_write_samples_sent_total":   tc.wantSent,
				"kedastral_remote_write_samples_failed_total": tc.wantFailed,
				"kedastral_remote_write_retries_total":        tc.wantRetries,
			} {
				if got := testutil.Gather(t, reg).Value(t, name, nil); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			// Accepted once: no sample twice.
			for key, samples := range rec.samples() {
				if len(samples) != 1 {
					t.Errorf("%s received %d times", key, len(samples))
				}
			}
		})
	}
}

// TestSenderHungEndpoint: an endpoint that never answers times out after
// remote_timeout and is retried; once it answers again, the data arrives.
func TestSenderHungEndpoint(t *testing.T) {
	rec, srv := newRecorder(t)
	rec.hang = make(chan struct{})
	s, reg, _ := testSender(t, srv.URL, func(c *Config) { c.RemoteTimeout = model.Duration(100 * time.Millisecond) }, nil)
	s.Published(testSnapshot("checkout", time.Unix(1000, 0), 3))
	testutil.WaitFor(t, waitTimeout, "two timed-out attempts", func() bool { return testutil.Gather(t, reg).Value(t, "kedastral_remote_write_retries_total", nil) >= 2 })
	rec.mu.Lock()
	close(rec.hang)
	rec.hang = nil
	rec.mu.Unlock()
	testutil.WaitFor(t, waitTimeout, "the data to arrive", func() bool { return len(rec.samples()) == seriesPerSnapshot })
}

func TestSenderQueueBounded(t *testing.T) {
	rec, srv := newRecorder(t)
	rec.hang = make(chan struct{})
	// Room for 2 snapshots of 12 samples; the first is taken off the queue
	// into the hung request, then 3 more come: 36 samples for 24 places,
	// so the oldest waiting one (12 samples) is dropped.
	s, reg, stop := testSender(t, srv.URL, func(c *Config) {
		c.QueueConfig.Capacity = 2 * seriesPerSnapshot
		c.QueueConfig.MaxSamplesPerSend = seriesPerSnapshot
	}, nil)
	s.Published(testSnapshot("w", time.Unix(1000, 0), 1))
	testutil.WaitFor(t, waitTimeout, "the first request", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.requests == 1 })
	for i := 2; i <= 4; i++ {
		s.Published(testSnapshot("w", time.Unix(1000+int64(i)*60, 0), i))
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_dropped_total", nil); got != seriesPerSnapshot {
		t.Errorf("dropped %v, want %d", got, seriesPerSnapshot)
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_queue_samples", nil); got != 2*seriesPerSnapshot {
		t.Errorf("queue holds %v samples, want %d", got, 2*seriesPerSnapshot)
	}
	rec.mu.Lock()
	close(rec.hang)
	rec.hang = nil
	rec.mu.Unlock()
	stop()
	// Desired replicas 1 (the first, in flight), then 3 and 4; 2 was dropped.
	got := rec.samples()[`{__name__="kedastral_forecast_desired_replicas", workload="w"}`]
	var values []float64
	for _, s := range got {
		values = append(values, s.Value)
	}
	if len(values) != 3 || values[0] != 1 || values[1] != 3 || values[2] != 4 {
		t.Errorf("desired replicas received %v, want [1 3 4] in order", values)
	}
}

func TestSenderStalenessMarkers(t *testing.T) {
	rec, srv := newRecorder(t)
	s, _, stop := testSender(t, srv.URL, nil, nil)
	s.Published(testSnapshot("gone", time.Unix(1000, 0), 2))
	s.Removed("gone")
	s.Removed("never-published")
	stop()
	got := rec.samples()
	if len(got) != seriesPerSnapshot {
		t.Fatalf("%d series, want %d", len(got), seriesPerSnapshot)
	}
	for key, samples := range got {
		if len(samples) != 2 || math.Float64bits(samples[1].Value) != promvalue.StaleNaN || samples[1].Timestamp <= samples[0].Timestamp {
			t.Errorf("%s: %v, want a value then a staleness marker after it", key, samples)
		}
	}
}

// TestSenderFlushesAtShutdown: what is queued when the sender stops is sent
// within the flush timeout, even before its batch deadline.
func TestSenderFlushesAtShutdown(t *testing.T) {
	rec, srv := newRecorder(t)
	s, _, stop := testSender(t, srv.URL, func(c *Config) { c.QueueConfig.BatchSendDeadline = model.Duration(time.Hour) }, nil)
	for i := range 3 {
		s.Published(testSnapshot(string(rune('a'+i)), time.Unix(1000, 0), 2))
	}
	stop()
	if got := len(rec.samples()); got != 3*seriesPerSnapshot {
		t.Errorf("%d series sent at shutdown, want %d", got, 3*seriesPerSnapshot)
	}
}

// TestSenderFlushIsBounded: an endpoint that fails forever does not hold
// the shutdown past the flush timeout; what is left is counted dropped.
func TestSenderFlushIsBounded(t *testing.T) {
	_, srv := newRecorder(t, slicesRepeat(500, 1000)...)
	s, reg, stop := testSender(t, srv.URL, nil, nil)
	s.Published(testSnapshot("w", time.Unix(1000, 0), 2))
	stop()
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_dropped_total", nil); got != seriesPerSnapshot {
		t.Errorf("dropped %v, want %d", got, seriesPerSnapshot)
	}
}

func slicesRepeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func labelsBuilder() labels.ScratchBuilder { return labels.NewScratchBuilder(8) }
