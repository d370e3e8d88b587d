package forecast

import (
	"math"
	"time"
)

// Weights and windows of the baseline model: EMAs over 5 and 30 minutes
// (α = 2/(N+1), N = window/step points), blended 0.7/0.3, then 0.8/0.2 with
// the mean of the same hour of the day where a day of history exists.
const (
	baselineShortWindow = 5 * time.Minute
	baselineLongWindow  = 30 * time.Minute
	baselineShortWeight = 0.7 // base = 0.7·EMA5m + 0.3·EMA30m
	baselineHourWeight  = 0.2 // yhat = 0.8·base + 0.2·mean of the hour
	// baselineHourSpan is the history the hour-of-day term needs: a full day
	// (points × step), so that every hour of the day has been seen.
	baselineHourSpan = 24 * time.Hour
)

// Baseline is the original specification's model: a blend of a 5-minute and a
// 30-minute exponential moving average, pulled towards the mean of the same
// hour of the day once a day of history exists, and floored at the last value
// while the load rises (a moving average lags a rising series). It is
// deterministic and needs a single point of history.
//
// Its averages are carried between predictions, as Holt-Winters carries its
// smoothing state: they are computed over the whole history at the first
// prediction, at each refit boundary of opts and whenever the history
// changed before the point they were kept at (see Series.Unchanged), and
// otherwise brought on by the points that are new since, so a prediction
// costs O(new points + opts.Settle + n). Between two full computations the
// hour means therefore also count the points that have left the window
// since the last one. A zero Baseline computes everything at every
// prediction. A Baseline is not safe for concurrent use.
type Baseline struct {
	opts  ModelOptions
	carry baselineCarry
	// frozen carries the averages across refit boundaries (auto's
	// evaluation, which recomputes them in full at its first origin).
	frozen bool
}

// baselineCarry is what a Baseline keeps between predictions: its averages
// over the history up to at, computed in full on the history ending at
// anchored.
type baselineCarry struct {
	ok           bool
	at, anchored time.Time
	step         time.Duration
	short, long  float64
	hours        hourMeans
}

// NewBaseline returns a baseline that computes its averages in full on the
// refit schedule of opts, and carries them between.
func NewBaseline(opts ModelOptions) *Baseline {
	return &Baseline{opts: opts}
}

// Name returns "baseline".
func (*Baseline) Name() string { return ModelBaseline }

// Predict returns n values for history.End() + i·Step:
//
//	EMA_N   with α = 2/(N+1), N = window/step points (5 m and 30 m)
//	base    = 0.7·EMA5m + 0.3·EMA30m
//	yhat(t) = 0.8·base + 0.2·mean(values in hour-of-day of t)   (points × step ≥ 24 h)
//	        = base                                              (otherwise)
//	yhat(t) = max(yhat(t), last)   while EMA5m > EMA30m (rising)
//	yhat(t) = max(yhat(t), 0)
//
// Hours are UTC hours.
func (b *Baseline) Predict(history Series, n int) ([]float64, error) {
	if err := validHistory(history); err != nil {
		return nil, err
	}
	return b.predictValid(history, n), nil
}

// predictValid is Predict of a history validHistory accepts.
func (b *Baseline) predictValid(history Series, n int) []float64 {
	y, step := history.Values, history.Step
	n1, n2 := emaPoints(baselineShortWindow, step), emaPoints(baselineLongWindow, step)
	keep := max(len(y)-1-int(b.opts.Settle/step), 0)
	c := &b.carry
	if done, ok := b.carried(history); ok {
		keep = max(keep, done)
		c.short, c.long = emasFrom(c.short, c.long, y[done+1:keep+1], n1, n2)
		c.hours.add(history.Time(done+1), step, y[done+1:keep+1])
	} else {
		*c = baselineCarry{ok: true, anchored: history.End(), step: step, short: y[0], long: y[0]}
		c.short, c.long = emasFrom(c.short, c.long, y[1:keep+1], n1, n2)
		c.hours.add(history.Start, step, y[:keep+1])
	}
	c.at = history.Time(keep)
	// The points after keep count for this forecast only.
	short, long := emasFrom(c.short, c.long, y[keep+1:], n1, n2)
	base := baselineShortWeight*short + (1-baselineShortWeight)*long
	last := y[len(y)-1]
	rising := short > long

	var hours *hourMeans
	if time.Duration(len(y))*step >= baselineHourSpan {
		tail := c.hours
		tail.add(history.Time(keep+1), step, y[keep+1:])
		hours = &tail
	}
	out := make([]float64, n)
	for i := range out {
		y := base
		if mean, ok := hours.at(history.End().Add(time.Duration(i) * step)); ok {
			y = (1-baselineHourWeight)*base + baselineHourWeight*mean
		}
		if rising {
			y = math.Max(y, last)
		}
		if notFinite(y) {
			y = last // only for loads near the float64 limit
		}
		out[i] = math.Max(y, 0)
	}
	return out
}

// carried returns the index in history of the newest point the averages
// kept have counted, and whether they can carry on: same step, no refit
// boundary since they were computed in full, and computed from values
// history still holds unchanged.
func (b *Baseline) carried(history Series) (int, bool) {
	c := &b.carry
	if !c.ok || c.step != history.Step || history.Unchanged.IsZero() || !c.at.Before(history.Unchanged) ||
		c.at.Before(history.Start) || c.at.After(history.End()) || !b.frozen && RefitDue(c.anchored, history.End(), b.opts) {
		return 0, false
	}
	return int(c.at.Sub(history.Start) / history.Step), true
}

// emaPoints returns the number of points a window spans at step, at least 1.
func emaPoints(window, step time.Duration) int {
	return max(1, int(window/step))
}

// emasFrom brings on the exponential moving averages avg1 and avg2, with
// α = 2/(n+1) for n = n1 and n = n2, by values. One pass computes both: the
// two chains of additions overlap in the processor.
func emasFrom(avg1, avg2 float64, values []float64, n1, n2 int) (float64, float64) {
	a1, a2 := 2/float64(n1+1), 2/float64(n2+1)
	for _, v := range values {
		avg1 += a1 * (v - avg1)
		avg2 += a2 * (v - avg2)
	}
	return avg1, avg2
}

// hourMeans holds the mean load of each UTC hour of the day.
type hourMeans struct {
	mean  [24]float64 // kept as a running mean: a sum could overflow
	count [24]int
}

// add counts values, the first at start and the others step apart, in the
// means of their UTC hours.
func (h *hourMeans) add(start time.Time, step time.Duration, values []float64) {
	// The UTC hour of each point, counted along: a call of Time.Hour, or a
	// division, per point would cost more than the rest of the model.
	const hourNs = int64(time.Hour)
	at := start.UnixNano()
	rem := ((at % hourNs) + hourNs) % hourNs            // time into the hour
	hour := int((((at - rem) / hourNs % 24) + 24) % 24) // floor, also before 1970
	for _, v := range values {
		h.count[hour]++
		h.mean[hour] += (v - h.mean[hour]) / float64(h.count[hour])
		for rem += int64(step); rem >= hourNs; rem -= hourNs {
			if hour++; hour == 24 {
				hour = 0
			}
		}
	}
}

// at returns the mean load of the hour of t, and false when h is nil or that
// hour was never seen.
func (h *hourMeans) at(t time.Time) (float64, bool) {
	if h == nil {
		return 0, false
	}
	hour := t.UTC().Hour()
	if h.count[hour] == 0 {
		return 0, false
	}
	return h.mean[hour], true
}
