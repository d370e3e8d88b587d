package main

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/HatiCode/kedastral/internal/trace"
)

const day = 24 * time.Hour

// replay maps a trace onto the present, shifted by a whole number of days so
// that hours of the day keep their meaning, and plays it as a counter: the
// history before now is backfilled, the rest streams live. After the end of
// the trace, the counter stays at its last total.
type replay struct {
	points []trace.Point // from the start of the history to the end of the trace
	totals []float64     // running totals of points
	shift  time.Duration // trace time + shift = wall time
}

// newReplay shifts the trace by the most whole days that leave at least
// history of it before now, so that as much of it as possible plays after.
func newReplay(points []trace.Point, history time.Duration, now time.Time) (*replay, error) {
	if len(points) == 0 {
		return nil, errors.New("the trace is empty")
	}
	first, last := points[0].T, points[len(points)-1].T
	if last.Sub(first) <= history {
		return nil, fmt.Errorf("the trace spans %s, not more than --history %s", last.Sub(first), history)
	}
	// The trace time played now, now - shift, lands within a day after first + history.
	spare := now.Sub(first.Add(history))
	days := int64(spare / day)
	if spare%day < 0 {
		days-- // floor, where division truncates towards zero
	}
	shift := time.Duration(days) * day
	position := now.Add(-shift)
	if !position.Before(last) {
		return nil, fmt.Errorf("--history %s leaves nothing of the trace to replay after it at this time of day; choose a shorter one", history)
	}
	// The counter starts from zero at the start of the history.
	from := sort.Search(len(points), func(i int) bool { return points[i].T.After(position.Add(-history)) })
	r := &replay{points: points[from:], shift: shift}
	r.totals = trace.Counter(r.points)
	return r, nil
}

// total returns the counter at wall time t: the running total of the last
// point played, plus the share of the next point's value already elapsed.
func (r *replay) total(t time.Time) float64 {
	at := t.Add(-r.shift)
	k := sort.Search(len(r.points), func(i int) bool { return r.points[i].T.After(at) }) - 1
	switch {
	case k < 0:
		return 0
	case k == len(r.points)-1:
		return r.totals[k]
	}
	next := r.points[k+1]
	share := float64(at.Sub(r.points[k].T)) / float64(next.T.Sub(r.points[k].T))
	return r.totals[k] + next.V*share
}

// perMinute returns the mean value of the trace points in the window before
// wall time t: what sum(rate(...[window])) * 60 should show then.
func (r *replay) perMinute(t time.Time, window time.Duration) float64 {
	at := t.Add(-r.shift)
	from := sort.Search(len(r.points), func(i int) bool { return r.points[i].T.After(at.Add(-window)) })
	to := sort.Search(len(r.points), func(i int) bool { return r.points[i].T.After(at) })
	if to <= from {
		return 0
	}
	return (r.totals[to-1] - r.totals[from] + r.points[from].V) / float64(to-from)
}
