package main

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/internal/trace"
)

const day = 24 * time.Hour

// replay maps a trace onto the present, shifted by a whole number of days so
// that hours of the day keep their meaning, and plays it as a counter.
type replay struct {
	points []trace.Point // from the start of the history to the end of the trace
	totals []float64     // running totals of points
	shift  time.Duration // trace time + shift = wall time
	split  int           // points[:split] are history, backfilled; the rest play live
}

// newReplay places now so that at least history of the trace lies before it.
func newReplay(points []trace.Point, history time.Duration, now time.Time) (*replay, error) {
	if len(points) == 0 {
		return nil, errors.New("the trace is empty")
	}
	first, last := points[0].T, points[len(points)-1].T
	if last.Sub(first) <= history {
		return nil, fmt.Errorf("the trace spans %s, not more than --history %s", last.Sub(first), history)
	}
	// The most whole days that leave history of the trace before now - shift.
	days := math.Floor(float64(now.Sub(first.Add(history))) / float64(day))
	shift := time.Duration(days) * day
	position := now.Add(-shift) // trace time that plays now
	from := sort.Search(len(points), func(i int) bool { return !points[i].T.Before(position.Add(-history)) })
	live := sort.Search(len(points), func(i int) bool { return points[i].T.After(position) })
	r := &replay{points: points[from:], shift: shift, split: live - from}
	r.totals = trace.Counter(r.points)
	return r, nil
}

// history returns the points to backfill.
func (r *replay) history() []trace.Point {
	return r.points[:r.split]
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

// perMinute returns the trace's mean value over the minutes before wall time
// t: what sum(rate(...[window])) * 60 should show then.
func (r *replay) perMinute(t time.Time, window time.Duration) float64 {
	at := t.Add(-r.shift)
	sum, n := 0.0, 0
	for _, p := range r.points {
		if p.T.After(at.Add(-window)) && !p.T.After(at) {
			sum += p.V
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// collector exposes the replay as the counter name_total.
func (r *replay) collector(name, help string, now func() time.Time) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name + "_total", Help: help},
		func() float64 { return r.total(now()) })
}
