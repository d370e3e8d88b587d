package exporter

import (
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
)

// A MetricID names one of the kedastral_forecast_* metrics.
type MetricID int

// The kedastral_forecast_* metrics, in the order Metrics lists them.
const (
	MetricValue MetricID = iota
	MetricLower
	MetricUpper
	MetricErrorRatio
	MetricBiasRatio
	MetricModelInfo
	MetricReplicas
	MetricDesired
	MetricDesiredCompat
	MetricFloor
	MetricFloorDecided
	MetricPlanHeadroom
	MetricObserved
	MetricGenerated
	MetricAge
	MetricPlanned
	MetricLeadTime
	MetricScoreReplicaSeconds
	MetricScoreShortSeconds
	MetricScoreScoredSeconds
)

// Metric describes one kedastral_forecast_* metric.
type Metric struct {
	Name       string
	Help       string
	LabelNames []string
	// RemoteWrite says whether the metric is also remote-written. The
	// compatibility alias and the age, which is only meaningful at scrape
	// time (time() − generated_timestamp in PromQL), are not.
	RemoteWrite bool
	// Counter says the metric is a counter (its name ends in _total); the
	// others are gauges.
	Counter bool
}

// Metrics returns the description of every metric, indexed by MetricID.
func Metrics() []Metric {
	byHorizon := []string{"workload", "horizon"}
	byWorkload := []string{"workload"}
	byPolicy := []string{"workload", "policy"}
	return []Metric{
		MetricValue:               {"kedastral_forecast_value", "Forecast load at now + horizon.", byHorizon, true, false},
		MetricLower:               {"kedastral_forecast_value_lower", "Lower bound of the prediction interval of the load at now + horizon.", byHorizon, true, false},
		MetricUpper:               {"kedastral_forecast_value_upper", "Upper bound of the prediction interval of the load at now + horizon.", byHorizon, true, false},
		MetricErrorRatio:          {"kedastral_forecast_error_ratio", "WAPE of the forecasts made horizon ahead over the accuracy window: sum|forecast-actual| / sum|actual|.", byHorizon, true, false},
		MetricBiasRatio:           {"kedastral_forecast_bias_ratio", "Bias of the forecasts made horizon ahead over the accuracy window: sum(forecast-actual) / sum|actual|; negative is under-forecasting.", byHorizon, true, false},
		MetricModelInfo:           {"kedastral_forecast_model_info", "The model that made the workload's forecast (auto names the one it chose); always 1.", []string{"workload", "model"}, true, false},
		MetricReplicas:            {"kedastral_forecast_replicas", "Replicas planned at now + horizon.", byHorizon, true, false},
		MetricDesired:             {"kedastral_forecast_desired_replicas", "Replicas wanted now, lead time applied: what the scaler serves.", byWorkload, true, false},
		MetricDesiredCompat:       {"kedastral_desired_replicas", "Same as kedastral_forecast_desired_replicas, kept for compatibility.", byWorkload, false, false},
		MetricFloor:               {"kedastral_forecast_reactive_floor_replicas", "Replicas the load observed now needs, ceil(observed * headroom / target_per_pod): desired replicas are never below it while the reactive floor is on (0 when it is off).", byWorkload, true, false},
		MetricFloorDecided:        {"kedastral_forecast_reactive_floor_decided", "1 when the reactive floor, not the forecast, set the desired replicas; its average over time is the share of time the forecast planned too low.", byWorkload, true, false},
		MetricPlanHeadroom:        {"kedastral_forecast_plan_headroom", "Headroom applied to the forecast part of the plan: the configured one, or with plan_on auto the one the tuner chose.", byWorkload, true, false},
		MetricObserved:            {"kedastral_forecast_observed_value", "Newest load observed when the forecast was made.", byWorkload, true, false},
		MetricGenerated:           {"kedastral_forecast_generated_timestamp_seconds", "Unix time at which the forecast was made.", byWorkload, true, false},
		MetricAge:                 {"kedastral_forecast_age_seconds", "Age of the forecast.", byWorkload, false, false},
		MetricLeadTime:            {"kedastral_forecast_lead_time_seconds", "Lead time the plan applied, for a workload that measures it (lead_time_query): the larger of the configured one and the measured start-up time.", byWorkload, true, false},
		MetricScoreReplicaSeconds: {"kedastral_scorecard_replica_seconds_total", "Replica-seconds the policy had ready over the steps judged, pods ready a lead time after they are asked for: predictive the plan, reactive ceil(observed * headroom / target_per_pod), actual the replicas that ran (replicas_query).", byPolicy, true, true},
		MetricScoreShortSeconds:   {"kedastral_scorecard_short_seconds_total", "Seconds of the steps judged when the policy's ready replicas would have served less than the load observed.", byPolicy, true, true},
		MetricScoreScoredSeconds:  {"kedastral_scorecard_scored_seconds_total", "Seconds of the steps the scorecard judged for the policy with a load observed: the denominator of short_seconds.", byPolicy, true, true},
		MetricPlanned:             {"kedastral_forecast_planned_replicas", "In shadow mode, the replicas the predictive plan asks for at now + horizon, while the desired replicas are the reactive count; absent in active mode, where the plan is what is served.", byHorizon, true, false},
	}
}

// EachSeries calls fn with every series of the snapshot s published at the
// horizons h: the metric, the value, and the label values in the order of
// the metric's LabelNames. The age is measured at now.
func EachSeries(s forecast.Snapshot, now time.Time, h Horizons, fn func(id MetricID, v float64, labelValues ...string)) {
	idx := h.indexes(s, max(len(s.Values), len(s.DesiredReplicas)))
	horizons := make([]string, len(idx))
	for j, i := range idx {
		horizons[j] = horizonLabel(i, s.Step())
	}
	for j, i := range idx {
		if i < len(s.Values) {
			fn(MetricValue, s.Values[i], s.Workload, horizons[j])
		}
	}
	if len(s.Lower) == len(s.Values) && len(s.Upper) == len(s.Values) {
		for j, i := range idx {
			if i < len(s.Values) {
				fn(MetricLower, s.Lower[i], s.Workload, horizons[j])
				fn(MetricUpper, s.Upper[i], s.Workload, horizons[j])
			}
		}
	}
	for _, a := range s.Accuracy {
		at := time.Duration(a.HorizonSeconds * float64(time.Second))
		if h != HorizonsAll && !slices.Contains(idx, int(math.Round(a.HorizonSeconds/s.StepSeconds))) {
			continue
		}
		hl := model.Duration(at).String()
		fn(MetricErrorRatio, a.ErrorRatio, s.Workload, hl)
		fn(MetricBiasRatio, a.BiasRatio, s.Workload, hl)
	}
	if s.Model != "" {
		fn(MetricModelInfo, 1, s.Workload, s.Model)
	}
	// Every step published: each count its own step's.
	replicas := segmentMax(s.DesiredReplicas, idx)
	for j, i := range idx {
		if i < len(s.DesiredReplicas) {
			fn(MetricReplicas, float64(replicas[j]), s.Workload, horizons[j])
		}
	}
	eachPlanned(s, idx, horizons, fn)
	if len(s.DesiredReplicas) > 0 {
		desired := float64(s.DesiredReplicas[0])
		fn(MetricDesired, desired, s.Workload)
		fn(MetricDesiredCompat, desired, s.Workload)
	}
	fn(MetricFloor, float64(s.ReactiveFloor), s.Workload)
	decided := 0.0
	if s.DecidedBy == string(capacity.DecidedByFloor) {
		decided = 1
	}
	fn(MetricFloorDecided, decided, s.Workload)
	if s.PlanHeadroom > 0 {
		fn(MetricPlanHeadroom, s.PlanHeadroom, s.Workload)
	}
	if s.LeadTimeMeasuredSeconds > 0 {
		fn(MetricLeadTime, s.LeadTimeSeconds, s.Workload)
	}
	eachScore(s, fn)
	fn(MetricObserved, s.ObservedValue, s.Workload)
	fn(MetricGenerated, float64(s.GeneratedAt.UnixNano())/1e9, s.Workload)
	fn(MetricAge, s.Age(now).Seconds(), s.Workload)
}

// eachPlanned calls fn with the shadow plan's counts at the horizons idx.
func eachPlanned(s forecast.Snapshot, idx []int, horizons []string, fn func(id MetricID, v float64, labelValues ...string)) {
	if len(s.PlannedReplicas) == 0 {
		return
	}
	planned := segmentMax(s.PlannedReplicas, idx)
	for j, i := range idx {
		if i < len(s.PlannedReplicas) {
			fn(MetricPlanned, float64(planned[j]), s.Workload, horizons[j])
		}
	}
}

// eachScore calls fn with the scorecard's sums, by policy.
func eachScore(s forecast.Snapshot, fn func(id MetricID, v float64, labelValues ...string)) {
	c := s.Scorecard
	if c == nil {
		return
	}
	policies := []struct {
		name  string
		score *forecast.PolicyScore
	}{{"predictive", &c.Total.Predictive}, {"reactive", &c.Total.Reactive}, {"actual", c.Total.Actual}}
	for _, p := range policies {
		if p.score != nil {
			fn(MetricScoreScoredSeconds, p.score.ScoredSeconds, s.Workload, p.name)
			fn(MetricScoreReplicaSeconds, p.score.ReplicaSeconds, s.Workload, p.name)
			fn(MetricScoreShortSeconds, p.score.ShortSeconds, s.Workload, p.name)
		}
	}
}

// horizonLabel returns the horizon of value i at step as a Prometheus
// duration: "0s", "1m", "1h30m".
func horizonLabel(i int, step time.Duration) string {
	return model.Duration(time.Duration(i) * step).String()
}
