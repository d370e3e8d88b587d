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
	first, last := -1, -1
	for i, v := range s.Values {
		if !math.IsNaN(v) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return Series{}, Repairs{}, ErrNoData
	}
	out := Series{
		Start:  s.Time(first),
		Step:   s.Step,
		Values: make([]float64, last-first+1),
	}
	copy(out.Values, s.Values[first:last+1])
	r := Repairs{Leading: first, Trailing: len(s.Values) - 1 - last}
	prev := 0 // index in out of the last value seen
	for i := 1; i < len(out.Values); i++ {
		if math.IsNaN(out.Values[i]) {
			continue
		}
		if gap := i - prev - 1; gap > 0 {
			// A straight line from out.Values[prev] to out.Values[i].
			slope := (out.Values[i] - out.Values[prev]) / float64(i-prev)
			for j := prev + 1; j < i; j++ {
				out.Values[j] = out.Values[prev] + slope*float64(j-prev)
			}
			r.Interpolated += gap
		}
		prev = i
	}
	return out, r, nil
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
