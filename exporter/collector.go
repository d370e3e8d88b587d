// Package exporter publishes forecast snapshots: as kedastral_forecast_*
// Prometheus series through a prometheus.Collector, and as JSON over HTTP.
package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/forecast"
)

// Snapshots is where the exporter reads the snapshots it publishes: the
// forecaster's snapshot store.
type Snapshots interface {
	// Get returns the snapshot of workload, and false when there is none.
	Get(workload string) (forecast.Snapshot, bool)
	// List returns every snapshot, sorted by workload.
	List() []forecast.Snapshot
}

// Collector exposes every snapshot of a store as kedastral_forecast_* series.
type Collector struct {
	store    Snapshots
	horizons Horizons
	now      func() time.Time
	descs    []*prometheus.Desc
	types    []prometheus.ValueType
}

// NewCollector returns a Collector of store's snapshots, published at the
// horizons h; now is the clock the age is measured against (nil means
// time.Now).
func NewCollector(store Snapshots, h Horizons, now func() time.Time) *Collector {
	if now == nil {
		now = time.Now
	}
	metrics := Metrics()
	descs := make([]*prometheus.Desc, len(metrics))
	types := make([]prometheus.ValueType, len(metrics))
	for i, m := range metrics {
		descs[i] = prometheus.NewDesc(m.Name, m.Help, m.LabelNames, nil)
		types[i] = prometheus.GaugeValue
		if m.Counter {
			types[i] = prometheus.CounterValue
		}
	}
	return &Collector{store: store, horizons: h, now: now, descs: descs, types: types}
}

// Describe sends the descriptors of every series Collect can send.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends the series of every snapshot in the store.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, s := range c.store.List() {
		EachSeries(s, now, c.horizons, func(id MetricID, v float64, labelValues ...string) {
			sample(ch, c.descs[id], c.types[id], v, labelValues...)
		})
	}
}

// sample sends a sample, or an invalid metric that fails the scrape with
// the reason (for example a label value that is not UTF-8).
func sample(ch chan<- prometheus.Metric, desc *prometheus.Desc, t prometheus.ValueType, v float64, labelValues ...string) {
	m, err := prometheus.NewConstMetric(desc, t, v, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}
