package scaler

import (
	"testing"
	"time"
)

func TestPlanAt(t *testing.T) {
	dense := densePlan([]int{8, 9, 10}, t0, time.Minute) // 8 from 0, 9 from 1m, 10 from 2m; until 3m
	thinned := Plan{Desired: 6, GeneratedAt: t0, Step: time.Minute, Horizon: 30 * time.Minute,
		Steps: []PlanStep{{0, 6}, {5 * time.Minute, 8}, {29 * time.Minute, 4}}}
	tests := []struct {
		name   string
		plan   Plan
		at     time.Duration // after t0
		want   int
		wantOK bool
	}{
		{"dense: the count of the step now", dense, 90 * time.Second, 9, true},
		{"dense: on a step", dense, 2 * time.Minute, 10, true},
		{"dense: the last instant of the horizon", dense, 3*time.Minute - time.Nanosecond, 10, true},
		{"dense: at the horizon it has run out", dense, 3 * time.Minute, 0, false},
		{"dense: before the plan, its first count", dense, -time.Minute, 8, true},
		// Between 0s and 5m, which are 5 steps apart, the larger: max(6, 8) = 8.
		{"thinned: the larger of the two around now", thinned, 2 * time.Minute, 8, true},
		// Between 5m and 29m: max(8, 4) = 8.
		{"thinned: a fall is not taken early", thinned, 20 * time.Minute, 8, true},
		// Past the last count (29m), within the horizon (30m): the last count.
		{"thinned: after the last count", thinned, 29*time.Minute + 30*time.Second, 4, true},
		{"only the count for now: nothing ahead", Plan{Desired: 5, GeneratedAt: t0}, 0, 0, false},
		{"a snapshot without a step: nothing ahead", densePlan([]int{5, 6}, t0, 0), 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.plan.At(t0.Add(tc.at))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("At(t0+%s) = %d, %v; want %d, %v", tc.at, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
