package scaler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// t0 is the scaler's "now" in the tests with a stopped clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestGetMetrics is the scaler's acceptance case (a fresh snapshot with
// desired[0]=8 returns 8; a missing one, or a stale one past its horizon,
// returns --default-min) and its edges: KEDA's
// GetMetrics and IsActive over gRPC, from a forecaster's /forecast/current,
// with the scaler's clock stopped at t0 and --default-min=2
// --stale-after=2m.
func TestGetMetrics(t *testing.T) {
	for _, tc := range []struct {
		name string
		// age is t0 − generatedAt of the forecaster's plan, a step of a
		// minute; with desired nil the forecaster answers 404.
		age      time.Duration
		desired  []int
		defaults Defaults
		md       map[string]string
		want     int64
		active   bool
		// The counts of kedastral_scaler_fallbacks_total by reason
		// after one GetMetrics and one IsActive.
		stale, expired, missing int
	}{
		{
			name: "fresh plan: desired[0]=8 is served", age: 15 * time.Second, desired: []int{8, 9, 10},
			md: workloadMD("checkout"), want: 8, active: true,
		},
		{
			// 3m30s > 2m: stale, but within its 5m horizon: the count for
			// minute floor(3.5) = 3, desired[3] = 11.
			name: "stale plan within its horizon: its count for now", age: 3*time.Minute + 30*time.Second, desired: []int{8, 9, 10, 11, 12},
			md: workloadMD("checkout"), want: 11, active: true, stale: 2,
		},
		{
			// desired[2] = 0: a stale plan that plans no replica now is
			// inactive, as the fresh one would be.
			name: "stale plan's zero", age: 2*time.Minute + 30*time.Second, desired: []int{5, 5, 0, 0},
			md: workloadMD("checkout"), want: 0, stale: 2,
		},
		{
			// 10m ≥ the 3m horizon: the plan has run out, defaultMin 2,
			// which is active: an outage never scales to zero.
			name: "plan past its horizon: defaultMin", age: 10 * time.Minute, desired: []int{8, 9, 10},
			md: workloadMD("checkout"), want: 2, active: true, expired: 2,
		},
		{
			name: "unknown workload: the forecaster answers 404", desired: nil,
			md: workloadMD("checkout"), want: 2, active: true, missing: 2,
		},
		{
			// Stale means older than staleAfter: 2m is not > 2m.
			name: "exactly staleAfter old is still fresh", age: 2 * time.Minute, desired: []int{8},
			md: workloadMD("checkout"), want: 8, active: true,
		},
		{
			// A plan of one minute: 2m + 1ns is stale and past it.
			name: "one nanosecond past staleAfter, past the horizon", age: 2*time.Minute + time.Nanosecond, desired: []int{8},
			md: workloadMD("checkout"), want: 2, active: true, expired: 2,
		},
		{
			// 10m ≤ 15m.
			name: "per-object staleAfter=15m keeps a 10m-old plan", age: 10 * time.Minute, desired: []int{8},
			md: workloadMD("checkout", KeyStaleAfter, "15m"), want: 8, active: true,
		},
		{
			name: "per-object defaultMin=5 is the fallback of a plan past its horizon", age: 10 * time.Minute, desired: []int{8},
			md: workloadMD("checkout", KeyDefaultMin, "5"), want: 5, active: true, expired: 2,
		},
		{
			name: "per-object defaultMin=0 is the fallback of a missing plan", desired: nil,
			md: workloadMD("checkout", KeyDefaultMin, "0"), want: 0, missing: 2,
		},
		{
			// A fresh plan of 0 is served as 0, inactive: KEDA may scale to
			// zero. It is not a fallback.
			name: "zero replicas", age: 15 * time.Second, desired: []int{0, 3},
			md: workloadMD("checkout"), want: 0,
		},
		{
			name: "workload from --workload", age: 15 * time.Second, desired: []int{8},
			defaults: Defaults{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute},
			md:       map[string]string{"scalerAddress": "kedastral-scaler:8080"}, want: 8, active: true,
		},
		{
			// The forecaster's clock is a minute ahead: a negative age is
			// fresh.
			name: "plan from the future", age: -time.Minute, desired: []int{8},
			md: workloadMD("checkout"), want: 8, active: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeForecaster(t)
			if tc.desired != nil {
				f.set("checkout", fresh(t, "checkout", t0.Add(-tc.age), tc.desired...))
			}
			h := startScaler(t, []string{f.URL()}, harnessOptions{defaults: tc.defaults})
			h.clock.Set(t0)
			waitLoaded(t, h.cache, "checkout")

			if got := h.getMetrics(t, tc.md); got != tc.want {
				t.Errorf("GetMetrics = %d, want %d", got, tc.want)
			}
			if got := h.isActive(t, tc.md); got != tc.active {
				t.Errorf("IsActive = %v, want %v", got, tc.active)
			}
			want := fmt.Sprintf(`
# HELP kedastral_scaler_returned_replicas Replicas last returned to KEDA for the workload.
# TYPE kedastral_scaler_returned_replicas gauge
kedastral_scaler_returned_replicas{workload="checkout"} %d
# HELP kedastral_scaler_fallbacks_total Answers not made from a fresh plan, by reason: stale (older than stale-after: its count for now), expired (past its horizon: defaultMin), missing (no plan: defaultMin).
# TYPE kedastral_scaler_fallbacks_total counter
kedastral_scaler_fallbacks_total{reason="expired"} %[2]d
kedastral_scaler_fallbacks_total{reason="missing"} %[3]d
kedastral_scaler_fallbacks_total{reason="stale"} %[4]d
# HELP kedastral_scaler_snapshot_stale_total Deprecated: the same count as kedastral_scaler_fallbacks_total, under its old name; to be removed in the next release.
# TYPE kedastral_scaler_snapshot_stale_total counter
kedastral_scaler_snapshot_stale_total{reason="expired"} %[2]d
kedastral_scaler_snapshot_stale_total{reason="missing"} %[3]d
kedastral_scaler_snapshot_stale_total{reason="stale"} %[4]d
`, tc.want, tc.expired, tc.missing, tc.stale)
			if err := promtest.GatherAndCompare(h.reg, strings.NewReader(want), "kedastral_scaler_returned_replicas",
				"kedastral_scaler_fallbacks_total", "kedastral_scaler_snapshot_stale_total"); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestGetMetricSpec(t *testing.T) {
	f := newFakeForecaster(t)
	h := startScaler(t, []string{f.URL()}, harnessOptions{})
	check := func(t *testing.T, resp *externalscaler.GetMetricSpecResponse) {
		t.Helper()
		specs := resp.GetMetricSpecs()
		if len(specs) != 1 {
			t.Fatalf("%d metric specs, want 1: %v", len(specs), specs)
		}
		s := specs[0]
		if s.GetMetricName() != "desired_replicas" || s.GetTargetSize() != 1 || s.GetTargetSizeFloat() != 1 {
			t.Errorf("spec %v, want desired_replicas with targetSize 1 and targetSizeFloat 1", s)
		}
	}
	t.Run("GetMetricSpec", func(t *testing.T) {
		// The spec needs no plan: the workload is unknown here.
		resp, err := h.client.GetMetricSpec(callCtx(t), ref(workloadMD("checkout")))
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp)
	})
}

// TestMaxWorkloads: with a limit of 2, a call naming a third workload is
// refused with RESOURCE_EXHAUSTED naming the limit and counted, whatever
// the method; the two tracked keep their answers; once one is forgotten
// (idle 50 ms here) its place is free.
func TestMaxWorkloads(t *testing.T) {
	f := newFakeForecaster(t)
	h := startScaler(t, []string{f.URL()}, harnessOptions{maxWorkloads: 2, idle: 50 * time.Millisecond})
	for _, w := range []string{"a", "b"} {
		if _, err := h.client.GetMetrics(callCtx(t), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(workloadMD(w)), MetricName: MetricName}); err != nil {
			t.Fatalf("workload %s: %v", w, err)
		}
	}
	calls := map[string]func() error{
		"GetMetrics": func() error {
			_, err := h.client.GetMetrics(callCtx(t), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(workloadMD("c")), MetricName: MetricName})
			return err
		},
		"IsActive":      func() error { _, err := h.client.IsActive(callCtx(t), ref(workloadMD("c"))); return err },
		"GetMetricSpec": func() error { _, err := h.client.GetMetricSpec(callCtx(t), ref(workloadMD("c"))); return err },
	}
	for name, call := range calls {
		err := call()
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--max-workloads") {
			t.Errorf("%s of a third workload: %v; want RESOURCE_EXHAUSTED naming --max-workloads", name, err)
		}
	}
	if got := testutil.Gather(t, h.reg).Value(t, "kedastral_scaler_workloads_refused_total", nil); got != 3 {
		t.Errorf("kedastral_scaler_workloads_refused_total = %v, want 3", got)
	}
	if n := h.cache.Tracked(); n != 2 {
		t.Errorf("%d workloads tracked, want 2", n)
	}
	// Nobody asks for a and b any more: after the idle time they are
	// forgotten, and c gets a place.
	deadline := time.Now().Add(10 * time.Second)
	for h.cache.Tracked() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := calls["IsActive"](); err != nil {
		t.Errorf("a third workload once the others were forgotten: %v", err)
	}
}

// TestMalformedSnapshots feeds the scaler forecaster answers it cannot use.
// Each is counted under its reason; a workload that never had a good plan
// gets defaultMin, and one that had keeps it until it is stale. No call
// fails.
func TestMalformedSnapshots(t *testing.T) {
	raw := func(body string) func(testing.TB, string, time.Time) reply {
		return func(_ testing.TB, _ string, _ time.Time) reply { return reply{body: body} }
	}
	for _, tc := range []struct {
		name        string
		bad         func(tb testing.TB, workload string, at time.Time) reply
		httpTimeout time.Duration
		reason      string
	}{
		{name: "not JSON", bad: raw("<html>502 Bad Gateway</html>"), reason: "bad_body"},
		{name: "empty body", bad: raw(""), reason: "bad_body"},
		{name: "JSON array", bad: raw(`[{"desiredReplicas":[4]}]`), reason: "bad_body"},
		{
			name: "truncated JSON",
			bad: func(tb testing.TB, w string, at time.Time) reply {
				s := snapshotBody(tb, w, at, 5)
				return reply{body: s[:len(s)/2]}
			},
			reason: "bad_body",
		},
		{
			name: "fractional replicas",
			bad: func(_ testing.TB, w string, at time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"generatedAt":%q,"desiredReplicas":[1.5]}`, w, at.Format(time.RFC3339Nano))}
			},
			reason: "bad_body",
		},
		{
			name: "generatedAt not a time",
			bad: func(_ testing.TB, w string, _ time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"generatedAt":"yesterday","desiredReplicas":[4]}`, w)}
			},
			reason: "bad_body",
		},
		{
			name: "wrong workload",
			bad: func(tb testing.TB, _ string, at time.Time) reply {
				return fresh(tb, "search", at, 4)
			},
			reason: "invalid",
		},
		{
			name: "no desiredReplicas (null)",
			bad: func(tb testing.TB, w string, at time.Time) reply {
				return fresh(tb, w, at) // forecast.Snapshot encodes nil as null
			},
			reason: "invalid",
		},
		{
			name: "empty desiredReplicas",
			bad: func(_ testing.TB, w string, at time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"generatedAt":%q,"desiredReplicas":[]}`, w, at.Format(time.RFC3339Nano))}
			},
			reason: "invalid",
		},
		{
			name: "negative desired",
			bad: func(tb testing.TB, w string, at time.Time) reply {
				return fresh(tb, w, at, -1, 3)
			},
			reason: "invalid",
		},
		{
			name: "a negative count ahead",
			bad: func(tb testing.TB, w string, at time.Time) reply {
				return fresh(tb, w, at, 3, -1)
			},
			reason: "invalid",
		},
		{
			name: "negative stepSeconds",
			bad: func(_ testing.TB, w string, at time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"generatedAt":%q,"stepSeconds":-60,"desiredReplicas":[4]}`, w, at.Format(time.RFC3339Nano))}
			},
			reason: "invalid",
		},
		{
			// Past a week: a duration that would overflow.
			name: "huge stepSeconds",
			bad: func(_ testing.TB, w string, at time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"generatedAt":%q,"stepSeconds":1e300,"desiredReplicas":[4]}`, w, at.Format(time.RFC3339Nano))}
			},
			reason: "invalid",
		},
		{
			name: "missing generatedAt",
			bad: func(_ testing.TB, w string, _ time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"desiredReplicas":[4]}`, w)}
			},
			reason: "invalid",
		},
		{
			name: "zero generatedAt",
			bad: func(tb testing.TB, w string, _ time.Time) reply {
				return fresh(tb, w, time.Time{}, 4)
			},
			reason: "invalid",
		},
		{
			// A clock in 2099: never stale, it would win every comparison.
			name: "generatedAt in 2099",
			bad: func(tb testing.TB, w string, _ time.Time) reply {
				return fresh(tb, w, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), 4)
			},
			reason: "invalid",
		},
		{
			// An hour ahead of this machine's clock: past MaxClockSkew (1m).
			name: "generatedAt an hour ahead",
			bad: func(tb testing.TB, w string, _ time.Time) reply {
				return fresh(tb, w, time.Now().Add(time.Hour), 4)
			},
			reason: "invalid",
		},
		{
			// MaxInt64 replicas: above the int32 of a Kubernetes replica count.
			name: "desired MaxInt64",
			bad: func(_ testing.TB, w string, at time.Time) reply {
				return reply{body: fmt.Sprintf(`{"workload":%q,"generatedAt":%q,"desiredReplicas":[9223372036854775807]}`, w, at.Format(time.RFC3339Nano))}
			},
			reason: "invalid",
		},
		{
			// 2^31 = 2147483648, one above the int32's largest.
			name: "a count ahead of 2^31",
			bad: func(tb testing.TB, w string, at time.Time) reply {
				return fresh(tb, w, at, 3, 1<<31)
			},
			reason: "invalid",
		},
		{
			// The body is a good snapshot: the status is checked first.
			name: "HTTP 500",
			bad: func(tb testing.TB, w string, at time.Time) reply {
				return reply{status: 500, body: snapshotBody(tb, w, at, 4)}
			},
			reason: "http_status",
		},
		{
			name:   "HTTP 429",
			bad:    func(testing.TB, string, time.Time) reply { return reply{status: 429, body: "slow down"} },
			reason: "http_status",
		},
		{
			// The handler holds the request until the client's 200 ms
			// timeout ends it.
			name:        "hung forecaster",
			bad:         func(testing.TB, string, time.Time) reply { return reply{hang: true} },
			httpTimeout: 200 * time.Millisecond,
			reason:      "unavailable",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeForecaster(t)
			now := time.Now()
			// A plan of 5, 5, 5, 4 replicas a minute apart.
			f.set("good", fresh(t, "good", now, 5, 5, 5, 4))
			f.set("never", tc.bad(t, "never", now))
			h := startScaler(t, []string{f.URL()}, harnessOptions{httpTimeout: tc.httpTimeout})
			waitLoaded(t, h.cache, "good")
			waitLoaded(t, h.cache, "never")

			// Never a usable answer: defaultMin, "missing"; active, since
			// defaultMin 2 > 0.
			if got := h.getMetrics(t, workloadMD("never")); got != 2 {
				t.Errorf("never-good workload: GetMetrics = %d, want defaultMin 2", got)
			}
			if !h.isActive(t, workloadMD("never")) {
				t.Error("never-good workload: IsActive = false, want true (defaultMin 2 > 0)")
			}

			// A good plan, then bad answers: the good plan stays.
			if got := h.getMetrics(t, workloadMD("good")); got != 5 {
				t.Fatalf("good plan: GetMetrics = %d, want 5", got)
			}
			n := f.set("good", tc.bad(t, "good", now))
			f.refreshed(t, "good", n)
			if got := h.getMetrics(t, workloadMD("good")); got != 5 {
				t.Errorf("after a bad answer: GetMetrics = %d, want the last good plan, 5", got)
			}
			if !h.isActive(t, workloadMD("good")) {
				t.Error("after a bad answer: IsActive = false, want true (the last good plan wants 5)")
			}
			// Stale 2m1s later, it is followed: 5 for minute 2, 4 for minute 3;
			// at minute 4 it has run out: defaultMin 2.
			for _, step := range []struct {
				advance time.Duration
				want    int64
			}{{2*time.Minute + time.Second, 5}, {time.Minute, 4}, {time.Minute, 2}} {
				h.clock.Advance(step.advance)
				if got := h.getMetrics(t, workloadMD("good")); got != step.want {
					t.Errorf("last good plan gone stale, %s later: GetMetrics = %d, want %d", step.advance, got, step.want)
				}
			}

			errs := testutil.Gather(t, h.reg).Values(t, "kedastral_scaler_source_errors_total", "reason")
			if errs[tc.reason] < 2 {
				// At least the first read of "never" and one read of "good".
				t.Errorf("source errors{reason=%q} = %v, want 2 or more", tc.reason, errs[tc.reason])
			}
			for reason, v := range errs {
				if reason != tc.reason && v != 0 {
					t.Errorf("source errors{reason=%q} = %v, want 0: only %q happened", reason, v, tc.reason)
				}
			}
			if sources := testutil.Gather(t, h.reg).Values(t, "kedastral_scaler_source_errors_total", "source"); nonZero(sources) != 1 || sources["forecaster"] == 0 {
				t.Errorf("source errors by source: %v, want forecaster only", sources)
			}
			// "never": GetMetrics and IsActive, missing; "good": two stale
			// answers, then one past the horizon.
			fallbacks := testutil.Gather(t, h.reg).Values(t, "kedastral_scaler_fallbacks_total", "reason")
			if fallbacks["missing"] != 2 || fallbacks["stale"] != 2 || fallbacks["expired"] != 1 {
				t.Errorf("fallbacks %v, want missing 2, stale 2 and expired 1", fallbacks)
			}
		})
	}
}

// TestWorkloadRemoved: a forecaster that stops forecasting a workload (or
// restarts, and has not forecast it yet) answers 404, which is not an
// error: the last plan stays and runs out at its horizon.
func TestWorkloadRemoved(t *testing.T) {
	f := newFakeForecaster(t)
	f.set("checkout", fresh(t, "checkout", time.Now(), 6, 6, 6))
	h := startScaler(t, []string{f.URL()}, harnessOptions{})
	waitLoaded(t, h.cache, "checkout")
	if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
		t.Fatalf("GetMetrics = %d, want 6", got)
	}
	f.refreshed(t, "checkout", f.remove("checkout"))
	if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
		t.Errorf("after the 404: GetMetrics = %d, want the last plan's 6", got)
	}
	h.clock.Advance(3 * time.Minute) // the plan's 3m horizon
	if got := h.getMetrics(t, workloadMD("checkout")); got != 2 {
		t.Errorf("after the plan's horizon: GetMetrics = %d, want defaultMin 2", got)
	}
	if errs := testutil.Gather(t, h.reg).Values(t, "kedastral_scaler_source_errors_total", "reason"); nonZero(errs) != 0 {
		t.Errorf("source errors %v, want none: a 404 is an answer", errs)
	}
	if got := promtest.ToFloat64(h.metrics.fallbacks.WithLabelValues("expired")); got != 1 {
		t.Errorf("expired fallbacks %v, want 1", got)
	}
}

// TestSeveralForecasters reads two forecasters (an HA pair): the freshest
// generatedAt wins, and when one is down the other serves.
func TestSeveralForecasters(t *testing.T) {
	a, b := newFakeForecaster(t), newFakeForecaster(t)
	now := time.Now()
	a.set("checkout", fresh(t, "checkout", now.Add(-30*time.Second), 3))
	b.set("checkout", fresh(t, "checkout", now.Add(-10*time.Second), 7))
	h := startScaler(t, []string{a.URL(), b.URL()}, harnessOptions{})
	md := workloadMD("checkout")
	waitLoaded(t, h.cache, "checkout")

	// b's plan (10 s old) is fresher than a's (30 s old).
	if got := h.getMetrics(t, md); got != 7 {
		t.Errorf("both up: GetMetrics = %d, want b's 7 (the newer)", got)
	}
	// a forecasts again: 5 s old, now the newest.
	a.refreshed(t, "checkout", a.set("checkout", fresh(t, "checkout", now.Add(-5*time.Second), 4)))
	if got := h.getMetrics(t, md); got != 4 {
		t.Errorf("a newer: GetMetrics = %d, want a's 4", got)
	}
	// a goes down: b serves its 7 (10 s old, fresh). The read that made
	// b's next request may have reached a before the close; the one after
	// it started after that request, so a was down for it: its answer is
	// in the cache once b has had a third request.
	a.srv.Close()
	b.waitRequests(t, "checkout", b.count("checkout")+3)
	if got := h.getMetrics(t, md); got != 7 {
		t.Errorf("a down: GetMetrics = %d, want b's 7", got)
	}
	if got := promtest.ToFloat64(h.metrics.SourceErrors.WithLabelValues("forecaster", "unavailable")); got < 1 {
		t.Errorf("source errors{unavailable} = %v, want a's failures counted", got)
	}
	// A workload nobody has (b answers 404, a is down): defaultMin.
	if got := h.getMetrics(t, workloadMD("search")); got != 2 {
		t.Errorf("unknown workload: GetMetrics = %d, want 2", got)
	}
	// b down as well: the last plan stays until it is stale. Each read now
	// counts 2 errors; once 6 more are counted, the read in flight when b
	// went down (2 at most) and a whole failed read (2) are in the cache.
	b.srv.Close()
	c := h.metrics.SourceErrors.WithLabelValues("forecaster", "unavailable")
	before := promtest.ToFloat64(c)
	testutil.WaitFor(t, waitTimeout, "three more failed reads", func() bool { return promtest.ToFloat64(c) >= before+6 })
	if got := h.getMetrics(t, md); got != 7 {
		t.Errorf("both down: GetMetrics = %d, want the last plan, 7", got)
	}
	h.clock.Advance(3 * time.Minute) // 10 s + 3 m > 2 m
	if got := h.getMetrics(t, md); got != 2 {
		t.Errorf("both down, plan stale: GetMetrics = %d, want 2", got)
	}
}

// TestShardOwnerDown: with shards only the owner has the workload and the
// others answer 404. When the owner is down, the last plan should stay until
// it is stale (docs/scaler.md, "Forecaster down"), not drop at once.
func TestShardOwnerDown(t *testing.T) {
	owner, other := newFakeForecaster(t), newFakeForecaster(t)
	owner.set("checkout", fresh(t, "checkout", time.Now(), 6))
	h := startScaler(t, []string{owner.URL(), other.URL()}, harnessOptions{})
	waitLoaded(t, h.cache, "checkout")
	if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
		t.Fatalf("GetMetrics = %d, want the owner's 6", got)
	}
	owner.srv.Close()
	other.refreshed(t, "checkout", other.count("checkout"))
	if got := h.getMetrics(t, workloadMD("checkout")); got != 6 {
		t.Errorf("owner down: GetMetrics = %d, want the last plan, 6, until it is stale", got)
	}
}

// TestMetadataErrors: bad trigger metadata is the one case answered with a
// gRPC error, InvalidArgument, on every method, naming the object and key.
func TestMetadataErrors(t *testing.T) {
	f := newFakeForecaster(t)
	h := startScaler(t, []string{f.URL()}, harnessOptions{}) // no --workload
	calls := []struct {
		method string
		call   func(*externalscaler.ScaledObjectRef) error
	}{
		{"GetMetrics", func(r *externalscaler.ScaledObjectRef) error {
			_, err := h.client.GetMetrics(callCtx(t), &externalscaler.GetMetricsRequest{ScaledObjectRef: r, MetricName: MetricName})
			return err
		}},
		{"IsActive", func(r *externalscaler.ScaledObjectRef) error {
			_, err := h.client.IsActive(callCtx(t), r)
			return err
		}},
		{"GetMetricSpec", func(r *externalscaler.ScaledObjectRef) error {
			_, err := h.client.GetMetricSpec(callCtx(t), r)
			return err
		}},
		{"StreamIsActive", func(r *externalscaler.ScaledObjectRef) error {
			s, err := h.client.StreamIsActive(callCtx(t), r)
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
	}
	for _, tc := range []struct {
		name string
		md   map[string]string
		want string
	}{
		{
			name: "no workload and no --workload",
			md:   map[string]string{"scalerAddress": "kedastral-scaler:8080"},
			want: `scaled object shop/checkout: metadata "workload" is required (or start the scaler with --workload)`,
		},
		{
			name: "defaultMin=-1",
			md:   workloadMD("checkout", KeyDefaultMin, "-1"),
			want: `scaled object shop/checkout: metadata defaultMin="-1" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			name: "staleAfter=soon",
			md:   workloadMD("checkout", KeyStaleAfter, "soon"),
			want: `scaled object shop/checkout: metadata staleAfter="soon" must be a positive duration such as 2m or 1h30m`,
		},
	} {
		for _, c := range calls {
			t.Run(tc.name+"/"+c.method, func(t *testing.T) {
				err := c.call(ref(tc.md))
				st, ok := status.FromError(err)
				if !ok || st.Code() != codes.InvalidArgument || st.Message() != tc.want {
					t.Errorf("error %v, want InvalidArgument %q", err, tc.want)
				}
			})
		}
	}
	t.Run("no ScaledObjectRef", func(t *testing.T) {
		_, err := h.client.GetMetrics(callCtx(t), &externalscaler.GetMetricsRequest{MetricName: MetricName})
		if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || st.Message() != "no scaled object reference" {
			t.Errorf("error %v, want InvalidArgument %q", err, "no scaled object reference")
		}
	})
	// A call with bad metadata reads no plan.
	if n := f.count("checkout"); n != 0 {
		t.Errorf("the forecaster was asked %d times, want 0", n)
	}
}

// TestRequestsCounted: every call is counted by method and status code as
// it is answered.
func TestRequestsCounted(t *testing.T) {
	f := newFakeForecaster(t)
	h := startScaler(t, []string{f.URL()}, harnessOptions{})
	h.getMetrics(t, workloadMD("checkout"))
	h.getMetrics(t, workloadMD("checkout", KeyDefaultMin, "3"))
	if _, err := h.client.GetMetrics(callCtx(t), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(workloadMD("checkout", KeyDefaultMin, "-1"))}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("GetMetrics with defaultMin=-1: %v, want InvalidArgument", err)
	}
	h.isActive(t, workloadMD("checkout"))
	if _, err := h.client.GetMetricSpec(callCtx(t), ref(workloadMD("checkout"))); err != nil {
		t.Fatal(err)
	}
	// A stream is counted when it ends: here at once, with its error.
	s, err := h.client.StreamIsActive(callCtx(t), ref(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("StreamIsActive without a workload: %v, want InvalidArgument", err)
	}
	want := `
# HELP kedastral_scaler_requests_total gRPC calls answered, by method and status code.
# TYPE kedastral_scaler_requests_total counter
kedastral_scaler_requests_total{method="GetMetricSpec",status="OK"} 1
kedastral_scaler_requests_total{method="GetMetrics",status="InvalidArgument"} 1
kedastral_scaler_requests_total{method="GetMetrics",status="OK"} 2
kedastral_scaler_requests_total{method="IsActive",status="OK"} 1
kedastral_scaler_requests_total{method="StreamIsActive",status="InvalidArgument"} 1
`
	if err := promtest.GatherAndCompare(h.reg, strings.NewReader(want), "kedastral_scaler_requests_total"); err != nil {
		t.Error(err)
	}
	if problems, err := promtest.GatherAndLint(h.reg); err != nil || len(problems) != 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

// TestStreamIsActive is KEDA's external-push trigger: the activity at once,
// then a message each time it changes, and none when it does not.
func TestStreamIsActive(t *testing.T) {
	t.Run("first message at once", func(t *testing.T) {
		f := newFakeForecaster(t)
		f.set("checkout", fresh(t, "checkout", time.Now(), 4))
		// A poll of an hour: a first message that waited for a tick would
		// not come within the call's bounded wait.
		h := startScaler(t, []string{f.URL()}, harnessOptions{poll: time.Hour})
		waitLoaded(t, h.cache, "checkout")
		s, err := h.client.StreamIsActive(callCtx(t), ref(workloadMD("checkout")))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := s.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !msg.GetResult() {
			t.Error("first message false, want true (a fresh plan of 4)")
		}
	})
	t.Run("a message at each change", func(t *testing.T) {
		f := newFakeForecaster(t)
		now := time.Now()
		f.set("checkout", fresh(t, "checkout", now, 0))
		h := startScaler(t, []string{f.URL()}, harnessOptions{})
		waitLoaded(t, h.cache, "checkout")
		s, err := h.client.StreamIsActive(callCtx(t), ref(workloadMD("checkout")))
		if err != nil {
			t.Fatal(err)
		}
		recv := func(want bool, why string) {
			t.Helper()
			msg, err := s.Recv()
			if err != nil {
				t.Fatalf("%s: %v", why, err)
			}
			// A repeated message would arrive here with the old value.
			if msg.GetResult() != want {
				t.Fatalf("%s: message %v, want %v", why, msg.GetResult(), want)
			}
		}
		recv(false, "a plan of 0")
		f.set("checkout", fresh(t, "checkout", now, 6))
		recv(true, "0 → 6 replicas")
		f.set("checkout", fresh(t, "checkout", now, 0))
		recv(false, "6 → 0 replicas")
		f.set("checkout", fresh(t, "checkout", now, 3, 3, 0, 0))
		recv(true, "0 → 3 replicas")
		// The plan goes stale and is followed: 0 replicas at minute 2.
		h.clock.Advance(2*time.Minute + 30*time.Second)
		recv(false, "a stale plan's 0 for now")
		// It runs out at minute 4: defaultMin 2, active.
		h.clock.Advance(2 * time.Minute)
		recv(true, "the plan ran out: defaultMin 2")
	})
}

// TestMaxStreams: with MaxStreams 2, a third StreamIsActive is refused with
// RESOURCE_EXHAUSTED and counted; once one of the two ends, a new one is
// served.
func TestMaxStreams(t *testing.T) {
	f := newFakeForecaster(t)
	f.set("checkout", fresh(t, "checkout", time.Now(), 4))
	h := startScaler(t, []string{f.URL()}, harnessOptions{poll: time.Hour, maxStreams: 2})
	waitLoaded(t, h.cache, "checkout")
	open := func() (context.CancelFunc, error) {
		ctx, cancel := context.WithCancel(callCtx(t))
		s, err := h.client.StreamIsActive(ctx, ref(workloadMD("checkout")))
		if err == nil {
			_, err = s.Recv()
		}
		return cancel, err
	}
	first, err := open()
	if err != nil {
		t.Fatal(err)
	}
	second, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer second()
	third, err := open()
	defer third()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--grpc.max-streams") {
		t.Fatalf("third stream: %v, want RESOURCE_EXHAUSTED naming --grpc.max-streams", err)
	}
	reg := testutil.Gather(t, h.reg)
	if got := reg.Value(t, "kedastral_scaler_streams_refused_total", nil); got != 1 {
		t.Errorf("kedastral_scaler_streams_refused_total = %v, want 1", got)
	}
	if got := reg.Value(t, "kedastral_scaler_streams", nil); got != 2 {
		t.Errorf("kedastral_scaler_streams = %v, want 2", got)
	}
	first()
	testutil.WaitFor(t, waitTimeout, "the first stream closed", func() bool {
		return testutil.Gather(t, h.reg).Value(t, "kedastral_scaler_streams", nil) == 1
	})
	fourth, err := open()
	defer fourth()
	if err != nil {
		t.Errorf("a stream once one of two closed: %v", err)
	}
}
