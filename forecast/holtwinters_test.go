package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// simulateHW draws n points of the additive damped Holt-Winters model
// (error-correction form) with parameters p, a season of m steps shaped as
// a sine of amplitude amp around level 100, and Gaussian errors of sd sigma.
func simulateHW(n, m int, p HoltWintersParams, amp, sigma float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	level, trend := 100.0, 0.0
	season := make([]float64, m)
	for i := range season {
		season[i] = amp * math.Sin(2*math.Pi*float64(i)/float64(m))
	}
	y := make([]float64, n)
	for t := range y {
		j := t % m
		e := rng.NormFloat64() * sigma
		damped := p.Phi * trend
		y[t] = level + damped + season[j] + e
		level += damped + p.Alpha*e
		trend = damped + p.Beta*e
		season[j] += p.Gamma * e
	}
	return y
}

// TestHoltWintersRecoversParameters fits series drawn from the model itself:
// 60 days of hourly points with a daily season of m = 24 steps, five draws per
// parameter set. Every fit must find the daily season (not the weekly one the
// 60 days also allow), and the mean fitted α and γ must come back within 0.1
// of those that made the series (one draw's estimate varies by about ±0.07).
func TestHoltWintersRecoversParameters(t *testing.T) {
	tests := []struct {
		name string
		p    HoltWintersParams
	}{
		{"slow level, strong season", HoltWintersParams{Alpha: 0.2, Beta: 0.02, Gamma: 0.3, Phi: 0.9}},
		{"fast level, weak season", HoltWintersParams{Alpha: 0.6, Beta: 0.05, Gamma: 0.1, Phi: 0.9}},
	}
	const draws = 5
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var alpha, gamma float64
			for seed := range uint64(draws) {
				y := simulateHW(60*24, 24, tc.p, 40, 2, seed)
				hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, EvalHorizon: time.Hour})
				history := Series{Start: time.Unix(0, 0), Step: time.Hour, Values: y}
				if _, err := hw.Predict(history, 24); err != nil {
					t.Fatal(err)
				}
				got, season, ok := hw.Params()
				if !ok || season != 24 {
					t.Errorf("draw %d: fitted %v with a season of %d steps, want 24", seed, ok, season)
				}
				alpha += got.Alpha / draws
				gamma += got.Gamma / draws
			}
			if math.Abs(alpha-tc.p.Alpha) > 0.1 || math.Abs(gamma-tc.p.Gamma) > 0.1 {
				t.Errorf("mean fitted α %.3f, γ %.3f; want within 0.1 of %.3f, %.3f", alpha, gamma, tc.p.Alpha, tc.p.Gamma)
			}
		})
	}
}

// TestHoltWintersForecastsSeason checks the forecast of a noise-free series:
// level 500 rising 0.5 per step plus a daily sine of amplitude 200, at
// 30-minute steps (a 48-step season) over 4 days. 4 days hold two seasons,
// so the season is a day; 24 steps ahead the forecast must stay within 2 %
// of the truth (the damped trend flattens the 0.5/step rise a little).
func TestHoltWintersForecastsSeason(t *testing.T) {
	truth := func(i int) float64 {
		return 500 + 0.5*float64(i) + 200*math.Sin(2*math.Pi*float64(i)/48)
	}
	y := make([]float64, 4*48)
	for i := range y {
		y[i] = truth(i)
	}
	hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, EvalHorizon: 30 * time.Minute})
	out, err := hw.Predict(Series{Start: time.Unix(0, 0), Step: 30 * time.Minute, Values: y}, 25)
	if err != nil {
		t.Fatal(err)
	}
	if _, season, _ := hw.Params(); season != 48 {
		t.Errorf("season %d steps, want 48", season)
	}
	for i, v := range out {
		want := truth(len(y) - 1 + i)
		if math.Abs(v-want) > 0.02*want {
			t.Errorf("forecast %d = %.1f, want %.1f ± 2%%", i, v, want)
		}
	}
}

// TestHoltWintersRefitSchedule checks that a fit is kept until the history
// is RefitInterval newer: with 1h, histories ending 30 min later reuse it,
// one ending 1h later refits, and a change of step refits at once.
func TestHoltWintersRefitSchedule(t *testing.T) {
	y := simulateHW(3*24*60, 24*60, HoltWintersParams{Alpha: 0.3, Beta: 0.01, Gamma: 0.1, Phi: 0.9}, 100, 5, 3)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, EvalHorizon: 5 * time.Minute})
	predict := func(points int, step time.Duration) time.Time {
		t.Helper()
		if _, err := hw.Predict(Series{Start: start, Step: step, Values: y[:points]}, 5); err != nil {
			t.Fatal(err)
		}
		return hw.fittedAt
	}
	n := len(y) - 120
	first := predict(n, time.Minute)
	if got := predict(n+30, time.Minute); !got.Equal(first) {
		t.Errorf("30 min later: refitted at %v, want the fit of %v kept", got, first)
	}
	if got := predict(n+60, time.Minute); !got.Equal(first.Add(time.Hour)) {
		t.Errorf("1 h later: fit of %v, want a refit at %v", got, first.Add(time.Hour))
	}
	if got := predict(n+60, 2*time.Minute); got.Equal(first.Add(time.Hour)) {
		t.Errorf("step changed: fit of %v kept, want a refit", got)
	}
}

// TestHoltWintersDropsNoiseSeason checks that white noise around 100 is not
// given a season: the fit without one forecasts better, so it is kept, and
// the forecast stays near the mean.
func TestHoltWintersDropsNoiseSeason(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	y := make([]float64, 4*288) // four days of 5-minute points
	for i := range y {
		y[i] = 100 + rng.NormFloat64()*10
	}
	hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, EvalHorizon: 5 * time.Minute})
	out, err := hw.Predict(Series{Start: time.Unix(0, 0), Step: 5 * time.Minute, Values: y}, 12)
	if err != nil {
		t.Fatal(err)
	}
	if _, season, _ := hw.Params(); season != 0 {
		t.Errorf("season of %d steps on white noise, want none", season)
	}
	for i, v := range out {
		if math.Abs(v-100) > 10 {
			t.Errorf("forecast %d = %.1f, want 100 ± 10", i, v)
		}
	}
}
