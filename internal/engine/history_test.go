package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

// liveSource is a source whose data arrives over time, as in Prometheus: the
// value at t exists once the clock is past t + its delay (30 s, or the
// delay of late[t]); the steps of gaps never have one. It counts the points
// it is asked for.
type liveSource struct {
	mu     sync.Mutex
	now    *time.Time
	late   map[time.Time]time.Duration
	gaps   map[time.Time]bool
	points int
}

func (s *liveSource) value(t time.Time) float64 {
	delay, ok := s.late[t]
	if !ok {
		delay = 30 * time.Second
	}
	if s.gaps[t] || t.Add(delay).After(*s.now) {
		return math.NaN()
	}
	// A daily cycle of 500 ± 200 with a pseudo-noise of ±30.
	x := float64(t.Unix())
	return 500 + 200*math.Sin(2*math.Pi*x/86400) + 30*math.Sin(x*0.37)
}

func (s *liveSource) Range(_ context.Context, start, end time.Time, step time.Duration) (forecast.Series, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := forecast.Series{Start: start, Step: step}
	for t := start; !t.After(end); t = t.Add(step) {
		out.Values = append(out.Values, s.value(t))
		s.points++
	}
	return out, nil
}

// TestIncrementalTickEqualsFullRead ticks two engines of the same workload
// every 30 s for six hours of a live source with gaps and late samples: one
// keeps its history and reads only what is new (the default), the other
// reads the whole window at every tick. Holt-Winters is deterministic, so
// every snapshot must be the same, bit for bit, and so must the histories.
// Between its full reads (the first tick, then one at each hourly refit
// boundary) the incremental engine reads at most the newest point it has
// and those of the 5 minutes before it (at least two steps), the new one and
// the value at now: 1 + 5 + 1 + 1 = 8 at one-minute steps, 1 + 2 + 1 + 1 = 5
// at five-minute ones; the other reads the window and the value at now.
func TestIncrementalTickEqualsFullRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		step time.Duration
		// origin is the grid's (Deps.GridOrigin); zero: the multiples of step.
		origin time.Time
		// late is how late some samples are, within the span read again.
		late     time.Duration
		maxReads int
	}{
		{"1m steps", time.Minute, time.Time{}, 4 * time.Minute, 8},
		{"5m steps on a grid at :04", 5 * time.Minute, time.Date(2014, 4, 10, 0, 4, 0, 0, time.UTC), 8 * time.Minute, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)
			late := map[time.Time]time.Duration{}
			gaps := map[time.Time]bool{}
			first := alignDown(now, tc.origin, tc.step)
			for k := range int(7 * time.Hour / tc.step) {
				at := first.Add(time.Duration(k) * tc.step)
				switch {
				case k%47 == 5:
					gaps[at] = true // never arrives
				case k%13 == 0:
					late[at] = tc.late
				}
			}
			cfg := testWorkload()
			cfg.Model, cfg.Window, cfg.Step = forecast.ModelHoltWinters, model.Duration(6*time.Hour), model.Duration(tc.step)
			cfg.Horizon = model.Duration(6 * tc.step)
			window := cfg.Points()
			engines := make([]*Engine, 2)
			stores := make([]*Store, 2)
			sources := make([]*liveSource, 2)
			for i := range engines {
				sources[i] = &liveSource{now: &now, late: late, gaps: gaps}
				engines[i], stores[i], _ = testEngine(t, cfg, sources[i], now)
				engines[i].deps.Now = func() time.Time { return now }
				engines[i].deps.GridOrigin = tc.origin
				engines[i].deps.StaleAfter = 3 * tc.step
			}
			engines[1].alwaysFull = true
			ticks, fullReads, failed := 0, 0, 0
			for range 6 * 120 {
				before := sources[0].points
				// Both fail together (a gap and a late sample leave the
				// newest point too old), or neither.
				errA, errB := engines[0].Tick(context.Background()), engines[1].Tick(context.Background())
				if (errA == nil) != (errB == nil) {
					t.Fatalf("at %v: incremental %v, full %v", now, errA, errB)
				}
				if errA != nil {
					failed++
				}
				switch read := sources[0].points - before; {
				case read == window+1:
					fullReads++
				case ticks > 0 && read > tc.maxReads:
					t.Fatalf("tick %d read %d points, want at most %d or the whole window", ticks, read, tc.maxReads)
				}
				a, _ := stores[0].Get(cfg.Name)
				b, _ := stores[1].Get(cfg.Name)
				if !sameFloats(a.Values, b.Values) || !sameFloats(a.Lower, b.Lower) || !sameFloats(a.Upper, b.Upper) ||
					!slices.Equal(a.DesiredReplicas, b.DesiredReplicas) || !sameFloats([]float64{a.ObservedValue}, []float64{b.ObservedValue}) {
					t.Fatalf("at %v the snapshots differ:\nincremental %v %v\nfull        %v %v", now, a.Values, a.DesiredReplicas, b.Values, b.DesiredReplicas)
				}
				if !sameFloats(engines[0].history.raw.Values, engines[1].history.raw.Values) {
					t.Fatalf("at %v the histories differ", now)
				}
				ticks++
				now = now.Add(30 * time.Second)
			}
			if full := sources[1].points / ticks; full != window+1 {
				t.Errorf("the full engine read %d points a tick, want %d", full, window+1)
			}
			if failed > ticks/10 {
				t.Errorf("%d of %d ticks failed on stale data, want a few at most", failed, ticks)
			}
			// The first tick, then one a refit boundary: 1 + 6 in six hours.
			if fullReads != 7 {
				t.Errorf("%d full reads in six hours, want 7: the first and one an hour", fullReads)
			}
		})
	}
}

// TestLateDataPickedUpAtTheFullRead: a sample later than the 5 minutes read
// again is not in the incremental history until the next full read, at the
// workload's refit boundary, which brings it in.
func TestLateDataPickedUpAtTheFullRead(t *testing.T) {
	cfg := testWorkload()
	cfg.Model, cfg.Window, cfg.RefitInterval = forecast.ModelBaseline, model.Duration(time.Hour), model.Duration(time.Hour)
	phase := forecast.RefitPhase(cfg.Name, time.Hour)
	// Start on the first minute past a boundary B0, so that the first
	// read is of its hour and the next full read is at the first minute
	// past B0 + 1h: 60 minutes later.
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(phase).Truncate(time.Minute).Add(time.Minute + 5*time.Second)
	lateAt := now.Truncate(time.Minute).Add(10 * time.Minute)
	src := &liveSource{now: &now, late: map[time.Time]time.Duration{lateAt: 20 * time.Minute}}
	e, _, _ := testEngine(t, cfg, src, now)
	e.deps.Now = func() time.Time { return now }
	at := func() float64 {
		i := int(lateAt.Sub(e.history.raw.Start) / time.Minute)
		if i < 0 {
			t.Fatalf("at %v the late sample is out of the window", now)
		}
		return e.history.raw.Values[i]
	}
	var seen []string
	for range 130 { // 65 minutes at 30 s
		if err := e.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		if now.After(lateAt) {
			state := "missing"
			if !math.IsNaN(at()) {
				state = "present"
			}
			if len(seen) == 0 || seen[len(seen)-1][len(seen[len(seen)-1])-7:] != state {
				seen = append(seen, now.Sub(lateAt).Truncate(time.Minute).String()+" "+state)
			}
		}
		now = now.Add(30 * time.Second)
	}
	// Missing from the first tick after it (the source has it 20 minutes
	// later, but that is past the 5 minutes read again) until the full read
	// an hour after the start, 60 − 10 = 50 minutes after it; present since.
	want := []string{"0s missing", "50m0s present"}
	if !slices.Equal(seen, want) {
		t.Errorf("the late sample was %v, want %v", seen, want)
	}
}

// sameFloats reports whether a and b hold the same values, NaN equal to NaN.
func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

// TestAlignDown: the grid of the multiples of the step, or of an origin.
func TestAlignDown(t *testing.T) {
	origin := time.Date(2014, 4, 10, 0, 4, 0, 0, time.UTC) // a trace's first point
	for _, tc := range []struct {
		now    time.Time
		origin time.Time
		step   time.Duration
		want   time.Time
	}{
		{time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC), time.Time{}, time.Minute, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Time{}, time.Minute, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		// 00:13 on the grid 00:04 + k·5m: 00:09.
		{time.Date(2014, 4, 10, 0, 13, 0, 0, time.UTC), origin, 5 * time.Minute, time.Date(2014, 4, 10, 0, 9, 0, 0, time.UTC)},
		// Before the origin: 00:02 → 23:59 the day before.
		{time.Date(2014, 4, 10, 0, 2, 0, 0, time.UTC), origin, 5 * time.Minute, time.Date(2014, 4, 9, 23, 59, 0, 0, time.UTC)},
	} {
		if got := alignDown(tc.now, tc.origin, tc.step); !got.Equal(tc.want) {
			t.Errorf("alignDown(%v, %v, %v) = %v, want %v", tc.now, tc.origin, tc.step, got, tc.want)
		}
	}
}

// TestMergeUnchanged: merge says from when on the history a model sees may
// differ from the one it saw. The history held is 10:00..10:05 at 1m,
// values 0..5 with 10:03 missing (NaN: N below); each case merges the
// window start..end with the points read from "from" on.
func TestMergeUnchanged(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	n := math.NaN()
	for _, tc := range []struct {
		name            string
		step            time.Duration
		start, from, to int // minutes after 10:00
		read            []float64
		want            time.Time
	}{
		// 10:04 and 10:05 read again as they were, 10:06 new: unchanged
		// before 10:06.
		{"a new point", time.Minute, 0, 4, 6, []float64{4, 5, 6}, at(6)},
		// Nothing new and nothing changed: unchanged before 10:06, past the end.
		{"the same points", time.Minute, 0, 4, 5, []float64{4, 5}, at(6)},
		// 10:05 read as 7: it changed.
		{"a late sample", time.Minute, 0, 4, 6, []float64{4, 7, 6}, at(5)},
		// 10:04 read as 9: it changed, and the missing 10:03 before it is
		// interpolated towards it: unchanged before 10:03.
		{"a change after a gap", time.Minute, 0, 4, 6, []float64{9, 5, 6}, at(3)},
		// The window moves on by 2 (start 10:02) and 10:03 arrives late:
		// unchanged before 10:03.
		{"a gap filled", time.Minute, 2, 3, 7, []float64{3, 4, 5, 6, 7}, at(3)},
		// The first point kept changes: nothing is known unchanged.
		{"from the start", time.Minute, 0, 0, 5, []float64{9, 1, 2, n, 4, 5}, time.Time{}},
		// A new step: a new history.
		{"a new step", 30 * time.Second, 0, 0, 10, []float64{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &history{raw: forecast.Series{Start: t0, Step: time.Minute, Values: []float64{0, 1, 2, n, 4, 5}}}
			from := t0.Add(time.Duration(tc.from) * time.Minute)
			start, end := at(tc.start), at(tc.to)
			got := h.merge(forecast.Series{Start: from, Step: tc.step, Values: tc.read}, from, start, end, tc.step)
			if !got.Equal(tc.want) {
				t.Errorf("unchanged before %v, want %v", got, tc.want)
			}
		})
	}
}

// seenModel records the Unchanged of the first history it is given after
// armed is set: the engine's own, not the replays of the tracker's seeding
// that follow it.
type seenModel struct {
	unchanged time.Time
	armed     bool
}

func (*seenModel) Name() string { return "seen" }

func (m *seenModel) Predict(history forecast.Series, n int) ([]float64, error) {
	if m.armed {
		m.unchanged, m.armed = history.Unchanged, false
	}
	return make([]float64, n), nil
}

// TestUnchangedAcrossAFailedTick: a tick that fails before its forecast
// (stale data) leaves the model unaware of what it read, so the next
// history the model sees says so. Ticks at 10:05:30 (points to 10:05),
// 10:09:30 (10:04 corrected from 104 to 99, nothing newer: 4 minutes old,
// stale after 2) and 10:10:30 (10:06..10:10 arrive): the model must see
// the third history unchanged only before 10:04, not before 10:06.
func TestUnchangedAcrossAFailedTick(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := t0.Add(5*time.Minute + 30*time.Second)
	newest, corrected := t0.Add(5*time.Minute), false
	src := &fakeSource{load: func(at time.Time) float64 {
		if at.After(newest) {
			return math.NaN()
		}
		if corrected && at.Equal(t0.Add(4*time.Minute)) {
			return 99
		}
		return 100 + float64(at.Sub(t0)/time.Minute)
	}}
	cfg := testWorkload()
	cfg.Window = model.Duration(30 * time.Minute)
	e, _, _ := testEngine(t, cfg, src, now)
	e.deps.Now = func() time.Time { return now }
	seen := &seenModel{armed: true}
	e.model = seen
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !seen.unchanged.IsZero() {
		t.Errorf("the first history is unchanged before %v, want zero (nothing seen)", seen.unchanged)
	}
	now, corrected = t0.Add(9*time.Minute+30*time.Second), true
	if err := e.Tick(context.Background()); !errors.Is(err, errStaleData) {
		t.Fatalf("second tick: %v, want stale data", err)
	}
	now, newest, seen.armed = t0.Add(10*time.Minute+30*time.Second), t0.Add(10*time.Minute), true
	if err := e.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(4 * time.Minute); !seen.unchanged.Equal(want) {
		t.Errorf("the third history is unchanged before %v, want %v", seen.unchanged, want)
	}
}
