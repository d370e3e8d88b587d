package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestAnalyze works one ramp by hand. PerPod 50, lead time 10 s, samples
// every 5 s from t=0 to t=40; the ramp runs from t=20 to t=40, and the load
// needs ceil(load/50) replicas:
//
//	t       0   5  10  15  20  25  30  35  40
//	load   75  75  75  75 200 375 375 100  75
//	needed  2   2   2   2   4   8   8   2   2
//	pred    2   2   4   8   8   8   8   8   2
//	react   2   2   2   2   2   4   8   8   8
//
// The peak needs 8 replicas, first at t=25. Predictive had 8 at t=15: a lead
// of 10 s; reactive at t=30: −5 s. Short-handed from t=10 (ramp − lead) to
// t=40, as set: predictive never; reactive at t=20 (2<4) and t=25 (4<8),
// two 5 s intervals = 10 s. As ready after the 10 s lead: predictive uses
// the replicas of t−10: t=10→2<2? no; 15→2<2 no; 20→4<4 no; 25→8<8 no; 30,
// 35 → 8 ≥ need: 0 s. Reactive: t=20→2<4, 25→2<8, 30→2<8, 35→4<2 no: 15 s.
func TestAnalyze(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	loads := []float64{75, 75, 75, 75, 200, 375, 375, 100, 75}
	pred := []int{2, 2, 4, 8, 8, 8, 8, 8, 2}
	react := []int{2, 2, 2, 2, 2, 4, 8, 8, 8}
	run := Run{Deployments: []string{"predictive", "reactive"}, PerPod: 50, Lead: 10 * time.Second,
		Ramps: []Window{{From: at(20), To: at(40)}}}
	for i := range loads {
		run.Samples = append(run.Samples, Sample{T: at(5 * i), Load: loads[i], Replicas: []int{pred[i], react[i]}})
	}
	res := Analyze(run)
	if len(res) != 1 {
		t.Fatalf("%d ramps, want 1", len(res))
	}
	r := res[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"need", r.Need, 8},
		{"needed at", r.NeededAt, at(25)},
		{"predictive lead", r.Lead[0], 10 * time.Second},
		{"reactive lead", r.Lead[1], -5 * time.Second},
		{"had", r.Had, []bool{true, true}},
		{"most from t=20 to t=40", r.Most, []int{8, 8}},
		{"predictive short", r.Short[0], time.Duration(0)},
		{"reactive short", r.Short[1], 10 * time.Second},
		{"predictive short starting", r.ShortStarting[0], time.Duration(0)},
		{"reactive short starting", r.ShortStarting[1], 15 * time.Second},
	}
	for _, tt := range tests {
		if got, want := formatAny(tt.got), formatAny(tt.want); got != want {
			t.Errorf("%s = %s, want %s", tt.name, got, want)
		}
	}
	if fewest, ok := run.After(0, at(35)); !ok || fewest != 2 {
		t.Errorf("After(predictive, 35 s) = %d, %v; want 2, true", fewest, ok)
	}
	if _, ok := run.After(0, at(41)); ok {
		t.Error("After(predictive, 41 s) found a sample after the last one")
	}
}

// TestAnalyzeNeverHad: a Deployment that never reaches the peak is not
// credited with a lead.
func TestAnalyzeNeverHad(t *testing.T) {
	t0 := time.Unix(0, 0)
	run := Run{Deployments: []string{"stuck"}, PerPod: 10, Lead: time.Second,
		Ramps: []Window{{From: t0, To: t0.Add(2 * time.Second)}},
		Samples: []Sample{
			{T: t0, Load: 50, Replicas: []int{1}},                  // needs 5
			{T: t0.Add(time.Second), Load: 50, Replicas: []int{4}}, // needs 5
			{T: t0.Add(2 * time.Second), Load: 50, Replicas: []int{4}},
		}}
	r := Analyze(run)[0]
	if r.Had[0] || r.Lead[0] != 0 {
		t.Errorf("had %v lead %v, want false 0", r.Had[0], r.Lead[0])
	}
	// Short from t0−1 s to t0+2 s: the two 1 s intervals after t0 and t0+1.
	if r.Short[0] != 2*time.Second {
		t.Errorf("short %v, want 2s", r.Short[0])
	}
}

func formatAny(v any) string { return fmt.Sprint(v) }

// TestAnalyzeRampsClose: a ramp that begins less than two lead times after
// the one before ends is looked at from that end only. Lead 10 s, samples
// every 5 s, ramps [0, 10] and [15, 25]; PerPod 10:
//
//	t       0   5  10  15  20  25
//	load  100 100  10  10 100  10
//	needed 10  10   1   1  10   1
//	repl   10  10  10   1   1  10
//
// Ramp 2 is looked at from t=10 (not 15 − 20): its peak needs 10 at t=20,
// when the Deployment has 1; it has 10 again only at t=25, 5 s late. The 10
// replicas it still had at t=10 do not count: it let them go before the
// peak. Short from t=10: at t=20 (1 < 10), one interval = 5 s.
func TestAnalyzeRampsClose(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	loads := []float64{100, 100, 10, 10, 100, 10}
	repl := []int{10, 10, 10, 1, 1, 10}
	run := Run{Deployments: []string{"d"}, PerPod: 10, Lead: 10 * time.Second,
		Ramps: []Window{{From: at(0), To: at(10)}, {From: at(15), To: at(25)}}}
	for i := range loads {
		run.Samples = append(run.Samples, Sample{T: at(5 * i), Load: loads[i], Replicas: []int{repl[i]}})
	}
	r := Analyze(run)[1]
	if r.NeededAt != at(20) || r.Lead[0] != -5*time.Second || r.Short[0] != 5*time.Second {
		t.Errorf("ramp 2: needed at +%v, lead %v, short %v; want +20s, -5s, 5s", r.NeededAt.Sub(t0), r.Lead[0], r.Short[0])
	}
}
