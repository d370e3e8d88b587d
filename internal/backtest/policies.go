package backtest

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
)

// policies simulates the three policies at headroom h over the ticks and
// scores them on the test part; with timeline, it also returns the capacity
// of each, step by step.
//
// Each policy asks for a replica count r(s) at every step s. A pod asked for
// takes startup steps to be ready, and scale-downs remove the newest pods
// first (as a ReplicaSet does), so the replicas ready at step t are those
// asked for without a break over the last startup steps:
//
//	ready(t) = min(r(s) for s in [t − startup, t − 1])
func (r *run) policies(h float64, planOn capacity.Basis, timeline bool) (Policies, []TimelinePoint, error) {
	// The request series, from r.warm; the predictive and reactive policies
	// start from the oracle's first count.
	oracle, err := r.oracle(h)
	if err != nil {
		return Policies{}, nil, err
	}
	predictive, err := r.predictive(h, planOn, oracle[0])
	if err != nil {
		return Policies{}, nil, err
	}
	reactive, err := r.reactive(h, oracle[0])
	if err != nil {
		return Policies{}, nil, err
	}
	perfect, err := r.perfect(h, planOn, oracle[0])
	if err != nil {
		return Policies{}, nil, err
	}
	var out Policies
	scores := []*PolicyScore{&out.Predictive, &out.Reactive, &out.Oracle, &out.PerfectForecast}
	requests := [][]int{predictive, reactive, oracle, perfect}
	var capacities [][]float64
	for k, req := range requests {
		*scores[k], capacities = r.score(req, capacities)
	}
	var points []TimelinePoint
	if timeline {
		for i := range capacities[0] {
			t := r.test + i
			points = append(points, TimelinePoint{T: r.history.Time(t), Actual: r.history.Values[t],
				Predictive: capacities[0][i], Reactive: capacities[1][i], Oracle: capacities[2][i]})
		}
	}
	floor := 0
	for t := r.test; t < len(r.history.Values); t++ {
		if r.ticks[t-r.warm].floorDecided {
			floor++
		}
	}
	out.FloorDecidedRatio = float64(floor) / float64(len(r.history.Values)-r.test)
	return out, points, nil
}

// score scores the requests req of a policy, from r.warm, on the test part,
// and appends the capacity of its ready replicas at each test step to
// capacities.
func (r *run) score(req []int, capacities [][]float64) (PolicyScore, [][]float64) {
	var (
		s                            PolicyScore
		under, unserved, load, count float64
	)
	capacity := make([]float64, 0, len(r.history.Values)-r.test)
	for t := r.test; t < len(r.history.Values); t++ {
		actual := r.history.Values[t]
		ready := slices.Min(req[t-r.startup-r.warm : t-r.warm])
		s.ReplicaHours += float64(ready) * r.step.Hours()
		c := float64(ready) * r.cfg.Capacity.TargetPerPod
		capacity = append(capacity, c)
		if known(actual) {
			count++
			if actual > c*(1+1e-9) {
				under++
				unserved += actual - c
			}
			load += math.Abs(actual)
		}
		if req[t-r.warm] != req[t-1-r.warm] {
			s.ScaleEvents++
		}
	}
	if count > 0 {
		s.UnderProvisionedRatio = under / count
	}
	if load > 0 {
		s.UnservedRatio = unserved / load
	}
	return s, append(capacities, capacity)
}

// predictive returns the replicas the predictive policy asks for at each
// step from r.warm, starting from start: the desired count of the engine's
// plan (see desired) through the HPA, as KEDA serves it to one. A tick that
// published nothing leaves the previous plan in place, as the forecaster's
// last snapshot is.
func (r *run) predictive(h float64, planOn capacity.Basis, start int) ([]int, error) {
	var desired []int
	if h == r.cfg.Capacity.Headroom && planOn == r.cfg.Capacity.PlanOn {
		// The engine's own plan, DesiredReplicas[0] of each snapshot.
		desired = make([]int, len(r.ticks))
		for i, t := range r.ticks {
			desired[i] = t.desired
		}
	} else {
		var err error
		if desired, err = r.desired(h, planOn); err != nil {
			return nil, err
		}
	}
	out := make([]int, len(r.ticks))
	hpa := r.newHPA(start)
	current := start
	for i, t := range r.ticks {
		if t.ok {
			current = desired[i]
		}
		out[i] = hpa.next(current)
	}
	return out, nil
}

// perfect returns the replicas the predictive policy would ask for at each
// step from r.warm, starting from start, with a perfect forecast: the
// engine's planner at headroom h, with its lead time, pre-warm window and
// rate limits, on the true load of the forecast's steps (no load where
// nothing was observed), through the HPA. Unlike the oracle it can be
// short: it asks now for the load a lead time ahead, so a scale-down that
// the HPA does not hold removes pods before the load falls, and the rate
// limits can slow a steep climb. The gap between it and the oracle is what
// the planner costs; between it and the predictive policy, what the
// forecast errors cost. planOn is ignored: the truth has no interval.
func (r *run) perfect(h float64, _ capacity.Basis, start int) ([]int, error) {
	p := r.cfg.Capacity
	p.Headroom = h
	values := r.history.Values
	out := make([]int, len(r.ticks))
	truth := make([]float64, r.cfg.Steps())
	hpa := r.newHPA(start)
	prev := -1
	for i := range out {
		s := r.warm + i
		k := min(len(truth), len(values)-s)
		for j := range k {
			truth[j] = values[s+j]
			if !known(truth[j]) {
				truth[j] = 0
			}
		}
		plan, err := p.Plan(capacity.Input{Values: truth[:k], Step: r.step, Observed: values[s], Prev: prev})
		if err != nil {
			return nil, fmt.Errorf("plan on the true load at %s: %w", r.history.Time(s), err)
		}
		prev = plan.Forecast
		out[i] = hpa.next(r.scheduled(i, plan.Desired[0]))
	}
	return out, nil
}

// desired returns, for each tick that published a forecast, the count the
// engine's planner asks for now at headroom h on basis planOn: the same
// capacity.Tuner, on the forecasts the engine published, with the previous
// successful tick's count as the previous plan, as the engine does. The
// forecasts depend on neither the headroom nor the basis, so at the
// configured ones this is DesiredReplicas[0] of the engine's snapshots
// (but where the engine repaired a gap in the load the tuner judges by).
// Ticks that published nothing are 0.
func (r *run) desired(h float64, planOn capacity.Basis) ([]int, error) {
	p := r.cfg.Capacity
	p.Headroom, p.PlanOn = h, planOn
	tuner := capacity.NewTuner(p)
	out := make([]int, len(r.ticks))
	prev := -1
	for i, t := range r.ticks {
		if !t.ok {
			continue
		}
		at := r.history.Time(r.warm + i)
		tuner.Observe(at, r.history.At)
		plan, err := tuner.Plan(at, capacity.Input{Values: t.values, Upper: t.upperValues, Step: r.step, Observed: t.observed, Prev: prev})
		if err != nil {
			return nil, fmt.Errorf("plan at %s: %w", at, err)
		}
		out[i], prev = r.scheduled(i, plan.Desired[0]), plan.Forecast
	}
	return out, nil
}

// scheduled returns n held within the bounds of the schedule windows open
// at tick i.
func (r *run) scheduled(i, n int) int {
	if len(r.windows) == 0 {
		return n
	}
	lo, hi := capacity.Bounds(r.windows, r.history.Time(r.warm+i), r.cfg.Capacity.MinReplicas, r.cfg.Capacity.MaxReplicas)
	return min(max(n, lo), hi)
}

// reactive returns the replicas an HPA on the observed load asks for at
// each step from r.warm, starting from start: the count the load observed
// at the step itself needs (the HPA sees the metric as it is now),
// ceil(load × h / target per pod) within the bounds, through the HPA's
// tolerance and stabilisation. A step with no observation keeps the
// previous count.
func (r *run) reactive(h float64, start int) ([]int, error) {
	p := r.sizing(h, 0)
	out := make([]int, len(r.ticks))
	desired := start
	hpa := r.newHPA(start)
	load := make([]float64, 1)
	for i := range out {
		if v := r.history.Values[r.warm+i]; known(v) {
			load[0] = v
			plan, err := p.Plan(capacity.Input{Values: load, Step: r.step, Observed: math.NaN(), Prev: desired})
			if err != nil {
				return nil, fmt.Errorf("reactive count at %s: %w", r.history.Time(r.warm+i), err)
			}
			desired = plan.Desired[0]
		}
		out[i] = hpa.next(r.scheduled(i, desired))
	}
	return out, nil
}

// oracle returns the replicas perfect foresight asks for at each step s
// from r.warm: the planner's count from the true load of steps s to
// s+startup, looking at steps s+1 to s+startup (the steps its pods would
// serve if asked for now), with no rate limits and no HPA in the way. A
// step with no observation counts as no load. Its ready capacity therefore
// never falls short while max-replicas allows.
func (r *run) oracle(h float64) ([]int, error) {
	p := r.sizing(h, r.startup)
	values := r.history.Values
	out := make([]int, len(r.ticks))
	truth := make([]float64, r.startup+1)
	for i := range out {
		s := r.warm + i
		k := min(len(truth), len(values)-s)
		for j := range k {
			truth[j] = values[s+j]
			if !known(truth[j]) {
				truth[j] = 0
			}
		}
		// The steps its pods would serve: s+1 to s+startup, or s itself at
		// the end of the history.
		from := min(1, k-1)
		plan, err := p.Plan(capacity.Input{Values: truth[from:k], Step: r.step, Observed: math.NaN(), Prev: -1})
		if err != nil {
			return nil, fmt.Errorf("oracle count at %s: %w", r.history.Time(s), err)
		}
		out[i] = r.scheduled(i, plan.Desired[0])
	}
	return out, nil
}

// sizing returns the capacity policy the reactive and oracle policies size
// replicas with: the configured target per pod and replica bounds at
// headroom h, ceil rounding, no rate limits (an up-max-factor that cannot
// bind before max-replicas, any scale-down), no reactive floor, and a plan
// for the peak of the load of the first ahead steps it is given (no lead
// time and a pre-warm window of ahead − 1 steps), or, when ahead is 0, for
// the load of the first.
func (r *run) sizing(h float64, ahead int) capacity.Policy {
	p := r.cfg.Capacity
	p.Headroom = h
	p.Rounding, p.PlanOn, p.ReactiveFloor = capacity.RoundingCeil, capacity.BasisForecast, false
	p.UpMaxFactor, p.DownMaxPercent = max(1, float64(p.MaxReplicas)), 100
	p.LeadTime, p.PrewarmWindow = 0, model.Duration(time.Duration(max(0, ahead-1))*r.step)
	return p
}

// hpa is the state of a simulated Horizontal Pod Autoscaler.
type hpa struct {
	tolerance float64
	window    int   // scale-down stabilisation, in steps
	recent    []int // the last window recommendations, oldest first
	current   int
}

func (r *run) newHPA(start int) *hpa {
	return &hpa{
		tolerance: r.opts.HPA.Tolerance,
		window:    max(1, int(r.opts.HPA.ScaleDownStabilization/r.step)),
		current:   start,
	}
}

// next returns the replicas asked for when the desired count is desired:
// within the tolerance of the current count, the current count; above it,
// the desired count at once; below it, the highest recommendation of the
// stabilisation window.
func (a *hpa) next(desired int) int {
	if a.current > 0 && math.Abs(float64(desired)/float64(a.current)-1) <= a.tolerance+1e-9 {
		desired = a.current
	}
	a.recent = append(a.recent, desired)
	if len(a.recent) > a.window {
		a.recent = a.recent[1:]
	}
	if desired < a.current {
		desired = min(a.current, slices.Max(a.recent))
	}
	a.current = desired
	return desired
}
