package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/read"
)

// Components of kedastral_errors_total{component,reason} besides the
// sources' (read.ComponentSource).
const (
	ComponentModel    = "model"
	ComponentCapacity = "capacity"
	ComponentLeadTime = "lead_time"
)

// Reasons of kedastral_errors_total{component,reason} the engine counts
// itself; the sources' are read.Reasons().
const (
	// Source: the history needs care.
	ReasonGap       = "gap"        // missing steps inside the window, interpolated
	ReasonStaleData = "stale_data" // the newest value is older than stale-after
	// Model and capacity.
	ReasonPredict = "predict" // the model failed or returned bad values
	ReasonPlan    = "plan"    // the planner refused the forecast
	// Lead time: the lead time query failed or gave no start-up time.
	ReasonMeasure = "measure"
)

// errorKinds lists every component and reason this project counts, so that
// each series exists from the start at 0 (increase() then sees the first error).
func errorKinds() [][2]string {
	var kinds [][2]string
	for _, r := range append(read.Reasons(), ReasonGap, ReasonStaleData) {
		kinds = append(kinds, [2]string{read.ComponentSource, r})
	}
	return append(kinds, [2]string{ComponentModel, ReasonPredict}, [2]string{ComponentCapacity, ReasonPlan},
		[2]string{ComponentLeadTime, ReasonMeasure})
}

// Metrics is the engine's self-telemetry.
type Metrics struct {
	collectSeconds *prometheus.HistogramVec
	predictSeconds *prometheus.HistogramVec
	planSeconds    prometheus.Histogram
	tickSeconds    *prometheus.HistogramVec
	// Errors counts errors by component and reason
	// (kedastral_errors_total{component,reason}); sources count theirs here too.
	Errors *prometheus.CounterVec
}

// NewMetrics registers the engine's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	// 100 µs to 6.5 s: a tick's parts, from an in-memory plan to a slow query.
	latencyBuckets := prometheus.ExponentialBuckets(0.0001, 4, 9)
	m := &Metrics{
		collectSeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kedastral_adapter_collect_seconds",
			Help:    "Time taken to read a workload's load history, by source adapter.",
			Buckets: latencyBuckets,
		}, []string{"adapter"}),
		predictSeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kedastral_model_predict_seconds",
			Help:    "Time taken by a model to forecast a workload.",
			Buckets: latencyBuckets,
		}, []string{"model"}),
		planSeconds: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "kedastral_capacity_compute_seconds",
			Help:    "Time taken to turn a forecast into a replica plan.",
			Buckets: latencyBuckets,
		}),
		tickSeconds: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kedastral_tick_seconds",
			Help:    "Time taken by a whole tick (collect, predict, plan, publish), by result.",
			Buckets: latencyBuckets,
		}, []string{"result"}),
		Errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kedastral_errors_total",
			Help: "Errors met while forecasting, by component and reason.",
		}, []string{"component", "reason"}),
	}
	for _, result := range []string{"success", "error"} {
		m.tickSeconds.WithLabelValues(result)
	}
	for _, kind := range errorKinds() {
		m.Errors.WithLabelValues(kind[0], kind[1])
	}
	return m
}

// RegisterFitLimiter exposes the fits of l on reg:
// kedastral_model_fits_total and kedastral_model_fits_deferred_total.
func RegisterFitLimiter(reg prometheus.Registerer, l *forecast.FitLimiter) {
	f := promauto.With(reg)
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "kedastral_model_fits_total",
		Help: "Model fits run (a Holt-Winters fit, auto's choice of a model), each holding a slot of the fit limiter.",
	}, func() float64 { return float64(l.Fits()) })
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "kedastral_model_fits_deferred_total",
		Help: "Model fits due that found every slot of the fit limiter taken and were put off to the workload's next tick, which forecasts with what it has.",
	}, func() float64 { return float64(l.Deferred()) })
}
