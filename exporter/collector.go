// Package exporter publishes forecast snapshots: as kedastral_forecast_*
// Prometheus series through a prometheus.Collector, and as JSON over HTTP.
package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

// Collector exposes every snapshot of a Store as kedastral_forecast_* series.
type Collector struct {
	store *forecast.Store
	now   func() time.Time

	value         *prometheus.Desc
	lower         *prometheus.Desc
	upper         *prometheus.Desc
	errorRatio    *prometheus.Desc
	biasRatio     *prometheus.Desc
	modelInfo     *prometheus.Desc
	replicas      *prometheus.Desc
	desired       *prometheus.Desc
	desiredCompat *prometheus.Desc
	observed      *prometheus.Desc
	generated     *prometheus.Desc
	age           *prometheus.Desc
}

// NewCollector returns a Collector of store's snapshots; now is the clock
// the age is measured against (nil means time.Now).
func NewCollector(store *forecast.Store, now func() time.Time) *Collector {
	if now == nil {
		now = time.Now
	}
	byHorizon := []string{"workload", "horizon"}
	byWorkload := []string{"workload"}
	return &Collector{
		store: store,
		now:   now,
		value: prometheus.NewDesc("kedastral_forecast_value",
			"Forecast load at now + horizon.", byHorizon, nil),
		lower: prometheus.NewDesc("kedastral_forecast_value_lower",
			"Lower bound of the prediction interval of the load at now + horizon.", byHorizon, nil),
		upper: prometheus.NewDesc("kedastral_forecast_value_upper",
			"Upper bound of the prediction interval of the load at now + horizon.", byHorizon, nil),
		errorRatio: prometheus.NewDesc("kedastral_forecast_error_ratio",
			"WAPE of the forecasts made horizon ahead over the accuracy window: sum|forecast-actual| / sum|actual|.", byHorizon, nil),
		biasRatio: prometheus.NewDesc("kedastral_forecast_bias_ratio",
			"Bias of the forecasts made horizon ahead over the accuracy window: sum(forecast-actual) / sum|actual|; negative is under-forecasting.", byHorizon, nil),
		modelInfo: prometheus.NewDesc("kedastral_forecast_model_info",
			"The model that made the workload's forecast (auto names the one it chose); always 1.", []string{"workload", "model"}, nil),
		replicas: prometheus.NewDesc("kedastral_forecast_replicas",
			"Replicas planned at now + horizon.", byHorizon, nil),
		desired: prometheus.NewDesc("kedastral_forecast_desired_replicas",
			"Replicas wanted now, lead time applied: what the scaler serves.", byWorkload, nil),
		desiredCompat: prometheus.NewDesc("kedastral_desired_replicas",
			"Same as kedastral_forecast_desired_replicas, kept for compatibility.", byWorkload, nil),
		observed: prometheus.NewDesc("kedastral_forecast_observed_value",
			"Newest load observed when the forecast was made.", byWorkload, nil),
		generated: prometheus.NewDesc("kedastral_forecast_generated_timestamp_seconds",
			"Unix time at which the forecast was made.", byWorkload, nil),
		age: prometheus.NewDesc("kedastral_forecast_age_seconds",
			"Age of the forecast.", byWorkload, nil),
	}
}

// Describe sends the descriptors of every series Collect can send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.value, c.lower, c.upper, c.errorRatio, c.biasRatio, c.modelInfo,
		c.replicas, c.desired, c.desiredCompat, c.observed, c.generated, c.age,
	} {
		ch <- d
	}
}

// Collect sends the series of every snapshot in the store.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, s := range c.store.List() {
		horizons := make([]string, max(len(s.Values), len(s.DesiredReplicas)))
		for i := range horizons {
			horizons[i] = horizonLabel(i, s.Step())
		}
		for i, v := range s.Values {
			gauge(ch, c.value, v, s.Workload, horizons[i])
		}
		if len(s.Lower) == len(s.Values) && len(s.Upper) == len(s.Values) {
			for i := range s.Values {
				gauge(ch, c.lower, s.Lower[i], s.Workload, horizons[i])
				gauge(ch, c.upper, s.Upper[i], s.Workload, horizons[i])
			}
		}
		for _, a := range s.Accuracy {
			h := model.Duration(time.Duration(a.HorizonSeconds * float64(time.Second))).String()
			gauge(ch, c.errorRatio, a.ErrorRatio, s.Workload, h)
			gauge(ch, c.biasRatio, a.BiasRatio, s.Workload, h)
		}
		if s.Model != "" {
			gauge(ch, c.modelInfo, 1, s.Workload, s.Model)
		}
		for i, r := range s.DesiredReplicas {
			gauge(ch, c.replicas, float64(r), s.Workload, horizons[i])
		}
		if len(s.DesiredReplicas) > 0 {
			desired := float64(s.DesiredReplicas[0])
			gauge(ch, c.desired, desired, s.Workload)
			gauge(ch, c.desiredCompat, desired, s.Workload)
		}
		gauge(ch, c.observed, s.ObservedValue, s.Workload)
		gauge(ch, c.generated, float64(s.GeneratedAt.UnixNano())/1e9, s.Workload)
		gauge(ch, c.age, s.Age(now).Seconds(), s.Workload)
	}
}

// horizonLabel returns the horizon of value i at step as a Prometheus
// duration: "0s", "1m", "1h30m".
func horizonLabel(i int, step time.Duration) string {
	return model.Duration(time.Duration(i) * step).String()
}

// gauge sends a gauge sample, or an invalid metric that fails the scrape with
// the reason (for example a label value that is not UTF-8).
func gauge(ch chan<- prometheus.Metric, desc *prometheus.Desc, v float64, labelValues ...string) {
	m, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, v, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}
