package forecast

import (
	"math"
	"time"
)

// Weights and windows of the baseline model (DESIGN.md, "Baseline model").
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
type Baseline struct{}

// Name returns "baseline".
func (Baseline) Name() string { return "baseline" }

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
func (Baseline) Predict(history Series, n int) ([]float64, error) {
	if err := validHistory(history); err != nil {
		return nil, err
	}
	short, long := emas(history.Values, emaPoints(baselineShortWindow, history.Step), emaPoints(baselineLongWindow, history.Step))
	base := baselineShortWeight*short + (1-baselineShortWeight)*long
	last := history.Values[len(history.Values)-1]
	rising := short > long

	var hours *hourMeans
	if time.Duration(len(history.Values))*history.Step >= baselineHourSpan {
		hours = newHourMeans(history)
	}
	out := make([]float64, n)
	for i := range out {
		y := base
		if mean, ok := hours.at(history.End().Add(time.Duration(i) * history.Step)); ok {
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
	return out, nil
}

// emaPoints returns the number of points a window spans at step, at least 1.
func emaPoints(window, step time.Duration) int {
	return max(1, int(window/step))
}

// emas returns the exponential moving averages of values with α = 2/(n+1)
// for n = n1 and n = n2, each seeded with the first value. One pass computes
// both: the two chains of additions overlap in the processor.
func emas(values []float64, n1, n2 int) (float64, float64) {
	a1, a2 := 2/float64(n1+1), 2/float64(n2+1)
	avg1, avg2 := values[0], values[0]
	for _, v := range values[1:] {
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

func newHourMeans(s Series) *hourMeans {
	h := &hourMeans{}
	// The UTC hour of each point, counted along: a call of Time.Hour, or a
	// division, per point would cost more than the rest of the model.
	const hourNs = int64(time.Hour)
	at := s.Start.UnixNano()
	rem := ((at % hourNs) + hourNs) % hourNs            // time into the hour
	hour := int((((at - rem) / hourNs % 24) + 24) % 24) // floor, also before 1970
	step := int64(s.Step)
	for _, v := range s.Values {
		h.count[hour]++
		h.mean[hour] += (v - h.mean[hour]) / float64(h.count[hour])
		for rem += step; rem >= hourNs; rem -= hourNs {
			if hour++; hour == 24 {
				hour = 0
			}
		}
	}
	return h
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
