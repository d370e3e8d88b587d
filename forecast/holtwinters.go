package forecast

import (
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/optimize"
)

// Fitting budget of Holt-Winters: Nelder-Mead evaluations of the in-sample
// error per parameter fitted, for a first fit and for a refit that starts
// from the last fit.
const (
	hwColdEvaluations = 20
	hwWarmEvaluations = 10
	// hwFitSeasons is how many seasons of the newest history a fit uses.
	hwFitSeasons = 2
	// hwFitPoints is the fewest newest points a fit uses, when the history
	// holds them (a week at five-minute steps).
	hwFitPoints = 2016
	// hwMinPoints is the shortest history worth fitting; below it the
	// forecast is the last value.
	hwMinPoints = 4
)

// HoltWintersParams are the smoothing parameters of Holt-Winters in error
// correction form (Hyndman et al., ETS(A,Ad,A)), bounded as there:
// 0 < Alpha < 1, 0 < Beta < Alpha, 0 < Gamma < 1 − Alpha, 0.8 ≤ Phi ≤ 0.98.
type HoltWintersParams struct {
	Alpha float64 // level
	Beta  float64 // trend
	Gamma float64 // season
	Phi   float64 // trend damping
}

// defaultHoltWintersParams start the first fit.
func defaultHoltWintersParams() HoltWintersParams {
	return HoltWintersParams{Alpha: 0.3, Beta: 0.01, Gamma: 0.1, Phi: 0.9}
}

// HoltWinters is triple exponential smoothing: a level, a damped trend and an
// additive season, whose parameters are fitted to the workload's own history
// with Nelder-Mead, minimising the absolute error of its forecasts at the
// evaluation horizon (the lead time). The seasons tried are a week once the
// history holds two weeks, a day once it holds two days, and none (damped
// Holt); the one that forecast best is kept. A fit is kept until the history
// is RefitInterval newer, or the seasons the history allows or its step
// change. A HoltWinters is not safe for concurrent use: each workload has its
// own.
type HoltWinters struct {
	opts ModelOptions
	// What the last fit found, and on which history: the parameters and
	// season in use, the last fit of each season tried (they start the next
	// fits), and the longest season the history allowed.
	params    HoltWintersParams
	season    int
	last      map[int]HoltWintersParams
	fitted    bool
	maxSeason int
	step      time.Duration
	fittedAt  time.Time
	// frozen keeps the fit for as long as the season and step hold.
	frozen bool
	// state is reused between predictions.
	state hwState
}

// NewHoltWinters returns a Holt-Winters model that refits on the schedule of
// opts.
func NewHoltWinters(opts ModelOptions) *HoltWinters {
	return &HoltWinters{opts: opts}
}

// Name returns "holt_winters".
func (*HoltWinters) Name() string { return ModelHoltWinters }

// Params returns the parameters of the last fit, and the season it used in
// steps (0 for none); ok is false before the first fit.
func (hw *HoltWinters) Params() (p HoltWintersParams, season int, ok bool) {
	return hw.params, hw.season, hw.fitted
}

// Predict returns n values for history.End() + i·Step, fitting the
// parameters first when the schedule says so:
//
//	ŷ(T+h) = ℓ(T) + (φ + φ² + … + φʰ)·b(T) + s(T+h−m⌈h/m⌉),  floored at 0
func (hw *HoltWinters) Predict(history Series, n int) ([]float64, error) {
	if err := validHistory(history); err != nil {
		return nil, err
	}
	y := history.Values
	out := make([]float64, n)
	if len(y) < hwMinPoints {
		for i := range out {
			out[i] = math.Max(y[len(y)-1], 0)
		}
		return out, nil
	}
	m := seasonFor(len(y), history.Step, 2)
	if hw.needsFit(history, m) && hw.opts.Fits.tryAcquire() {
		hw.fit(y, m, history.Step, max(1, int(hw.opts.EvalHorizon/history.Step)))
		hw.opts.Fits.release()
		hw.maxSeason, hw.step, hw.fittedAt, hw.fitted = m, history.Step, history.End(), true
	}
	params, season := hw.params, hw.season
	if !hw.fitted || hw.step != history.Step || season > m {
		// No fit for this history yet (the fit limiter had no slot free):
		// the defaults, at the longest season it allows.
		params, season = defaultHoltWintersParams(), m
	}
	st := &hw.state
	st.run(y, season, params, 1, 0, newHWInit(y, season))
	st.forecast(out, season, params.Phi)
	return out, nil
}

// needsFit reports whether the parameters must be fitted (again) before
// forecasting history with a season of m steps.
func (hw *HoltWinters) needsFit(history Series, m int) bool {
	switch {
	case !hw.fitted || m != hw.maxSeason || history.Step != hw.step:
		return true
	case hw.frozen:
		return false
	}
	return RefitDue(hw.fittedAt, history.End(), hw.opts)
}

// fit fits the parameters on y for each season the history allows — the
// season m, a day when m is a week, and none — and keeps the one whose
// forecasts h steps ahead had the least absolute error (the error WAPE
// counts) over the same points: a weekly season learns a daily cycle seven
// times slower than a daily one, and a season learned from noise only adds
// noise.
func (hw *HoltWinters) fit(y []float64, m int, step time.Duration, h int) {
	if m > 0 {
		// Two seasons (or 2016 points when more) are plenty to fit four
		// parameters, and cost less than a long history: the first half
		// starts the state, the second is judged.
		y = y[max(0, len(y)-max(hwFitSeasons*m, hwFitPoints)):]
	}
	// The start of every run is drawn from the whole seasons in the first
	// half of y (at least one), and the errors are counted after it: the
	// start must not know the values it is judged on.
	initEnd := max(m, len(y)/2/max(m, 1)*m, 1)
	from := initEnd + h
	seasons := []int{m}
	if d := int(day / step); m > 0 && m != d && day%step == 0 && d >= 2 {
		seasons = append(seasons, d)
	}
	if m > 0 {
		seasons = append(seasons, 0)
	}
	if hw.last == nil {
		hw.last = map[int]HoltWintersParams{}
	}
	best := math.Inf(1)
	for _, season := range seasons {
		p, loss := hw.fitSeason(y, season, h, from, newHWInit(y[:initEnd], season), hw.last[season])
		hw.last[season] = p
		if loss < best || season == m && math.IsInf(best, 1) {
			best, hw.params, hw.season = loss, p, season
		}
	}
}

// fitSeason minimises the loss of run over the parameters with Nelder-Mead,
// from last when it holds a fit (a cheaper refit), else from the defaults.
func (hw *HoltWinters) fitSeason(y []float64, m, h, from int, init *hwInit, last HoltWintersParams) (HoltWintersParams, float64) {
	start, evaluations := last, hwWarmEvaluations
	if start.Alpha == 0 {
		start, evaluations = defaultHoltWintersParams(), hwColdEvaluations
	}
	x0 := hwToX(start)
	if m == 0 {
		x0 = slices.Delete(x0, 2, 3) // no season: no γ
	}
	evaluations *= len(x0)
	var st hwState
	problem := optimize.Problem{
		Func: func(x []float64) float64 {
			return st.run(y, m, hwFromX(x), h, from, init)
		},
	}
	settings := &optimize.Settings{
		FuncEvaluations: evaluations,
		Converger:       &optimize.FunctionConverge{Relative: 1e-6, Iterations: 25},
	}
	// Running out of evaluations is an error to Minimize but not to us: the
	// best point found so far is still the best fit we can afford.
	result, _ := optimize.Minimize(problem, x0, settings, &optimize.NelderMead{})
	if result == nil || math.IsNaN(result.F) || math.IsInf(result.F, 0) {
		return start, st.run(y, m, start, h, from, init)
	}
	return hwFromX(result.X), result.F
}

// The optimiser works on unbounded x; these maps keep the parameters inside
// their bounds. Without a season, x has no γ: α, β, φ.
func hwFromX(x []float64) HoltWintersParams {
	alpha := sigmoid(x[0])
	p := HoltWintersParams{Alpha: alpha, Beta: alpha * sigmoid(x[1])}
	if len(x) == 3 {
		p.Phi = 0.8 + 0.18*sigmoid(x[2])
		return p
	}
	p.Gamma = (1 - alpha) * sigmoid(x[2])
	p.Phi = 0.8 + 0.18*sigmoid(x[3])
	return p
}

func hwToX(p HoltWintersParams) []float64 {
	return []float64{
		logit(p.Alpha),
		logit(p.Beta / p.Alpha),
		logit(p.Gamma / (1 - p.Alpha)),
		logit((p.Phi - 0.8) / 0.18),
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// logit is the inverse of sigmoid, kept finite at the bounds.
func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

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
