package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// TestBaselineAcceptance is the baseline model's acceptance case: a series
// rising steadily from 100 to 200 over 30 minutes gives predictions that never
// decrease and stay within [last, last × 1.5].
func TestBaselineAcceptance(t *testing.T) {
	values := make([]float64, 31) // 100, 103.33, ..., 200: 31 points a minute apart
	for i := range values {
		values[i] = 100 + 100*float64(i)/30
	}
	history := Series{Start: t0, Step: time.Minute, Values: values}
	got, err := NewBaseline(ModelOptions{}).Predict(history, 30)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("got %d predictions, want 30", len(got))
	}
	last := values[len(values)-1]
	for i, v := range got {
		if v < last || v > last*1.5 {
			t.Errorf("prediction %d = %v, outside [%v, %v]", i, v, last, last*1.5)
		}
		if i > 0 && v < got[i-1] {
			t.Errorf("prediction %d = %v decreases from %v", i, v, got[i-1])
		}
	}
}

func TestBaseline(t *testing.T) {
	hourly := make([]float64, 25) // 00:00 on day 1 to 00:00 on day 2, hourly: 25 h covered
	for i := range hourly {
		hourly[i] = 100
	}
	hourly[3] = 300 // 03:00 on day 1
	tests := []struct {
		name   string
		step   time.Duration
		values []float64
		n      int
		want   []float64
	}{
		{
			name: "constant stays constant", step: time.Minute,
			values: []float64{50, 50, 50, 50}, n: 3,
			want: []float64{50, 50, 50},
		},
		{
			name: "single point", step: time.Minute,
			values: []float64{7}, n: 2,
			want: []float64{7, 7},
		},
		{
			// N5 = 5 points, α = 2/6 = 1/3: EMA5 = 100 + (0 − 100)/3 = 66.667.
			// N30 = 30 points, α = 2/31: EMA30 = 100 − 100·2/31 = 93.548.
			// Falling (EMA5 < EMA30), so no floor:
			// base = 0.7·66.667 + 0.3·93.548 = 46.667 + 28.065 = 74.731.
			name: "falling series blends the averages", step: time.Minute,
			values: []float64{100, 0}, n: 1,
			want: []float64{0.7*(100-100.0/3) + 0.3*(100-200.0/31)},
		},
		{
			// EMA5 = 100 + 100/3 = 133.33 > EMA30 = 100 + 200/31 = 106.45: rising,
			// so the base 0.7·133.33 + 0.3·106.45 = 125.27 is floored at the last value, 200.
			name: "rising series is floored at the last value", step: time.Minute,
			values: []float64{100, 200}, n: 2,
			want: []float64{200, 200},
		},
		{
			name: "negative load forecasts zero", step: time.Minute,
			values: []float64{-10, -10}, n: 1,
			want: []float64{0},
		},
		{
			// At a 1 h step both windows are one point (α = 1): base = last = 100.
			// A day of history: hour 0 has mean (100 + 100)/2 = 100, hour 3 has 300.
			// yhat(00:00) = 0.8·100 + 0.2·100 = 100; yhat(03:00) = 0.8·100 + 0.2·300 = 140.
			name: "hour of day pulls towards that hour's mean", step: time.Hour,
			values: hourly, n: 4,
			want: []float64{100, 100, 100, 140},
		},
		{
			// 23 hourly points cover 23 h, less than a day: no hour-of-day term.
			name: "less than a day has no hour term", step: time.Hour,
			values: hourly[:23], n: 4,
			want: []float64{100, 100, 100, 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			history := Series{Start: t0, Step: tc.step, Values: tc.values}
			got, err := NewBaseline(ModelOptions{}).Predict(history, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, tc.want, approx) {
				t.Errorf("Predict = %v, want %v", got, tc.want)
			}
			again, _ := NewBaseline(ModelOptions{}).Predict(history, tc.n)
			if !slices.Equal(got, again) {
				t.Errorf("not deterministic: %v then %v", got, again)
			}
		})
	}
}

func TestBaselineErrors(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   error
	}{
		{name: "empty", values: nil, want: ErrNoData},
		{name: "NaN", values: []float64{1, math.NaN()}, want: ErrNonFinite},
		{name: "Inf", values: []float64{math.Inf(1), 1}, want: ErrNonFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewBaseline(ModelOptions{}).Predict(Series{Start: t0, Step: time.Minute, Values: tc.values}, 3)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func approx(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func BenchmarkBaselinePredict(b *testing.B) {
	for _, points := range []int{30, 10080} {
		values := make([]float64, points)
		for i := range values {
			values[i] = 200 + 100*math.Sin(2*math.Pi*float64(i)/1440)
		}
		history := Series{Start: t0, Step: time.Minute, Values: values}
		b.Run(fmt.Sprintf("points=%d", points), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := NewBaseline(ModelOptions{}).Predict(history, 30); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBaselineCarriesState ticks a baseline (computed in full every 2
// hours, Settle = 15m) over a movingWindow. Each forecast must equal, bit
// for bit, a baseline computed in full on everything from the window's start
// at the last full computation to now, the settled values then the newest as
// they are now; there must be 19 full computations, as many as the
// Holt-Winters of TestHoltWintersCarriesState fits.
func TestBaselineCarriesState(t *testing.T) {
	w := newMovingWindow()
	b := NewBaseline(ModelOptions{RefitInterval: 2 * time.Hour, Settle: time.Duration(w.settle) * w.step})
	var (
		anchorStart int
		anchored    time.Time
		full        int
	)
	w.tick(func(k, end, _ int, history Series) {
		got, err := b.Predict(history, 12)
		if err != nil {
			t.Fatal(err)
		}
		if b.carry.anchored != anchored {
			full++
			anchored, anchorStart = b.carry.anchored, end-w.window+1
		}
		since := Series{Start: w.start.Add(time.Duration(anchorStart) * w.step), Step: w.step, Values: w.settled(anchorStart, end, history)}
		want, err := NewBaseline(ModelOptions{}).Predict(since, 12)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("tick %d (point %d, full computations %d): carried %v, recomputed %v", k, end, full, got[:3], want[:3])
		}
	})
	if full != 19 {
		t.Errorf("%d full computations, want 19", full)
	}
}
