package capacity

import (
	"math"
	"testing"
	"time"
)

// TestScorecard: one-minute steps, pods ready 2 steps after they are asked
// for, 100 a pod. Requests at steps 0 to 5, predictive [2 2 4 4 4 1] and
// reactive [1 1 1 3 3 1]; loads at steps 2 to 5: 150, 350, 350, 100.
//
//	ready(t) = min(r(t−2), r(t−1)):  predictive 2, 2, 4, 4;  reactive 1, 1, 1, 3
//	short (load > ready × 100):       predictive at 3 only;   reactive at 2, 3, 4
//	replica-seconds: predictive (2+2+4+4) × 60 = 720, reactive (1+1+1+3) × 60 = 360
//
// Steps 0 and 1 are not judged: nothing was asked for 2 steps before them.
// The request of step 4 is left out (a failed tick): step 3's stands, and
// the sums are the same.
func TestScorecard(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	pred, react := []int{2, 2, 4, 4, 4, 1}, []int{1, 1, 1, 3, 3, 1}
	loads := map[int64]float64{2: 150, 3: 350, 4: 350, 5: 100} // by minute after t0
	load := func(at time.Time) (float64, bool) { v, ok := loads[int64(at.Sub(t0)/time.Minute)]; return v, ok }
	want := ScorecardTotals{Predictive: Score{240, 720, 60}, Reactive: Score{240, 360, 180}}
	for _, skip := range []int{-1, 4} {
		s := NewScorecard(time.Minute, time.Time{})
		for i := range pred {
			// A tick 20 s into the step: the step is the one at or before it.
			at := t0.Add(time.Duration(i)*time.Minute + 20*time.Second)
			if i != skip {
				s.Request(at, pred[i], react[i])
			}
			s.Judge(t0.Add(time.Duration(i)*time.Minute), load, nil, 2, 100)
		}
		if got := s.Total(); got != want {
			t.Errorf("skipping %d: totals %+v, want %+v", skip, got, want)
		}
		if got := s.LastDay(); got != want {
			t.Errorf("skipping %d: last day %+v, want %+v", skip, got, want)
		}
	}
}

// TestScorecardLastDay: a step an hour for 30 hours, one replica asked for
// and ready, no load: the last day holds the newest 24 hours, 24 × 3600
// replica-seconds, the total all 29 judged.
func TestScorecardLastDay(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	s := NewScorecard(time.Hour, time.Time{})
	none := func(time.Time) (float64, bool) { return math.NaN(), false }
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Hour)
		s.Request(at, 1, 1)
		s.Judge(at, none, nil, 1, 100)
	}
	if got := s.LastDay().Predictive.ReplicaSeconds; got != 24*3600 {
		t.Errorf("last day %v replica-seconds, want 24 × 3600", got)
	}
	if got := s.Total(); got.Predictive.ReplicaSeconds != 29*3600 || got.Predictive.ScoredSeconds != 0 {
		t.Errorf("total %+v, want 29 × 3600 replica-seconds and nothing scored", got)
	}
}

// TestScorecardActual: the replicas that ran, known at steps 2, 3 and 5 of
// TestScorecard's loads (150, 350, 350, 100 at steps 2 to 5): 1, 4, (none),
// 2 at 100 a pod are judged as they are, with no lead time: short at step 2
// (150 > 100) only; 1 + 4 + 2 = 7 replicas × 60 = 420 replica-seconds over
// 180 s judged.
func TestScorecardActual(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	loads := map[int64]float64{2: 150, 3: 350, 4: 350, 5: 100}
	running := map[int64]float64{2: 1, 3: 4, 5: 2}
	at := func(m map[int64]float64) func(time.Time) (float64, bool) {
		return func(x time.Time) (float64, bool) { v, ok := m[int64(x.Sub(t0)/time.Minute)]; return v, ok }
	}
	s := NewScorecard(time.Minute, time.Time{})
	for i := range 6 {
		s.Request(t0.Add(time.Duration(i)*time.Minute), 2, 1)
		s.Judge(t0.Add(time.Duration(i)*time.Minute), at(loads), at(running), 2, 100)
	}
	if got, want := s.Total().Actual, (Score{180, 420, 60}); got != want {
		t.Errorf("actual %+v, want %+v", got, want)
	}
}
