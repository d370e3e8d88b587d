package forecast

import (
	"errors"
	"fmt"
	"time"
)

// ErrNonFinite is returned by a model whose history holds NaN or ±Inf.
var ErrNonFinite = errors.New("history holds a value that is not a finite number")

// ErrUnknownModel is returned by NewModel for a name it does not know.
var ErrUnknownModel = errors.New("unknown model")

// Model forecasts load from history.
type Model interface {
	// Name is the model's name as configured and exported.
	Name() string
	// Predict returns n values: the load forecast at history.End() + i·Step
	// for i in [0, n). history holds no NaN (see Series.Fill). Values are
	// never negative and never NaN.
	Predict(history Series, n int) ([]float64, error)
}

// Model names.
const (
	ModelAuto          = "auto"
	ModelBaseline      = "baseline"
	ModelHoltWinters   = "holt_winters"
	ModelSeasonalNaive = "seasonal_naive"
)

// ModelNames lists the names NewModel accepts, in alphabetical order.
func ModelNames() []string {
	return []string{ModelAuto, ModelBaseline, ModelHoltWinters, ModelSeasonalNaive}
}

// ModelOptions tunes the models that learn from their history.
type ModelOptions struct {
	// RefitInterval is how often, in data time, a model fits its
	// parameters again (and auto chooses again): at the first prediction
	// whose history ends past a boundary RefitPhase + k·RefitInterval. 0
	// fits on every prediction.
	RefitInterval time.Duration
	// RefitPhase offsets the refit boundaries, so that workloads refit at
	// different times: see RefitPhase.
	RefitPhase time.Duration
	// EvalHorizon is the horizon auto judges the models at: the lead time.
	// Below one step, one step.
	EvalHorizon time.Duration
	// Fits, when set, bounds the fits running at once across workloads.
	Fits *FitLimiter
	// Settle is how far back from its end a history may still change at
	// the next prediction (a source that reads its newest points again):
	// the points newer than End − Settle. A model that carries its state
	// between predictions keeps it at End − Settle, and smooths the points
	// after it again each time.
	Settle time.Duration
}

// NewModel returns a new model called name. Models that learn keep what they
// learned between predictions, so each workload needs its own.
func NewModel(name string, opts ModelOptions) (Model, error) {
	switch name {
	case ModelAuto:
		return NewAuto(opts), nil
	case ModelBaseline:
		return NewBaseline(opts), nil
	case ModelHoltWinters:
		return NewHoltWinters(opts), nil
	case ModelSeasonalNaive:
		return SeasonalNaive{}, nil
	default:
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownModel, name, ModelNames())
	}
}

// Chooser is a model that delegates to one of several: Active names the
// model that made the latest forecast.
type Chooser interface {
	Model
	Active() string
}

// ActiveName returns the name of the model that made m's latest forecast:
// with auto, the model it chose.
func ActiveName(m Model) string {
	if c, ok := m.(Chooser); ok {
		return c.Active()
	}
	return m.Name()
}

// validModel is a model whose forecast of a history validHistory accepted
// cannot fail: auto checks a history once for all its candidates and all
// the origins of its evaluation, rather than each of them again.
type validModel interface {
	Model
	predictValid(history Series, n int) []float64
}

// predictValid returns m's forecast of history, which validHistory
// accepted.
func predictValid(m Model, history Series, n int) ([]float64, error) {
	if v, ok := m.(validModel); ok {
		return v.predictValid(history, n), nil
	}
	return m.Predict(history, n)
}

// validHistory checks what every model needs of its input.
func validHistory(history Series) error {
	if len(history.Values) == 0 {
		return ErrNoData
	}
	if history.Step <= 0 {
		return errors.New("history step must be positive")
	}
	if !allFinite(history.Values) {
		return ErrNonFinite
	}
	return nil
}

// allFinite reports whether values holds no NaN and no ±Inf: v − v is 0
// for a finite v and NaN otherwise, and the sum of those is NaN as soon as
// one is. Four sums, checked once at the end, let the loop run at the
// speed of memory; a check per value would cost most of a carried tick.
func allFinite(values []float64) bool {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(values); i += 4 {
		s0 += values[i] - values[i]
		s1 += values[i+1] - values[i+1]
		s2 += values[i+2] - values[i+2]
		s3 += values[i+3] - values[i+3]
	}
	for ; i < len(values); i++ {
		s0 += values[i] - values[i]
	}
	return s0+s1+s2+s3 == 0
}
