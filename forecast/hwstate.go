package forecast

import (
	"math"
	"slices"
)

// hwState is the level, trend and season after a run over a history.
type hwState struct {
	level, trend float64
	season       []float64
	// next is the index in season of the step after the history.
	next int
	// ahead holds the forecasts of the next h steps while running.
	ahead []float64
}

// hwInit is the state a run starts from, at the end of the first season.
type hwInit struct {
	level, trend float64
	season       []float64
}

// newHWInit returns the starting state of y for a season of m steps. The
// first season's mean is the level at its middle, and the change from the
// first season's mean to the last's gives the trend. Each phase of the season is the median,
// over every whole season of y, of its value less its season's mean and
// trend: one
// unusual week (a holiday) does not shape the season for weeks after it, as
// it would if the first season alone started it and γ is small. Without a
// season (m = 0), the level is y[0], the trend 0 and the season a single 0.
func newHWInit(y []float64, m int) *hwInit {
	if m == 0 {
		return &hwInit{level: y[0], season: []float64{0}}
	}
	cycles := len(y) / m
	means := make([]float64, cycles)
	for k := range means {
		means[k] = meanOf(y[k*m : (k+1)*m])
	}
	init := &hwInit{season: make([]float64, m)}
	if cycles >= 2 {
		init.trend = (means[cycles-1] - means[0]) / float64((cycles-1)*m)
	}
	middle := float64(m-1) / 2
	init.level = means[0] + init.trend*middle
	phase := make([]float64, cycles)
	for i := range init.season {
		for k := range phase {
			phase[k] = y[k*m+i] - (means[k] + init.trend*(float64(i)-middle))
		}
		init.season[i] = median(phase)
	}
	// Medians need not sum to 0; the level keeps the mean.
	shift := meanOf(init.season)
	for i := range init.season {
		init.season[i] -= shift
	}
	return init
}

// median returns the median of values, reordering them.
func median(values []float64) float64 {
	slices.Sort(values)
	n := len(values)
	if n%2 == 1 {
		return values[n/2]
	}
	return (values[n/2-1] + values[n/2]) / 2
}

// run smooths y from init with the parameters p and a season of m steps (0:
// none), and returns the sum of absolute errors of the forecasts it makes h
// steps ahead along the way (h ≥ 1), counted from y[from]. Without a season,
// the season is a single 0 that γ = 0 leaves alone, so one loop serves both.
func (st *hwState) run(y []float64, m int, p HoltWintersParams, h, from int, init *hwInit) float64 {
	first, period := 1, max(m, 1)
	level, trend := init.level, init.trend
	st.season = append(st.season[:0], init.season...)
	season := st.season
	gamma := p.Gamma
	if m > 0 {
		first = m
	} else {
		gamma = 0
	}
	// ahead[k] is the forecast of y[t] made h steps before, k = t mod h.
	st.ahead = slices.Grow(st.ahead[:0], h)[:h]
	ahead := st.ahead
	dampH, power := 0.0, 1.0 // φ + φ² + … + φʰ
	for range h {
		power *= p.Phi
		dampH += power
	}
	alpha, beta, phi := p.Alpha, p.Beta, p.Phi
	loss := 0.0
	lossFrom := max(first+h, from)
	j := 0           // index in season of y[t]
	jh := h % period // index in season of y[t+h]
	k := first % h   // index in ahead of y[t]
	for t := first; t < len(y); t++ {
		s := season[j]
		damped := phi * trend
		// Written so that the chain from one level to the next is short:
		// y[t]−s does not wait for it.
		pred := level + damped
		e := (y[t] - s) - pred
		if t >= lossFrom {
			loss += math.Abs(y[t] - ahead[k])
		}
		level = pred + alpha*e
		trend = damped + beta*e
		season[j] = s + gamma*e
		if j++; j == period {
			j = 0
		}
		// The forecast of y[t+h], from the state at t.
		ahead[k] = level + dampH*trend + season[jh]
		if jh++; jh == period {
			jh = 0
		}
		if k++; k == h {
			k = 0
		}
	}
	st.level, st.trend, st.next = level, trend, j
	if math.IsNaN(loss) {
		return math.Inf(1)
	}
	return loss
}

// advance smooths y on from the state, with the parameters p and a season
// of m steps (0: none): the loop of run, without the errors.
func (st *hwState) advance(y []float64, m int, p HoltWintersParams) {
	period, gamma := max(m, 1), p.Gamma
	if m == 0 {
		gamma = 0
	}
	level, trend, j := st.level, st.trend, st.next
	alpha, beta, phi := p.Alpha, p.Beta, p.Phi
	season := st.season
	for _, v := range y {
		s := season[j]
		damped := phi * trend
		pred := level + damped
		e := (v - s) - pred
		level = pred + alpha*e
		trend = damped + beta*e
		season[j] = s + gamma*e
		if j++; j == period {
			j = 0
		}
	}
	st.level, st.trend, st.next = level, trend, j
}

// saveSeason appends to saved the season entries the next n steps of a run
// change (all of them when n covers a season) and returns it.
func (st *hwState) saveSeason(saved []float64, n int) []float64 {
	saved = saved[:0]
	for i := range min(n, len(st.season)) {
		saved = append(saved, st.season[(st.next+i)%len(st.season)])
	}
	return saved
}

// restoreSeason puts back the entries saveSeason saved, with the state's
// next where it was then.
func (st *hwState) restoreSeason(saved []float64) {
	for i, v := range saved {
		st.season[(st.next+i)%len(st.season)] = v
	}
}

// forecast fills out with the forecast at the last point of the run (out[0])
// and the steps after it, floored at 0.
func (st *hwState) forecast(out []float64, m int, phi float64) {
	damping := 0.0 // φ + φ² + … + φⁱ
	power := 1.0
	for i := range out {
		if i > 0 {
			power *= phi
			damping += power
		}
		y := st.level + damping*st.trend
		if m > 0 {
			// The season of the last point is at next-1; of step i, at next-1+i.
			y += st.season[((st.next-1+i)%m+m)%m]
		}
		if math.IsNaN(y) || math.IsInf(y, 0) {
			y = 0
		}
		out[i] = math.Max(y, 0)
	}
}

func meanOf(values []float64) float64 {
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values))
}
