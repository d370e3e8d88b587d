package exporter

import (
	"fmt"
	"math"
	"slices"

	"github.com/HatiCode/kedastral/forecast"
)

// Horizons says at which horizons the per-horizon series of a snapshot
// (kedastral_forecast_value, _value_lower, _value_upper, _replicas,
// _error_ratio and _bias_ratio) are published, on /metrics and by remote
// write. The JSON snapshot always carries every step.
type Horizons string

// The settings of Horizons.
const (
	// HorizonsKey, the default, publishes three horizons: now (0s), the
	// lead time and the last step. Each kedastral_forecast_replicas count
	// is then the most the plan asks for from its horizon until the next
	// one published (until the end for the last), so that the peak of the
	// plan, and a stale plan the scaler follows, are never below the plan.
	HorizonsKey Horizons = "key"
	// HorizonsAll publishes every step, each count the plan's own.
	HorizonsAll Horizons = "all"
)

// HorizonsNames lists the settings, the default first.
func HorizonsNames() []string { return []string{string(HorizonsKey), string(HorizonsAll)} }

// Validate checks that h is a setting ("" is the default, key).
func (h Horizons) Validate() error {
	switch h {
	case "", HorizonsKey, HorizonsAll:
		return nil
	}
	return fmt.Errorf("publish horizons %q must be one of %v", string(h), HorizonsNames())
}

// indexes returns, in order, the steps published of a snapshot whose plan
// has n steps.
func (h Horizons) indexes(s forecast.Snapshot, n int) []int {
	if n <= 0 {
		return nil
	}
	if h == HorizonsAll {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	lead := 0
	if s.StepSeconds > 0 {
		lead = int(math.Round(s.LeadTimeSeconds / s.StepSeconds))
	}
	out := []int{0, min(max(lead, 0), n-1), n - 1}
	return slices.Compact(out)
}

// segmentMax returns, for each published step idx[j], the most replicas
// the plan asks for from it until idx[j+1] (until the end for the last).
func segmentMax(replicas []int, idx []int) []int {
	out := make([]int, len(idx))
	for j, i := range idx {
		end := len(replicas)
		if j+1 < len(idx) {
			end = idx[j+1]
		}
		if i < len(replicas) {
			out[j] = slices.Max(replicas[i:max(end, i+1)])
		}
	}
	return out
}
