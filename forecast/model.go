package forecast

import (
	"errors"
	"fmt"
	"slices"
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

// ModelNames lists the names NewModel accepts, in alphabetical order.
func ModelNames() []string {
	return []string{"baseline"}
}

// NewModel returns the model called name.
func NewModel(name string) (Model, error) {
	switch name {
	case "baseline":
		return Baseline{}, nil
	default:
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownModel, name, ModelNames())
	}
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
