package exporter

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

// pageSnapshot is a snapshot whose chart coordinates are round numbers.
//
// The plot spans x 60..660 and y 220 (bottom) .. 20 (top). Time runs from the
// first observed point, −2m (Recent has 3 points a minute apart ending at
// ObservedAt = GeneratedAt), to GeneratedAt + 3 steps = +3m: 300 s on 600
// units, 2 units a second, so −120 s → x 60, −60 s → 180, now → 300,
// +60 s → 420, +120 s → 540, +180 s → 660.
//
// The largest load is 100: four intervals of 25, rounded up to 50, make the
// ticks 0, 50, 100, so the load axis is 0..100 on 200 units: a value v maps
// to y = 220 − v/100·200. For example 50 → 220 − 100 = 120, 90 → 40,
// 10 → 200, 100 → 20, 0 → 220.
//
// The replica axis is 0..2 (ticks of 1): 2 → 20, 1 → 220 − 1/2·200 = 120.
func pageSnapshot(name string) forecast.Snapshot {
	return forecast.Snapshot{
		Workload:        name,
		Metric:          "rps",
		Model:           "holtwinters",
		ConfiguredModel: "auto",
		GeneratedAt:     generated,
		StepSeconds:     60,
		HorizonSeconds:  180,
		Values:          []float64{90, 50, 10},
		Lower:           []float64{80, 40, 0},
		Upper:           []float64{100, 60, 20},
		LowerQuantile:   0.1,
		UpperQuantile:   0.9,
		DesiredReplicas: []int{2, 1, 1},
		ObservedValue:   100,
		ObservedAt:      generated,
		Recent:          []float64{0, 50, 100},
	}
}

// floorDecided makes s a plan whose desired replicas the reactive floor set.
func floorDecided(s forecast.Snapshot) forecast.Snapshot {
	s.ReactiveFloor, s.ForecastReplicas, s.DecidedBy, s.PlanBasis, s.PlanHeadroom = 2, 1, "reactive_floor", "upper", 1.1
	return s
}

func withoutInterval(s forecast.Snapshot) forecast.Snapshot {
	s.Lower, s.Upper = nil, nil
	return s
}

// getPage serves target from a page over store, 15 s after generated.
func getPage(t *testing.T, store Snapshots, method, target string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	h := NewPage(store, PageOptions{
		Name:    "Kedastral forecaster",
		Version: "v1.2.3",
		Links:   []PageLink{{Address: "/metrics", Text: "Metrics", Description: "kedastral_forecast_* series"}},
		Now:     func() time.Time { return generated.Add(15 * time.Second) },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec, rec.Body.String()
}

func storeOf(snaps ...forecast.Snapshot) *snapshots {
	st := &snapshots{}
	for _, s := range snaps {
		st.Put(s)
	}
	return st
}

var pathRE = regexp.MustCompile(`<path class="(\w+)" d="([^"]*)"`)

// chartPaths returns the d attribute of each chart path of body, by class,
// one map per chart.
func chartPaths(body string) []map[string]string {
	var charts []map[string]string
	for _, svg := range strings.Split(body, "<svg")[1:] {
		paths := map[string]string{}
		for _, m := range pathRE.FindAllStringSubmatch(svg, -1) {
			paths[m[1]] = m[2]
		}
		charts = append(charts, paths)
	}
	return charts
}

func TestPageChart(t *testing.T) {
	tests := []struct {
		name string
		snap forecast.Snapshot
		want map[string]string
	}{
		{
			name: "interval",
			snap: pageSnapshot("checkout"),
			want: map[string]string{
				// Recent 0, 50, 100 at −2m, −1m, now.
				"observed": "M60.0 220.0 L180.0 120.0 L300.0 20.0",
				// From the last observed point to Values 90, 50, 10 at now, +1m, +2m.
				"forecast": "M300.0 20.0 L300.0 40.0 L420.0 120.0 L540.0 200.0",
				// Upper 100, 60, 20 left to right, then Lower 0, 40, 80 back.
				"band": "M300.0 20.0 L420.0 100.0 L540.0 180.0 L540.0 220.0 L420.0 140.0 L300.0 60.0 Z",
				// 2 replicas from now to +1m, then 1 to the end (+3m).
				"replicas": "M300.0 20.0 H420.0 V120.0 H660.0",
			},
		},
		{
			name: "no interval",
			snap: withoutInterval(pageSnapshot("checkout")),
			want: map[string]string{
				"observed": "M60.0 220.0 L180.0 120.0 L300.0 20.0",
				"forecast": "M300.0 20.0 L300.0 40.0 L420.0 120.0 L540.0 200.0",
				"replicas": "M300.0 20.0 H420.0 V120.0 H660.0",
			},
		},
		{
			name: "non-finite values are gaps",
			snap: func() forecast.Snapshot {
				s := pageSnapshot("checkout")
				s.Recent = []float64{0, math.NaN(), 100}
				s.Values = []float64{math.Inf(1), 50, math.NaN()}
				s.Lower = []float64{math.NaN(), 40, 0}
				s.Upper = []float64{100, 60, math.Inf(-1)}
				s.ObservedValue = math.NaN()
				return s
			}(),
			// The axis is still 0..100 from the finite values.
			want: map[string]string{
				"observed": "M60.0 220.0 M300.0 20.0",
				"forecast": "M300.0 20.0 M420.0 120.0",
				// Only +1m has both bounds: 60 → 100 and 40 → 140.
				"band":     "M420.0 100.0 L420.0 140.0 Z",
				"replicas": "M300.0 20.0 H420.0 V120.0 H660.0",
			},
		},
		{
			name: "huge values are clamped",
			snap: forecast.Snapshot{
				Workload: "checkout", GeneratedAt: generated, StepSeconds: 60,
				// Clamped to ±1e300, the axis is −1e300..1e300 (ticks of
				// 5e299); no Recent: time runs from now (x 60) to +2m (660).
				Values:          []float64{math.MaxFloat64, -math.MaxFloat64},
				DesiredReplicas: []int{1, 1},
			},
			want: map[string]string{
				"forecast": "M60.0 20.0 L360.0 220.0",
				// 1 replica at the top of the 0..1 axis.
				"replicas": "M60.0 20.0 H660.0",
			},
		},
		{
			name: "negative values extend the axis below zero",
			snap: forecast.Snapshot{
				Workload: "checkout", GeneratedAt: generated, StepSeconds: 60,
				// The axis is −50..50 (ticks of 50): 50 → y 20, −50 → 220;
				// time runs from now (x 60) to +2m (660), +1m → 360.
				Values: []float64{50, -50},
			},
			want: map[string]string{"forecast": "M60.0 20.0 L360.0 220.0"},
		},
		{
			name: "no usable step",
			snap: forecast.Snapshot{
				Workload: "checkout", GeneratedAt: generated, StepSeconds: math.NaN(),
				// Index units: time runs 0..2, so 0 → x 60 and 1 → 360; the axis
				// is 0..10 (ticks of 5): 10 → y 20, 5 → 120.
				Values: []float64{10, 5},
			},
			want: map[string]string{"forecast": "M60.0 20.0 L360.0 120.0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, body := getPage(t, storeOf(tc.snap), http.MethodGet, "/")
			charts := chartPaths(body)
			if len(charts) != 1 {
				t.Fatalf("%d charts, want 1:\n%s", len(charts), body)
			}
			if !reflect.DeepEqual(charts[0], tc.want) {
				t.Errorf("paths\n%v\nwant\n%v", charts[0], tc.want)
			}
			for _, bad := range []string{"NaN", "Inf", "e+308"} {
				if strings.Contains(body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
		})
	}
}

func TestPageAxes(t *testing.T) {
	_, body := getPage(t, storeOf(pageSnapshot("checkout")), http.MethodGet, "/")
	for _, want := range []string{
		// Load ticks 0, 50, 100 at y 220, 120, 20.
		`<text x="54" y="220.0" dy=".35em">0</text><text x="54" y="120.0" dy=".35em">50</text><text x="54" y="20.0" dy=".35em">100</text>`,
		// Replica ticks 0, 1, 2.
		`<text x="666" y="220.0" dy=".35em">0</text><text x="666" y="120.0" dy=".35em">1</text><text x="666" y="20.0" dy=".35em">2</text>`,
		// Time: html/template escapes + as &#43;.
		`<text x="60.0" y="238">−2m</text><text x="300.0" y="238">now</text><text x="660.0" y="238">&#43;3m</text>`,
		`<line class="now" x1="300.0" x2="300.0" y1="20" y2="220"/>`,
		`<li><i class="band"></i>p10–p90 interval</li>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestPage(t *testing.T) {
	two := storeOf(pageSnapshot("search"), withoutInterval(pageSnapshot("checkout")))
	tests := []struct {
		name       string
		store      Snapshots
		method     string
		target     string
		wantCode   int
		wantError  string
		wantAllow  string
		want       []string // in this order
		wantAbsent []string
	}{
		{
			name: "two workloads", store: two, method: http.MethodGet, target: "/", wantCode: 200,
			want: []string{
				"<!DOCTYPE html>", "<title>Kedastral forecaster</title>", `<span class="version">v1.2.3</span>`,
				`<main id="workloads">`,
				"<h2>checkout</h2>",
				"model <b>holtwinters</b> (configured auto) · replicas now <b>2</b> · lead time <b>0s</b> · observed <b>100</b> at 12:00:00 UTC · forecast 15s old",
				`<a href="/forecast/current?workload=checkout">JSON</a>`,
				"<svg", `<path class="observed"`, `<path class="forecast"`, `<path class="replicas"`, "</svg>",
				"<h2>search</h2>", `<path class="band"`,
				"</main>",
				`<a href="/metrics">Metrics</a> · kedastral_forecast_* series`,
				`fetch("?fragment=1"`,
			},
		},
		{
			name: "the floor's decision", store: storeOf(floorDecided(pageSnapshot("checkout"))), method: http.MethodGet, target: "/", wantCode: 200,
			want: []string{
				"replicas now <b>2</b> <span class=\"decision\">(set by the reactive floor: the load now needs 2, the upper bound × 1.1 planned 1)</span> · lead time <b>0s</b> · observed <b>100</b>",
			},
		},
		{
			name: "fragment", store: two, method: http.MethodGet, target: "/?fragment=1", wantCode: 200,
			want:       []string{"<h2>checkout</h2>", "<svg", "<h2>search</h2>", "Updated 12:00:15 UTC"},
			wantAbsent: []string{"<html", "<script", "<main", "<style"},
		},
		{
			name: "empty store", store: &snapshots{}, method: http.MethodGet, target: "/", wantCode: 200,
			want:       []string{`<main id="workloads">`, "waiting for the first forecast", "</main>"},
			wantAbsent: []string{"<svg", "<section"},
		},
		{
			name: "escaping", store: storeOf(pageSnapshot(`<script>alert(1)</script>`)), method: http.MethodGet, target: "/", wantCode: 200,
			want: []string{
				"<h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2>",
				`href="/forecast/current?workload=%3cscript%3ealert%281%29%3c%2fscript%3e"`,
			},
			wantAbsent: []string{"<script>alert"},
		},
		{name: "head", store: two, method: http.MethodHead, target: "/", wantCode: 200},
		{name: "post", store: two, method: http.MethodPost, target: "/", wantCode: 405, wantAllow: "GET, HEAD", wantError: "method not allowed: use GET"},
		{name: "unknown path", store: two, method: http.MethodGet, target: "/nope", wantCode: 404, wantError: `not found: "/nope"`},
		{name: "unknown path, post", store: two, method: http.MethodPost, target: "/forecast", wantCode: 404, wantError: `not found: "/forecast"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := getPage(t, tc.store, tc.method, tc.target)
			if res.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", res.Code, tc.wantCode, body)
			}
			if got := res.Header().Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow %q, want %q", got, tc.wantAllow)
			}
			if tc.wantError != "" {
				checkJSONError(t, res, body, tc.wantError)
				return
			}
			if ct := res.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.method == http.MethodHead && body != "" {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
			rest := body
			for _, want := range tc.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("page lacks %q after the previous wants:\n%s", want, body)
				}
				rest = rest[i+len(want):]
			}
			for _, bad := range tc.wantAbsent {
				if strings.Contains(body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
		})
	}
}

func checkJSONError(t *testing.T, res *httptest.ResponseRecorder, body, want string) {
	t.Helper()
	if ct := res.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if !reflect.DeepEqual(got, map[string]string{"error": want}) {
		t.Errorf("body %v, want error %q", got, want)
	}
}

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.5, "0.5"}, {42.125, "42.1"}, {999, "999"}, {1500, "1.5k"}, {-2500, "-2.5k"},
		{12345678, "12.3M"}, {3e9, "3G"}, {4e12, "4T"}, {5e15, "5e+15"},
		{math.NaN(), "n/a"}, {math.Inf(1), "n/a"}, {math.Inf(-1), "n/a"},
	} {
		if got := formatNumber(tc.v); got != tc.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestFormatSpan(t *testing.T) {
	for _, tc := range []struct {
		seconds float64
		want    string
	}{
		{45, "45s"}, {120, "2m"}, {90, "1m30s"}, {3600, "1h"}, {5400, "1h30m"}, {86400 * 2, "48h"}, {1e300, "∞"},
	} {
		if got := formatSpan(tc.seconds); got != tc.want {
			t.Errorf("formatSpan(%v) = %q, want %q", tc.seconds, got, tc.want)
		}
	}
}

func TestDecision(t *testing.T) {
	tests := []struct {
		decidedBy, basis string
		headroom         float64
		floor, forecast  int
		want             string
	}{
		{"reactive_floor", "forecast", 1.2, 9, 6, "set by the reactive floor: the load now needs 9, the forecast × 1.2 planned 6"},
		{"forecast", "upper", 0.9, 3, 7, "set by the upper bound × 0.9; reactive floor 3"},
		{"forecast", "forecast", 1.2, 0, 7, "set by the forecast × 1.2"},
		{"up_limit", "forecast", 1.2, 2, 8, "the forecast × 1.2, held back by up_max_factor; reactive floor 2"},
		{"down_limit", "forecast", 1.2, 2, 8, "the forecast × 1.2, held up by down_max_percent; reactive floor 2"},
		{"min_replicas", "forecast", 1.2, 2, 2, "at min_replicas; reactive floor 2"},
		{"max_replicas", "forecast", 1.2, 50, 50, "at max_replicas; reactive floor 50"},
		{"schedule", "forecast", 1.2, 2, 3, "at the bounds of a schedule window; reactive floor 2"},
		{"", "", 0, 0, 0, ""}, // a snapshot from before the floor
		// Shadow mode: planned holds the plan, 8 here.
		{"forecast", "forecast", 1.2, 5, 8, "shadow mode: the reactive count; the plan asks for 8, set by the forecast × 1.2; reactive floor 5"},
	}
	for _, tc := range tests {
		s := forecast.Snapshot{DecidedBy: tc.decidedBy, PlanBasis: tc.basis, PlanHeadroom: tc.headroom, ReactiveFloor: tc.floor, ForecastReplicas: tc.forecast}
		if strings.HasPrefix(tc.want, "shadow") {
			s.PlannedReplicas = []int{8, 9}
		}
		if got := decision(s); got != tc.want {
			t.Errorf("decision(%s on %s) = %q, want %q", tc.decidedBy, tc.basis, got, tc.want)
		}
	}
}

func TestLeadTimeShown(t *testing.T) {
	for _, tc := range []struct {
		seconds, measured float64
		want              string
	}{
		{300, 0, "5m"},
		{91, 91, "1m31s (measured)"},
		{180, 91, "3m (measured)"}, // the configured 3m above the measured 91 s
	} {
		if got := leadTime(forecast.Snapshot{LeadTimeSeconds: tc.seconds, LeadTimeMeasuredSeconds: tc.measured}); got != tc.want {
			t.Errorf("leadTime(%v, measured %v) = %q, want %q", tc.seconds, tc.measured, got, tc.want)
		}
	}
}

// TestScorecardShown: a last day of 20 h judged, 1 h of it short-handed
// with the plan (5 %) and 3 h with the reactive count (15 %), 100 and 80
// replica-hours.
func TestScorecardShown(t *testing.T) {
	c := &forecast.Scorecard{LastDay: forecast.ScorecardSums{
		Predictive: forecast.PolicyScore{ScoredSeconds: 20 * 3600, ReplicaSeconds: 100 * 3600, ShortSeconds: 3600},
		Reactive:   forecast.PolicyScore{ScoredSeconds: 20 * 3600, ReplicaSeconds: 80 * 3600, ShortSeconds: 3 * 3600},
		// What ran: known for 10 h of it, short-handed 30 min (5 %), 50 replica-hours.
		Actual: &forecast.PolicyScore{ScoredSeconds: 10 * 3600, ReplicaSeconds: 50 * 3600, ShortSeconds: 1800},
	}}
	want := scorecardView{Scored: "20h", Policies: []policyView{
		{"predictive", "5 % (1h)", "100"}, {"reactive", "15 % (3h)", "80"}, {"actual", "5 % (30m)", "50"},
	}}
	if got := newScorecardView(c); got == nil || !reflect.DeepEqual(*got, want) {
		t.Errorf("scorecard %+v, want %+v", got, want)
	}
	if newScorecardView(&forecast.Scorecard{}) != nil || newScorecardView(nil) != nil {
		t.Error("a scorecard that judged nothing is shown")
	}
}
