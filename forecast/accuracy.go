package forecast

import (
	"math"
	"slices"
	"time"
)

// minIntervalSamples is the fewest judged forecasts at a horizon from which
// the prediction interval at that horizon is drawn.
const minIntervalSamples = 10

// Tracker remembers the forecasts of one workload, compares each value with
// the load then observed, and keeps the pairs of the last window per horizon:
// the online accuracy (WAPE and bias) and the prediction intervals come from
// them. A Tracker is not safe for concurrent use: each engine has its own.
type Tracker struct {
	step   time.Duration
	window time.Duration
	// pending are the forecasts whose values are not all judged yet, oldest
	// first.
	pending []pendingForecast
	// judged[i] holds the pairs of forecasts made i steps ahead, oldest first.
	judged [][]judgedPair
}

type pendingForecast struct {
	at     time.Time // when values[0] applies
	values []float64
	next   int // the first value not judged yet
}

type judgedPair struct {
	at               int64 // the time the value forecast, Unix nanoseconds
	forecast, actual float64
}

// NewTracker returns a Tracker for forecasts of values at step intervals,
// keeping what it judged over window.
func NewTracker(step, window time.Duration) *Tracker {
	return &Tracker{step: step, window: window}
}

// Remember records a forecast: values[i] is the load forecast at at + i·step.
// A forecast from the same origin as the newest one remembered (a second
// tick within a step) replaces its values not yet judged, so that each
// origin is judged once: at a 30 s interval and one-minute steps, half the
// pairs, and none counted twice.
func (t *Tracker) Remember(at time.Time, values []float64) {
	if len(t.judged) < len(values) {
		t.judged = append(t.judged, make([][]judgedPair, len(values)-len(t.judged))...)
	}
	if n := len(t.pending); n > 0 && t.pending[n-1].at.Equal(at) && len(t.pending[n-1].values) == len(values) {
		last := &t.pending[n-1]
		copy(last.values[last.next:], values[last.next:])
		return
	}
	t.pending = append(t.pending, pendingForecast{at: at, values: slices.Clone(values)})
}

// Observe judges every remembered value whose time history now covers,
// taking the actual load at that time from history (linearly between its
// points), and forgets pairs older than the window.
func (t *Tracker) Observe(history Series) {
	if len(history.Values) == 0 {
		return
	}
	end := history.End()
	kept := t.pending[:0]
	for _, p := range t.pending {
		for ; p.next < len(p.values); p.next++ {
			at := p.at.Add(time.Duration(p.next) * t.step)
			if at.After(end) {
				break
			}
			actual, ok := history.At(at)
			if !ok {
				continue // before the history: nothing to judge it by
			}
			t.judged[p.next] = append(t.judged[p.next], judgedPair{at: at.UnixNano(), forecast: p.values[p.next], actual: actual})
		}
		if p.next < len(p.values) {
			kept = append(kept, p)
		}
	}
	clear(t.pending[len(kept):])
	t.pending = kept
	oldest := end.Add(-t.window).UnixNano()
	for i, pairs := range t.judged {
		drop := 0
		for drop < len(pairs) && pairs[drop].at < oldest {
			drop++
		}
		if drop > 0 {
			t.judged[i] = slices.Delete(pairs, 0, drop)
		}
	}
}

// Accuracy returns, for every horizon with judged forecasts whose actual
// load was not all zero, the WAPE and bias over the window.
func (t *Tracker) Accuracy() []HorizonAccuracy {
	var out []HorizonAccuracy
	for i, pairs := range t.judged {
		var absErr, sumErr, absActual float64
		for _, p := range pairs {
			absErr += math.Abs(p.forecast - p.actual)
			sumErr += p.forecast - p.actual
			absActual += math.Abs(p.actual)
		}
		if len(pairs) == 0 || (absActual == 0 && absErr != 0) {
			continue
		}
		a := HorizonAccuracy{HorizonSeconds: (time.Duration(i) * t.step).Seconds(), Samples: len(pairs)}
		if absActual > 0 {
			a.ErrorRatio, a.BiasRatio = absErr/absActual, sumErr/absActual
		}
		if notFinite(a.ErrorRatio) || notFinite(a.BiasRatio) {
			continue // sums past the float64 limit
		}
		out = append(out, a)
	}
	return out
}

// Interval returns the bounds of a prediction interval around values: at
// each horizon, the value plus the lower and upper quantiles of the errors
// (actual − forecast) judged at that horizon, floored at 0. It returns nil,
// nil until every horizon has minIntervalSamples errors.
func (t *Tracker) Interval(values []float64, lowerQ, upperQ float64) (lower, upper []float64) {
	if len(t.judged) < len(values) {
		return nil, nil
	}
	errs := make([]float64, 0, 64)
	lower, upper = make([]float64, len(values)), make([]float64, len(values))
	for i, v := range values {
		if len(t.judged[i]) < minIntervalSamples {
			return nil, nil
		}
		errs = errs[:0]
		for _, p := range t.judged[i] {
			errs = append(errs, p.actual-p.forecast)
		}
		slices.Sort(errs)
		lower[i] = math.Max(v+quantile(errs, lowerQ), 0)
		upper[i] = math.Max(v+quantile(errs, upperQ), lower[i])
		if notFinite(lower[i]) || notFinite(upper[i]) {
			return nil, nil // errors near the float64 limit: no interval
		}
	}
	return lower, upper
}

// quantile returns the q-quantile of sorted, interpolating linearly between
// order statistics (the definition of numpy's default and R's type 7).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(i)
	return sorted[i] + frac*(sorted[i+1]-sorted[i])
}

// seedOrigins is how many more origins than horizon steps Seed replays, so
// that every horizon gets at least minIntervalSamples judged forecasts.
const seedOrigins = 2 * minIntervalSamples

// Seed judges the forecasts m would have made from the newest origins of
// history: from each of the last steps + 2·minIntervalSamples points, steps
// values ahead, as far as history reaches. A tracker that starts empty then
// has an interval and an accuracy from its first forecast rather than a
// horizon and ten ticks later. m is the workload's own model: Seed replays a
// copy of it (auto's active model, a Holt-Winters frozen at its last fit),
// so m is not changed.
func (t *Tracker) Seed(m Model, history Series, steps int) {
	m = replayCopy(m)
	last := len(history.Values) - 1
	if len(t.judged) < steps {
		t.judged = append(t.judged, make([][]judgedPair, steps-len(t.judged))...)
	}
	first := max(0, last-steps-seedOrigins)
	for o := first; o < last; o++ {
		previous := o - 1
		if o == first {
			previous = -1 // a fresh copy has seen nothing
		}
		past := history.prefix(o, previous)
		n := min(steps, last-o+1)
		values, err := m.Predict(past, n)
		if err != nil || len(values) != n {
			continue
		}
		for i, v := range values {
			at := history.Time(o + i).UnixNano()
			t.judged[i] = append(t.judged[i], judgedPair{at: at, forecast: v, actual: history.Values[o+i]})
		}
	}
	// Pairs must stay in time order per horizon for the window to expire
	// them; origins were replayed oldest first, so they are.
}
