// Package workloadflag defines the command-line flags of a workload's
// forecast and capacity settings, which the forecaster and the backtest
// share so that they read alike. It is apart from internal/cli so that the
// scaler, which has none of these flags, does not link the models.
package workloadflag

import (
	"fmt"
	"strconv"

	"github.com/alecthomas/kingpin/v2"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/config"
)

// FlagFunc defines one flag; kingpin's (*Application).Flag is one, and a
// command may wrap it to record which flags were given.
type FlagFunc func(name, help string) *kingpin.FlagClause

// Model defines the flags of a workload's forecast settings, writing
// into w and defaulting to w's current values: --window, --horizon, --model,
// --refit-interval, --lower-quantile, --upper-quantile, --accuracy-window.
// The forecaster and the backtest share them, so they read alike.
func Model(flag FlagFunc, w *config.Workload) {
	flag("window", "History read at each forecast.").Default(w.Window.String()).SetValue(&w.Window)
	flag("horizon", "How far ahead to forecast; horizon/step values.").Default(w.Horizon.String()).SetValue(&w.Horizon)
	flag("model", fmt.Sprintf("Forecasting model, one of %v; auto chooses per workload by backtest.", forecast.ModelNames())).
		Default(w.Model).EnumVar(&w.Model, forecast.ModelNames()...)
	flag("refit-interval", "How often, in data time, models fit their parameters again and auto chooses again.").
		Default(w.RefitInterval.String()).SetValue(&w.RefitInterval)
	flag("lower-quantile", "Quantile of the model's recent errors that makes the lower bound of the prediction interval.").
		Default(ftoa(w.LowerQuantile)).Float64Var(&w.LowerQuantile)
	flag("upper-quantile", "Quantile of the model's recent errors that makes the upper bound of the prediction interval.").
		Default(ftoa(w.UpperQuantile)).Float64Var(&w.UpperQuantile)
	flag("accuracy-window", "How far back forecasts are compared with what then happened (accuracy and intervals).").
		Default(w.AccuracyWindow.String()).SetValue(&w.AccuracyWindow)
}

// Capacity defines the flags of a capacity policy, writing into p and
// defaulting to p's current values.
func Capacity(flag FlagFunc, p *capacity.Policy) {
	flag("target-per-pod", "Load one pod serves at its target utilisation.").
		Default(ftoa(p.TargetPerPod)).Float64Var(&p.TargetPerPod)
	flag("headroom", "Multiplier on the forecast load: 1.2 plans 20% spare capacity.").
		Default(ftoa(p.Headroom)).Float64Var(&p.Headroom)
	flag("lead-time", "Time a new pod takes to be ready: the replicas wanted now serve the load at now+lead-time; auto: the measured one (--lead-time-query) alone.").
		Default(p.LeadTimeString()).SetValue(leadTimeValue{p})
	flag("prewarm-window", "Plan for the peak load over [now, now+lead-time+prewarm-window]: pods keep serving until the load has fallen.").
		Default(p.PrewarmWindow.String()).SetValue(&p.PrewarmWindow)
	cli.IntVar(flag("min-replicas", "Fewest replicas ever planned.").Default(strconv.Itoa(p.MinReplicas)), &p.MinReplicas)
	cli.IntVar(flag("max-replicas", "Most replicas ever planned.").Default(strconv.Itoa(p.MaxReplicas)), &p.MaxReplicas)
	flag("up-max-factor", "A scale-up is capped at ceil(previous × factor).").
		Default(ftoa(p.UpMaxFactor)).Float64Var(&p.UpMaxFactor)
	flag("down-max-percent", "A scale-down is capped at floor(previous × (1 − percent/100)).").
		Default(ftoa(p.DownMaxPercent)).Float64Var(&p.DownMaxPercent)
	flag("rounding", "How a fractional replica count becomes whole: ceil, floor or round.").
		Default(string(p.Rounding)).EnumVar((*string)(&p.Rounding), "ceil", "floor", "round")
	flag("reactive-floor", "Never ask for fewer replicas now than the load observed now needs, ceil(observed × headroom / target-per-pod); --no-reactive-floor plans on the forecast alone.").
		Default(strconv.FormatBool(p.ReactiveFloor)).BoolVar(&p.ReactiveFloor)
	flag("plan-on", "Forecast the plan is made from: auto (chosen per workload within --cost-budget-percent), forecast, or upper (the upper bound of the prediction interval).").
		Default(string(p.PlanOn)).EnumVar((*string)(&p.PlanOn), string(capacity.BasisAuto), string(capacity.BasisForecast), string(capacity.BasisUpper))
	flag("cost-budget-percent", "With --plan-on=auto: how many more replicas than the reactive floor alone the plan may ask for, over about the last day.").
		Default(ftoa(p.CostBudgetPercent)).Float64Var(&p.CostBudgetPercent)
}

// leadTimeValue is the flag value of --lead-time: a duration or auto.
type leadTimeValue struct{ p *capacity.Policy }

func (v leadTimeValue) Set(s string) error { return v.p.SetLeadTime(s) }
func (v leadTimeValue) String() string     { return v.p.LeadTimeString() }

func ftoa(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}
