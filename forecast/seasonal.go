package forecast

import (
	"math"
	"time"
)

// Seasons the seasonal models know.
const (
	day  = 24 * time.Hour
	week = 7 * day
)

// SeasonalNaive forecasts the load at a time as the load observed one season
// earlier: the same time last week when the history spans a week, else the
// same time yesterday when it spans a day, else the last value. It needs no
// fitting and is hard to beat on strongly periodic traffic.
type SeasonalNaive struct{}

// Name returns "seasonal_naive".
func (SeasonalNaive) Name() string { return ModelSeasonalNaive }

// Predict returns n values for history.End() + i·Step: value i is the
// history value k seasons before it, with k the fewest whole seasons that
// reach back into the history (k = ceil(i/m) for a season of m steps).
func (s SeasonalNaive) Predict(history Series, n int) ([]float64, error) {
	if err := validHistory(history); err != nil {
		return nil, err
	}
	return s.predictValid(history, n), nil
}

// predictValid is Predict of a history validHistory accepts.
func (SeasonalNaive) predictValid(history Series, n int) []float64 {
	last := len(history.Values) - 1
	m := seasonFor(len(history.Values), history.Step, 1)
	out := make([]float64, n)
	for i := range out {
		if m == 0 {
			out[i] = math.Max(history.Values[last], 0)
			continue
		}
		k := (i + m - 1) / m
		out[i] = math.Max(history.Values[last+i-k*m], 0)
	}
	return out
}

// seasonFor returns the longest season, in steps, of which the history of
// points at step holds at least cycles whole cycles: a week, else a day, else
// 0 (none). A season is whole steps of at least 2.
func seasonFor(points int, step time.Duration, cycles int) int {
	for _, s := range []time.Duration{week, day} {
		if s%step != 0 {
			continue
		}
		m := int(s / step)
		if m >= 2 && points >= cycles*m {
			return m
		}
	}
	return 0
}
