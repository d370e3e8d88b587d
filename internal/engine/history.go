package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/read"
)

// rereadSpan is how far back before its newest point a tick reads the
// history again: Prometheus's default lookback, within which a sample that
// arrives late (a slow scrape, remote write catching up) still changes the
// points of a range query.
const rereadSpan = 5 * time.Minute

// history is a workload's load history, kept between ticks on a fixed grid
// (the multiples of the step, or Deps.GridOrigin + k·step), so that a tick reads only the
// points that are new or may have changed: O(new points), not O(window).
// The whole window is read at the first tick, after a change of step, and
// again at every refit boundary of the workload (its stable phase spreads
// those reads as it spreads the refits), which picks up backfills and data
// later than rereadSpan.
type history struct {
	raw forecast.Series // NaN where nothing was observed
	// readAt is the end of the last full read.
	readAt time.Time
}

// observation is the newest load observed, and when.
type observation struct {
	value float64
	at    time.Time
}

// collect brings the history up to now and returns its window, gaps
// repaired, and the load observed now: the source's value at now when now
// is between two steps of the grid and it has one, else the newest point.
func (e *Engine) collect(ctx context.Context, now time.Time, step time.Duration) (forecast.Series, observation, error) {
	end := alignDown(now, e.deps.GridOrigin, step)
	start := end.Add(-time.Duration(e.cfg.Points()-1) * step)
	h := &e.history
	full := e.alwaysFull || len(h.raw.Values) == 0 || h.raw.Step != step || start.Before(h.raw.Start) ||
		forecast.RefitDue(h.readAt, end, e.modelOpts)
	from := start
	// Whole steps back from the newest point, so that from stays on the grid.
	back := max((rereadSpan+step-1)/step, 2)
	if reread := h.raw.End().Add(-back * step); !full && reread.After(start) {
		from = reread
	}
	began := time.Now()
	raw, err := e.source.Range(ctx, from, end, step)
	if err != nil && !full && errors.Is(err, read.ErrEmptyResult) {
		// Nothing new: the points read again are missing now.
		raw, err = forecast.Series{Start: from, Step: step}, nil
	}
	observed := math.NaN()
	if err == nil && now.After(end) {
		var head forecast.Series
		if head, err = e.source.Range(ctx, now, now, step); errors.Is(err, read.ErrEmptyResult) {
			err = nil
		} else if err == nil && len(head.Values) > 0 {
			observed = head.Values[0]
		}
	}
	e.collectSeconds.Observe(time.Since(began).Seconds())
	if err != nil {
		return forecast.Series{}, observation{}, fmt.Errorf("collect: %w", err)
	}
	h.merge(raw, from, start, end, step)
	if full {
		h.readAt = end
	}
	filled, repairs, err := h.raw.Fill()
	if err != nil {
		e.countError(read.ComponentSource, read.ReasonNoData)
		return forecast.Series{}, observation{}, fmt.Errorf("collect: %w", err)
	}
	if repairs.Interpolated > 0 && full {
		e.countError(read.ComponentSource, ReasonGap)
		e.logger.Warn("Gaps in the load history were interpolated", "points", repairs.Interpolated, "of", len(h.raw.Values))
	}
	if age := end.Sub(filled.End()); age > e.deps.StaleAfter {
		e.countError(read.ComponentSource, ReasonStaleData)
		return forecast.Series{}, observation{}, fmt.Errorf("collect: %w: newest point is %s old, stale after %s", errStaleData, age, e.deps.StaleAfter)
	}
	if math.IsNaN(observed) || math.IsInf(observed, 0) {
		return filled, observation{filled.Values[len(filled.Values)-1], filled.End()}, nil
	}
	return filled, observation{observed, now}, nil
}

// alignDown returns the newest time of the grid origin + k·step at or
// before now; a zero origin is the grid of the multiples of step.
func alignDown(now, origin time.Time, step time.Duration) time.Time {
	if origin.IsZero() {
		return now.Truncate(step)
	}
	d := now.Sub(origin)
	k := d / step
	if d < 0 && d%step != 0 {
		k--
	}
	return origin.Add(k * step)
}

// merge makes the history the window start..end: the points before from
// as they were, those from from on as read now (NaN where raw has none).
// Both lie on the grid of start, and start is not before the history's: the
// points kept move to the front of the same array, so a workload holds one
// window of history and a tick allocates none.
func (h *history) merge(raw forecast.Series, from, start, end time.Time, step time.Duration) {
	n := int(end.Sub(start)/step) + 1
	keep := int(from.Sub(start) / step) // points before from
	var values []float64
	valid := 0 // values[:valid] are the points kept, at start + i·step
	if old := h.raw; old.Step == step && len(old.Values) > 0 && !start.Before(old.Start) {
		if shift := int(start.Sub(old.Start) / step); shift < len(old.Values) {
			valid = copy(old.Values, old.Values[shift:])
		}
		values = old.Values[:valid]
	}
	values = slices.Grow(values, n-len(values))[:n]
	for i := min(valid, keep); i < n; i++ {
		values[i] = math.NaN()
	}
	if len(raw.Values) > 0 {
		first := int(raw.Start.Sub(start) / step)
		for i, v := range raw.Values {
			if k := first + i; k >= keep && k < n {
				values[k] = v
			}
		}
	}
	h.raw = forecast.Series{Start: start, Step: step, Values: values}
}
