package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTrackerAccuracy works one forecast through by hand. At 12:00 the
// forecast is [100, 110, 120] for 12:00, 12:01, 12:02; the load turns out
// to be 90, 100, 150.
//
//	horizon 0s: |100−90| / 90 = 0.111, bias +10/90 = +0.111
//	horizon 1m: |110−100| / 100 = 0.1, bias +0.1
//	horizon 2m: |120−150| / 150 = 0.2, bias −30/150 = −0.2
func TestTrackerAccuracy(t *testing.T) {
	at := t0.Add(12 * time.Hour)
	tr := NewTracker(time.Minute, time.Hour)
	tr.Remember(at, []float64{100, 110, 120})

	// At 12:01 only the first two values can be judged.
	tr.Observe(Series{Start: at.Add(-time.Minute), Step: time.Minute, Values: []float64{80, 90, 100}})
	if got := tr.Accuracy(); len(got) != 2 {
		t.Fatalf("after 12:01, %d horizons judged, want 2: %+v", len(got), got)
	}
	tr.Observe(Series{Start: at, Step: time.Minute, Values: []float64{90, 100, 150}})
	want := []HorizonAccuracy{
		{HorizonSeconds: 0, ErrorRatio: 10.0 / 90, BiasRatio: 10.0 / 90, Samples: 1},
		{HorizonSeconds: 60, ErrorRatio: 0.1, BiasRatio: 0.1, Samples: 1},
		{HorizonSeconds: 120, ErrorRatio: 0.2, BiasRatio: -0.2, Samples: 1},
	}
	if got := tr.Accuracy(); !slices.EqualFunc(got, want, func(a, b HorizonAccuracy) bool {
		return a.HorizonSeconds == b.HorizonSeconds && approx(a.ErrorRatio, b.ErrorRatio) &&
			approx(a.BiasRatio, b.BiasRatio) && a.Samples == b.Samples
	}) {
		t.Errorf("Accuracy() = %+v, want %+v", got, want)
	}
	if len(tr.pending) != 0 {
		t.Errorf("%d forecasts still pending once all judged", len(tr.pending))
	}
	// An hour and more later the pairs leave the window.
	tr.Observe(Series{Start: at.Add(2 * time.Hour), Step: time.Minute, Values: []float64{1}})
	if got := tr.Accuracy(); len(got) != 0 {
		t.Errorf("after the window, Accuracy() = %+v, want none", got)
	}
}

// TestTrackerSameOrigin: two ticks within a step forecast from the same
// origin; the second replaces the values of the first not judged yet, so
// each origin is judged once. At 12:00 [100, 110, 120] is remembered and
// its first value judged against 90; a tick at 12:00:30 remembers [95, 105,
// 125] from the same origin. At 12:02 the load was 90, 100, 150:
//
//	horizon 0s: the first forecast, judged before: |100−90| / 90 = 0.111
//	horizon 1m: the second: |105−100| / 100 = 0.05
//	horizon 2m: the second: |125−150| / 150 = 0.167
//
// one sample each, not two.
func TestTrackerSameOrigin(t *testing.T) {
	at := t0.Add(12 * time.Hour)
	tr := NewTracker(time.Minute, time.Hour)
	tr.Remember(at, []float64{100, 110, 120})
	tr.Observe(Series{Start: at, Step: time.Minute, Values: []float64{90}})
	tr.Remember(at, []float64{95, 105, 125})
	if len(tr.pending) != 1 {
		t.Fatalf("%d forecasts pending, want the one origin", len(tr.pending))
	}
	tr.Observe(Series{Start: at, Step: time.Minute, Values: []float64{90, 100, 150}})
	want := []float64{10.0 / 90, 0.05, 25.0 / 150}
	got := tr.Accuracy()
	if len(got) != 3 {
		t.Fatalf("Accuracy() = %+v, want 3 horizons", got)
	}
	for i, a := range got {
		if a.Samples != 1 || !approx(a.ErrorRatio, want[i]) {
			t.Errorf("horizon %d: %d samples, error %v; want 1, %v", i, a.Samples, a.ErrorRatio, want[i])
		}
	}
}

// TestTrackerBetweenPoints checks that a forecast made between the points of
// the history is judged against the straight line between them: a forecast
// for 12:00:30 of 150, with 100 at 12:00 and 200 at 12:01, is exact.
func TestTrackerBetweenPoints(t *testing.T) {
	at := t0.Add(12*time.Hour + 30*time.Second)
	tr := NewTracker(time.Minute, time.Hour)
	tr.Remember(at, []float64{150})
	tr.Observe(Series{Start: t0.Add(12 * time.Hour), Step: time.Minute, Values: []float64{100, 200}})
	got := tr.Accuracy()
	if len(got) != 1 || got[0].ErrorRatio != 0 || got[0].Samples != 1 {
		t.Errorf("Accuracy() = %+v, want one exact forecast", got)
	}
}

// TestTrackerZeroLoad checks that a horizon whose actual load was all 0 has
// a ratio only when the forecast was 0 too (0/0 is no error; x/0 is not a
// number and is left out).
func TestTrackerZeroLoad(t *testing.T) {
	tr := NewTracker(time.Minute, time.Hour)
	tr.Remember(t0, []float64{0, 5})
	tr.Observe(Series{Start: t0, Step: time.Minute, Values: []float64{0, 0}})
	got := tr.Accuracy()
	if len(got) != 1 || got[0].HorizonSeconds != 0 || got[0].ErrorRatio != 0 {
		t.Errorf("Accuracy() = %+v, want only horizon 0s, exact", got)
	}
}

// TestTrackerInterval checks the interval arithmetic on known errors: at
// horizon 0 the errors (actual − forecast) are −4, −3, ..., 5 (ten of them).
// The 0.1 quantile is −4 + 0.9·1 = −3.1 and the 0.9 quantile 4 + 0.1·1 = 4.1
// (linear between order statistics), so a forecast of 100 gets [96.9, 104.1].
func TestTrackerInterval(t *testing.T) {
	tr := NewTracker(time.Minute, time.Hour)
	for k := range 10 {
		at := t0.Add(time.Duration(k) * time.Minute)
		tr.Remember(at, []float64{100})
		if lo, hi := tr.Interval([]float64{100}, 0.1, 0.9); k < 10 && (lo != nil || hi != nil) {
			t.Fatalf("interval after %d errors, want none before %d", k, minIntervalSamples)
		}
		tr.Observe(Series{Start: at, Step: time.Minute, Values: []float64{float64(96 + k)}})
	}
	lo, hi := tr.Interval([]float64{100}, 0.1, 0.9)
	if len(lo) != 1 || !approx(lo[0], 96.9) || !approx(hi[0], 104.1) {
		t.Errorf("Interval = %v, %v; want [96.9], [104.1]", lo, hi)
	}
	// Near zero the lower bound floors at 0.
	lo, _ = tr.Interval([]float64{2}, 0.1, 0.9)
	if lo[0] != 0 {
		t.Errorf("lower bound of 2 − 3.1 = %v, want 0", lo[0])
	}
}

// TestTrackerIntervalCoverage checks that the interval covers about its
// nominal share: the load is 1000 plus Gaussian noise (sd 50), the forecast
// always 1000, the quantiles 0.1 and 0.9; once the window holds 60 errors,
// each new actual should fall inside the interval about 80 % of the time.
// Over 2,000 draws the share must be within 0.72..0.88 (80 % ± 4 standard
// errors of a 60-sample quantile estimate).
func TestTrackerIntervalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tr := NewTracker(time.Minute, time.Hour)
	inside, judged := 0, 0
	for k := range 2100 {
		at := t0.Add(time.Duration(k) * time.Minute)
		forecast := []float64{1000}
		lo, hi := tr.Interval(forecast, 0.1, 0.9)
		tr.Remember(at, forecast)
		actual := 1000 + rng.NormFloat64()*50
		tr.Observe(Series{Start: at, Step: time.Minute, Values: []float64{actual}})
		if k < 100 || lo == nil {
			continue
		}
		judged++
		if actual >= lo[0] && actual <= hi[0] {
			inside++
		}
	}
	share := float64(inside) / float64(judged)
	if share < 0.72 || share > 0.88 {
		t.Errorf("interval covered %.3f of %d actuals, want 0.80 ± 0.08", share, judged)
	}
}

func TestQuantile(t *testing.T) {
	sorted := []float64{1, 2, 3, 4}
	tests := []struct{ q, want float64 }{
		{0, 1}, {1, 4}, {0.5, 2.5}, // position 1.5: 2 + 0.5·1
		{0.1, 1.3}, // position 0.3
		{0.9, 3.7}, // position 2.7
	}
	for _, tc := range tests {
		if got := quantile(sorted, tc.q); !approx(got, tc.want) {
			t.Errorf("quantile(%v, %v) = %v, want %v", sorted, tc.q, got, tc.want)
		}
	}
}

func TestSeriesAt(t *testing.T) {
	s := Series{Start: t0, Step: time.Minute, Values: []float64{10, 20, math.NaN(), 40}}
	tests := []struct {
		at     time.Duration
		want   float64
		wantOK bool
	}{
		{0, 10, true},
		{30 * time.Second, 15, true}, // half-way from 10 to 20
		{time.Minute, 20, true},
		{90 * time.Second, 0, false}, // next to a gap
		{3 * time.Minute, 40, true},
		{-time.Second, 0, false},
		{3*time.Minute + time.Second, 0, false},
	}
	for _, tc := range tests {
		got, ok := s.At(t0.Add(tc.at))
		if ok != tc.wantOK || (ok && !approx(got, tc.want)) {
			t.Errorf("At(+%v) = %v, %v; want %v, %v", tc.at, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestTrackerHugeValues checks that loads near the float64 limit, whose
// error sums overflow, give no interval and no ratio rather than ±Inf (which
// JSON cannot carry).
func TestTrackerHugeValues(t *testing.T) {
	tr := NewTracker(time.Minute, time.Hour)
	for k := range 12 {
		at := t0.Add(time.Duration(k) * time.Minute)
		tr.Remember(at, []float64{1e308})
		tr.Observe(Series{Start: at, Step: time.Minute, Values: []float64{-1e308 * float64(k%2*2-1)}})
	}
	if lo, hi := tr.Interval([]float64{1e308}, 0.1, 0.9); lo != nil || hi != nil {
		t.Errorf("Interval = %v, %v; want none", lo, hi)
	}
	for _, a := range tr.Accuracy() {
		if notFinite(a.ErrorRatio) || notFinite(a.BiasRatio) {
			t.Errorf("Accuracy() has %+v", a)
		}
	}
}
