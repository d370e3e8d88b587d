package scaler

import (
	"sort"
	"time"
)

// Plan is what a source knows of a workload's forecast: the replicas to run
// now, when the plan was made, and what it plans for the time after, so
// that a plan that has stopped being refreshed can still be followed.
type Plan struct {
	// Desired is the replicas to run now: desiredReplicas[0].
	Desired int
	// GeneratedAt is when the plan was made.
	GeneratedAt time.Time
	// Steps are the planned counts, sorted by Offset, the first at offset
	// 0: Steps[i].Replicas applies from GeneratedAt + Steps[i].Offset.
	// They may be thinned (a Prometheus source reads only the horizons the
	// forecaster publishes). Nil means only Desired is known.
	Steps []PlanStep
	// Step is the forecaster's step, the time between two planned counts
	// where they are not thinned.
	Step time.Duration
	// Horizon is how far ahead of GeneratedAt the plan reaches.
	Horizon time.Duration
}

// PlanStep is one planned count.
type PlanStep struct {
	Offset   time.Duration
	Replicas int
}

// At returns the replicas the plan asks for at t, and false when t is
// past its horizon. Between two counts it is the earlier one, or, where
// the counts are thinned (further apart than a step), the larger of the
// two: a thinned plan does not say when between them its count changed.
func (p Plan) At(t time.Time) (int, bool) {
	age := t.Sub(p.GeneratedAt)
	if len(p.Steps) == 0 || age >= p.Horizon {
		return 0, false
	}
	// k is the last count at or before t (the first, for a t before it).
	k := max(0, sort.Search(len(p.Steps), func(i int) bool { return p.Steps[i].Offset > age })-1)
	n := p.Steps[k].Replicas
	if k+1 < len(p.Steps) && p.Steps[k+1].Offset-p.Steps[k].Offset > p.Step {
		n = max(n, p.Steps[k+1].Replicas)
	}
	return n, true
}

// densePlan returns the plan of a snapshot's desiredReplicas, one count a
// step apart.
func densePlan(desired []int, generated time.Time, step time.Duration) Plan {
	p := Plan{Desired: desired[0], GeneratedAt: generated}
	if step <= 0 {
		return p
	}
	p.Step, p.Horizon = step, time.Duration(len(desired))*step
	p.Steps = make([]PlanStep, len(desired))
	for i, r := range desired {
		p.Steps[i] = PlanStep{Offset: time.Duration(i) * step, Replicas: r}
	}
	return p
}
