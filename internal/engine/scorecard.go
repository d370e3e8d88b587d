package engine

import (
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
func (e *Engine) score(plan capacity.Plan, observed float64, windows []capacity.Window, now time.Time, lead time.Duration) *forecast.Scorecard {
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
	e.scorecard.Judge(end, raw.At, startup, e.cfg.Capacity.TargetPerPod)
	return &forecast.Scorecard{Total: sums(e.scorecard.Total()), LastDay: sums(e.scorecard.LastDay())}
}

// sums converts a capacity scorecard's sums to the snapshot's.
func sums(t capacity.ScorecardTotals) forecast.ScorecardSums {
	return forecast.ScorecardSums{
		ScoredSeconds: t.ScoredSeconds,
		Predictive:    forecast.PolicyScore(t.Predictive),
		Reactive:      forecast.PolicyScore(t.Reactive),
	}
}
