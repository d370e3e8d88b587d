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
	// state is the smoothing state after the history up to carry.at, kept
	// between predictions.
	state hwState
	carry hwCarry
	// saved holds the season entries a prediction's tail run changes, to
	// put back after it.
	saved []float64
	// smoothed counts the points the last prediction smoothed (tests).
	smoothed int
}

// hwCarry says what the state kept between predictions was computed from:
// the history up to at, with these parameters, season and step.
type hwCarry struct {
	ok     bool
	at     time.Time
	params HoltWintersParams
	season int
	step   time.Duration
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
//
// The smoothing state is carried between predictions: after a fit, or when
// the history changed before the point the state was kept at (see
// Series.Unchanged), the state starts again from the start of the history
// (newHWInit) and smooths all of it; otherwise it smooths only the points
// that are new since, so a prediction costs O(new points + opts.Settle +
// n). The state is kept opts.Settle before the history's end: the points
// after it may still change, so each prediction smooths them again on a
// copy.
func (hw *HoltWinters) Predict(history Series, n int) ([]float64, error) {
	if err := validHistory(history); err != nil {
		return nil, err
	}
	return hw.predictValid(history, n), nil
}

// predictValid is Predict of a history validHistory accepts.
func (hw *HoltWinters) predictValid(history Series, n int) []float64 {
	y := history.Values
	out := make([]float64, n)
	if len(y) < hwMinPoints {
		for i := range out {
			out[i] = math.Max(y[len(y)-1], 0)
		}
		return out
	}
	m := seasonFor(len(y), history.Step, 2)
	fitted := false
	if hw.needsFit(history, m) && hw.opts.Fits.tryAcquire() {
		hw.fit(y, m, history.Step, max(1, int(hw.opts.EvalHorizon/history.Step)))
		hw.opts.Fits.release()
		hw.maxSeason, hw.step, hw.fittedAt, hw.fitted = m, history.Step, history.End(), true
		fitted = true
	}
	params, season := hw.params, hw.season
	if !hw.fitted || hw.step != history.Step || season > m {
		// No fit for this history yet (the fit limiter had no slot free):
		// the defaults, at the longest season it allows.
		params, season = defaultHoltWintersParams(), m
	}
	want := hwCarry{ok: true, params: params, season: season, step: history.Step}
	// keep is the index of the newest point the state is kept at: opts.Settle
	// before the end, and never inside the first season, which the start
	// of the state stands for.
	keep := max(len(y)-1-int(hw.opts.Settle/history.Step), max(season, 1)-1)
	st := &hw.state
	if done, ok := hw.carried(history, want); !fitted && ok {
		// Carry on from the state kept: smooth the points since, up to keep.
		keep = max(keep, done)
		st.advance(y[done+1:keep+1], season, params)
		hw.smoothed = keep - done
	} else {
		st.run(y[:keep+1], season, params, 1, 0, newHWInit(y, season))
		hw.smoothed = keep + 1
	}
	hw.smoothed += len(y) - 1 - keep
	want.at = history.Time(keep)
	hw.carry = want
	// The points after keep, smoothed on top of the state kept, then undone.
	level, trend, next := st.level, st.trend, st.next
	hw.saved = st.saveSeason(hw.saved, len(y)-1-keep)
	st.advance(y[keep+1:], season, params)
	st.forecast(out, season, params.Phi)
	st.level, st.trend, st.next = level, trend, next
	st.restoreSeason(hw.saved)
	return out
}

// carried returns the index in history of the newest point the kept state
// has smoothed, and whether the state can carry on: it was computed with
// the same parameters, season and step, from values history still holds
// unchanged.
func (hw *HoltWinters) carried(history Series, want hwCarry) (int, bool) {
	c := hw.carry
	c.at = time.Time{}
	if c != want || history.Unchanged.IsZero() || !hw.carry.at.Before(history.Unchanged) ||
		hw.carry.at.Before(history.Start) || hw.carry.at.After(history.End()) {
		return 0, false
	}
	return int(hw.carry.at.Sub(history.Start) / history.Step), true
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
