package forecast

import (
	"errors"
	"fmt"
	"slices"
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
}

// NewModel returns a new model called name. Models that learn keep what they
// learned between predictions, so each workload needs its own.
func NewModel(name string, opts ModelOptions) (Model, error) {
	switch name {
	case ModelAuto:
		return NewAuto(opts), nil
	case ModelBaseline:
		return Baseline{}, nil
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

// validHistory checks what every model needs of its input.
func validHistory(history Series) error {
	if len(history.Values) == 0 {
		return ErrNoData
	}
	if history.Step <= 0 {
		return errors.New("history step must be positive")
	}
	if slices.ContainsFunc(history.Values, notFinite) {
		return ErrNonFinite
	}
	return nil
}
