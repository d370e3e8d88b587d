package backtest

import (
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
)

// Days in steps, for the naive baselines.
const (
	day  = 24 * time.Hour
	week = 7 * day
)

// scoreForecast scores, at every test step T with a load, the forecast of
// it made evalK steps earlier, and the naive forecasts on the same points:
// the load at the forecast's origin, a day before T and a week before T.
// A point is scored only when all of them exist.
func (r *run) scoreForecast() (ForecastScore, []ScoredPoint) {
	dayK, weekK := lagSteps(day, r.step), lagSteps(week, r.step)
	var points []ScoredPoint
	var absErr, sumErr, absActual float64
	var naive [3]float64
	var inside, withInterval int
	for T := r.test; T < len(r.history.Values); T++ {
		o := T - r.evalK
		t := r.ticks[o-r.warm]
		actual := r.history.Values[T]
		last := valueAt(r.history, o)
		yesterday, lastWeek := valueAt(r.history, T-dayK), valueAt(r.history, T-weekK)
		if !t.ok || !allKnown(actual, last) ||
			(dayK > 0 && T-dayK >= 0 && !known(yesterday)) || (weekK > 0 && T-weekK >= 0 && !known(lastWeek)) {
			continue
		}
		points = append(points, ScoredPoint{T: r.history.Time(T), Actual: actual, Forecast: t.forecast, Lower: t.lower, Upper: t.upper})
		absErr += math.Abs(t.forecast - actual)
		sumErr += t.forecast - actual
		absActual += math.Abs(actual)
		naive[0] += math.Abs(last - actual)
		naive[1] += math.Abs(yesterday - actual)
		naive[2] += math.Abs(lastWeek - actual)
		if known(t.lower) {
			withInterval++
			if actual >= t.lower && actual <= t.upper {
				inside++
			}
		}
	}
	score := ForecastScore{
		Horizon:        model.Duration(time.Duration(r.evalK) * r.step).String(),
		HorizonSeconds: (time.Duration(r.evalK) * r.step).Seconds(),
		Points:         len(points),
		IntervalPoints: withInterval,
		Models:         r.models,
		FailedTicks:    r.failed,
	}
	if len(points) == 0 || absActual == 0 {
		return score, points
	}
	score.WAPE, score.Bias = absErr/absActual, sumErr/absActual
	if scale := r.naiveMAE(); scale > 0 {
		score.MASE = absErr / float64(len(points)) / scale
	}
	ratio := func(v float64) *float64 { v /= absActual; return &v }
	score.Baselines.LastValue = ratio(naive[0])
	if dayK > 0 && r.test-dayK >= 0 {
		score.Baselines.SameTimeYesterday = ratio(naive[1])
	}
	if weekK > 0 && r.test-weekK >= 0 {
		score.Baselines.SameTimeLastWeek = ratio(naive[2])
	}
	if withInterval > 0 {
		c := float64(inside) / float64(withInterval)
		score.Coverage = &c
	}
	return score, points
}

// lagSteps returns lag in steps, or 0 when step does not divide it.
func lagSteps(lag, step time.Duration) int {
	if lag%step != 0 {
		return 0
	}
	return int(lag / step)
}

// naiveMAE returns the mean absolute error of the one-step naive forecast
// over the training part: the scale of MASE.
func (r *run) naiveMAE() float64 {
	sum, n := 0.0, 0
	for i := 1; i < r.test; i++ {
		a, b := r.history.Values[i-1], r.history.Values[i]
		if allKnown(a, b) {
			sum += math.Abs(b - a)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// sweep scores both policies at each headroom, the predictive one on each
// basis, and each policy's under-provisioning at the others' cost.
func (r *run) sweep(headrooms []float64) ([]SweepPoint, error) {
	out := make([]SweepPoint, 0, len(headrooms))
	for _, h := range headrooms {
		p, _, err := r.policies(h, capacity.BasisForecast, false)
		if err != nil {
			return nil, err
		}
		u, _, err := r.policies(h, capacity.BasisUpper, false)
		if err != nil {
			return nil, err
		}
		a, _, err := r.policies(h, capacity.BasisAuto, false)
		if err != nil {
			return nil, err
		}
		out = append(out, SweepPoint{Headroom: h, Predictive: p.Predictive, PredictiveUpper: u.Predictive,
			PredictiveAuto: a.Predictive, Reactive: p.Reactive})
	}
	curve := func(get func(SweepPoint) PolicyScore) []PolicyScore {
		c := make([]PolicyScore, len(out))
		for i, p := range out {
			c[i] = get(p)
		}
		slices.SortFunc(c, func(a, b PolicyScore) int { return cmpFloat(a.ReplicaHours, b.ReplicaHours) })
		return c
	}
	reactive := curve(func(p SweepPoint) PolicyScore { return p.Reactive })
	predictive := curve(func(p SweepPoint) PolicyScore { return p.Predictive })
	upper := curve(func(p SweepPoint) PolicyScore { return p.PredictiveUpper })
	auto := curve(func(p SweepPoint) PolicyScore { return p.PredictiveAuto })
	for i := range out {
		out[i].ReactiveAtEqualCost = interpolate(reactive, out[i].Predictive.ReplicaHours)
		out[i].PredictiveAtReactiveCost = interpolate(predictive, out[i].Reactive.ReplicaHours)
		out[i].PredictiveUpperAtReactiveCost = interpolate(upper, out[i].Reactive.ReplicaHours)
		out[i].PredictiveAutoAtReactiveCost = interpolate(auto, out[i].Reactive.ReplicaHours)
	}
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// interpolate returns the under-provisioned ratio of the sorted scores at
// replica-hours x, linearly between the two around it; nil outside them.
func interpolate(sorted []PolicyScore, x float64) *float64 {
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if x < a.ReplicaHours || x > b.ReplicaHours {
			continue
		}
		v := a.UnderProvisionedRatio
		if b.ReplicaHours > a.ReplicaHours {
			v += (x - a.ReplicaHours) / (b.ReplicaHours - a.ReplicaHours) * (b.UnderProvisionedRatio - a.UnderProvisionedRatio)
		}
		return &v
	}
	return nil
}
