package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNonFiniteLoad is returned by Plan when a forecast value is NaN or ±Inf:
// no plan is better than a plan made of garbage.
var ErrNonFiniteLoad = errors.New("forecast load is not a finite number")

// ErrStep is returned by Plan when the forecast step is not positive.
var ErrStep = errors.New("forecast step must be positive")

// Input is what a plan is made from.
type Input struct {
	// Values[i] is the load forecast at now + i·Step.
	Values []float64
	// Upper[i] is the upper bound of the prediction interval of Values[i];
	// nil until the interval exists.
	Upper []float64
	// Step is the time between two values.
	Step time.Duration
	// Observed is the newest load observed, the reactive floor's measure of
	// the load now. NaN (or a negative load) means none is known: no floor.
	Observed float64
	// Prev is the forecast's own part of the plan served last (its
	// Plan.Forecast), which the rate limits of Desired[0] are measured
	// from. A negative Prev means none is known.
	Prev int
}

// Decision says what set the replicas a plan asks for now.
type Decision string

// Decisions. Each overrides the ones before it: the floor overrides the
// forecast and the rate limits, and a replica bound overrides everything.
const (
	// DecidedByForecast: the forecast's peak over the lead time and the
	// pre-warm window.
	DecidedByForecast Decision = "forecast"
	// DecidedByUpLimit and DecidedByDownLimit: a rate limit held the
	// forecast's plan back.
	DecidedByUpLimit   Decision = "up_limit"
	DecidedByDownLimit Decision = "down_limit"
	// DecidedByFloor: the reactive floor, what the load observed now needs,
	// was above the forecast's plan.
	DecidedByFloor Decision = "reactive_floor"
	// DecidedByMin and DecidedByMax: a replica bound.
	DecidedByMin Decision = "min_replicas"
	DecidedByMax Decision = "max_replicas"
	// DecidedBySchedule: the bounds of a schedule window in force.
	DecidedBySchedule Decision = "schedule"
)

// Plan is a replica plan.
type Plan struct {
	// Desired[i] is the replica count to ask for at now + i·step, so that
	// pods are ready for the load that follows; Desired[0] is what to run now.
	Desired []int
	// Floor is the reactive floor: the replicas the load observed now needs,
	// rounded and bounded like the plan. It is 0 when the floor is off or no
	// load was observed.
	Floor int
	// DecidedBy says what set Desired[0]. It is empty for an empty plan.
	DecidedBy Decision
	// Forecast is Desired[0] without the floor: the forecast's own plan,
	// rate-limited from the Forecast served before (Input.Prev).
	Forecast int
	// Basis and Headroom are what the forecast part of the plan was made
	// from: the forecast or its upper bound, times Headroom.
	Basis    Basis
	Headroom float64
	// CostRatio is, with PlanOn auto, what the chosen basis and headroom
	// asked for over about the last day beside what the floor alone asked
	// for (see Tuner.CostRatio); 0 otherwise.
	CostRatio float64
}

// Choice is the forecast a plan is made from and the headroom applied to it.
type Choice struct {
	// Basis is the forecast or the upper bound of its interval.
	Basis Basis
	// Headroom multiplies the basis, as Policy.Headroom does.
	Headroom float64
}

// Plan turns a forecast into replicas: on the basis PlanOn names (auto,
// without a Tuner to choose, plans on the forecast) at Headroom. For each i:
//
//	adj[j]     = max(basis[j], 0) × Headroom / TargetPerPod
//	i0         = ceil(LeadTime / Step)
//	w          = PrewarmWindow / Step (whole steps)
//	pre[i]     = max(adj[i .. min(i+i0+w, len-1)])
//	maxUp      = ceil(prev × UpMaxFactor)          (no cap when prev is 0)
//	maxDown    = floor(prev × (1 − DownMaxPercent/100))
//	desired[i] = round(clamp(pre[i], maxDown, maxUp)), bounded to [MinReplicas, MaxReplicas]
//	desired[0] = round(max(clamp(pre[0], maxDown, maxUp), Observed × Headroom / TargetPerPod)), bounded
//
// where prev is the count of the step before, without the floor
// (Forecast for desired[1]), and for desired[0] in.Prev. The window of
// pre[i] starts at i, not at i+i0: a pod asked for at i is ready at i+i0,
// and until then the pods already running serve the load of [i, i+i0). So
// the plan scales up a lead time before a rise, and scales down only once
// the load has fallen. For example, at a one-minute step with a two-minute
// lead time and no pre-warm window, a load that needs [8, 8, 8, 2, 2, 2]
// pods is planned [8, 8, 8, 2, 2, 2]: the eight pods stay until the fall
// at minute 3, where a window starting at i+i0 would have planned
// [8, 2, 2, 2, 2, 2] and left minutes 1 and 2 short.
//
// The last line is the reactive floor, on by default (ReactiveFloor): the
// plan never asks for fewer pods now than the load observed now needs,
// whatever the forecast says. It is rounded and bounded like the rest of
// the plan; the rate limits, which guard against a forecast that swings,
// do not hold it back, as an HPA on the same load would not be held back.
// When in.Prev is negative (no plan was served yet, as after a restart
// with nothing to read back), what the observed load needs stands in for
// it, or MinReplicas when no load was observed. Plan assumes p is valid
// (see Validate).
func (p Policy) Plan(in Input) (Plan, error) {
	c := Choice{Basis: p.PlanOn, Headroom: p.Headroom}
	if c.Basis != BasisUpper {
		c.Basis = BasisForecast
	}
	return p.planChoice(in, c)
}

// planChoice is Plan on the basis and at the headroom of c; the floor keeps
// the policy's Headroom.
func (p Policy) planChoice(in Input, c Choice) (Plan, error) {
	if in.Step <= 0 {
		return Plan{}, ErrStep
	}
	if err := finite("value", in.Values); err != nil {
		return Plan{}, err
	}
	basis := in.Values
	if c.Basis == BasisUpper && len(in.Upper) == len(in.Values) {
		if err := finite("upper bound", in.Upper); err != nil {
			return Plan{}, err
		}
		basis = in.Upper
	} else {
		c.Basis = BasisForecast
	}
	adj := make([]float64, len(basis))
	for i, v := range basis {
		adj[i] = math.Max(v, 0) * c.Headroom / p.TargetPerPod
	}
	need, observed := p.need(in.Observed)
	prev := p.startFrom(in.Prev, need, observed)
	out := Plan{Desired: make([]int, len(basis)), Basis: c.Basis, Headroom: c.Headroom}
	floor := observed && p.ReactiveFloor
	if floor {
		out.Floor = p.bound(need)
	}
	span := p.span(in.Step)
	for i := range out.Desired {
		wanted := windowPeak(adj, i, span)
		if i == 0 {
			out.Desired[0], out.DecidedBy = p.first(wanted, need, floor, prev)
			out.Forecast = p.limit(wanted, prev)
			prev = out.Forecast
			continue
		}
		out.Desired[i] = p.limit(wanted, prev)
		prev = out.Desired[i]
	}
	return out, nil
}

// finite returns ErrNonFiniteLoad, wrapped with the index, for the first
// NaN or ±Inf of values.
func finite(what string, values []float64) error {
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("plan %s %d: %w", what, i, ErrNonFiniteLoad)
		}
	}
	return nil
}

// span returns i0 + w: how many steps past i the window of pre[i] reaches.
func (p Policy) span(step time.Duration) int {
	return int(math.Ceil(float64(p.LeadTime)/float64(step))) + int(int64(p.PrewarmWindow)/int64(step))
}

// startFrom returns prev, or when it is negative (unknown) what the load
// observed needs, or MinReplicas when none was observed.
func (p Policy) startFrom(prev int, need float64, observed bool) int {
	switch {
	case prev >= 0:
		return prev
	case observed:
		return p.bound(need)
	default:
		return p.MinReplicas
	}
}

// Reactive returns the replicas a reactive autoscaler on the same load
// would ask for: observed × Headroom / TargetPerPod, rounded and bounded to
// [MinReplicas, MaxReplicas], the reactive floor's count; MinReplicas when
// no load was observed (NaN, negative or ±Inf).
func (p Policy) Reactive(observed float64) int {
	need, ok := p.need(observed)
	if !ok {
		return p.MinReplicas
	}
	return p.bound(need)
}

// need returns observed × Headroom / TargetPerPod, and whether a load was
// observed at all.
func (p Policy) need(observed float64) (float64, bool) {
	if !(observed >= 0) || math.IsInf(observed, 0) {
		return 0, false
	}
	return observed * p.Headroom / p.TargetPerPod, true
}

// first returns desired[0] from the forecast's peak, prev and, when floor
// is set, the floor's need, and what decided it: the last stage that
// changed the count (the rate limits, the floor, the bounds).
func (p Policy) first(peak, need float64, floor bool, prev int) (int, Decision) {
	by := DecidedByForecast
	x := p.clamp(peak, prev)
	switch r, w := p.Rounding.apply(x), p.Rounding.apply(peak); {
	case r < w:
		by = DecidedByUpLimit
	case r > w:
		by = DecidedByDownLimit
	}
	if floor && p.Rounding.apply(need) > p.Rounding.apply(x) {
		x, by = need, DecidedByFloor
	}
	desired := p.bound(x)
	switch r := p.Rounding.apply(x); {
	case float64(desired) < r:
		by = DecidedByMax
	case float64(desired) > r:
		by = DecidedByMin
	}
	return desired, by
}

// windowPeak returns max(adj[from .. min(from+span, len-1)]).
func windowPeak(adj []float64, from, span int) float64 {
	last := len(adj) - 1
	peak := adj[from]
	for _, a := range adj[from+1 : min(from+span, last)+1] {
		peak = math.Max(peak, a)
	}
	return peak
}

// clamp holds the wanted replicas x within the rate limits around prev.
func (p Policy) clamp(x float64, prev int) float64 {
	maxDown := math.Floor(float64(prev)*(1-p.DownMaxPercent/100) + epsilon)
	x = math.Max(x, maxDown)
	if prev > 0 {
		maxUp := math.Ceil(float64(prev)*p.UpMaxFactor - epsilon)
		x = math.Min(x, maxUp)
	}
	return x
}

// limit clamps the wanted replicas x against the rate limits around prev,
// rounds, and bounds the result to [MinReplicas, MaxReplicas].
func (p Policy) limit(x float64, prev int) int {
	return p.bound(p.clamp(x, prev))
}

// bound rounds x and bounds it to [MinReplicas, MaxReplicas].
func (p Policy) bound(x float64) int {
	// Bounding before the conversion keeps a huge load from overflowing int.
	x = math.Min(x, float64(p.MaxReplicas))
	return max(p.MinReplicas, int(p.Rounding.apply(x)))
}
