// Package forecast holds the forecasting models (baseline, Holt-Winters,
// seasonal naive, auto), their load history series, the online accuracy
// tracker and prediction intervals, and the Snapshot a forecast is
// published as. It does no I/O and imports only the standard library and
// gonum.
package forecast

import (
	"errors"
	"math"
	"time"
)

// ErrNoData is returned when a history holds no usable value at all.
var ErrNoData = errors.New("no data")

// Series is a load history on a regular time grid: Values[i] is the load at
// Start + i·Step. NaN marks a step with no observation.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
	// Unchanged, when not zero, says that every value before this time is
	// the one the previous Series of the same history, given to the same
	// model, held at that time: the history moved on, or changed only from
	// Unchanged on. A model that carries its state between predictions
	// keeps what it computed from those values. Zero: any value may differ.
	Unchanged time.Time
}

// Time returns the time of Values[i].
func (s Series) Time(i int) time.Time {
	return s.Start.Add(time.Duration(i) * s.Step)
}

// End returns the time of the last value.
func (s Series) End() time.Time {
	return s.Time(len(s.Values) - 1)
}

// Repairs says what Fill did to a series.
type Repairs struct {
	// Leading is the number of missing steps trimmed from the start: the
	// history is shorter than asked, which is not an error.
	Leading int
	// Trailing is the number of missing steps trimmed from the end: the
	// newest data is older than the end of the range asked for.
	Trailing int
	// Interpolated is the number of missing steps inside the series that
	// were filled by straight lines between their neighbours.
	Interpolated int
}

// Fill returns a copy of s with no NaN: missing steps at either end are trimmed
// and missing steps inside are linearly interpolated. It returns ErrNoData when
// s holds no value at all.
func (s Series) Fill() (Series, Repairs, error) {
	return s.Refill(Series{}, 0, nil)
}

// Refill is Fill for a series whose values before index from are the ones
// the series prev was filled from held at the same times (a window that
// moved on, or changed only from from on): it takes the filled values
// before from from prev and fills only the rest, so that it costs
// O(len(s) − from) besides a copy. The result is in dst when dst has room
// (prev's array may be dst); Repairs.Interpolated counts only the points
// filled anew. from ≤ 0, or a prev that does not hold those times, fills
// everything.
func (s Series) Refill(prev Series, from int, dst []float64) (Series, Repairs, error) {
	first, last := 0, len(s.Values)-1
	for first <= last && math.IsNaN(s.Values[first]) {
		first++
	}
	for last >= first && math.IsNaN(s.Values[last]) {
		last--
	}
	if first > last {
		return Series{}, Repairs{}, ErrNoData
	}
	// The missing points just before from lean on its value: fill them too.
	from = min(from, last+1)
	for from > first && math.IsNaN(s.Values[from-1]) {
		from--
	}
	n := last - first + 1
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	out := Series{Start: s.Time(first), Step: s.Step, Values: dst[:n], Unchanged: s.Unchanged}
	reused := 0 // out.Values[:reused] come from prev
	if k := int(out.Start.Sub(prev.Start) / s.Step); from > first && prev.Step == s.Step && !out.Start.Before(prev.Start) &&
		k+from-first <= len(prev.Values) {
		reused = copy(out.Values, prev.Values[k:k+from-first])
	}
	copy(out.Values[reused:], s.Values[first+reused:last+1])
	r := Repairs{Leading: first, Trailing: len(s.Values) - 1 - last}
	prevAt := max(reused-1, 0) // index in out of the last value seen
	for i := prevAt + 1; i < n; i++ {
		if math.IsNaN(out.Values[i]) {
			continue
		}
		if gap := i - prevAt - 1; gap > 0 {
			// A straight line from out.Values[prevAt] to out.Values[i].
			slope := (out.Values[i] - out.Values[prevAt]) / float64(i-prevAt)
			for j := prevAt + 1; j < i; j++ {
				out.Values[j] = out.Values[prevAt] + slope*float64(j-prevAt)
			}
			r.Interpolated += gap
		}
		prevAt = i
	}
	return out, r, nil
}

// prefix returns the history up to and including its point i, as a model
// sees it after the prefix up to point previous (none when negative): the
// values before previous+1 are unchanged.
func (s Series) prefix(i, previous int) Series {
	p := Series{Start: s.Start, Step: s.Step, Values: s.Values[:i+1]}
	if previous >= 0 {
		p.Unchanged = s.Time(previous + 1)
	}
	return p
}

// notFinite reports whether v is NaN or ±Inf.
func notFinite(v float64) bool {
	return math.IsNaN(v) || math.IsInf(v, 0)
}

// At returns the value of s at t, linearly between its two nearest points,
// and false when t is outside s or a neighbouring point is NaN.
func (s Series) At(t time.Time) (float64, bool) {
	if len(s.Values) == 0 || t.Before(s.Start) || t.After(s.End()) {
		return 0, false
	}
	pos := float64(t.Sub(s.Start)) / float64(s.Step)
	i := int(pos)
	if i >= len(s.Values)-1 {
		v := s.Values[len(s.Values)-1]
		return v, !math.IsNaN(v)
	}
	frac := pos - float64(i)
	v := s.Values[i] + frac*(s.Values[i+1]-s.Values[i])
	if frac == 0 {
		v = s.Values[i]
	}
	return v, !math.IsNaN(v)
}
