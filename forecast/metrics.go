package forecast

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Components and reasons of kedastral_errors_total counted by this package.
const (
	ComponentSource   = "source"
	ComponentModel    = "model"
	ComponentCapacity = "capacity"

	ReasonGap       = "gap"
	ReasonStaleData = "stale_data"
	ReasonNoData    = "empty_result"
	ReasonPredict   = "predict"
	ReasonPlan      = "plan"
)

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
	return &Metrics{
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
}
