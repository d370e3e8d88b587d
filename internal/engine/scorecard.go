package engine

import (
	"context"
	"math"
	"time"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
)

// score records what the plan and the reactive count ask for now, judges
// the steps of the history that have settled (past the span a tick reads
// again, unless the data is final) with pods ready lead later, and returns
// the scorecard for the snapshot, zero before a step was judged (so that
// its counters exist from the first forecast on).
func (e *Engine) score(ctx context.Context, plan capacity.Plan, observed float64, windows []capacity.Window, now time.Time, lead time.Duration) *forecast.Scorecard {
	if len(plan.Desired) == 0 {
		return nil
	}
	step := time.Duration(e.cfg.Step)
	reactive := e.withinSchedules(e.cfg.Capacity.Reactive(observed), windows, now)
	e.scorecard.Request(now, plan.Desired[0], reactive)
	raw := e.history.raw
	end := raw.End()
	if !e.deps.FinalData {
		end = end.Add(-rereadSteps(step) * step)
	}
	startup := max(1, int(math.Ceil(float64(lead)/float64(step))))
	e.scorecard.Judge(end, raw.At, e.replicas.at(ctx, e.scorecard.Pending(), end, step), startup, e.cfg.Capacity.TargetPerPod)
	return &forecast.Scorecard{Total: e.sums(e.scorecard.Total()), LastDay: e.sums(e.scorecard.LastDay())}
}

// sums converts a capacity scorecard's sums to the snapshot's: Actual only
// for a workload whose running replicas are read.
func (e *Engine) sums(t capacity.ScorecardTotals) forecast.ScorecardSums {
	s := forecast.ScorecardSums{
		Predictive: forecast.PolicyScore(t.Predictive),
		Reactive:   forecast.PolicyScore(t.Reactive),
	}
	if e.replicas.source != nil {
		a := forecast.PolicyScore(t.Actual)
		s.Actual = &a
	}
	return s
}

// runningReplicas reads the replicas a workload actually runs
// (replicas_query), for the scorecard.
type runningReplicas struct {
	source forecast.Source // nil: not known
	read   forecast.Series
}

// at reads the replicas that ran over the steps from..end the scorecard is
// about to judge, and returns them by time; nil when they are not known. A
// failed read leaves those steps unjudged for actual (counted and logged
// by the caller's source).
func (r *runningReplicas) at(ctx context.Context, from, end time.Time, step time.Duration) func(time.Time) (float64, bool) {
	if r.source == nil {
		return nil
	}
	r.read = forecast.Series{}
	if !end.Before(from) {
		if s, err := r.source.Range(ctx, from, end, step); err == nil {
			r.read = s
		}
	}
	return r.read.At
}
