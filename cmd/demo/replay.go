package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	from := sort.Search(len(points), func(i int) bool { return points[i].T.After(position.Add(-history)) })
	live := sort.Search(len(points), func(i int) bool { return points[i].T.After(position) })
	r := &replay{points: points[from:], shift: shift, split: live - from}
	r.totals = trace.Counter(r.points)
	return r, nil
}

// history returns the points to backfill: those in (now - history, now].
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

// serveTarget serves the live replay at addr/metrics as the counter
// metricName_total, as the application Prometheus scrapes; the returned
// function stops it.
func serveTarget(r *replay, addr string) (func(), error) {
	reg := prometheus.NewRegistry()
	counter := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: metricName + "_total",
		Help: "HTTP requests served, replayed from the NASA-HTTP trace.",
	}, func() float64 { return r.total(time.Now()) })
	if err := reg.Register(counter); err != nil {
		return nil, fmt.Errorf("serve the replay: %w", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve the replay: %w", err)
	}
	srv := &http.Server{
		Handler:           promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }()
	return func() { _ = srv.Close() }, nil
}
