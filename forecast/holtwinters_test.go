package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
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
// ends past the next refit boundary, phase + k·interval: with 1h and a
// phase of 10 min the boundaries are at 22:10, 23:10, …
func TestHoltWintersRefitSchedule(t *testing.T) {
	y := simulateHW(3*24*60, 24*60, HoltWintersParams{Alpha: 0.3, Beta: 0.01, Gamma: 0.1, Phi: 0.9}, 100, 5, 3)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, RefitPhase: 10 * time.Minute, EvalHorizon: 5 * time.Minute})
	first := len(y) - 120 // the history ends at 2026-03-03 21:59
	for _, tc := range []struct {
		name   string
		points int
		step   time.Duration
		// wantFit is the end of the history of the fit in use after it.
		wantFit string
	}{
		{"first prediction fits", first, time.Minute, "21:59"},
		{"22:05, before the boundary of 22:10: kept", first + 6, time.Minute, "21:59"},
		{"22:10, on it: refit", first + 11, time.Minute, "22:10"},
		{"22:40: kept", first + 41, time.Minute, "22:10"},
		{"23:09: kept", first + 70, time.Minute, "22:10"},
		{"23:11, past 23:10: refit", first + 72, time.Minute, "23:11"},
		{"back to 23:00: refit", first + 61, time.Minute, "23:00"},
		{"step changed: refit", first + 61, 2 * time.Minute, "refit at step 2m"},
	} {
		if _, err := hw.Predict(Series{Start: start, Step: tc.step, Values: y[:tc.points]}, 5); err != nil {
			t.Fatal(err)
		}
		got := hw.fittedAt.Format("15:04")
		if tc.step != time.Minute {
			// The same points 2 min apart end at another time: only the
			// fit's step tells.
			got = "refit at step " + model.Duration(hw.step).String()
		}
		if got != tc.wantFit {
			t.Errorf("%s: fit of %s, want %s", tc.name, got, tc.wantFit)
		}
	}
}

// TestRefitsSpread: 240 workloads with the phases RefitPhase gives their
// names, fed a new one-minute point every minute for three hours of data
// time, refit once an hour each after the first fit, and no minute holds
// more than three times the average of 240 / 60 = 4 refits.
func TestRefitsSpread(t *testing.T) {
	const workloads, minutes = 240, 180
	y := simulateHW(600+minutes, 1, HoltWintersParams{Alpha: 0.3, Beta: 0.01, Phi: 0.9}, 0, 5, 7)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	models := make([]*HoltWinters, workloads)
	for i := range models {
		name := fmt.Sprintf("workload-%03d", i)
		models[i] = NewHoltWinters(ModelOptions{RefitInterval: time.Hour, RefitPhase: RefitPhase(name, time.Hour), EvalHorizon: 5 * time.Minute})
	}
	perMinute := make([]int, minutes)
	perModel := make([]int, workloads)
	for k := range minutes {
		for i, hw := range models {
			before := hw.fittedAt
			if _, err := hw.Predict(Series{Start: start, Step: time.Minute, Values: y[:600+k]}, 5); err != nil {
				t.Fatal(err)
			}
			if k > 0 && !hw.fittedAt.Equal(before) {
				perMinute[k]++
				perModel[i]++
			}
		}
	}
	for k, n := range perMinute {
		if n > 12 {
			t.Errorf("minute %d: %d refits, want at most 12", k, n)
		}
	}
	for i, n := range perModel {
		// 179 minutes after the first fit cross two or three boundaries.
		if n < 2 || n > 3 {
			t.Errorf("workload %d refitted %d times in 179 minutes, want 2 or 3", i, n)
		}
	}
	if slices.Max(perMinute) == workloads {
		t.Error("every workload refitted in the same minute")
	}
}

// TestFitLimiter: a Holt-Winters whose fit is due while the limiter has no
// slot free forecasts with the defaults and fits at its first prediction
// once a slot is free; a nil limiter never limits.
func TestFitLimiter(t *testing.T) {
	y := simulateHW(600, 1, HoltWintersParams{Alpha: 0.5, Beta: 0.05, Phi: 0.95}, 0, 5, 11)
	history := Series{Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: y}
	limiter := NewFitLimiter(1)
	hw := NewHoltWinters(ModelOptions{RefitInterval: time.Hour, EvalHorizon: 5 * time.Minute, Fits: limiter})
	if !limiter.tryAcquire() {
		t.Fatal("a new limiter of one slot has none free")
	}
	got, err := hw.Predict(history, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, fitted := hw.Params(); fitted {
		t.Error("fitted while the only slot was taken")
	}
	// The defaults (α 0.3, β 0.01, φ 0.9), no season: what an unfitted run gives.
	var st hwState
	want := make([]float64, 3)
	st.run(y, 0, defaultHoltWintersParams(), 1, 0, newHWInit(y, 0))
	st.forecast(want, 0, defaultHoltWintersParams().Phi)
	if !slices.Equal(got, want) {
		t.Errorf("forecast %v, want the defaults' %v", got, want)
	}
	limiter.release()
	if _, err := hw.Predict(history, 3); err != nil {
		t.Fatal(err)
	}
	if _, _, fitted := hw.Params(); !fitted {
		t.Error("not fitted once the slot was free")
	}
	if !limiter.tryAcquire() {
		t.Error("the fit kept its slot")
	}
	var none *FitLimiter
	if !none.tryAcquire() {
		t.Error("a nil limiter limited")
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

// movingWindow is a history as a source that reads its newest points again
// gives it, tick after tick: a window of two days at five-minute steps over
// data (a daily cycle of 500 ± 150 with a slow rise and a pseudo-noise of
// ±10) that moves on by 0, 1 or 2 points a tick, 432 ticks (36 hours) in
// all, and whose newest settle points change at each tick before they
// settle. Each history says where it first differs from the one before.
type movingWindow struct {
	data           []float64
	window, settle int
	start          time.Time
	step           time.Duration
}

func newMovingWindow() *movingWindow {
	w := &movingWindow{window: 2 * 288, settle: 3, start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), step: 5 * time.Minute}
	w.data = make([]float64, w.window+432)
	for i := range w.data {
		x := float64(i)
		w.data[i] = 500 + 0.05*x + 150*math.Sin(2*math.Pi*x/288) + 10*math.Sin(x*0.37)
	}
	return w
}

// tick calls f with each history, the index in data of its last point and
// the points new since the history before.
func (w *movingWindow) tick(f func(k, end, newPoints int, history Series)) {
	var previous Series
	end := w.window - 1
	for k := range 432 {
		end += k % 3
		v := slices.Clone(w.data[end-w.window+1 : end+1])
		for i := len(v) - w.settle; i < len(v); i++ {
			v[i] += float64((k*7+i)%5) - 2
		}
		history := Series{Start: w.start.Add(time.Duration(end-w.window+1) * w.step), Step: w.step, Values: v}
		newPoints := len(v)
		if len(previous.Values) > 0 {
			history.Unchanged = firstChange(previous, history)
			newPoints = int(history.End().Sub(previous.End()) / w.step)
		}
		f(k, end, newPoints, history)
		previous = history
	}
}

// settled returns data from point from up to the newest settled point of
// history (ending at end), then history's newest, unsettled ones: the
// history since from as a model that carries its state has seen it.
func (w *movingWindow) settled(from, end int, history Series) []float64 {
	return append(slices.Clone(w.data[from:end+1-w.settle]), history.Values[w.window-w.settle:]...)
}

// TestHoltWintersCarriesState ticks a Holt-Winters (refits every 2 hours,
// Settle = 15m: the 3 newest points) over a movingWindow. Each forecast
// must equal, bit for bit, a full recomputation: newHWInit of the window at
// the last fit, and run over everything from that window's start to now,
// the settled values then the newest as they are now. Between fits a tick
// must smooth only its new points and the 3 unsettled ones.
func TestHoltWintersCarriesState(t *testing.T) {
	w := newMovingWindow()
	hw := NewHoltWinters(ModelOptions{RefitInterval: 2 * time.Hour, EvalHorizon: 30 * time.Minute, Settle: time.Duration(w.settle) * w.step})
	var (
		anchor      []float64 // the window at the last fit
		anchorStart int       // its first point
		fits        int
		fittedAt    time.Time
	)
	w.tick(func(k, end, newPoints int, history Series) {
		got, err := hw.Predict(history, 12)
		if err != nil {
			t.Fatal(err)
		}
		params, season, _ := hw.Params()
		if season != 288 {
			t.Fatalf("tick %d: season %d steps, want the daily 288", k, season)
		}
		if hw.fittedAt != fittedAt {
			fits++
			fittedAt, anchor, anchorStart = hw.fittedAt, history.Values, end-w.window+1
		} else if hw.smoothed > newPoints+w.settle {
			t.Fatalf("tick %d smoothed %d points, want at most %d new + %d unsettled", k, hw.smoothed, newPoints, w.settle)
		}
		var st hwState
		st.run(w.settled(anchorStart, end, history), season, params, 1, 0, newHWInit(anchor, season))
		want := make([]float64, 12)
		st.forecast(want, season, params.Phi)
		if !slices.Equal(got, want) {
			t.Fatalf("tick %d (point %d, fits %d): carried %v, recomputed %v", k, end, fits, got[:3], want[:3])
		}
	})
	// The first fit at point 575 (47:55), then one at each 2-hour
	// boundary crossed by 432 ticks of (0+1+2)/3 = 1 point: 48:00, 50:00,
	// …, 82:00 before 83:55, 18 of them; 19 in all.
	if fits != 19 {
		t.Errorf("%d fits, want 19", fits)
	}
}

// firstChange returns the time of the first value of b that a does not
// hold, the same way: b's Unchanged after a.
func firstChange(a, b Series) time.Time {
	for i, v := range b.Values {
		at := b.Time(i)
		j := int(at.Sub(a.Start) / a.Step)
		if at.Before(a.Start) || j >= len(a.Values) || a.Values[j] != v {
			return at
		}
	}
	return b.End().Add(b.Step)
}
