package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func TestSeasonalNaive(t *testing.T) {
	// ramp returns n points 0, 1, 2, ...: the value is its own index, so a
	// forecast names the index it copied.
	ramp := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i)
		}
		return v
	}
	tests := []struct {
		name   string
		step   time.Duration
		values []float64
		n      int
		want   []float64
	}{
		{
			// Under a day of history: the last value, 9.
			name: "no season", step: time.Hour, values: ramp(10), n: 3,
			want: []float64{9, 9, 9},
		},
		{
			// 30 hourly points hold a day (m = 24): value i comes from index
			// 29 + i − 24·ceil(i/24): 29, then 29+1−24 = 6, 7.
			name: "same time yesterday", step: time.Hour, values: ramp(30), n: 3,
			want: []float64{29, 6, 7},
		},
		{
			// 200 hourly points hold a week (m = 168): 199, then 199+1−168 = 32.
			name: "same time last week", step: time.Hour, values: ramp(200), n: 2,
			want: []float64{199, 32},
		},
		{
			// Beyond one season ahead, whole seasons back: with m = 24 and 30
			// points, i = 25 gives 29 + 25 − 48 = 6.
			name: "two seasons ahead", step: time.Hour, values: ramp(30), n: 26,
			want: append([]float64{29}, append(ramp(30)[6:30], 6)...),
		},
		{
			// A step that does not divide a day has no season.
			name: "odd step", step: 7 * time.Minute, values: ramp(500), n: 2,
			want: []float64{499, 499},
		},
		{
			name: "negative history floors at 0", step: time.Hour, values: []float64{-5, -3}, n: 2,
			want: []float64{0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SeasonalNaive{}.Predict(Series{Start: t0, Step: tc.step, Values: tc.values}, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Predict = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestModelsOnRealShapes runs every model on the shapes real load takes and
// checks the contract: n values, none negative, none NaN or infinite, and
// errors only for a history no model can use.
func TestModelsOnRealShapes(t *testing.T) {
	seasonal := func(n int, f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	day5m := 288
	shapes := map[string][]float64{
		"single point":  {42},
		"two points":    {1, 2},
		"all zeros":     make([]float64, 3*day5m),
		"constant":      seasonal(3*day5m, func(int) float64 { return 7 }),
		"falling to 0":  seasonal(100, func(i int) float64 { return math.Max(0, 1000-20*float64(i)) }),
		"level shift":   seasonal(3*day5m, func(i int) float64 { return float64(100 + 900*(i/(2*day5m))) }),
		"counter reset": seasonal(3*day5m, func(i int) float64 { return float64(i % 500) }),
		"huge values":   seasonal(3*day5m, func(i int) float64 { return 1e300 * (1 + math.Sin(float64(i))) }),
		"float64 limit": seasonal(485, func(i int) float64 { return 1.7e308 * (float64((i*7919)%1000) / 1000) }),
		"spikes":        seasonal(3*day5m, func(i int) float64 { return float64(10 + 10000*btoi(i%97 == 0)) }),
		"daily cycle":   seasonal(3*day5m, func(i int) float64 { return 100 + 90*math.Sin(2*math.Pi*float64(i)/float64(day5m)) }),
	}
	for _, name := range ModelNames() {
		for shape, values := range shapes {
			t.Run(name+"/"+shape, func(t *testing.T) {
				m, err := NewModel(name, ModelOptions{RefitInterval: time.Hour, EvalHorizon: 10 * time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				history := Series{Start: t0, Step: 5 * time.Minute, Values: values}
				out, err := m.Predict(history, 12)
				if err != nil {
					t.Fatal(err)
				}
				if len(out) != 12 {
					t.Fatalf("%d values, want 12", len(out))
				}
				for i, v := range out {
					if v < 0 || notFinite(v) {
						t.Errorf("value %d = %v, want finite and not negative", i, v)
					}
				}
			})
		}
		t.Run(name+"/bad history", func(t *testing.T) {
			m, _ := NewModel(name, ModelOptions{RefitInterval: time.Hour})
			for _, tc := range []struct {
				values []float64
				want   error
			}{{nil, ErrNoData}, {[]float64{1, math.NaN()}, ErrNonFinite}, {[]float64{math.Inf(-1)}, ErrNonFinite}} {
				if _, err := m.Predict(Series{Start: t0, Step: time.Minute, Values: tc.values}, 3); !errors.Is(err, tc.want) {
					t.Errorf("Predict(%v) err = %v, want %v", tc.values, err, tc.want)
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestAutoChooses checks that auto keeps the baseline while it cannot judge
// and otherwise picks the model that forecast the recent history best.
func TestAutoChooses(t *testing.T) {
	// A square wave with a period of one day at 5-minute steps: 100 for 12
	// hours, 500 for 12. Same time yesterday is exact, and smoothing models
	// lag every switch: seasonal naive's WAPE is 0, so it is chosen (Holt-
	// Winters may tie it; the first in ModelNames order of the best wins).
	square := make([]float64, 3*288)
	for i := range square {
		square[i] = 100 + 400*float64((i/144)%2)
	}
	tests := []struct {
		name   string
		values []float64
		want   []string
	}{
		// 3 points leave no origin to judge from: baseline.
		{"too short", []float64{1, 2, 3}, []string{ModelBaseline}},
		{"daily square wave", square, []string{ModelSeasonalNaive, ModelHoltWinters}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAuto(ModelOptions{RefitInterval: time.Hour, EvalHorizon: 10 * time.Minute})
			if _, err := a.Predict(Series{Start: t0, Step: 5 * time.Minute, Values: tc.values}, 6); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(tc.want, a.Active()) {
				t.Errorf("chose %s (scores %v), want one of %v", a.Active(), a.Scores(), tc.want)
			}
		})
	}
}

func TestEvalOrigins(t *testing.T) {
	tests := []struct {
		name   string
		points int
		h      int
		step   time.Duration
		want   []int
	}{
		// 30 points, h = 5: the last origin is 29 − 5 = 24; the span is the
		// last quarter, 30/4 = 7 points, from max(24 − 7, 15) = 17: 8 origins.
		{"short history", 30, 5, time.Minute, []int{17, 18, 19, 20, 21, 22, 23, 24}},
		// 4 points, h = 2: last = 1, first = max(1 − 1, 2) = 2 > 1: none.
		{"too short", 4, 2, time.Minute, nil},
		// A week at 1 minute, h = 5: last = 10074, span = a day = 1440,
		// first = 8634; 96 origins spread over [8634, 10074], 1440/95 apart.
		{"week of minutes", 10080, 5, time.Minute, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evalOrigins(tc.points, tc.h, tc.step)
			if tc.name == "week of minutes" {
				if len(got) != autoOrigins || got[0] != 8634 || got[len(got)-1] != 10074 || !slices.IsSorted(got) {
					t.Errorf("%d origins from %d to %d, want %d from 8634 to 10074", len(got), got[0], got[len(got)-1], autoOrigins)
				}
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("evalOrigins(%d, %d) = %v, want %v", tc.points, tc.h, got, tc.want)
			}
		})
	}
}
