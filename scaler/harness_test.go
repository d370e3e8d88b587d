package scaler

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/HatiCode/kedastral/forecast"
)

// waitTimeout bounds every wait of these tests; it is a guard against a
// hang, never a measure of speed.
const waitTimeout = 20 * time.Second

// reply is a fake forecaster's answer to /forecast/current.
type reply struct {
	// status is the HTTP status; 0 means 200.
	status int
	body   string
	// hang holds the request until the client gives up.
	hang bool
	// gate, when set, holds the request until it is closed.
	gate chan struct{}
}

// fakeForecaster is a forecaster's /forecast/current whose answer the test
// sets for each workload; a workload with no answer gets the forecaster's
// 404. It counts the requests of each workload.
type fakeForecaster struct {
	srv *httptest.Server

	mu       sync.Mutex
	replies  map[string]reply
	requests map[string]int
	// notify is closed and replaced at every request.
	notify chan struct{}
	// closed ends hung requests when the test ends.
	closed chan struct{}
}

func newFakeForecaster(tb testing.TB) *fakeForecaster {
	tb.Helper()
	f := &fakeForecaster{
		replies:  map[string]reply{},
		requests: map[string]int{},
		notify:   make(chan struct{}),
		closed:   make(chan struct{}),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	tb.Cleanup(func() { close(f.closed) }) // runs first: hung handlers return, then Close
	return f
}

// URL is the forecaster's base URL.
func (f *fakeForecaster) URL() string { return f.srv.URL }

func (f *fakeForecaster) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/forecast/current" || r.Method != http.MethodGet {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	workload := r.URL.Query().Get("workload")
	f.mu.Lock()
	f.requests[workload]++
	close(f.notify)
	f.notify = make(chan struct{})
	rep, ok := f.replies[workload]
	f.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"snapshot not found for workload \"`+workload+`\""}`, http.StatusNotFound)
		return
	}
	switch {
	case rep.hang:
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
		return
	case rep.gate != nil:
		select {
		case <-rep.gate:
		case <-r.Context().Done():
			return
		case <-f.closed:
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if rep.status != 0 {
		w.WriteHeader(rep.status)
	}
	_, _ = w.Write([]byte(rep.body))
}

// set makes rep the answer for workload, and returns how many requests the
// workload had before: every request after that number gets rep.
func (f *fakeForecaster) set(workload string, rep reply) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[workload] = rep
	return f.requests[workload]
}

// remove makes the workload unknown (404).
func (f *fakeForecaster) remove(workload string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.replies, workload)
	return f.requests[workload]
}

func (f *fakeForecaster) count(workload string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[workload]
}

// waitRequests waits until the workload has had n requests. A cache reads a
// workload's plan one request after another, so when request n+2 arrives
// the answer to request n+1 is in the cache.
func (f *fakeForecaster) waitRequests(tb testing.TB, workload string, n int) {
	tb.Helper()
	deadline := time.After(waitTimeout)
	for {
		f.mu.Lock()
		got, ch := f.requests[workload], f.notify
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("forecaster got %d requests for %q, waited for %d", got, workload, n)
		}
	}
}

// refreshed waits until the cache holds the answer the forecaster gives
// since it had before requests: the answer to request before+1.
func (f *fakeForecaster) refreshed(tb testing.TB, workload string, before int) {
	tb.Helper()
	f.waitRequests(tb, workload, before+2)
}

// snapshotBody is /forecast/current's JSON for a plan made at at: the
// forecaster's own Snapshot type, so that the scaler reads what it writes.
func snapshotBody(tb testing.TB, workload string, at time.Time, desired ...int) string {
	tb.Helper()
	s := forecast.Snapshot{
		Workload: workload, Metric: "http_rps", Model: "baseline", GeneratedAt: at,
		StepSeconds: 60, HorizonSeconds: 60 * float64(len(desired)), LeadTimeSeconds: 60,
		Values: make([]float64, len(desired)), DesiredReplicas: desired,
		ObservedValue: 100, ObservedAt: at,
	}
	b, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// fresh is a 200 with a plan of desired made at at.
func fresh(tb testing.TB, workload string, at time.Time, desired ...int) reply {
	tb.Helper()
	return reply{body: snapshotBody(tb, workload, at, desired...)}
}

// testClock is time.Now moved by an offset, or a fixed time, safe for
// concurrent use.
type testClock struct {
	offset atomic.Int64
	fixed  atomic.Pointer[time.Time]
}

func (c *testClock) Now() time.Time {
	if t := c.fixed.Load(); t != nil {
		return *t
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves a running clock by d.
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Set stops the clock at t.
func (c *testClock) Set(t time.Time) { c.fixed.Store(&t) }

// harnessOptions configures startScaler; zero fields take the defaults
// below.
type harnessOptions struct {
	defaults Defaults
	// refresh is the cache's refresh interval (20 ms).
	refresh time.Duration
	// timeout bounds one read by the cache (10 s).
	timeout time.Duration
	// httpTimeout is the HTTP client's timeout (none).
	httpTimeout time.Duration
	// idle is the cache's Idle (1 h).
	idle time.Duration
	// poll is StreamIsActive's interval (5 ms).
	poll time.Duration
	// maxWorkloads is the cache's MaxWorkloads (none).
	maxWorkloads int
	// maxStreams is the server's MaxStreams (none).
	maxStreams int
}

// harness is a scaler serving KEDA's gRPC on 127.0.0.1 from forecasters,
// and a client connected to it.
type harness struct {
	client  externalscaler.ExternalScalerClient
	conn    *grpc.ClientConn
	addr    string
	cache   *Cache
	server  *Server
	metrics *Metrics
	reg     *prometheus.Registry
	// clock is the server's clock, for staleness.
	clock *testClock
}

// testDefaults are the scaler's flags in these tests: --default-min=2
// --stale-after=2m, no --workload.
var testDefaults = Defaults{DefaultMin: 2, StaleAfter: 2 * time.Minute}

// startScaler runs a scaler over the forecasters at urls, wired as
// cmd/scaler wires it, until the test ends.
func startScaler(tb testing.TB, urls []string, o harnessOptions) *harness {
	tb.Helper()
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	source, err := NewForecasters(urls, &http.Client{Timeout: o.httpTimeout}, metrics.SourceErrors)
	if err != nil {
		tb.Fatal(err)
	}
	return startScalerWith(tb, source, reg, metrics, o)
}

// startScalerWith runs a scaler over source.
func startScalerWith(tb testing.TB, source Source, reg *prometheus.Registry, metrics *Metrics, o harnessOptions) *harness {
	tb.Helper()
	if o.defaults == (Defaults{}) {
		o.defaults = testDefaults
	}
	if o.refresh == 0 {
		o.refresh = 20 * time.Millisecond
	}
	if o.timeout == 0 {
		o.timeout = 10 * time.Second
	}
	if o.idle == 0 {
		o.idle = time.Hour
	}
	if o.poll == 0 {
		o.poll = 5 * time.Millisecond
	}
	cache := NewCache(source, CacheOptions{
		Refresh: o.refresh, Timeout: o.timeout, Idle: o.idle, Age: metrics.CacheAge, MaxWorkloads: o.maxWorkloads,
		Forget: metrics.Forget,
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		cache.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-ran
	})

	clock := &testClock{}
	server := NewServer(cache, o.defaults, metrics, ServerOptions{Poll: o.poll, MaxStreams: o.maxStreams})
	server.now = clock.Now
	grpcServer := grpc.NewServer(
		grpc.ChainUnaryInterceptor(metrics.UnaryInterceptor),
		grpc.ChainStreamInterceptor(metrics.StreamInterceptor),
	)
	externalscaler.RegisterExternalScalerServer(grpcServer, server)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = grpcServer.Serve(lis)
	}()
	tb.Cleanup(func() {
		grpcServer.Stop()
		<-served
	})
	conn := dial(tb, lis.Addr().String())
	return &harness{
		client: externalscaler.NewExternalScalerClient(conn), conn: conn, addr: lis.Addr().String(),
		cache: cache, server: server, metrics: metrics, reg: reg, clock: clock,
	}
}

// dial connects to the scaler at addr, as KEDA does without TLS.
func dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

// ref is the ScaledObjectRef KEDA sends for shop/checkout with md.
func ref(md map[string]string) *externalscaler.ScaledObjectRef {
	return &externalscaler.ScaledObjectRef{Name: "checkout", Namespace: "shop", ScalerMetadata: md}
}

// workloadMD is the metadata of a trigger naming workload, with
// scalerAddress as KEDA passes it.
func workloadMD(workload string, kv ...string) map[string]string {
	md := map[string]string{"scalerAddress": "kedastral-scaler.kedastral:8080", KeyWorkload: workload}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = kv[i+1]
	}
	return md
}

// waitLoaded waits for the cache's first read of workload.
func waitLoaded(tb testing.TB, c *Cache, workload string) {
	tb.Helper()
	select {
	case <-c.Loaded(workload):
	case <-time.After(waitTimeout):
		tb.Fatalf("the first read of %q did not end", workload)
	}
}

// callCtx is a context for one call, bounded against a hang.
func callCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// getMetrics calls GetMetrics and checks the answer's shape: one metric,
// desired_replicas, with the int and the float equal.
func (h *harness) getMetrics(tb testing.TB, md map[string]string) int64 {
	tb.Helper()
	resp, err := h.client.GetMetrics(callCtx(tb), &externalscaler.GetMetricsRequest{
		ScaledObjectRef: ref(md), MetricName: MetricName,
	})
	if err != nil {
		tb.Fatalf("GetMetrics(%v): %v", md, err)
	}
	vs := resp.GetMetricValues()
	if len(vs) != 1 {
		tb.Fatalf("GetMetrics(%v): %d metric values, want 1: %v", md, len(vs), vs)
	}
	v := vs[0]
	if v.GetMetricName() != MetricName {
		tb.Errorf("metric %q, want %q", v.GetMetricName(), MetricName)
	}
	if float64(v.GetMetricValue()) != v.GetMetricValueFloat() {
		tb.Errorf("MetricValue %d and MetricValueFloat %v differ", v.GetMetricValue(), v.GetMetricValueFloat())
	}
	return v.GetMetricValue()
}

func (h *harness) isActive(tb testing.TB, md map[string]string) bool {
	tb.Helper()
	resp, err := h.client.IsActive(callCtx(tb), ref(md))
	if err != nil {
		tb.Fatalf("IsActive(%v): %v", md, err)
	}
	return resp.GetResult()
}

// nonZero returns how many of counts are not 0: the source errors are
// there, at 0, for every reason from the start.
func nonZero(counts map[string]float64) int {
	n := 0
	for _, v := range counts {
		if v != 0 {
			n++
		}
	}
	return n
}
