package exporter

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

// TestKeyHorizons: with the default horizons a plan of 10 one-minute steps
// and a lead time of 3 minutes is published at 0s, 3m (the lead time) and
// 9m (the last step), each replicas count the most of its segment.
func TestKeyHorizons(t *testing.T) {
	s := forecast.Snapshot{
		Workload: "w", GeneratedAt: generated, StepSeconds: 60, HorizonSeconds: 600, LeadTimeSeconds: 180,
		Values:          []float64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19},
		DesiredReplicas: []int{2, 3, 5, 4, 4, 6, 9, 7, 3, 2},
		Accuracy: []forecast.HorizonAccuracy{
			{HorizonSeconds: 0, ErrorRatio: 0.1}, {HorizonSeconds: 60, ErrorRatio: 0.2}, {HorizonSeconds: 180, ErrorRatio: 0.3},
		},
	}
	for _, tc := range []struct {
		h Horizons
		// want is every per-horizon series, as metric horizon=value.
		want []string
	}{
		{HorizonsKey, []string{
			"value 0s=10", "value 3m=13", "value 9m=19",
			// error ratio at 0s and 3m; the 1m one is not published.
			"error 0s=0.1", "error 3m=0.3",
			// max of steps 0-2 (2, 3, 5) = 5; of steps 3-8 (4, 4, 6, 9, 7, 3) = 9; of step 9 = 2.
			"replicas 0s=5", "replicas 3m=9", "replicas 9m=2",
		}},
		{"", nil}, // the default is key: checked against key below
		{HorizonsAll, nil},
	} {
		t.Run(string(tc.h), func(t *testing.T) {
			var got []string
			EachSeries(s, generated, tc.h, func(id MetricID, v float64, lv ...string) {
				name := map[MetricID]string{MetricValue: "value", MetricErrorRatio: "error", MetricReplicas: "replicas"}[id]
				if name != "" {
					got = append(got, fmt.Sprintf("%s %s=%g", name, lv[1], v))
				}
			})
			switch tc.h {
			case HorizonsAll:
				// 10 values + 3 error ratios + 10 replicas, each its own step's.
				if len(got) != 23 || !slices.Contains(got, "replicas 6m=9") || !slices.Contains(got, "replicas 2m=5") || !slices.Contains(got, "error 1m=0.2") {
					t.Errorf("every step: got %v", got)
				}
			case "":
				var key []string
				EachSeries(s, generated, HorizonsKey, func(id MetricID, _ float64, _ ...string) {
					if id == MetricValue || id == MetricErrorRatio || id == MetricReplicas {
						key = append(key, "x")
					}
				})
				if len(got) != len(key) {
					t.Errorf("default: %d series, key: %d", len(got), len(key))
				}
			default:
				if !slices.Equal(got, tc.want) {
					t.Errorf("got  %v\nwant %v", got, tc.want)
				}
			}
		})
	}
}

// TestKeyHorizonsEdges: lead times of 0, past the horizon and between
// steps, and a plan of one step.
func TestKeyHorizonsEdges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps int
		lead  time.Duration
		want  []int
	}{
		{"lead 0: now and the last", 10, 0, []int{0, 9}},
		{"lead past the horizon: the last", 10, time.Hour, []int{0, 9}},
		// 150 s at 60 s steps: 2.5 rounds to 3.
		{"lead between steps: the nearest", 10, 150 * time.Second, []int{0, 3, 9}},
		{"one step", 1, 3 * time.Minute, []int{0}},
		{"no step", 0, 3 * time.Minute, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := forecast.Snapshot{StepSeconds: 60, LeadTimeSeconds: tc.lead.Seconds()}
			if got := HorizonsKey.indexes(s, tc.steps); !slices.Equal(got, tc.want) {
				t.Errorf("indexes %v, want %v", got, tc.want)
			}
		})
	}
	if err := Horizons("every").Validate(); err == nil {
		t.Error(`"every" validated`)
	}
}
