package scaler

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
		return counterValues(t, reg, "kedastral_scaler_forecast_age_seconds", "workload")
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
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "kedastral_scaler_forecast_age_seconds"); err != nil {
		t.Error(err)
	}

	// At start+30m only "busy" is asked for again; both have been idle
	// for 30m ≤ 1h so far.
	clock.Set(start.Add(30 * time.Minute))
	c.Get("busy")
	// At start+80m "idle" has been idle for 80m > 1h; "busy" for 50m.
	clock.Set(start.Add(80 * time.Minute))
	waitFor(t, "the idle workload dropped", func() bool {
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
