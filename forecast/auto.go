package forecast

import (
	"fmt"
	"math"
	"time"
)

// Rolling-origin evaluation of auto.
const (
	// autoOrigins is the most forecast origins auto judges the models at.
	autoOrigins = 96
	// autoMinOrigins is the fewest worth choosing by; with fewer, auto
	// keeps the baseline.
	autoMinOrigins = 4
	// autoSpan is the most recent history the origins are spread over.
	autoSpan = day
)

// ModelScore is how one model did in auto's last evaluation.
type ModelScore struct {
	Model string
	// WAPE is Σ|forecast − actual| / Σ|actual| at the evaluation horizon;
	// +Inf when the model failed.
	WAPE float64
}

// String returns the score as model=WAPE, for logs.
func (s ModelScore) String() string {
	return fmt.Sprintf("%s=%.4g", s.Model, s.WAPE)
}

// Auto chooses, per workload, the model that forecast its own recent history
// best: a rolling-origin backtest at the evaluation horizon (the lead time)
// over the most recent day of history, or its last quarter when shorter, at up
// to 96 origins, repeated every RefitInterval of data time. The baseline is
// kept while the history is too short to judge (fewer than 4 origins) and
// wins ties. An Auto is not safe for concurrent use.
type Auto struct {
	opts       ModelOptions
	candidates []Model
	active     int
	// predicted is the candidate that made the last forecast: only it may
	// carry its state from the history it saw then.
	predicted int
	chosen    bool
	chosenAt  time.Time
	step      time.Duration
	scores    []ModelScore
}

// NewAuto returns an auto model choosing on the schedule of opts.
func NewAuto(opts ModelOptions) *Auto {
	return &Auto{
		opts:       opts,
		candidates: []Model{NewBaseline(opts), NewHoltWinters(opts), SeasonalNaive{}},
	}
}

// Name returns "auto".
func (*Auto) Name() string { return ModelAuto }

// Active returns the name of the model auto chose last.
func (a *Auto) Active() string { return a.candidates[a.active].Name() }

// Scores returns the result of the last evaluation, nil before one.
func (a *Auto) Scores() []ModelScore { return a.scores }

// Predict chooses a model when the schedule says so, then forecasts with it.
func (a *Auto) Predict(history Series, n int) ([]float64, error) {
	if err := validHistory(history); err != nil {
		return nil, err
	}
	end := history.End()
	due := !a.chosen || history.Step != a.step || RefitDue(a.chosenAt, end, a.opts)
	if due && a.opts.Fits.tryAcquire() {
		a.choose(history)
		a.opts.Fits.release()
		a.chosen, a.chosenAt, a.step = true, end, history.Step
	}
	if a.active != a.predicted {
		history.Unchanged = time.Time{}
		a.predicted = a.active
	}
	return predictValid(a.candidates[a.active], history, n)
}

// choose runs the rolling-origin backtest and makes the best model active.
func (a *Auto) choose(history Series) {
	h := max(1, int(a.opts.EvalHorizon/history.Step))
	origins := evalOrigins(len(history.Values), h, history.Step)
	a.active, a.scores = 0, nil
	if len(origins) < autoMinOrigins {
		return
	}
	a.scores = make([]ModelScore, len(a.candidates))
	best := math.Inf(1)
	for i, m := range a.candidates {
		// The copies fit under this choice's own slot of the limiter.
		wape := evaluate(evalCopy(m, false), history, origins, h)
		a.scores[i] = ModelScore{Model: m.Name(), WAPE: wape}
		if wape < best {
			best, a.active = wape, i
		}
	}
}

// evalOrigins returns the indexes of the last point of the histories to
// forecast from, h steps ahead, spread evenly over the most recent span of
// points histories (the last quarter of them when shorter); every origin
// leaves at least half the points before it.
func evalOrigins(points, h int, step time.Duration) []int {
	last := points - 1 - h // the latest origin whose target is known
	span := min(int(autoSpan/step), points/4)
	first := max(last-span, points/2)
	if last < first || last < 1 {
		return nil
	}
	n := min(autoOrigins, last-first+1)
	origins := make([]int, n)
	for k := range origins {
		if n == 1 {
			origins[k] = last
			continue
		}
		origins[k] = first + k*(last-first)/(n-1)
	}
	return origins
}

// evaluate returns the WAPE of m forecasting h steps ahead from each origin
// of history, which validHistory accepted, or +Inf when it fails.
func evaluate(m Model, history Series, origins []int, h int) float64 {
	var absErr, absActual float64
	previous := -1
	for _, o := range origins {
		past := history.prefix(o, previous)
		previous = o
		out, err := predictValid(m, past, h+1)
		if err != nil || len(out) != h+1 || notFinite(out[h]) {
			return math.Inf(1)
		}
		actual := history.Values[o+h]
		absErr += math.Abs(out[h] - actual)
		absActual += math.Abs(actual)
	}
	if absActual == 0 {
		if absErr == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return absErr / absActual
}

// evalCopy returns a model that forecasts like m but whose state an
// evaluation may change freely: a new one, for the models that carry state
// between predictions, which then carries it across refit boundaries. A
// Holt-Winters keeps the parameters of its last fit
// for every origin (fitting at each would cost more than all the rest); it
// fits once, at the first origin, when it has no fit yet, through the fit
// limiter when limited.
func evalCopy(m Model, limited bool) Model {
	switch m := m.(type) {
	case *Baseline:
		return &Baseline{opts: m.opts, frozen: true}
	case *HoltWinters:
		opts := m.opts
		if !limited {
			opts.Fits = nil
		}
		c := NewHoltWinters(opts)
		c.frozen = true
		if m.fitted {
			c.params, c.fitted, c.season, c.maxSeason, c.step = m.params, true, m.season, m.maxSeason, m.step
		}
		return c
	}
	return m
}

// replayCopy returns a model that forecasts like m did last, for replaying
// past origins without changing m: auto's active model, and a Holt-Winters
// frozen at its last fit.
func replayCopy(m Model) Model {
	if a, ok := m.(*Auto); ok {
		m = a.candidates[a.active]
	}
	return evalCopy(m, true)
}
