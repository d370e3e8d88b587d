package backtest

import (
	"math"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

// Result is what a backtest measured.
type Result struct {
	Trace    TraceSummary  `json:"trace"`
	Settings Settings      `json:"settings"`
	Forecast ForecastScore `json:"forecast"`
	Policies Policies      `json:"policies"`
	// Scorecard is what the engine's online scorecard counted over the test
	// part (forecast.Scorecard): with the HPA's tolerance and stabilisation
	// off, its sums equal the predictive and reactive policies' scores.
	Scorecard forecast.ScorecardSums `json:"scorecard"`
	// Sweep holds the policies at each headroom of Options.Headrooms.
	Sweep []SweepPoint `json:"sweep,omitempty"`
	// ElapsedSeconds is how long the replay took.
	ElapsedSeconds float64 `json:"elapsedSeconds"`

	// Points are the scored forecasts, in time order.
	Points []ScoredPoint `json:"-"`
	// Timeline is the test part, step by step, for plots.
	Timeline []TimelinePoint `json:"-"`
}

// TraceSummary describes the replayed history.
type TraceSummary struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	StepSeconds float64   `json:"stepSeconds"`
	Points      int       `json:"points"`
	Missing     int       `json:"missing"`
	TestStart   time.Time `json:"testStart"`
	TestPoints  int       `json:"testPoints"`
}

// Settings are the settings the backtest ran with, defaults resolved.
type Settings struct {
	Model                  string  `json:"model"`
	TargetPerPod           float64 `json:"targetPerPod"`
	Headroom               float64 `json:"headroom"`
	LeadTimeSeconds        float64 `json:"leadTimeSeconds"`
	StartupSteps           int     `json:"startupSteps"`
	MinReplicas            int     `json:"minReplicas"`
	MaxReplicas            int     `json:"maxReplicas"`
	WindowSeconds          float64 `json:"windowSeconds"`
	TrainFraction          float64 `json:"trainFraction"`
	ReactiveFloor          bool    `json:"reactiveFloor"`
	PlanOn                 string  `json:"planOn"`
	CostBudgetPercent      float64 `json:"costBudgetPercent"`
	HPATolerance           float64 `json:"hpaTolerance"`
	ScaleDownStabilization float64 `json:"scaleDownStabilizationSeconds"`
}

// ForecastScore is the accuracy of the forecasts made Horizon ahead over the
// test part, with the naive forecasts scored on the same points.
type ForecastScore struct {
	Horizon        string  `json:"horizon"`
	HorizonSeconds float64 `json:"horizonSeconds"`
	Points         int     `json:"points"`
	// WAPE is Σ|forecast − actual| / Σ|actual|.
	WAPE float64 `json:"wape"`
	// MASE is the mean absolute error over the in-sample mean absolute
	// error of the one-step naive forecast on the training part.
	MASE float64 `json:"mase"`
	// Bias is Σ(forecast − actual) / Σ|actual|: negative runs low.
	Bias float64 `json:"bias"`
	// Coverage is the share of actuals inside the prediction interval, over
	// the IntervalPoints points that had one.
	Coverage       *float64 `json:"coverage,omitempty"`
	IntervalPoints int      `json:"intervalPoints"`
	// Baselines are the naive forecasts' WAPE on the same points.
	Baselines NaiveScores `json:"baselines"`
	// Models counts the ticks made by each model (auto changes its choice).
	Models map[string]int `json:"models"`
	// FailedTicks counts ticks that published no forecast (gaps in the data
	// longer than allowed).
	FailedTicks int `json:"failedTicks"`
}

// NaiveScores are the WAPE of the three naive forecasts; nil when the trace
// is too short for one.
type NaiveScores struct {
	LastValue         *float64 `json:"lastValue"`
	SameTimeYesterday *float64 `json:"sameTimeYesterday,omitempty"`
	SameTimeLastWeek  *float64 `json:"sameTimeLastWeek,omitempty"`
}

// Best returns the name and WAPE of the best naive forecast.
func (n NaiveScores) Best() (string, float64) {
	name, best := "", math.Inf(1)
	for _, c := range n.named() {
		if *c.v < best {
			name, best = c.name, *c.v
		}
	}
	return name, best
}

// Policies are the scaling policies scored on the test part.
type Policies struct {
	// Predictive asks for the engine's plan, DesiredReplicas[0].
	Predictive PolicyScore `json:"predictive"`
	// Reactive is an HPA on the observed load.
	Reactive PolicyScore `json:"reactive"`
	// Oracle asks, with perfect foresight, for what the load of the steps
	// its pods would serve needs: never short while max-replicas allows.
	Oracle PolicyScore `json:"oracle"`
	// PerfectForecast is the predictive policy given the true load as its
	// forecast: the same planner and HPA, no forecast error.
	PerfectForecast PolicyScore `json:"perfectForecast"`
	// FloorDecidedRatio is the share of the scored steps whose engine tick
	// had its desired replicas set by the reactive floor.
	FloorDecidedRatio float64 `json:"floorDecidedRatio"`
}

// PolicyScore is what a policy cost and how well it served the load.
type PolicyScore struct {
	// ReplicaHours is Σ ready replicas × step.
	ReplicaHours float64 `json:"replicaHours"`
	// UnderProvisionedRatio is the share of scored time when the load was
	// above the capacity of the ready replicas (ready × target per pod).
	UnderProvisionedRatio float64 `json:"underProvisionedRatio"`
	// UnservedRatio is Σ max(0, load − capacity) / Σ load.
	UnservedRatio float64 `json:"unservedRatio"`
	// ScaleEvents counts the changes of the replicas asked for.
	ScaleEvents int `json:"scaleEvents"`
}

// SweepPoint is both policies at one headroom, the predictive one planning
// on the forecast, on the upper bound of its interval, and on auto (the
// tuner's choice within the cost budget).
type SweepPoint struct {
	Headroom        float64     `json:"headroom"`
	Predictive      PolicyScore `json:"predictive"`
	PredictiveUpper PolicyScore `json:"predictiveUpper"`
	PredictiveAuto  PolicyScore `json:"predictiveAuto"`
	Reactive        PolicyScore `json:"reactive"`
	// ReactiveAtEqualCost is the reactive policy's under-provisioned ratio
	// at the predictive policy's replica-hours, interpolated along the
	// reactive sweep; nil outside its range.
	ReactiveAtEqualCost *float64 `json:"reactiveUnderProvisionedAtEqualCost,omitempty"`
	// PredictiveAtReactiveCost and PredictiveUpperAtReactiveCost are the
	// predictive policies' under-provisioned ratios at the reactive
	// policy's replica-hours, interpolated along their sweeps.
	PredictiveAtReactiveCost      *float64 `json:"predictiveUnderProvisionedAtReactiveCost,omitempty"`
	PredictiveUpperAtReactiveCost *float64 `json:"predictiveUpperUnderProvisionedAtReactiveCost,omitempty"`
	PredictiveAutoAtReactiveCost  *float64 `json:"predictiveAutoUnderProvisionedAtReactiveCost,omitempty"`
}

// ScoredPoint is one forecast scored: the load at T, and the forecast of it
// made one evaluation horizon earlier, with its interval (NaN when none).
type ScoredPoint struct {
	T                time.Time
	Actual, Forecast float64
	Lower, Upper     float64
}

// TimelinePoint is one step of the test part: the load and the capacity
// (ready replicas × target per pod) of each policy.
type TimelinePoint struct {
	T                            time.Time
	Actual                       float64
	Predictive, Reactive, Oracle float64
}
