package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/remote/in"
	"github.com/HatiCode/kedastral/remote/read"
)

// fakeRecaller answers Recall with a fixed plan and records its calls.
type fakeRecaller struct {
	n        int
	ok       bool
	err      error
	calls    int
	from, to time.Time
}

func (f *fakeRecaller) Recall(_ context.Context, _ string, from, to time.Time) (int, bool, error) {
	f.calls++
	f.from, f.to = from, to
	return f.n, f.ok, f.err
}

// TestEngineStartsFromTheRecalledPlan: a constant load of 1000 needs
// 1000 × 1.2 / 200 = 6 pods. After a restart, the first plan's rate limits
// start from the plan served before it; with down-max-percent 50 from 20,
// maxDown = floor(20 × 0.5) = 10, so the first plan is 10, not 6, and not
// min_replicas doubling a tick.
func TestEngineStartsFromTheRecalledPlan(t *testing.T) {
	tests := []struct {
		name     string
		recaller *fakeRecaller
		want     int
	}{
		{name: "a plan served before the restart", recaller: &fakeRecaller{n: 20, ok: true}, want: 10},
		{name: "a small plan served before the restart is lifted by the floor", recaller: &fakeRecaller{n: 1, ok: true}, want: 6},
		{name: "no plan served before: the floor", recaller: &fakeRecaller{}, want: 6},
		{name: "the recall fails: the floor", recaller: &fakeRecaller{err: errors.New("prometheus is down")}, want: 6},
		{name: "no recaller: the floor", recaller: nil, want: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			e, store, _ := testEngine(t, testWorkload(), &fakeSource{load: constant(1000)}, now)
			if tc.recaller != nil {
				e.deps.Recaller = tc.recaller
			}
			if err := e.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			s, _ := store.Get("checkout")
			if s.DesiredReplicas[0] != tc.want {
				t.Errorf("first plan %d, want %d", s.DesiredReplicas[0], tc.want)
			}
			if err := e.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.recaller == nil {
				return
			}
			// Only the first tick asks, for the last horizon (30m).
			if tc.recaller.calls != 1 || !tc.recaller.to.Equal(now) || !tc.recaller.from.Equal(now.Add(-30*time.Minute)) {
				t.Errorf("%d recalls, the last from %v to %v; want 1 from %v to %v",
					tc.recaller.calls, tc.recaller.from, tc.recaller.to, now.Add(-30*time.Minute), now)
			}
		})
	}
}

// Both connectors give their engines the plans served before a restart,
// and the push-mode storage keeps them.
var (
	_ Recaller      = (*read.Client)(nil)
	_ Recaller      = (*in.Storage)(nil)
	_ StoreListener = (*in.Storage)(nil)
)
