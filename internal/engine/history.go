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
	// unchanged is the time before which every value is as the model last
	// saw it (zero: any may differ), and seen whether the model has seen
	// the history since the last merge.
	unchanged time.Time
	seen      bool
	// filled is the last history filled, whose array the next fill reuses.
	filled forecast.Series
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
	if reread := h.raw.End().Add(-rereadSteps(step) * step); !full && reread.After(start) {
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
	merged := h.merge(raw, from, start, end, step)
	changed := merged
	if !h.seen {
		// The model missed the last history (a tick failed before it, or
		// this is the first): what changed then counts too. The zero time
		// is the earliest.
		changed = earliest(changed, h.unchanged)
	}
	h.unchanged, h.seen = changed, false
	if full {
		h.readAt = end
	}
	// Only the points from the first one the merge changed are filled
	// again; all at a full read, whose gaps the log counts.
	refill := 0
	if !full && !merged.IsZero() {
		refill = int(merged.Sub(h.raw.Start) / step)
	}
	filled, repairs, err := h.raw.Refill(h.filled, refill, h.filled.Values[:0])
	h.filled = filled
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
	filled.Unchanged = h.unchanged
	if math.IsNaN(observed) || math.IsInf(observed, 0) {
		return filled, observation{filled.Values[len(filled.Values)-1], filled.End()}, nil
	}
	return filled, observation{observed, now}, nil
}

// rereadSteps returns how many steps back from its newest point a tick
// reads the history again: rereadSpan in whole steps (so that the read
// stays on the grid), at least two.
func rereadSteps(step time.Duration) time.Duration {
	return max((rereadSpan+step-1)/step, 2)
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
//
// It returns the time before which the history, once filled, is what it was
// before the merge: the first point that changed or is new, moved back over
// the missing points before it (their interpolation leans on it); zero when
// the history could not be kept (a new step, a window that moved back).
func (h *history) merge(raw forecast.Series, from, start, end time.Time, step time.Duration) time.Time {
	n := int(end.Sub(start)/step) + 1
	keep := int(from.Sub(start) / step) // points before from
	var values []float64
	valid := -1 // values[:valid] are the points kept, at start + i·step
	if old := h.raw; old.Step == step && len(old.Values) > 0 && !start.Before(old.Start) {
		valid = 0
		if shift := int(start.Sub(old.Start) / step); shift < len(old.Values) {
			valid = copy(old.Values, old.Values[shift:])
		}
		values = old.Values[:valid]
	}
	values = slices.Grow(values, n-len(values))[:n]
	changed := n // the first point that changed or is new
	var first int
	if len(raw.Values) > 0 {
		first = int(raw.Start.Sub(start) / step)
	}
	for k := max(min(valid, keep), 0); k < n; k++ {
		v := math.NaN()
		if i := k - first; k >= keep && i >= 0 && i < len(raw.Values) {
			v = raw.Values[i]
		}
		if k >= valid || !sameValue(values[k], v) {
			changed = min(changed, k)
		}
		values[k] = v
	}
	h.raw = forecast.Series{Start: start, Step: step, Values: values}
	if valid < 0 {
		return time.Time{}
	}
	for changed > 0 && math.IsNaN(values[changed-1]) {
		changed--
	}
	if changed == 0 {
		return time.Time{}
	}
	return h.raw.Time(changed)
}

// sameValue reports whether a and b are the same value, NaN (missing)
// being the same as NaN.
func sameValue(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b)
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
