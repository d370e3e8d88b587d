// Package backtest replays a load history through the forecaster's own
// engine and capacity planner, simulates the pods each scaling policy would
// have had ready, and scores the forecasts and the policies: Kedastral's
// predictive plan, a reactive HPA-style policy and a perfect-foresight oracle.
package backtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/trace"
)

// maxGridPoints bounds the grid a trace is laid on: a year of minutes.
const maxGridPoints = 366 * 24 * 60

// FromPoints lays trace points on a regular grid: the step is the smallest
// time between two points, every point must fall on the grid from the first
// one, and steps with no point are NaN.
func FromPoints(points []trace.Point) (forecast.Series, error) {
	if len(points) < 2 {
		return forecast.Series{}, fmt.Errorf("trace has %d points, want at least 2", len(points))
	}
	step := time.Duration(math.MaxInt64)
	for i := 1; i < len(points); i++ {
		step = min(step, points[i].T.Sub(points[i-1].T))
	}
	if step <= 0 {
		return forecast.Series{}, errors.New("trace timestamps are not increasing")
	}
	start := points[0].T
	n := points[len(points)-1].T.Sub(start)/step + 1
	if n > maxGridPoints {
		return forecast.Series{}, fmt.Errorf("trace spans %d steps of %s, over the limit of %d", n, step, maxGridPoints)
	}
	values := make([]float64, n)
	for i := range values {
		values[i] = math.NaN()
	}
	for _, p := range points {
		offset := p.T.Sub(start)
		if offset%step != 0 {
			return forecast.Series{}, fmt.Errorf("point at %s is not on the grid of %s steps from %s",
				p.T.Format(time.RFC3339), step, start.Format(time.RFC3339))
		}
		values[offset/step] = p.V
	}
	return forecast.Series{Start: start, Step: step, Values: values}, nil
}

// memorySource serves a series to the engine as a Prometheus would serve a
// stored one: the range asked for, never a point after its end.
type memorySource struct {
	s forecast.Series
}

// Range returns the values of the grid from start to end; steps outside the
// series are NaN.
func (m memorySource) Range(_ context.Context, start, end time.Time, step time.Duration) (forecast.Series, error) {
	if step != m.s.Step {
		return forecast.Series{}, fmt.Errorf("step %s asked of a series of %s steps", step, m.s.Step)
	}
	n := int(end.Sub(start)/step) + 1
	first := int(start.Sub(m.s.Start) / step)
	if first >= 0 && first+n <= len(m.s.Values) && m.s.Time(first).Equal(start) {
		// The engine copies what it keeps (Series.Fill): no need to here.
		return forecast.Series{Start: start, Step: step, Values: m.s.Values[first : first+n]}, nil
	}
	out := forecast.Series{Start: start, Step: step, Values: make([]float64, n)}
	for i := range out.Values {
		j := first + i
		if j < 0 || j >= len(m.s.Values) {
			out.Values[i] = math.NaN()
			continue
		}
		out.Values[i] = m.s.Values[j]
	}
	return out, nil
}

// valueAt returns the value of s at index i, NaN outside it.
func valueAt(s forecast.Series, i int) float64 {
	if i < 0 || i >= len(s.Values) {
		return math.NaN()
	}
	return s.Values[i]
}

// known reports whether v is an observation (not NaN).
func known(v float64) bool { return !math.IsNaN(v) }

// allKnown reports whether every value is an observation.
func allKnown(values ...float64) bool { return !slices.ContainsFunc(values, math.IsNaN) }
