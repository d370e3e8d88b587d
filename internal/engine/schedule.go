package engine

import (
	"time"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
)

// keepToSchedules holds each count of the plan, at now + i·step, within the
// bounds the schedule windows in force then set, and says so when that
// changed the count for now.
func (e *Engine) keepToSchedules(plan *capacity.Plan, windows []capacity.Window, now time.Time, step time.Duration) {
	for i, d := range plan.Desired {
		kept := e.withinSchedules(d, windows, now.Add(time.Duration(i)*step))
		if i == 0 && kept != d {
			plan.DecidedBy = capacity.DecidedBySchedule
		}
		plan.Desired[i] = kept
	}
}

// withinSchedules returns n held within the bounds in force at t.
func (e *Engine) withinSchedules(n int, windows []capacity.Window, t time.Time) int {
	lo, hi := capacity.Bounds(windows, t, e.cfg.Capacity.MinReplicas, e.cfg.Capacity.MaxReplicas)
	return min(max(n, lo), hi)
}

// openWindows returns the windows open at now, as the snapshot shows them.
func openWindows(windows []capacity.Window, now time.Time) []forecast.ScheduleWindow {
	var out []forecast.ScheduleWindow
	for _, w := range windows {
		if now.Before(w.Start) || !now.Before(w.End) {
			continue
		}
		out = append(out, forecast.ScheduleWindow{
			Cron: w.Schedule.Cron, Timezone: w.Schedule.Timezone, Start: w.Start, End: w.End,
			MinReplicas: w.Schedule.MinReplicas, MaxReplicas: w.Schedule.MaxReplicas,
		})
	}
	return out
}
