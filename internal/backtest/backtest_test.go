package backtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/trace"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

// surges returns days of 5-minute load: 100, and 1000 from 12:00 to 18:00.
func surges(days int) forecast.Series {
	values := make([]float64, days*288)
	for i := range values {
		values[i] = 100
		if h := (i % 288) / 12; h >= 12 && h < 18 {
			values[i] = 1000
		}
	}
	return forecast.Series{Start: t0, Step: 5 * time.Minute, Values: values}
}

// exactOptions plans with a perfect forecaster's settings: a target of 100
// per pod, no headroom, a 5-minute lead time (pods ready one step after they
// are asked for), no pre-warm, no rate limits, and an HPA that passes every
// change through.
func exactOptions(m string) Options {
	w := config.DefaultWorkload()
	w.Model = m
	w.Window = model.Duration(2 * 24 * time.Hour)
	w.Horizon = model.Duration(30 * time.Minute)
	c := &w.Capacity
	c.TargetPerPod, c.Headroom, c.LeadTime, c.PrewarmWindow = 100, 1, model.Duration(5*time.Minute), 0
	c.MinReplicas, c.MaxReplicas, c.UpMaxFactor, c.DownMaxPercent = 1, 100, 100, 100
	return Options{Workload: w, TrainFraction: 0.5, HPA: HPA{Tolerance: 0, ScaleDownStabilization: 0}}
}

// TestRunSurges replays six days of the same daily surge with the seasonal
// naive model, which forecasts it exactly from the day before. The test part
// is days 3 to 5 (864 steps); each day 6 h at 10 pods and 18 h at 1 pod.
//
//   - oracle asks at s for the load of s+1, ready at s+1: never short;
//     72 steps × 10 + 216 × 1 = 936 pod-steps a day, 3 days × 936 × 5 min
//     = 234 replica-hours; 2 changes a day, 6 scale events.
//   - predictive asks at s for the peak of the load of s and s+1: the pods
//     it runs now serve s, and it keeps them until the load has fallen, so
//     one more step at 10 pods at the end of each surge: 3 × 9 pod-steps ×
//     5 min = 2.25 replica-hours more, 236.25; never short, 6 scale events.
//   - reactive asks at s for the load of s, ready at s+1: short on the first
//     step of each surge, 3 of 864 steps, by 1000 − 100 = 900 of
//     3 × (72 × 1000 + 216 × 100) = 280 800 load: unserved 0.3205 %.
//     Its capacity is the same, one step late: 234 replica-hours.
func TestRunSurges(t *testing.T) {
	res, err := Run(context.Background(), surges(6), exactOptions(forecast.ModelSeasonalNaive))
	if err != nil {
		t.Fatal(err)
	}
	if res.Trace.TestPoints != 864 || res.Forecast.Points != 864 {
		t.Fatalf("%d test steps, %d scored forecasts; want 864 and 864", res.Trace.TestPoints, res.Forecast.Points)
	}
	if res.Forecast.WAPE != 0 || res.Forecast.Horizon != "5m" {
		t.Errorf("forecast WAPE %v at %s, want 0 at 5m", res.Forecast.WAPE, res.Forecast.Horizon)
	}
	tests := []struct {
		name  string
		got   PolicyScore
		want  PolicyScore
		under float64
	}{
		{"predictive", res.Policies.Predictive, PolicyScore{ReplicaHours: 236.25, ScaleEvents: 6}, 0},
		{"oracle", res.Policies.Oracle, PolicyScore{ReplicaHours: 234, ScaleEvents: 6}, 0},
		{"reactive", res.Policies.Reactive, PolicyScore{ReplicaHours: 234, ScaleEvents: 6, UnservedRatio: 2700.0 / 280800}, 3.0 / 864},
	}
	for _, tc := range tests {
		if !near(tc.got.ReplicaHours, tc.want.ReplicaHours) || !near(tc.got.UnderProvisionedRatio, tc.under) ||
			!near(tc.got.UnservedRatio, tc.want.UnservedRatio) || tc.got.ScaleEvents != tc.want.ScaleEvents {
			t.Errorf("%s: %+v, want %+v with under-provisioned %v", tc.name, tc.got, tc.want, tc.under)
		}
	}
}

// TestRunSlowPods checks the start-up delay: with a 25-minute lead time pods
// are ready 5 steps after they are asked for, so the reactive policy is
// short for the first 5 steps of every surge (15 of 864), and the oracle,
// which asks for the highest load of the next 5 steps, never is.
//
// A scale-down is immediate here: no HPA scale-down stabilisation holds the
// pods. The planner keeps them itself until the load has fallen (its window
// starts now, not a lead time ahead), so the predictive policy, given an
// exact forecast, is never short either: a window of the load a lead time
// ahead only would drop the pods 5 steps before the end of each surge.
func TestRunSlowPods(t *testing.T) {
	opts := exactOptions(forecast.ModelSeasonalNaive)
	opts.Workload.Capacity.LeadTime = model.Duration(25 * time.Minute)
	opts.HPA.ScaleDownStabilization = 0
	res, err := Run(context.Background(), surges(6), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Policies.Reactive.UnderProvisionedRatio; !near(got, 15.0/864) {
		t.Errorf("reactive under-provisioned %v, want 15/864", got)
	}
	if got := res.Policies.Oracle.UnderProvisionedRatio; got != 0 {
		t.Errorf("oracle under-provisioned %v, want 0", got)
	}
	if got := res.Policies.Predictive.UnderProvisionedRatio; got != 0 {
		t.Errorf("predictive (exact forecast) under-provisioned %v, want 0", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestOracleNeverShort replays a fragment of every bundled real trace, with
// the command's defaults and with settings that make the planner's own plan
// riskier (slow pods off the step grid, floor rounding, tight rate limits,
// no headroom): the oracle's capacity covers the load at every step.
func TestOracleNeverShort(t *testing.T) {
	root := prometheustest.ModuleRoot(t)
	risky := func(o *Options) {
		c := &o.Workload.Capacity
		c.LeadTime, c.PrewarmWindow = model.Duration(17*time.Minute), 0
		c.Headroom, c.Rounding, c.UpMaxFactor, c.DownMaxPercent, c.MinReplicas = 1, capacity.RoundingFloor, 1.1, 10, 0
		o.HPA = HPA{}
	}
	for _, tc := range []struct {
		file string
		days int // 0: all of it
	}{
		{"aws_asg_cpu_5m.csv", 5},
		{"aws_elb_requests_5m.csv", 0},
		{"nasa_http_1m.csv", 4},
		{"nyc_taxi_30m.csv", 28},
		{"twitter_aapl_5m.csv", 5},
	} {
		points, err := trace.ReadFile(filepath.Join(root, "data", "traces", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		history, err := FromPoints(points)
		if err != nil {
			t.Fatal(err)
		}
		if tc.days > 0 {
			history.Values = history.Values[:int(time.Duration(tc.days)*day/history.Step)]
		}
		for name, edit := range map[string]func(*Options){"defaults": func(*Options) {}, "risky": risky} {
			t.Run(tc.file+"/"+name, func(t *testing.T) {
				opts := defaultOptions()
				edit(&opts)
				res, err := Run(context.Background(), history, opts)
				if err != nil {
					t.Fatal(err)
				}
				o := res.Policies.Oracle
				if o.UnderProvisionedRatio != 0 || o.UnservedRatio != 0 {
					t.Errorf("oracle %+v, want never short", o)
				}
				if res.Forecast.Points == 0 || !(res.Forecast.WAPE > 0) {
					t.Errorf("forecast %+v, want scored points", res.Forecast)
				}
			})
		}
	}
}

// defaultOptions are the backtest command's defaults with a 2-day window.
func defaultOptions() Options {
	w := config.DefaultWorkload()
	w.Window = model.Duration(2 * 24 * time.Hour)
	w.Capacity.TargetPerPod, w.Capacity.MinReplicas, w.Capacity.MaxReplicas = 0, 1, 100000
	w.AccuracyWindow = 0
	return Options{Workload: w, TrainFraction: 0.7, HPA: DefaultHPA()}
}

// TestOutputs checks that the JSON has the documented fields, that the
// forecasts CSV recomputes the reported WAPE exactly, and that the plot is
// well-formed SVG.
func TestOutputs(t *testing.T) {
	history := surges(6)
	// Noise, so that the forecast is not exact: ±50 on a 7-step cycle.
	for i := range history.Values {
		history.Values[i] += float64(50 * ((i*3)%7 - 3))
	}
	opts := exactOptions(forecast.ModelAuto)
	opts.Headrooms = []float64{1, 1.2, 1.5}
	res, err := Run(context.Background(), history, opts)
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	paths := []string{"forecast.wape", "forecast.mase", "forecast.bias", "forecast.coverage",
		"forecast.baselines.lastValue", "forecast.baselines.sameTimeYesterday"}
	for _, policy := range []string{"predictive", "reactive", "oracle", "perfectForecast"} {
		for _, field := range []string{"replicaHours", "underProvisionedRatio", "unservedRatio", "scaleEvents"} {
			paths = append(paths, "policies."+policy+"."+field)
		}
	}
	for _, path := range paths {
		if v, ok := lookup(doc, path); !ok {
			t.Errorf("JSON has no %s", path)
		} else if _, ok := v.(float64); !ok {
			t.Errorf("JSON %s is %v, want a number", path, v)
		}
	}
	if h, _ := lookup(doc, "forecast.horizon"); h != "5m" {
		t.Errorf("JSON forecast.horizon is %v, want 5m", h)
	}
	if sweep, _ := lookup(doc, "sweep"); sweep == nil {
		t.Error("JSON has no sweep")
	}

	buf.Reset()
	if err := res.WriteForecastsCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != res.Forecast.Points+1 || strings.Join(rows[0], ",") != "timestamp,actual,forecast" {
		t.Fatalf("%d rows with header %v, want %d and timestamp,actual,forecast", len(rows), rows[0], res.Forecast.Points+1)
	}
	var absErr, absActual float64
	for _, row := range rows[1:] {
		actual, _ := strconv.ParseFloat(row[1], 64)
		f, _ := strconv.ParseFloat(row[2], 64)
		absErr += math.Abs(f - actual)
		absActual += math.Abs(actual)
	}
	if got := absErr / absActual; got != res.Forecast.WAPE {
		t.Errorf("WAPE from the CSV %v, reported %v", got, res.Forecast.WAPE)
	}

	buf.Reset()
	if err := res.WritePlot(&buf); err != nil {
		t.Fatal(err)
	}
	polylines := 0
	dec := xml.NewDecoder(&buf)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("plot is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines < 5 {
		t.Errorf("plot has %d polylines, want one per line at least (5)", polylines)
	}
	if len(res.Sweep) != 3 {
		t.Errorf("%d sweep points, want 3", len(res.Sweep))
	}
}

func lookup(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestHPA(t *testing.T) {
	tests := []struct {
		name    string
		hpa     HPA
		desired []int
		want    []int
	}{
		{
			// 10 → 11 is within 10 %: ignored; 10 → 12 is not.
			name: "tolerance", hpa: HPA{Tolerance: 0.1, ScaleDownStabilization: time.Minute},
			desired: []int{11, 12, 10}, want: []int{10, 12, 10},
		},
		{
			// A 3-minute window at 1-minute steps: the highest of the last 3
			// recommendations. Up at once, down only when the peak has left.
			name: "stabilisation", hpa: HPA{Tolerance: 0, ScaleDownStabilization: 3 * time.Minute},
			desired: []int{20, 5, 5, 5, 30, 4},
			want:    []int{20, 20, 20, 5, 30, 30},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &run{opts: Options{HPA: tc.hpa}, step: time.Minute}
			h := r.newHPA(10)
			for i, d := range tc.desired {
				if got := h.next(d); got != tc.want[i] {
					t.Errorf("step %d: desired %d gave %d, want %d", i, d, got, tc.want[i])
				}
			}
		})
	}
}

func TestInterpolate(t *testing.T) {
	sorted := []PolicyScore{
		{ReplicaHours: 100, UnderProvisionedRatio: 0.3},
		{ReplicaHours: 200, UnderProvisionedRatio: 0.1},
	}
	// Half-way in cost, half-way in under-provisioning: 0.2.
	if got := interpolate(sorted, 150); got == nil || !near(*got, 0.2) {
		t.Errorf("interpolate(150) = %v, want 0.2", got)
	}
	if got := interpolate(sorted, 250); got != nil {
		t.Errorf("interpolate(250) = %v, want nil outside the range", *got)
	}
}

func TestFromPoints(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	s, err := FromPoints([]trace.Point{{T: at(0), V: 1}, {T: at(1), V: 2}, {T: at(3), V: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != time.Minute || len(s.Values) != 4 || !math.IsNaN(s.Values[2]) || s.Values[3] != 4 {
		t.Errorf("grid %v at %v, want [1 2 NaN 4] at 1m", s.Values, s.Step)
	}
	for name, points := range map[string][]trace.Point{
		"one point": {{T: at(0), V: 1}},
		"off grid":  {{T: at(0)}, {T: at(2)}, {T: at(3)}, {T: at(4).Add(30 * time.Second)}},
	} {
		if _, err := FromPoints(points); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	tests := map[string]func(*Options){
		"train fraction 1":   func(o *Options) { o.TrainFraction = 1 },
		"negative tolerance": func(o *Options) { o.HPA.Tolerance = -1 },
		"bad quantiles":      func(o *Options) { o.Workload.LowerQuantile = 0.95 },
		"zero headroom":      func(o *Options) { o.Workload.Capacity.Headroom = 0 },
	}
	for name, edit := range tests {
		opts := exactOptions(forecast.ModelBaseline)
		edit(&opts)
		if _, err := Run(context.Background(), surges(6), opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	short := surges(6)
	// 8 steps: the test part starts at ceil(0.5 × 7) = 4, and ticks would
	// have to start at 4 − 1 (start-up) − 5 (settling) < 0.
	short.Values = short.Values[:8]
	if _, err := Run(context.Background(), short, exactOptions(forecast.ModelBaseline)); err == nil {
		t.Error("8 steps: no error, want too short")
	}
}

// TestPoliciesStepUp simulates a step in the load by hand, one-minute steps,
// a target of 100 per pod, no headroom, pods ready 2 steps after they are
// asked for, and an HPA that passes every change through. Steps 0 to 9:
//
//	load      100 100 100 500 500 500 100 100 100 100
//	oracle      1   5   5   5   5   1   1   1   1   1   ceil(max(load[s+1], load[s+2]) / 100)
//	reactive    1   1   1   5   5   5   1   1   1   1   ceil(load[s] / 100)
//
// Scored from step 3, ready(t) = min(r(t−2), r(t−1)):
//
//	oracle    5 5 5 1 1 1 1: never short; 19 pod-minutes; one change (at 5)
//	reactive  1 1 5 5 1 1 1: short at 3 and 4, the 2 start-up steps, by
//	          400 each of 3 × 500 + 4 × 100 = 1900; 15 pod-minutes; changes
//	          at 3 and 6
//
// The predictive policy is given the oracle's counts as the engine's plans,
// so it matches the oracle.
//
// The perfect forecast is the planner, with a 2-minute lead time, no
// pre-warm window and no rate limits, on the true load: at s it asks for
// ceil(max(load[s], load[s+1], load[s+2]) / 100), keeping the pods until the
// load has fallen:
//
//	perfect     1   5   5   5   5   5   1   1   1   1
//
// ready from step 3: 5 5 5 5 1 1 1. Never short; 23 pod-minutes; one
// change (at 6). (A plan for load[s+2] alone would drop the pods at 4,
// asking for the load of 6, and be short at 5, still in the surge.)
func TestPoliciesStepUp(t *testing.T) {
	load := []float64{100, 100, 100, 500, 500, 500, 100, 100, 100, 100}
	w := config.DefaultWorkload()
	w.Step, w.Horizon = model.Duration(time.Minute), model.Duration(5*time.Minute)
	c := &w.Capacity
	c.TargetPerPod, c.Headroom, c.MinReplicas, c.MaxReplicas = 100, 1, 1, 100
	c.LeadTime, c.PrewarmWindow, c.UpMaxFactor, c.DownMaxPercent = model.Duration(2*time.Minute), 0, 100, 100
	r := &run{
		opts:    Options{HPA: HPA{}},
		history: forecast.Series{Start: t0, Step: time.Minute, Values: load},
		cfg:     w, step: time.Minute, startup: 2, warm: 0, test: 3,
	}
	oracle := []int{1, 5, 5, 5, 5, 1, 1, 1, 1, 1}
	r.ticks = make([]tick, len(load))
	for i := range r.ticks {
		r.ticks[i] = tick{ok: true, desired: oracle[i]}
	}
	got, _, err := r.policies(1, w.Capacity.PlanOn, false)
	if err != nil {
		t.Fatal(err)
	}
	hours := func(podMinutes float64) float64 { return podMinutes / 60 }
	tests := []struct {
		name      string
		got, want PolicyScore
	}{
		{"oracle", got.Oracle, PolicyScore{ReplicaHours: hours(19), ScaleEvents: 1}},
		{"predictive", got.Predictive, PolicyScore{ReplicaHours: hours(19), ScaleEvents: 1}},
		{"reactive", got.Reactive, PolicyScore{ReplicaHours: hours(15), UnderProvisionedRatio: 2.0 / 7, UnservedRatio: 800.0 / 1900, ScaleEvents: 2}},
		{"perfect forecast", got.PerfectForecast, PolicyScore{ReplicaHours: hours(23), ScaleEvents: 1}},
	}
	for _, tc := range tests {
		if !near(tc.got.ReplicaHours, tc.want.ReplicaHours) || !near(tc.got.UnderProvisionedRatio, tc.want.UnderProvisionedRatio) ||
			!near(tc.got.UnservedRatio, tc.want.UnservedRatio) || tc.got.ScaleEvents != tc.want.ScaleEvents {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	if o, err := r.oracle(1); err != nil || !slices.Equal(o, oracle) {
		t.Errorf("oracle asks %v (%v), want %v", o, err, oracle)
	}
	if re, err := r.reactive(1, 1); err != nil || !slices.Equal(re, []int{1, 1, 1, 5, 5, 5, 1, 1, 1, 1}) {
		t.Errorf("reactive asks %v (%v)", re, err)
	}
}

// TestPredictiveIsEnginePlan checks that planning again from the published
// forecasts, as the headroom sweep does, gives the engine's own plan at the
// configured headroom and basis: the sweep runs the same planner.
func TestPredictiveIsEnginePlan(t *testing.T) {
	history := surges(6)
	for i := range history.Values {
		history.Values[i] += float64(50 * ((i*3)%7 - 3))
	}
	for _, basis := range []capacity.Basis{capacity.BasisAuto, capacity.BasisForecast, capacity.BasisUpper} {
		t.Run(string(basis), func(t *testing.T) {
			opts := defaultOptions()
			opts.Workload.Capacity.PlanOn = basis
			opts.TrainFraction = 0.5
			r, err := newRun(history, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.replay(context.Background()); err != nil {
				t.Fatal(err)
			}
			again, err := r.desired(r.cfg.Capacity.Headroom, basis)
			if err != nil {
				t.Fatal(err)
			}
			ok, upper := 0, 0
			for i, tk := range r.ticks {
				if !tk.ok {
					continue
				}
				ok++
				if tk.upperValues != nil {
					upper++
				}
				if again[i] != tk.desired {
					t.Fatalf("tick %d: planned again %d, the engine planned %d", i, again[i], tk.desired)
				}
			}
			if ok == 0 || upper == 0 {
				t.Errorf("%d ticks, %d with an interval; want some of each", ok, upper)
			}
		})
	}
}

// TestRunLongEvalHorizon scores forecasts an hour ahead with a 5-minute lead
// time: 12 steps, more than the start-up (1) and settling (5) steps, so the
// ticks must start 12 + 5 steps before the test part for its first points
// to have a forecast. All 864 test steps are scored.
func TestRunLongEvalHorizon(t *testing.T) {
	opts := exactOptions(forecast.ModelSeasonalNaive)
	opts.EvalHorizon = time.Hour
	res, err := Run(context.Background(), surges(6), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Forecast.Horizon != "1h" || res.Forecast.Points != 864 || res.Forecast.WAPE != 0 {
		t.Errorf("forecast %+v, want 864 exact points at 1h", res.Forecast)
	}
}

// TestRunHugeLoads checks that loads whose sums pass the float64 limit are
// refused with a clear error, not scored as NaN.
func TestRunHugeLoads(t *testing.T) {
	history := surges(6)
	for i := range history.Values {
		history.Values[i] = 1e308 * float64(i%2)
	}
	opts := exactOptions(forecast.ModelSeasonalNaive)
	opts.Workload.Capacity.TargetPerPod = 1e306
	if _, err := Run(context.Background(), history, opts); err == nil || !strings.Contains(err.Error(), "float64 limit") {
		t.Errorf("err = %v, want the float64 limit named", err)
	}
}
