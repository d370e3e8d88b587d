package capacity

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// acceptancePolicy is the capacity planner's acceptance case: prev=5,
// TargetPerPod=100, Headroom=1.2, LeadTime=120 s at a 60 s step (so
// i0 = ceil(120/60) = 2) and Values=[400,500,1000] give
// ceil(max(Values[2:4])/100 × 1.2) = 12 before the rate limits, and
// ceil(5 × 2) = 10 with up-max-factor 2.
func acceptancePolicy() Policy {
	p := DefaultPolicy()
	p.TargetPerPod = 100
	p.Headroom = 1.2
	p.LeadTime = model.Duration(120 * time.Second)
	p.PrewarmWindow = model.Duration(120 * time.Second)
	p.MinReplicas = 1
	p.MaxReplicas = 100
	return p
}

func TestPlanAcceptance(t *testing.T) {
	values := []float64{400, 500, 1000}
	// adj = [400, 500, 1000] × 1.2 / 100 = [4.8, 6, 12].
	// pre[0] = max(adj[0 .. min(0+2+2, 2)]) = adj[2] = 12: the peak of
	// Values[2:4] (only Values[2] exists) is also the peak of the window.
	tests := []struct {
		name        string
		upMaxFactor float64
		want        int
	}{
		// Before limits: a factor of 10 allows up to ceil(5 × 10) = 50, so 12 stands.
		{name: "before limits", upMaxFactor: 10, want: 12},
		// With up-max-factor 2: maxUp = ceil(5 × 2) = 10 < 12, so 10.
		{name: "up-max-factor 2", upMaxFactor: 2, want: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := acceptancePolicy()
			p.UpMaxFactor = tc.upMaxFactor
			got, err := p.Plan(Input{Values: values, Step: time.Minute, Observed: math.NaN(), Prev: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Desired) != len(values) {
				t.Fatalf("plan has %d values, want %d", len(got.Desired), len(values))
			}
			if got.Desired[0] != tc.want {
				t.Errorf("desired[0] = %d, want %d (plan %v)", got.Desired[0], tc.want, got.Desired)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	base := acceptancePolicy() // target 100, headroom 1.2, i0 = 2, pre-warm 2 steps
	base.UpMaxFactor = 100
	base.DownMaxPercent = 100
	tests := []struct {
		name   string
		edit   func(*Policy)
		values []float64
		prev   int
		want   []int
	}{
		{
			// adj = [1.2, 2.4, 3.6, 4.8, 6]; pre = [max(3.6,4.8,6), max(4.8,6), 6, 6, 6]
			// = [6, 6, 6, 6, 6] → ceil = 6 everywhere.
			name:   "lead time and pre-warm look at the peak ahead",
			values: []float64{100, 200, 300, 400, 500},
			prev:   6,
			want:   []int{6, 6, 6, 6, 6},
		},
		{
			// adj = [6, 4.8, 3.6, 2.4, 1.2]; pre[i] = max(adj[i .. i+4]) = adj[i], the
			// load now being the peak of a falling window: [6, 4.8, 3.6, 2.4, 1.2]
			// → ceil = [6, 5, 4, 3, 2]. Pods go as the load goes, not a lead time before.
			name:   "falling load keeps the pods it still needs",
			values: []float64{500, 400, 300, 200, 100},
			prev:   6,
			want:   []int{6, 5, 4, 3, 2},
		},
		{
			// No lead time and no pre-warm: desired[i] = ceil(adj[i]) = ceil([1.2, 2.4, 3.6]) = [2, 3, 4].
			name:   "zero lead time plans each step's own load",
			edit:   func(p *Policy) { p.LeadTime, p.PrewarmWindow = 0, 0 },
			values: []float64{100, 200, 300},
			prev:   1,
			want:   []int{2, 3, 4},
		},
		{
			// Lead time 90 s at a 60 s step: i0 = ceil(1.5) = 2, the same as 120 s.
			name:   "lead time rounds up to whole steps",
			edit:   func(p *Policy) { p.LeadTime, p.PrewarmWindow = model.Duration(90*time.Second), 0 },
			values: []float64{100, 200, 300},
			prev:   1,
			want:   []int{4, 4, 4},
		},
		{
			// Zero load: adj = 0 everywhere, so min_replicas = 1.
			name:   "zero load gives min replicas",
			values: []float64{0, 0, 0},
			prev:   1,
			want:   []int{1, 1, 1},
		},
		{
			// Negative load is treated as zero.
			name:   "negative load gives min replicas",
			values: []float64{-50, -1, -1e9},
			prev:   3,
			want:   []int{1, 1, 1},
		},
		{
			// adj[2] = 100000 × 1.2 / 100 = 1200, bounded to max_replicas = 100.
			name:   "max replicas bounds the plan",
			values: []float64{0, 0, 100000},
			prev:   50,
			want:   []int{100, 100, 100},
		},
		{
			// A huge forecast must not overflow int: bounded to max first.
			name:   "huge forecast stays bounded",
			values: []float64{1e300, 1e300, 1e300},
			prev:   50,
			want:   []int{100, 100, 100},
		},
		{
			// down-max-percent 50: maxDown = floor(10 × 0.5) = 5, then floor(5 × 0.5) = 2,
			// then floor(2 × 0.5) = 1 = the load's own need.
			name:   "down rate limit walks down step by step",
			edit:   func(p *Policy) { p.DownMaxPercent = 50 },
			values: []float64{0, 0, 0},
			prev:   10,
			want:   []int{5, 2, 1},
		},
		{
			// up-max-factor 2 from 2: ceil(2 × 2) = 4, then 8, then 16, all below the
			// wanted 3000 × 1.2 / 100 = 36.
			name:   "up rate limit doubles per step",
			edit:   func(p *Policy) { p.UpMaxFactor = 2 },
			values: []float64{3000, 3000, 3000},
			prev:   2,
			want:   []int{4, 8, 16},
		},
		{
			// No previous plan (prev = -1) and no load observed: min_replicas = 1
			// stands in, so maxUp = ceil(1 × 2) = 2.
			name:   "first tick with nothing observed starts from min replicas",
			edit:   func(p *Policy) { p.UpMaxFactor = 2 },
			values: []float64{1000, 1000, 1000},
			prev:   -1,
			want:   []int{2, 4, 8},
		},
		{
			// From zero there is no factor to apply: the plan goes straight to
			// ceil(1000 × 1.2 / 100) = 12.
			name:   "from zero the up limit does not apply",
			edit:   func(p *Policy) { p.MinReplicas, p.UpMaxFactor = 0, 2 },
			values: []float64{1000, 1000, 1000},
			prev:   0,
			want:   []int{12, 12, 12},
		},
		{
			// adj = 700 × 1.1 / 70 = 11.000000000000002 in floating point:
			// ceil would give 12 without the epsilon guard.
			name: "float noise does not add a pod",
			edit: func(p *Policy) {
				p.LeadTime, p.PrewarmWindow, p.Headroom, p.TargetPerPod = 0, 0, 1.1, 70
			},
			values: []float64{700},
			prev:   11,
			want:   []int{11},
		},
		{
			// adj = [2.4, 2.6]: round gives [2, 3], floor gives [2, 2].
			name:   "round mode",
			edit:   func(p *Policy) { p.LeadTime, p.PrewarmWindow, p.Rounding = 0, 0, RoundingRound },
			values: []float64{200, 216.66666666666669},
			prev:   2,
			want:   []int{2, 3},
		},
		{
			name:   "floor mode",
			edit:   func(p *Policy) { p.LeadTime, p.PrewarmWindow, p.Rounding = 0, 0, RoundingFloor },
			values: []float64{200, 216.66666666666669},
			prev:   2,
			want:   []int{2, 2},
		},
		{
			name:   "empty forecast gives an empty plan",
			values: nil,
			prev:   2,
			want:   []int{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			if tc.edit != nil {
				tc.edit(&p)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("test policy invalid: %v", err)
			}
			got, err := p.Plan(Input{Values: tc.values, Step: time.Minute, Observed: math.NaN(), Prev: tc.prev})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Desired, tc.want) {
				t.Errorf("Plan(%v, prev=%d) = %v, want %v", tc.values, tc.prev, got.Desired, tc.want)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	p := acceptancePolicy()
	tests := []struct {
		name  string
		in    Input
		basis Basis
		want  error
	}{
		{name: "NaN", in: Input{Values: []float64{1, math.NaN(), 3}, Step: time.Minute}, want: ErrNonFiniteLoad},
		{name: "+Inf", in: Input{Values: []float64{math.Inf(1)}, Step: time.Minute}, want: ErrNonFiniteLoad},
		{name: "-Inf", in: Input{Values: []float64{math.Inf(-1)}, Step: time.Minute}, want: ErrNonFiniteLoad},
		{name: "NaN in the forecast when planning on the upper bound",
			in: Input{Values: []float64{math.NaN()}, Upper: []float64{1}, Step: time.Minute}, basis: BasisUpper, want: ErrNonFiniteLoad},
		{name: "NaN in the upper bound", in: Input{Values: []float64{1}, Upper: []float64{math.NaN()}, Step: time.Minute},
			basis: BasisUpper, want: ErrNonFiniteLoad},
		{name: "zero step", in: Input{Values: []float64{1}}, want: ErrStep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := p
			if tc.basis != "" {
				p.PlanOn = tc.basis
			}
			tc.in.Prev, tc.in.Observed = 2, 100
			got, err := p.Plan(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Plan error = %v, want %v", err, tc.want)
			}
			if got.Desired != nil {
				t.Errorf("Plan returned %v with an error", got.Desired)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
		want error
	}{
		{name: "default is valid", edit: func(*Policy) {}, want: nil},
		{name: "zero target", edit: func(p *Policy) { p.TargetPerPod = 0 }, want: ErrTargetPerPod},
		{name: "NaN target", edit: func(p *Policy) { p.TargetPerPod = math.NaN() }, want: ErrTargetPerPod},
		{name: "negative headroom", edit: func(p *Policy) { p.Headroom = -1 }, want: ErrHeadroom},
		{name: "negative lead time", edit: func(p *Policy) { p.LeadTime = -1 }, want: ErrLeadTime},
		{name: "negative pre-warm", edit: func(p *Policy) { p.PrewarmWindow = -1 }, want: ErrPrewarmWindow},
		{name: "negative min", edit: func(p *Policy) { p.MinReplicas = -1 }, want: ErrMinReplicas},
		{name: "zero max", edit: func(p *Policy) { p.MinReplicas, p.MaxReplicas = 0, 0 }, want: ErrMaxReplicas},
		{name: "min above max", edit: func(p *Policy) { p.MinReplicas, p.MaxReplicas = 10, 5 }, want: ErrMinAboveMax},
		{name: "min equal to max", edit: func(p *Policy) { p.MinReplicas, p.MaxReplicas = 5, 5 }, want: nil},
		{name: "up factor below 1", edit: func(p *Policy) { p.UpMaxFactor = 0.5 }, want: ErrUpMaxFactor},
		{name: "down percent above 100", edit: func(p *Policy) { p.DownMaxPercent = 101 }, want: ErrDownMaxPercent},
		{name: "down percent NaN", edit: func(p *Policy) { p.DownMaxPercent = math.NaN() }, want: ErrDownMaxPercent},
		{name: "unknown rounding", edit: func(p *Policy) { p.Rounding = "up" }, want: ErrRounding},
		{name: "unknown plan basis", edit: func(p *Policy) { p.PlanOn = "lower" }, want: ErrPlanOn},
		{name: "auto plan basis", edit: func(p *Policy) { p.PlanOn = BasisAuto }, want: nil},
		{name: "negative cost budget", edit: func(p *Policy) { p.CostBudgetPercent = -1 }, want: ErrCostBudget},
		{name: "NaN cost budget", edit: func(p *Policy) { p.CostBudgetPercent = math.NaN() }, want: ErrCostBudget},
		{name: "infinite cost budget", edit: func(p *Policy) { p.CostBudgetPercent = math.Inf(1) }, want: ErrCostBudget},
		{name: "zero cost budget", edit: func(p *Policy) { p.CostBudgetPercent = 0 }, want: nil},
		{name: "empty plan basis", edit: func(p *Policy) { p.PlanOn = "" }, want: ErrPlanOn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			if !errors.Is(err, tc.want) {
				t.Errorf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkPlan(b *testing.B) {
	p := DefaultPolicy()
	values := make([]float64, 30)
	for i := range values {
		values[i] = 1000 + 50*float64(i)
	}
	b.ReportAllocs()
	for range b.N {
		if _, err := p.Plan(Input{Values: values, Step: time.Minute, Observed: 1000, Prev: 5}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReactive: the count a reactive autoscaler asks for, what shadow mode
// serves. Policy: target 100 per pod, headroom 1.2, replicas 2..50.
func TestReactive(t *testing.T) {
	p := DefaultPolicy()
	p.TargetPerPod = 100
	for _, tc := range []struct {
		name     string
		observed float64
		rounding Rounding
		want     int
	}{
		{"450 × 1.2 / 100 = 5.4, up", 450, RoundingCeil, 6},
		{"450 × 1.2 / 100 = 5.4, down", 450, RoundingFloor, 5},
		{"1000 × 1.2 / 100 = 12 exactly, not 13", 1000, RoundingCeil, 12},
		{"10 × 1.2 / 100 = 0.12: min_replicas 2", 10, RoundingCeil, 2},
		{"9000 × 1.2 / 100 = 108: max_replicas 50", 9000, RoundingCeil, 50},
		{"nothing observed: min_replicas", math.NaN(), RoundingCeil, 2},
		{"a negative load: min_replicas", -5, RoundingCeil, 2},
		{"+Inf: min_replicas", math.Inf(1), RoundingCeil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := p
			q.Rounding = tc.rounding
			if got := q.Reactive(tc.observed); got != tc.want {
				t.Errorf("Reactive(%v) = %d, want %d", tc.observed, got, tc.want)
			}
		})
	}
}
