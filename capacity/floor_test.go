package capacity

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestPlanHoldsUntilTheLoadFalls is the worked example of Plan's godoc: a
// one-minute step, a two-minute lead time (i0 = 2), no pre-warm window,
// target 100 and headroom 1, so adj = load / 100.
func TestPlanHoldsUntilTheLoadFalls(t *testing.T) {
	p := acceptancePolicy()
	p.Headroom, p.PrewarmWindow, p.UpMaxFactor, p.DownMaxPercent = 1, 0, 100, 100
	tests := []struct {
		name   string
		values []float64
		want   []int
	}{
		{
			// adj = [8, 8, 8, 2, 2, 2]; pre[i] = max(adj[i .. i+2]):
			// pre = [8, 8, max(8, 2, 2) = 8, 2, 2, 2]. The eight pods stay for
			// minutes 0-2, which they serve; a window of adj[i+2] alone would
			// give [8, 2, 2, 2, 2, 2] and leave minutes 1 and 2 with 2 pods
			// for a load that needs 8.
			name:   "a fall keeps the pods until it comes",
			values: []float64{800, 800, 800, 200, 200, 200},
			want:   []int{8, 8, 8, 2, 2, 2},
		},
		{
			// adj = [2, 2, 2, 8, 8]; pre = [max(2, 2, 2) = 2, max(2, 2, 8) = 8, 8, 8, 8]:
			// pods asked for at minute 1 are ready at minute 3, when the load rises.
			name:   "a rise is planned a lead time ahead",
			values: []float64{200, 200, 200, 800, 800},
			want:   []int{2, 8, 8, 8, 8},
		},
		{
			// adj = [2, 8, 2, 2, 2, 2]: a one-minute spike is planned from minute 0
			// (it is within the lead time) until it has passed at minute 2:
			// pre = [8, 8, 2, 2, 2, 2].
			name:   "a spike is covered from a lead time before it until it ends",
			values: []float64{200, 800, 200, 200, 200, 200},
			want:   []int{8, 8, 2, 2, 2, 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Plan(Input{Values: tc.values, Step: time.Minute, Observed: math.NaN(), Prev: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Desired, tc.want) {
				t.Errorf("Plan(%v) = %v, want %v", tc.values, got.Desired, tc.want)
			}
		})
	}
}

// TestPlanReactiveFloor: target 100, headroom 1.2, lead time 2 m and a
// pre-warm window of 2 m at a one-minute step, bounds [1, 100].
func TestPlanReactiveFloor(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Policy)
		values   []float64
		observed float64
		prev     int
		want     Plan
	}{
		{
			// Forecast peak 100 × 1.2 / 100 = 1.2 → 2; the load now needs
			// 1000 × 1.2 / 100 = 12. desired[0] = max(2, 12) = 12; the rest of
			// the plan follows the forecast from its own 2.
			name:     "the floor lifts a forecast that is too low",
			values:   []float64{100, 100, 100},
			observed: 1000,
			prev:     2,
			want:     Plan{Desired: []int{12, 2, 2}, Floor: 12, DecidedBy: DecidedByFloor, Forecast: 2},
		},
		{
			name:     "no floor when it is off",
			edit:     func(p *Policy) { p.ReactiveFloor = false },
			values:   []float64{100, 100, 100},
			observed: 1000,
			prev:     2,
			want:     Plan{Desired: []int{2, 2, 2}, Floor: 0, DecidedBy: DecidedByForecast, Forecast: 2},
		},
		{
			// Forecast peak 1000 × 1.2 / 100 = 12; the floor 100 × 1.2 / 100 = 1.2 → 2.
			name:     "a forecast above the floor decides",
			values:   []float64{1000, 1000, 1000},
			observed: 100,
			prev:     12,
			want:     Plan{Desired: []int{12, 12, 12}, Floor: 2, DecidedBy: DecidedByForecast, Forecast: 12},
		},
		{
			// The same round number: the forecast decides a tie.
			name:     "a tie is the forecast's",
			values:   []float64{1000, 1000, 1000},
			observed: 1000,
			prev:     12,
			want:     Plan{Desired: []int{12, 12, 12}, Floor: 12, DecidedBy: DecidedByForecast, Forecast: 12},
		},
		{
			// up-max-factor 2 from 2 caps the forecast's own plan at ceil(2 × 2) = 4,
			// but not the floor: the load now needs 12, so 12. The forecast's plan
			// goes on from 2: 1.2 → 2.
			name:     "the up limit does not hold the floor back",
			edit:     func(p *Policy) { p.UpMaxFactor = 2 },
			values:   []float64{100, 100, 100},
			observed: 1000,
			prev:     2,
			want:     Plan{Desired: []int{12, 2, 2}, Floor: 12, DecidedBy: DecidedByFloor, Forecast: 2},
		},
		{
			// The forecast wants 3000 × 1.2 / 100 = 36; maxUp = ceil(2 × 2) = 4, then
			// 8, then 16. The floor needs 100 × 1.2 / 100 = 1.2 → 2 < 4.
			name:     "the up limit holds a forecast back",
			edit:     func(p *Policy) { p.UpMaxFactor = 2 },
			values:   []float64{3000, 3000, 3000},
			observed: 100,
			prev:     2,
			want:     Plan{Desired: []int{4, 8, 16}, Floor: 2, DecidedBy: DecidedByUpLimit, Forecast: 4},
		},
		{
			// No load: maxDown = floor(10 × 0.5) = 5, then 2, then 1. The floor is 0
			// → min 1, below 5.
			name:     "the down limit holds a fall back",
			edit:     func(p *Policy) { p.DownMaxPercent = 50 },
			values:   []float64{0, 0, 0},
			observed: 0,
			prev:     10,
			want:     Plan{Desired: []int{5, 2, 1}, Floor: 1, DecidedBy: DecidedByDownLimit, Forecast: 5},
		},
		{
			// The floor wants 10^6 × 1.2 / 100 = 12000, bounded to max_replicas 100.
			name:     "max replicas bounds the floor",
			values:   []float64{0, 0, 0},
			observed: 1e6,
			prev:     5,
			want:     Plan{Desired: []int{100, 1, 1}, Floor: 100, DecidedBy: DecidedByMax, Forecast: 1},
		},
		{
			// Nothing to serve: 0 pods wanted, min_replicas 3.
			name:     "min replicas decides an idle workload",
			edit:     func(p *Policy) { p.MinReplicas = 3 },
			values:   []float64{0, 0, 0},
			observed: 0,
			prev:     3,
			want:     Plan{Desired: []int{3, 3, 3}, Floor: 3, DecidedBy: DecidedByMin, Forecast: 3},
		},
		{
			// 1050 × 1.2 / 100 = 12.6: the floor rounds like the plan, floor → 12.
			name:     "the floor is rounded like the plan",
			edit:     func(p *Policy) { p.Rounding = RoundingFloor },
			values:   []float64{100, 100, 100},
			observed: 1050,
			prev:     2,
			want:     Plan{Desired: []int{12, 1, 1}, Floor: 12, DecidedBy: DecidedByFloor, Forecast: 1},
		},
		{
			name:     "no load observed: no floor",
			values:   []float64{100, 100, 100},
			observed: math.NaN(),
			prev:     2,
			want:     Plan{Desired: []int{2, 2, 2}, Floor: 0, DecidedBy: DecidedByForecast, Forecast: 2},
		},
		{
			name:     "a negative load is no load observed",
			values:   []float64{100, 100, 100},
			observed: -5,
			prev:     2,
			want:     Plan{Desired: []int{2, 2, 2}, Floor: 0, DecidedBy: DecidedByForecast, Forecast: 2},
		},
		{
			// No previous plan: what the load now needs (1000 × 1.2 / 100 = 12)
			// stands in for it, so the rate limits start from 12, not from
			// min_replicas: maxDown = floor(12 × 0.5) = 6 holds the forecast's
			// 100 × 1.2 / 100 → 2 at 6, then 3, then 2.
			name:     "a first plan starts from what the load needs",
			edit:     func(p *Policy) { p.UpMaxFactor, p.DownMaxPercent = 2, 50 },
			values:   []float64{100, 100, 100},
			observed: 1000,
			prev:     -1,
			want:     Plan{Desired: []int{12, 3, 2}, Floor: 12, DecidedBy: DecidedByFloor, Forecast: 6},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := acceptancePolicy()
			p.UpMaxFactor, p.DownMaxPercent = 100, 100
			if tc.edit != nil {
				tc.edit(&p)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := p.Plan(Input{Values: tc.values, Step: time.Minute, Observed: tc.observed, Prev: tc.prev})
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Basis, tc.want.Headroom = BasisForecast, p.Headroom
			if !slices.Equal(got.Desired, tc.want.Desired) || got.Floor != tc.want.Floor ||
				got.DecidedBy != tc.want.DecidedBy || got.Forecast != tc.want.Forecast ||
				got.Basis != tc.want.Basis || got.Headroom != tc.want.Headroom {
				t.Errorf("Plan = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestPlanOnUpper: the upper bound replaces the forecast as the basis once
// it exists, and the floor keeps the policy's headroom.
func TestPlanOnUpper(t *testing.T) {
	p := acceptancePolicy()
	p.PlanOn, p.LeadTime, p.PrewarmWindow, p.UpMaxFactor = BasisUpper, 0, 0, 100
	in := Input{Values: []float64{100, 100}, Upper: []float64{500, 900}, Step: time.Minute, Observed: 50, Prev: 2}
	got, err := p.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	// upper × 1.2 / 100 = [6, 10.8] → [6, 11].
	if want := []int{6, 11}; !slices.Equal(got.Desired, want) || got.Basis != BasisUpper {
		t.Errorf("on the upper bound: %v on %s, want %v on upper", got.Desired, got.Basis, want)
	}
	in.Upper = nil // no interval yet: the forecast, 100 × 1.2 / 100 = 1.2 → 2
	got, err = p.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 2}; !slices.Equal(got.Desired, want) || got.Basis != BasisForecast {
		t.Errorf("without an interval: %v on %s, want %v on forecast", got.Desired, got.Basis, want)
	}
}

// TestPlanDefaults: a default policy has the floor on and plans on auto.
func TestPlanDefaults(t *testing.T) {
	p := DefaultPolicy()
	if !p.ReactiveFloor || p.PlanOn != BasisAuto || p.CostBudgetPercent != 8 {
		t.Errorf("DefaultPolicy() floor %v, plan_on %s, budget %v; want true, auto, 8", p.ReactiveFloor, p.PlanOn, p.CostBudgetPercent)
	}
	p.LeadTime = model.Duration(time.Minute)
	// Policy.Plan on auto, without a Tuner, plans on the forecast.
	got, err := p.Plan(Input{Values: []float64{400}, Step: time.Minute, Observed: 0, Prev: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 400 × 1.2 / 200 = 2.4 → 3.
	if got.Desired[0] != 3 || got.Basis != BasisForecast {
		t.Errorf("auto without a tuner: %d on %s, want 3 on forecast", got.Desired[0], got.Basis)
	}
}
