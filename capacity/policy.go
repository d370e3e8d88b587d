// Package capacity turns a load forecast into a replica plan: load per pod,
// headroom, lead time, a pre-warm window, rate limits against the previous plan,
// and replica bounds.
package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
)

// Rounding says how a fractional replica count becomes a whole one.
type Rounding string

// Rounding modes. Ceil never plans fewer pods than the load needs; Round and
// Floor trade that safety for cost.
const (
	RoundingCeil  Rounding = "ceil"
	RoundingFloor Rounding = "floor"
	RoundingRound Rounding = "round"
)

// epsilon absorbs floating-point noise before rounding, so that a load of
// exactly 12 pods (for example 1000 × 1.2 / 100) is never rounded up to 13.
const epsilon = 1e-9

// apply rounds x by the mode r.
func (r Rounding) apply(x float64) float64 {
	switch r {
	case RoundingFloor:
		return math.Floor(x + epsilon)
	case RoundingRound:
		return math.Round(x)
	default:
		return math.Ceil(x - epsilon)
	}
}

// Basis names the forecast a plan is made from.
type Basis string

// Bases. Planning on the upper bound of the prediction interval provisions for
// the load the model's own recent errors say is still likely, so headroom can
// then be set near 1. Auto lets a Tuner choose, per workload and from what
// each would have done lately, between the two and the headroom on them.
const (
	BasisAuto     Basis = "auto"
	BasisForecast Basis = "forecast"
	BasisUpper    Basis = "upper"
)

// Policy is the capacity policy of one workload.
type Policy struct {
	// TargetPerPod is the load one pod serves at its target utilisation.
	TargetPerPod float64 `yaml:"target_per_pod"`
	// Headroom multiplies the forecast load: 1.2 plans 20 % spare capacity.
	Headroom float64 `yaml:"headroom"`
	// LeadTime is how long a new pod takes to become ready: the replicas
	// wanted now are those the load at now+LeadTime needs. With
	// LeadTimeQuery it is the least lead time used. In YAML, lead_time:
	// auto sets LeadTimeAuto instead.
	LeadTime model.Duration `yaml:"-"`
	// LeadTimeAuto, lead_time: auto, plans with the measured lead time
	// alone (LeadTimeQuery): no least one but a step.
	LeadTimeAuto bool `yaml:"-"`
	// LeadTimeQuery is a PromQL expression of the pods' start-up time in
	// seconds, such as the newest pods' time from creation to ready. When
	// set, the plan uses the larger of LeadTime and the LeadTimeQuantile
	// quantile of its answers over the last day.
	LeadTimeQuery string `yaml:"lead_time_query,omitempty"`
	// LeadTimeQuantile is the quantile of the measured start-up times the
	// plan uses; 0 is 0.9.
	LeadTimeQuantile float64 `yaml:"lead_time_quantile,omitempty"`
	// ReplicasQuery is a PromQL expression of the replicas of the workload
	// running and ready, such as kube-state-metrics'
	// kube_deployment_status_replicas_available: the scorecard then judges
	// what actually ran beside the plan and the reactive count.
	ReplicasQuery string `yaml:"replicas_query,omitempty"`
	// PrewarmWindow widens the look-ahead: the plan at now covers the peak
	// of the load over [now+LeadTime, now+LeadTime+PrewarmWindow].
	PrewarmWindow model.Duration `yaml:"prewarm_window"`
	// MinReplicas and MaxReplicas bound every planned value.
	MinReplicas int `yaml:"min_replicas"`
	MaxReplicas int `yaml:"max_replicas"`
	// UpMaxFactor caps a scale-up at ceil(previous × UpMaxFactor).
	UpMaxFactor float64 `yaml:"up_max_factor"`
	// DownMaxPercent caps a scale-down at floor(previous × (1 − DownMaxPercent/100)).
	DownMaxPercent float64 `yaml:"down_max_percent"`
	// Rounding turns the fractional replica count into a whole one.
	Rounding Rounding `yaml:"rounding"`
	// ReactiveFloor keeps the replicas asked for now from falling below
	// what the load observed now needs, ceil(observed × Headroom /
	// TargetPerPod), whatever the forecast says: the plan is then never
	// short-handed where reactive scaling would not be. On by default.
	ReactiveFloor bool `yaml:"reactive_floor"`
	// PlanOn is the forecast the plan is made from: the forecast itself,
	// the upper bound of its prediction interval once one exists, or auto:
	// a Tuner chooses between them and the headroom applied to them, within
	// CostBudgetPercent.
	PlanOn Basis `yaml:"plan_on"`
	// CostBudgetPercent bounds, with PlanOn auto, how many more replicas
	// than the reactive floor alone the plan may ask for over the last
	// TuningWindow: 8 (the default) allows 8 % more.
	CostBudgetPercent float64 `yaml:"cost_budget_percent"`
}

// DefaultPolicy returns the policy used where a configuration sets nothing.
func DefaultPolicy() Policy {
	return Policy{
		TargetPerPod:   200,
		Headroom:       1.2,
		LeadTime:       model.Duration(5 * time.Minute),
		PrewarmWindow:  model.Duration(2 * time.Minute),
		MinReplicas:    2,
		MaxReplicas:    50,
		UpMaxFactor:    2,
		DownMaxPercent: 50,
		Rounding:       RoundingCeil,
		ReactiveFloor:  true,
		PlanOn:         BasisAuto,

		CostBudgetPercent: 8,
	}
}

// Validation errors of a Policy.
var (
	ErrTargetPerPod   = errors.New("target_per_pod must be a positive number")
	ErrHeadroom       = errors.New("headroom must be a positive number")
	ErrLeadTime       = errors.New("lead_time must not be negative")
	ErrPrewarmWindow  = errors.New("prewarm_window must not be negative")
	ErrMinReplicas    = errors.New("min_replicas must not be negative")
	ErrMaxReplicas    = errors.New("max_replicas must be at least 1")
	ErrMinAboveMax    = errors.New("min_replicas must not be above max_replicas")
	ErrUpMaxFactor    = errors.New("up_max_factor must be at least 1")
	ErrDownMaxPercent = errors.New("down_max_percent must be between 0 and 100")
	ErrRounding       = errors.New("rounding must be one of ceil, floor, round")
	ErrPlanOn         = errors.New("plan_on must be one of auto, forecast, upper")
	ErrCostBudget     = errors.New("cost_budget_percent must be a number, 0 or more")
	ErrLeadTimeAuto   = errors.New("lead_time: auto needs lead_time_query")
	ErrLeadQuantile   = errors.New("lead_time_quantile must be between 0 and 1")
)

// UnmarshalYAML reads lead_time as a duration, or as auto.
func (p *Policy) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Policy
	// Named so that an unknown field is "not found in type capacity.policy".
	type policy struct {
		plain    `yaml:",inline"`
		LeadTime string `yaml:"lead_time"`
	}
	aux := policy{plain: plain(*p)}
	if err := unmarshal(&aux); err != nil {
		return err
	}
	*p = Policy(aux.plain)
	return p.SetLeadTime(aux.LeadTime)
}

// SetLeadTime sets the lead time from s: a duration, auto, or nothing
// (empty: unchanged).
func (p *Policy) SetLeadTime(s string) error {
	switch s {
	case "":
	case "auto":
		p.LeadTimeAuto, p.LeadTime = true, 0
	default:
		d, err := model.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("lead_time: %w", err)
		}
		p.LeadTimeAuto, p.LeadTime = false, d
	}
	return nil
}

// LeadTimeString is lead_time as written: a duration, or auto.
func (p Policy) LeadTimeString() string {
	if p.LeadTimeAuto {
		return "auto"
	}
	return p.LeadTime.String()
}

// Validate reports the first setting of p that cannot make a plan.
func (p Policy) Validate() error {
	switch {
	case !(p.TargetPerPod > 0) || math.IsInf(p.TargetPerPod, 0):
		return ErrTargetPerPod
	case !(p.Headroom > 0) || math.IsInf(p.Headroom, 0):
		return ErrHeadroom
	case p.LeadTime < 0:
		return ErrLeadTime
	case p.PrewarmWindow < 0:
		return ErrPrewarmWindow
	case p.MinReplicas < 0:
		return ErrMinReplicas
	case p.MaxReplicas < 1:
		return ErrMaxReplicas
	case p.MinReplicas > p.MaxReplicas:
		return fmt.Errorf("%w (%d > %d)", ErrMinAboveMax, p.MinReplicas, p.MaxReplicas)
	case !(p.UpMaxFactor >= 1) || math.IsInf(p.UpMaxFactor, 0):
		return ErrUpMaxFactor
	case !(p.DownMaxPercent >= 0 && p.DownMaxPercent <= 100):
		return ErrDownMaxPercent
	case !(p.CostBudgetPercent >= 0) || math.IsInf(p.CostBudgetPercent, 0):
		return ErrCostBudget
	case p.LeadTimeAuto && p.LeadTimeQuery == "":
		return ErrLeadTimeAuto
	case !(p.LeadTimeQuantile >= 0 && p.LeadTimeQuantile <= 1):
		return ErrLeadQuantile
	}
	switch p.Rounding {
	case RoundingCeil, RoundingFloor, RoundingRound:
	default:
		return fmt.Errorf("%w, not %q", ErrRounding, p.Rounding)
	}
	switch p.PlanOn {
	case BasisAuto, BasisForecast, BasisUpper:
		return nil
	default:
		return fmt.Errorf("%w, not %q", ErrPlanOn, p.PlanOn)
	}
}
