package capacity

import (
	"math"
	"time"

	"github.com/prometheus/common/model"
)

// TuningWindow is the memory of a Tuner, in the time of the data: what it
// measured decays by e every TuningWindow, so about the last day counts.
const TuningWindow = 24 * time.Hour

// minJudged is how many judged requests (decayed) a Tuner wants, and
// minEvidence how much data time since the first it judged, before it
// trusts its sums; until then it plans on the forecast at the configured
// headroom. A few minutes of flat load, or the first pre-scaling seen,
// say nothing of the cost over a day: trading headroom on them cut a plan
// to half its headroom right before the first ramp it was made for (seen
// on a real KEDA and HPA, docs/e2e.md).
const (
	minJudged   = 30
	minEvidence = TuningWindow / 4
)

// maxPending bounds the requests waiting to be judged, should the data stop
// advancing while the ticks go on: the oldest are dropped unjudged.
const maxPending = 1024

// scales are the fractions of the policy's headroom a Tuner tries on each
// basis: 1, 0.95, ... 0.5.
const (
	scaleStep  = 0.05
	scaleCount = 11
)

// Tuner plans a workload's replicas tick after tick and, with PlanOn auto,
// chooses what the forecast part of each plan is made from. The reactive
// floor already keeps the plan from being short where reactive scaling
// would not be; what is left to choose is how much the forecast adds above
// it, which buys fewer short minutes before the load rises with pods. The
// Tuner tries, side by side, the forecast and the upper bound of its
// prediction interval, each at the policy's headroom and at lower ones
// down to half of it. For each it keeps, over about the last TuningWindow
// of data:
//
//   - cost: the replicas it asked for, beside those the floor alone asked for;
//   - short time: how often the load a lead time later was above what it
//     asked for could serve (asked × TargetPerPod).
//
// Both are counted a lead time after the request, when the load it was for
// is known: counting the cost at once would make a choice that scales up
// ahead of a rise look dear before it has been seen to be right.
//
// Each plan is made on the choice that was short least often among those
// whose cost is within CostBudgetPercent of the floor's, the cheapest of
// equals; when none is within the budget, on the cheapest. Each choice is
// followed as a plan of its own, rate limits included, but the HPA is left
// out of this bookkeeping: it measures what each choice asks for rather
// than what a cluster would run, and an HPA's scale-down hold usually
// narrows the gap in pods.
//
// With PlanOn forecast or upper, the Tuner plans on that basis at the
// policy's headroom and keeps no counts. A Tuner is not safe for concurrent
// use: each engine has its own.
type Tuner struct {
	policy  Policy
	choices []Choice
	// Decayed sums, per choice: replicas asked for, and judged requests
	// that were short.
	cost, short []float64
	// prev is what each choice asked for last, for its rate limits; -1
	// before its first request.
	prev []int
	// floorCost is the decayed sum of the floor's requests; judged counts
	// the judged requests.
	floorCost, judged float64
	// last is the data time the sums were last decayed to, and first the
	// due time of the first request judged.
	last, first time.Time
	// pending are the requests not judged yet, oldest first.
	pending []pendingRequests
}

// pendingRequests are the requests of every choice and of the floor at one
// tick, to be judged against the load at due, when their pods are ready.
type pendingRequests struct {
	due      time.Time
	floor    float64
	requests []float64
}

// NewTuner returns a Tuner planning with p, which must be valid.
func NewTuner(p Policy) *Tuner {
	t := &Tuner{policy: p}
	if p.PlanOn != BasisAuto {
		return t
	}
	for _, b := range []Basis{BasisForecast, BasisUpper} {
		for i := range scaleCount {
			t.choices = append(t.choices, Choice{Basis: b, Headroom: p.Headroom * (1 - scaleStep*float64(i))})
		}
	}
	t.cost = make([]float64, len(t.choices))
	t.short = make([]float64, len(t.choices))
	t.prev = make([]int, len(t.choices))
	for i := range t.prev {
		t.prev[i] = -1
	}
	return t
}

// Observe judges the pending requests whose pods are ready by end, the
// time of the newest load: load returns the load at a time, and false when
// it is unknown (the request then counts in the cost, not in the short
// time).
func (t *Tuner) Observe(end time.Time, load func(time.Time) (float64, bool)) {
	if len(t.choices) == 0 {
		return
	}
	t.decay(end)
	judged := 0
	for _, p := range t.pending {
		if p.due.After(end) {
			break
		}
		judged++
		// The cost counts when the shortfall can: a plan that asks for more
		// before a rise pays now what it saves a lead time later.
		t.floorCost += p.floor
		for i, r := range p.requests {
			t.cost[i] += r
		}
		x, ok := load(p.due)
		if !ok {
			continue
		}
		t.judged++
		if t.first.IsZero() {
			t.first = p.due
		}
		for i, r := range p.requests {
			if x > r*t.policy.TargetPerPod*(1+epsilon) {
				t.short[i]++
			}
		}
	}
	t.pending = append(t.pending[:0], t.pending[judged:]...)
}

// SetLeadTime changes the lead time the plans are made with, as a measured
// one changes.
func (t *Tuner) SetLeadTime(d time.Duration) {
	t.policy.LeadTime = model.Duration(d)
}

// Plan makes the plan of in, whose Observed load was measured at at, and
// remembers what each choice would have asked for, to be judged a lead
// time later.
func (t *Tuner) Plan(at time.Time, in Input) (Plan, error) {
	if len(t.choices) == 0 {
		return t.policy.Plan(in)
	}
	if in.Step <= 0 {
		return Plan{}, ErrStep
	}
	t.decay(at)
	c := t.choose()
	plan, err := t.policy.planChoice(in, c)
	if err != nil {
		return Plan{}, err
	}
	plan.CostRatio = t.CostRatio()
	if len(in.Values) > 0 {
		t.remember(at, in)
	}
	return plan, nil
}

// Choice returns what the next plan will be made from.
func (t *Tuner) Choice() Choice {
	if len(t.choices) == 0 {
		return Choice{Basis: t.policy.PlanOn, Headroom: t.policy.Headroom}
	}
	return t.choose()
}

// CostRatio returns the decayed cost of the current choice over the
// floor's: 1.1 asks for 10 % more replicas than the floor alone; 0 when
// nothing was measured.
func (t *Tuner) CostRatio() float64 {
	if len(t.choices) == 0 || t.floorCost == 0 {
		return 0
	}
	chosen := t.choose()
	for i, c := range t.choices {
		if c == chosen {
			return t.cost[i] / t.floorCost
		}
	}
	return 0
}

// choose returns the choice to plan on now.
func (t *Tuner) choose() Choice {
	if t.judged < minJudged || t.first.IsZero() || t.last.Sub(t.first) < minEvidence {
		return t.choices[0] // no evidence yet: the forecast at the full headroom
	}
	budget := (1 + t.policy.CostBudgetPercent/100) * t.floorCost * (1 + epsilon)
	cheapest, best := 0, -1
	for i := range t.choices {
		if t.cost[i] < t.cost[cheapest] {
			cheapest = i
		}
		if t.cost[i] > budget {
			continue
		}
		switch {
		case best < 0:
			best = i
		case t.short[i] < t.short[best]-epsilon,
			math.Abs(t.short[i]-t.short[best]) <= epsilon && t.cost[i] < t.cost[best]:
			best = i
		}
	}
	if best < 0 {
		best = cheapest
	}
	return t.choices[best]
}

// remember adds the requests of every choice at at to the cost sums and to
// the pending requests.
func (t *Tuner) remember(at time.Time, in Input) {
	p := t.policy
	need, observed := p.need(in.Observed)
	floor := 0.0
	if observed {
		floor = float64(p.bound(need))
	}
	span := p.span(in.Step)
	peakForecast := windowPeak(in.Values, 0, span)
	peakUpper := peakForecast
	if len(in.Upper) == len(in.Values) && finite("upper bound", in.Upper) == nil {
		peakUpper = windowPeak(in.Upper, 0, span)
	}
	requests := make([]float64, len(t.choices))
	for i, c := range t.choices {
		peak := peakForecast
		if c.Basis == BasisUpper {
			peak = peakUpper
		}
		wanted, prev := math.Max(peak, 0)*c.Headroom/p.TargetPerPod, p.startFrom(t.prev[i], need, observed)
		r, _ := p.first(wanted, need, observed && p.ReactiveFloor, prev)
		t.prev[i] = p.limit(wanted, prev)
		requests[i] = float64(r)
	}
	ahead := time.Duration(max(1, int(math.Ceil(float64(p.LeadTime)/float64(in.Step))))) * in.Step
	if len(t.pending) >= maxPending {
		t.pending = append(t.pending[:0], t.pending[len(t.pending)-maxPending+1:]...)
	}
	t.pending = append(t.pending, pendingRequests{due: at.Add(ahead), floor: math.Max(floor, float64(p.MinReplicas)), requests: requests})
}

// decay ages every sum to the data time now.
func (t *Tuner) decay(now time.Time) {
	if t.last.IsZero() || !now.After(t.last) {
		if t.last.IsZero() {
			t.last = now
		}
		return
	}
	f := math.Exp(-float64(now.Sub(t.last)) / float64(TuningWindow))
	for i := range t.choices {
		t.cost[i] *= f
		t.short[i] *= f
	}
	t.floorCost *= f
	t.judged *= f
	t.last = now
}
