package forecast

import "time"

// Snapshot is the latest forecast and replica plan of one workload, as served
// at /forecast/current and exported as kedastral_forecast_* series. Fields may
// be added; none may be renamed or removed (scalers decode this JSON).
type Snapshot struct {
	// Workload is the workload's name.
	Workload string `json:"workload"`
	// Metric names the load being forecast.
	Metric string `json:"metric"`
	// Model is the name of the model that made the forecast; with the auto
	// model, the one auto chose.
	Model string `json:"model"`
	// ConfiguredModel is the model the workload is configured with, such as
	// auto.
	ConfiguredModel string `json:"configuredModel,omitempty"`
	// GeneratedAt is when the forecast was made: Values[0] is the load
	// forecast for that instant.
	GeneratedAt time.Time `json:"generatedAt"`
	// StepSeconds is the time between two values.
	StepSeconds float64 `json:"stepSeconds"`
	// HorizonSeconds is how far the forecast reaches: len(Values) × StepSeconds.
	HorizonSeconds float64 `json:"horizonSeconds"`
	// LeadTimeSeconds is the lead time the plan applied: the configured
	// one, or with a lead_time_query the larger of it and the measured one.
	LeadTimeSeconds float64 `json:"leadTimeSeconds"`
	// LeadTimeMeasuredSeconds is the start-up time the lead_time_query
	// measured last (its quantile over the last day); absent without a
	// query or before a measurement.
	LeadTimeMeasuredSeconds float64 `json:"leadTimeMeasuredSeconds,omitempty"`
	// Values[i] is the load forecast at GeneratedAt + i·StepSeconds.
	Values []float64 `json:"values"`
	// Lower and Upper bound the prediction interval of each value, at the
	// quantiles of LowerQuantile and UpperQuantile of the model's own recent
	// errors at that horizon. They are absent until such errors are known.
	Lower         []float64 `json:"lower,omitempty"`
	Upper         []float64 `json:"upper,omitempty"`
	LowerQuantile float64   `json:"lowerQuantile,omitempty"`
	UpperQuantile float64   `json:"upperQuantile,omitempty"`
	// Accuracy holds, for each horizon with past forecasts to judge, how the
	// forecasts made that far ahead compared with what then happened.
	Accuracy []HorizonAccuracy `json:"accuracy,omitempty"`
	// DesiredReplicas[i] is the replica count to ask for at
	// GeneratedAt + i·StepSeconds; DesiredReplicas[0] is what to run now.
	// It is what the scaler serves: the plan, or in shadow mode the
	// reactive count at every step.
	DesiredReplicas []int `json:"desiredReplicas"`
	// Mode is the workload's mode: active, or shadow, where
	// DesiredReplicas is the reactive count and the plan is in
	// PlannedReplicas.
	Mode string `json:"mode,omitempty"`
	// PlannedReplicas is, in shadow mode, the plan DesiredReplicas would
	// hold in active mode; absent in active mode.
	PlannedReplicas []int `json:"plannedReplicas,omitempty"`
	// ForecastReplicas is DesiredReplicas[0] without the reactive floor:
	// the forecast's own plan, which the next plan's rate limits start from.
	ForecastReplicas int `json:"forecastReplicas"`
	// ReactiveFloor is the replicas the load observed now needs (see
	// capacity.Policy.ReactiveFloor), below which DesiredReplicas[0] does not
	// go; 0 when the floor is off.
	ReactiveFloor int `json:"reactiveFloorReplicas"`
	// DecidedBy says what set the plan's first count (DesiredReplicas[0],
	// or in shadow mode PlannedReplicas[0]): forecast, reactive_floor,
	// up_limit, down_limit, min_replicas or max_replicas (capacity.Decision).
	DecidedBy string `json:"decidedBy,omitempty"`
	// PlanBasis and PlanHeadroom are what the forecast part of the plan was
	// made from: the forecast or the upper bound of its interval, times
	// PlanHeadroom. With plan_on auto they are what the tuner chose.
	PlanBasis    string  `json:"planBasis,omitempty"`
	PlanHeadroom float64 `json:"planHeadroom,omitempty"`
	// PlanCostRatio is, with plan_on auto, the replicas the chosen basis
	// and headroom asked for over about the last day, over those the
	// reactive floor alone asked for: 1.05 is 5 % more. Absent otherwise.
	PlanCostRatio float64 `json:"planCostRatio,omitempty"`
	// ObservedValue is the newest load observed, at ObservedAt: the load at
	// the time of the forecast itself when the source has it, else the
	// newest point of the history.
	ObservedValue float64   `json:"observedValue"`
	ObservedAt    time.Time `json:"observedAt"`
	// Scorecard compares the plan with the reactive count on the load as it
	// arrived (zero before the first step judged).
	Scorecard *Scorecard `json:"scorecard,omitempty"`
	// ActiveSchedules are the schedule windows open at GeneratedAt, whose
	// bounds the plan (and in shadow mode the reactive count) kept to.
	ActiveSchedules []ScheduleWindow `json:"activeSchedules,omitempty"`
	// Recent is the load observed over the last points of the history
	// (twice the horizon, at least an hour), gaps repaired, on the grid of
	// the multiples of the step: Recent[i] is the load at the step at or
	// before ObservedAt, less (len(Recent)−1−i)·StepSeconds. Charts draw it
	// beside the forecast.
	Recent []float64 `json:"recent,omitempty"`
}

// Scorecard is what the predictive plan and the reactive count would each
// have had ready as the load arrived, with pods ready a lead time after they
// are asked for (see capacity.Scorecard): since the forecaster started, and
// over the last 24 hours of data.
type Scorecard struct {
	Total   ScorecardSums `json:"total"`
	LastDay ScorecardSums `json:"lastDay"`
}

// ScorecardSums are each policy's score: the plan, the reactive count and,
// when the workload's running replicas are known (replicas_query), what
// actually ran.
type ScorecardSums struct {
	Predictive PolicyScore  `json:"predictive"`
	Reactive   PolicyScore  `json:"reactive"`
	Actual     *PolicyScore `json:"actual,omitempty"`
}

// PolicyScore is one policy's seconds judged (with a load observed),
// replica-seconds ready, and seconds when they served less than the load.
type PolicyScore struct {
	ScoredSeconds  float64 `json:"scoredSeconds"`
	ReplicaSeconds float64 `json:"replicaSeconds"`
	ShortSeconds   float64 `json:"shortSeconds"`
}

// ScheduleWindow is one window of a workload's schedule: from Start until
// End, the replica bounds are raised to MinReplicas and capped at
// MaxReplicas (each when set).
type ScheduleWindow struct {
	Cron        string    `json:"cron"`
	Timezone    string    `json:"timezone,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	MinReplicas *int      `json:"minReplicas,omitempty"`
	MaxReplicas *int      `json:"maxReplicas,omitempty"`
}

// HorizonAccuracy is the online accuracy of the forecasts made one horizon
// ahead, over the accuracy window.
type HorizonAccuracy struct {
	// HorizonSeconds is how far ahead the forecasts were made.
	HorizonSeconds float64 `json:"horizonSeconds"`
	// ErrorRatio is the WAPE: Σ|forecast − actual| / Σ|actual|.
	ErrorRatio float64 `json:"errorRatio"`
	// BiasRatio is Σ(forecast − actual) / Σ|actual|: negative when the
	// forecasts ran low, the dangerous direction for capacity.
	BiasRatio float64 `json:"biasRatio"`
	// Samples is the number of forecasts judged.
	Samples int `json:"samples"`
}

// Step returns the time between two values.
func (s Snapshot) Step() time.Duration {
	return time.Duration(s.StepSeconds * float64(time.Second))
}

// Age returns how old the snapshot is at now.
func (s Snapshot) Age(now time.Time) time.Duration {
	return now.Sub(s.GeneratedAt)
}
