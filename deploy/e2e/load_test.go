package e2e

import (
	"math"
	"testing"
	"time"
)

// TestCycle: base 100, peak 300, a ramp at 10:00 (rise 10 s, hold 20 s,
// fall 10 s), and one at 23:59:50 that runs past midnight.
func TestCycle(t *testing.T) {
	c := Cycle{Base: 100, Peak: 300, Ramps: []Ramp{
		{Start: 10 * time.Hour, Rise: 10 * time.Second, Hold: 20 * time.Second, Fall: 10 * time.Second},
		{Start: 24*time.Hour - 10*time.Second, Rise: 10 * time.Second, Hold: 20 * time.Second, Fall: 10 * time.Second},
	}}
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		at   time.Duration // since midnight
		want float64
	}{
		{10*time.Hour - time.Second, 100},     // before the ramp
		{10 * time.Hour, 100},                 // rise starts: 100 + 0×200
		{10*time.Hour + 5*time.Second, 200},   // halfway up: 100 + 0.5×200
		{10*time.Hour + 10*time.Second, 300},  // hold
		{10*time.Hour + 29*time.Second, 300},  // still holding
		{10*time.Hour + 35*time.Second, 200},  // halfway down: 100 + (1 − 0.5)×200
		{10*time.Hour + 40*time.Second, 100},  // ended
		{24*time.Hour - 5*time.Second, 200},   // the late ramp, halfway up
		{24*time.Hour + 10*time.Second, 300},  // past midnight, holding: tod 10 s + 24 h
		{24*time.Hour + 25*time.Second, 200},  // past midnight, halfway down
		{48*time.Hour + 10*time.Second, 300},  // the next day the same
		{-24*time.Hour + 10*time.Hour, 100.0}, // the day before, 10:00
	}
	for _, tt := range tests {
		if got := c.Smooth(day.Add(tt.at)); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Smooth(+%v) = %g, want %g", tt.at, got, tt.want)
		}
	}
	// Noise ±4 % stays within its bounds, differs between seconds and
	// repeats for the same second.
	c.Noise, c.Seed = 0.04, 7
	seen := map[float64]bool{}
	for s := range 1000 {
		at := day.Add(time.Hour + time.Duration(s)*time.Second) // between the ramps
		v := c.At(at)
		if v < 96 || v > 104 {
			t.Fatalf("At(+%ds) = %g, outside 100 ± 4 %%", s, v)
		}
		if c.At(at) != v {
			t.Fatalf("At(+%ds) differs between two calls", s)
		}
		seen[v] = true
	}
	if len(seen) < 990 {
		t.Errorf("%d distinct values in 1000 seconds: the noise barely varies", len(seen))
	}
	if n := len(c.Samples(day, day.Add(time.Minute), 15*time.Second)); n != 4 {
		t.Errorf("Samples over a minute every 15 s: %d, want 4 (0, 15, 30, 45 s)", n)
	}
}
