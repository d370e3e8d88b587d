package scaler

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// newTestCache returns a running Cache over the forecaster f, refreshing
// every 5 ms with the clock now, and the registry of its metrics.
func newTestCache(t *testing.T, f *fakeForecaster, idle time.Duration, now func() time.Time) (*Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	source, err := NewForecasters([]string{f.URL()}, &http.Client{}, metrics.SourceErrors)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache(source, CacheOptions{
		Refresh: 5 * time.Millisecond, Timeout: 10 * time.Second, Idle: idle, Now: now, Age: metrics.CacheAge,
	})
	runCache(t, c)
	return c, reg
}

// runCache runs c until the test ends.
func runCache(t *testing.T, c *Cache) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-ran
	})
}

// TestCacheGetDoesNotWait: the first Get of a workload answers at once,
// with no plan, while its first read is still held by the forecaster; the
// plan is there after that read.
func TestCacheGetDoesNotWait(t *testing.T) {
	f := newFakeForecaster(t)
	gate := make(chan struct{})
	rep := fresh(t, "checkout", time.Now(), 8)
	rep.gate = gate
	f.set("checkout", rep)
	c, _ := newTestCache(t, f, time.Hour, nil)

	got := make(chan bool, 1)
	go func() {
		_, ok := c.Get("checkout")
		got <- ok
	}()
	// The gate opens only after Get has answered: a Get that waited for
	// the read would never answer.
	select {
	case ok := <-got:
		if ok {
			t.Fatal("Get of a new workload = true, want false: no read has ended")
		}
	case <-time.After(waitTimeout):
		t.Fatal("Get waited for the forecaster")
	}
	f.waitRequests(t, "checkout", 1)
	close(gate)
	waitLoaded(t, c, "checkout")
	p, ok := c.Get("checkout")
	if !ok || p.Desired != 8 {
		t.Errorf("after the first read: Get = %+v, %v; want 8, true", p, ok)
	}
}

// TestCacheGetBeforeRun: workloads asked for before Run (cmd/scaler warms
// --workload) are read once Run starts.
func TestCacheGetBeforeRun(t *testing.T) {
	f := newFakeForecaster(t)
	f.set("checkout", fresh(t, "checkout", time.Now(), 3))
	metrics := NewMetrics(prometheus.NewRegistry())
	source, err := NewForecasters([]string{f.URL()}, &http.Client{}, metrics.SourceErrors)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCache(source, CacheOptions{Refresh: 5 * time.Millisecond, Timeout: 10 * time.Second, Idle: time.Hour})
	if _, ok := c.Get("checkout"); ok {
		t.Fatal("Get before Run = true, want false")
	}
	if n := f.count("checkout"); n != 0 {
		t.Fatalf("%d reads before Run, want 0", n)
	}
	runCache(t, c)
	waitLoaded(t, c, "checkout")
	if p, ok := c.Get("checkout"); !ok || p.Desired != 3 {
		t.Errorf("Get = %+v, %v; want 3, true", p, ok)
	}
}

// TestCacheIdle: a workload nobody asks for for longer than Idle (1h) is
// no longer read; one still asked for is. The cache's clock is stopped, so
// only the test moves it.
func TestCacheIdle(t *testing.T) {
	f := newFakeForecaster(t)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Plans made 30 s before start.
	f.set("idle", fresh(t, "idle", start.Add(-30*time.Second), 4))
	f.set("busy", fresh(t, "busy", start.Add(-30*time.Second), 5))
	clock := &testClock{}
	clock.Set(start)
	c, reg := newTestCache(t, f, time.Hour, clock.Now)
	ages := func() map[string]float64 {
		return testutil.Gather(t, reg).Values(t, "kedastral_scaler_forecast_age_seconds", "workload")
	}

	// Both asked for at start.
	c.Get("idle")
	c.Get("busy")
	f.waitRequests(t, "idle", 3)
	f.waitRequests(t, "busy", 3)
	// The age is start − generatedAt = 30 s.
	want := `
# HELP kedastral_scaler_forecast_age_seconds Age of the cached forecast of the workload at its last refresh.
# TYPE kedastral_scaler_forecast_age_seconds gauge
kedastral_scaler_forecast_age_seconds{workload="busy"} 30
kedastral_scaler_forecast_age_seconds{workload="idle"} 30
`
	if err := promtest.GatherAndCompare(reg, strings.NewReader(want), "kedastral_scaler_forecast_age_seconds"); err != nil {
		t.Error(err)
	}

	// At start+30m only "busy" is asked for again; both have been idle
	// for 30m ≤ 1h so far.
	clock.Set(start.Add(30 * time.Minute))
	c.Get("busy")
	// At start+80m "idle" has been idle for 80m > 1h; "busy" for 50m.
	clock.Set(start.Add(80 * time.Minute))
	testutil.WaitFor(t, waitTimeout, "the idle workload dropped", func() bool {
		_, ok := ages()["idle"]
		return !ok
	})
	idleReads := f.count("idle")
	// Three more reads of "busy" are three refresh intervals in which
	// "idle" would have been read too.
	f.refreshed(t, "busy", f.count("busy")+1)
	if n := f.count("idle"); n != idleReads {
		t.Errorf("idle workload read %d more times, want 0", n-idleReads)
	}
	// "busy" is still refreshed: its age is (start+80m) − (start−30s) = 4830 s.
	if got := ages()["busy"]; got != 4830 {
		t.Errorf("busy age %v, want 4830", got)
	}

	// Asked for again, it starts over: no plan at once, then read again.
	if _, ok := c.Get("idle"); ok {
		t.Error("Get of a dropped workload = true, want false: its plan went with it")
	}
	waitLoaded(t, c, "idle")
	if p, ok := c.Get("idle"); !ok || p.Desired != 4 {
		t.Errorf("Get = %+v, %v; want 4, true", p, ok)
	}
	if n := f.count("idle"); n <= idleReads {
		t.Errorf("idle workload not read again (%d reads)", n)
	}
}

// slowSource answers only once its read is cancelled, and then takes a
// moment more, as a read caught in a slow TCP close does.
type slowSource struct {
	started, ended atomic.Int32
}

func (s *slowSource) Fetch(ctx context.Context, _ string) (Plan, error) {
	s.started.Add(1)
	defer s.ended.Add(1)
	<-ctx.Done()
	time.Sleep(20 * time.Millisecond)
	return Plan{}, ctx.Err()
}

// TestCacheRunWaits: Run returns only once every read it started has
// ended, those of workloads tracked before Run and after alike.
func TestCacheRunWaits(t *testing.T) {
	source := &slowSource{}
	c := NewCache(source, CacheOptions{Refresh: time.Hour, Timeout: time.Hour, Idle: time.Hour})
	c.Get("before")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		c.Run(ctx)
	}()
	for i := range 5 {
		c.Get(fmt.Sprint("after-", i))
	}
	testutil.WaitFor(t, waitTimeout, "six reads started", func() bool { return source.started.Load() == 6 })
	cancel()
	<-ran
	// 6 reads started, each ends 20 ms after the cancel: all 6 before Run
	// returned.
	if n := source.ended.Load(); n != 6 {
		t.Errorf("%d of 6 reads ended when Run returned", n)
	}
	// A workload asked for after Run returned starts no read.
	c.Get("late")
	time.Sleep(10 * time.Millisecond)
	if n := source.started.Load(); n != 6 {
		t.Errorf("%d reads started, want 6: none after Run", n)
	}
}

// TestForgottenWorkloadSeries: once a workload is forgotten (nobody asked
// for it for Idle), its kedastral_scaler_returned_replicas and
// kedastral_scaler_forecast_age_seconds go with it.
func TestForgottenWorkloadSeries(t *testing.T) {
	f := newFakeForecaster(t)
	f.set("checkout", fresh(t, "checkout", time.Now(), 6, 6, 6))
	f.set("cart", fresh(t, "cart", time.Now(), 2, 2, 2))
	h := startScaler(t, []string{f.URL()}, harnessOptions{idle: 300 * time.Millisecond})
	waitLoaded(t, h.cache, "checkout")
	waitLoaded(t, h.cache, "cart")
	if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
		t.Fatalf("GetMetrics = %d, want 6", got)
	}
	series := func(name string) map[string]float64 { return testutil.Gather(t, h.reg).Values(t, name, "workload") }
	if got := series("kedastral_scaler_returned_replicas"); got["checkout"] != 6 {
		t.Fatalf("returned replicas %v, want checkout 6", got)
	}
	// cart is asked for all along; checkout no more.
	testutil.WaitFor(t, waitTimeout, "checkout forgotten", func() bool {
		h.getMetrics(t, workloadMD("cart"))
		return h.cache.Tracked() == 1
	})
	for _, name := range []string{"kedastral_scaler_returned_replicas", "kedastral_scaler_forecast_age_seconds"} {
		got := series(name)
		if _, ok := got["checkout"]; ok || len(got) != 1 {
			t.Errorf("%s %v, want cart's series alone", name, got)
		}
	}
}

// countingSource answers every read after a pause, ErrNotFound for the
// workloads in unknown, and records the reads in flight and when each
// workload was read.
type countingSource struct {
	pause   time.Duration
	unknown map[string]bool

	mu       sync.Mutex
	inFlight int
	most     int
	reads    map[string][]time.Time
}

func (s *countingSource) Fetch(ctx context.Context, workload string) (Plan, error) {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	if s.reads == nil {
		s.reads = map[string][]time.Time{}
	}
	s.reads[workload] = append(s.reads[workload], time.Now())
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.pause):
	case <-ctx.Done():
		return Plan{}, ctx.Err()
	}
	if s.unknown[workload] {
		return Plan{}, ErrNotFound
	}
	return Plan{Desired: 3, GeneratedAt: time.Now()}, nil
}

// readsOf returns when workload was read.
func (s *countingSource) readsOf(workload string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reads[workload])
}

// TestCacheMaxConcurrentReads: 40 workloads refreshed every millisecond,
// each read taking 5 ms, never have more than MaxConcurrentReads (4) reads
// in flight at once.
func TestCacheMaxConcurrentReads(t *testing.T) {
	source := &countingSource{pause: 5 * time.Millisecond}
	c := NewCache(source, CacheOptions{Refresh: time.Millisecond, Timeout: 10 * time.Second, Idle: time.Hour, MaxConcurrentReads: 4})
	runCache(t, c)
	for i := range 40 {
		c.Get(fmt.Sprint("w", i))
	}
	for i := range 40 {
		waitLoaded(t, c, fmt.Sprint("w", i))
	}
	source.mu.Lock()
	defer source.mu.Unlock()
	if source.most != 4 {
		t.Errorf("at most %d reads in flight, want 4 (the bound, reached with 40 workloads)", source.most)
	}
}

// TestCacheNotFoundWait: a workload the source never had a plan for is
// read again after 2, 4, 8, then 8 refresh intervals (NotFoundWait). Only
// lower bounds of the waits are checked: a loaded machine makes them
// longer, never shorter.
func TestCacheNotFoundWait(t *testing.T) {
	const refresh = 10 * time.Millisecond
	source := &countingSource{unknown: map[string]bool{"typo": true}}
	c := NewCache(source, CacheOptions{Refresh: refresh, Timeout: 10 * time.Second, Idle: time.Hour, NotFoundWait: 8 * refresh})
	runCache(t, c)
	c.Get("typo")
	testutil.WaitFor(t, waitTimeout, "six reads of the unknown workload", func() bool { return len(source.readsOf("typo")) >= 6 })
	reads := source.readsOf("typo")
	// Waits after each "not found": 2×10, 4×10, 8×10, then 80 ms each.
	for i, want := range []time.Duration{2 * refresh, 4 * refresh, 8 * refresh, 8 * refresh, 8 * refresh} {
		if got := reads[i+1].Sub(reads[i]); got < want {
			t.Errorf("wait %d after not found: %v, want ≥ %v", i+1, got, want)
		}
	}
}
