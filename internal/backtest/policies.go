package backtest

import (
	"fmt"
	"math"
	"slices"

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
	p := r.cfg.Capacity
	p.Headroom = h
	n := len(r.history.Values)
	// The three request series, from r.warm; before that every policy asks
	// for what the oracle would.
	predictive, err := r.predictive(h, planOn)
	if err != nil {
		return Policies{}, nil, err
	}
	reactive := r.reactive(h)
	oracle := r.oracle(h)
	var out Policies
	var points []TimelinePoint
	scores := []*PolicyScore{&out.Predictive, &out.Reactive, &out.Oracle}
	requests := [][]int{predictive, reactive, oracle}
	var served [3]struct{ under, unserved, load float64 }
	scored := 0
	for t := r.test; t < n; t++ {
		actual := r.history.Values[t]
		var capacities [3]float64
		for k, req := range requests {
			ready := slices.Min(req[t-r.startup-r.warm : t-r.warm])
			scores[k].ReplicaHours += float64(ready) * r.step.Hours()
			capacities[k] = float64(ready) * p.TargetPerPod
			if known(actual) {
				if actual > capacities[k]*(1+1e-9) {
					served[k].under++
					served[k].unserved += actual - capacities[k]
				}
				served[k].load += math.Abs(actual)
			}
			if req[t-r.warm] != req[t-1-r.warm] {
				scores[k].ScaleEvents++
			}
		}
		if known(actual) {
			scored++
		}
		if timeline {
			points = append(points, TimelinePoint{
				T: r.history.Time(t), Actual: actual,
				Predictive: capacities[0], Reactive: capacities[1], Oracle: capacities[2],
			})
		}
	}
	for k := range scores {
		if scored > 0 {
			scores[k].UnderProvisionedRatio = served[k].under / float64(scored)
		}
		if served[k].load > 0 {
			scores[k].UnservedRatio = served[k].unserved / served[k].load
		}
	}
	return out, points, nil
}

// predictive returns the replicas the predictive policy asks for at each
// step from r.warm: the engine's plan, made again at headroom h on planOn by
// the same planner from the forecast the engine published (the forecasts do
// not depend on the headroom or the basis; at the configured ones this is
// the engine's own plan), through the HPA. A tick that published nothing
// leaves the previous plan in place, as the forecaster's last snapshot is.
func (r *run) predictive(h float64, planOn capacity.Basis) ([]int, error) {
	p := r.cfg.Capacity
	p.Headroom = h
	out := make([]int, len(r.ticks))
	hpa := r.newHPA(r.need(r.warm, h))
	prev, desired := -1, r.need(r.warm, h)
	for i, t := range r.ticks {
		if t.ok {
			basis := t.values
			if planOn == capacity.BasisUpper && t.upperValues != nil {
				basis = t.upperValues
			}
			plan, err := p.Plan(basis, r.step, prev)
			if err != nil {
				return nil, fmt.Errorf("plan at %s: %w", r.history.Time(r.warm+i), err)
			}
			prev, desired = plan[0], plan[0]
		}
		out[i] = hpa.next(desired)
	}
	return out, nil
}

// reactive returns the replicas an HPA on the observed load asks for at
// each step from r.warm: ceil(load × h / target per pod), the load at the
// step itself (the HPA sees the metric as it is now), then the HPA's
// tolerance and stabilisation. A step with no observation keeps the
// previous count.
func (r *run) reactive(h float64) []int {
	out := make([]int, len(r.ticks))
	desired := r.need(r.warm, h)
	hpa := r.newHPA(desired)
	for i := range out {
		if v := r.history.Values[r.warm+i]; known(v) {
			desired = r.replicasFor(v, h)
		}
		out[i] = hpa.next(desired)
	}
	return out
}

// oracle returns the replicas perfect foresight asks for at each step s
// from r.warm: enough for the highest load of the steps its pods would serve
// if asked for now, s+1 to s+startup, with no HPA in the way. Its ready
// capacity therefore never falls short while max-replicas allows.
func (r *run) oracle(h float64) []int {
	out := make([]int, len(r.ticks))
	for i := range out {
		out[i] = r.need(r.warm+i, h)
	}
	return out
}

// need returns what the load of steps s+1 to s+startup needs at headroom h;
// steps with no observation are skipped, and none at all needs the minimum.
func (r *run) need(s int, h float64) int {
	most := math.NaN()
	for j := s + 1; j <= s+r.startup && j < len(r.history.Values); j++ {
		if v := r.history.Values[j]; known(v) && !(v <= most) {
			most = v
		}
	}
	if !known(most) {
		return r.cfg.Capacity.MinReplicas
	}
	return r.replicasFor(most, h)
}

// replicasFor returns ceil(load × h / target per pod) within the bounds.
func (r *run) replicasFor(load, h float64) int {
	p := r.cfg.Capacity
	n := int(math.Ceil(load*h/p.TargetPerPod - 1e-9))
	return min(max(n, p.MinReplicas), p.MaxReplicas)
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
