package backtest

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/config"
)

// Options configures a backtest.
type Options struct {
	// Workload holds the forecast and capacity settings, as the forecaster
	// reads them; Name, Query, Step and Interval are set by the backtest.
	// A Capacity.TargetPerPod of 0 means the mean of the training part / 10.
	Workload config.Workload
	// TrainFraction is the share of the time span before the scored part.
	TrainFraction float64
	// EvalHorizon is how far ahead forecasts are scored; 0 means the lead
	// time. It is rounded up to whole steps, at least one.
	EvalHorizon time.Duration
	// HPA is the Horizontal Pod Autoscaler behaviour between a desired
	// replica count and the replicas asked for, for the predictive and the
	// reactive policies.
	HPA HPA
	// Headrooms, when set, are the headrooms of a sweep: both the predictive
	// and the reactive policies are scored at each.
	Headrooms []float64
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Verbose passes the engine's own logs (model choices, gaps) to Logger.
	Verbose bool
}

// HPA is how the Horizontal Pod Autoscaler turns a desired replica count
// into the count it asks for: changes within Tolerance of the current count
// are ignored, scale-ups apply at once, and scale-downs wait for the highest
// desired count of the last ScaleDownStabilization to come down. Kubernetes'
// defaults are 0.1 and 5 minutes.
type HPA struct {
	Tolerance              float64
	ScaleDownStabilization time.Duration
}

// DefaultHPA returns Kubernetes' default HPA behaviour.
func DefaultHPA() HPA {
	return HPA{Tolerance: 0.1, ScaleDownStabilization: 5 * time.Minute}
}

// ErrInvalidOptions is wrapped by the errors of Run and Options.Check that
// come from the options rather than from the history.
var ErrInvalidOptions = errors.New("invalid options")

// shape is what the options make of a history's step.
type shape struct {
	cfg     config.Workload
	startup int // steps a pod takes to be ready, at least 1
	evalK   int // evaluation horizon in steps, at least 1
	prewarm int // pre-warm window in whole steps
}

// Check reports whether o can replay a history of the given step: every
// error but those of the history itself (too short, no load to choose a
// target per pod from). Run checks the same.
func (o Options) Check(step time.Duration) error {
	_, err := o.shape(step)
	return err
}

// shape resolves the workload configuration the engine runs for a history
// of the given step, and checks the options. Errors wrap ErrInvalidOptions.
func (o Options) shape(step time.Duration) (shape, error) {
	invalid := func(format string, args ...any) (shape, error) {
		return shape{}, fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case step <= 0:
		return invalid("history step must be positive, not %s", step)
	case !(o.TrainFraction > 0 && o.TrainFraction < 1):
		return invalid("train fraction must be between 0 and 1 (exclusive), not %g", o.TrainFraction)
	case !(o.HPA.Tolerance >= 0) || o.HPA.ScaleDownStabilization < 0:
		return invalid("HPA tolerance and scale-down stabilization must not be negative")
	case o.EvalHorizon < 0:
		return invalid("evaluation horizon must not be negative, not %s", o.EvalHorizon)
	}
	for _, h := range o.Headrooms {
		if !(h > 0) || math.IsInf(h, 0) {
			return invalid("sweep headroom %g is not a positive number", h)
		}
	}
	cfg := o.Workload
	cfg.Name, cfg.Query = "backtest", "backtest"
	cfg.Step, cfg.Interval = model.Duration(step), model.Duration(step)
	if cfg.AccuracyWindow == 0 {
		// Sixty judged forecasts per horizon: enough for the interval's
		// quantiles at any step.
		cfg.AccuracyWindow = model.Duration(60 * step)
	}
	lead := time.Duration(cfg.Capacity.LeadTime)
	sh := shape{startup: max(1, ceilSteps(lead, step)), prewarm: int(time.Duration(cfg.Capacity.PrewarmWindow) / step)}
	evalH := o.EvalHorizon
	if evalH == 0 {
		evalH = lead
	}
	sh.evalK = max(1, ceilSteps(evalH, step))
	// The horizon covers the evaluation horizon and the planner's look-ahead.
	need := max(sh.evalK, sh.startup+sh.prewarm) + 1
	cfg.Horizon = model.Duration(time.Duration(max(need, ceilSteps(time.Duration(cfg.Horizon), step))) * step)
	// A target per pod of 0 is chosen from the history later; any positive
	// one checks the rest.
	check := cfg
	if check.Capacity.TargetPerPod == 0 {
		check.Capacity.TargetPerPod = 1
	}
	if err := check.Validate(); err != nil {
		return shape{}, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	sh.cfg = cfg
	return sh, nil
}

func ceilSteps(d, step time.Duration) int {
	return int((d + step - 1) / step)
}
