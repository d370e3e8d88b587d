package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/internal/config"
)

// TestScheduleWindowInThePlan: a constant load of 100 at 200 a pod and
// headroom 1.2 needs ceil(0.6) = 1 pod, raised to min_replicas 2. A window
// of 12:10 to 12:15 UTC raises the minimum to 10: in a plan made at
// 12:00:30, of 30 one-minute steps, the counts at 12:10:30 .. 12:14:30
// (steps 10 to 14) are 10 and the others 2; in shadow mode so is the
// reactive count served. A plan made at 12:11:00 asks for 10 now, decided
// by the schedule, and shows the window.
func TestScheduleWindowInThePlan(t *testing.T) {
	want := make([]int, 30)
	for i := range want {
		want[i] = 2
		if i >= 10 && i < 15 {
			want[i] = 10
		}
	}
	for _, mode := range config.Modes() {
		t.Run(mode, func(t *testing.T) {
			now := time.Date(2026, 3, 2, 12, 0, 30, 0, time.UTC)
			cfg := testWorkload()
			cfg.Mode, cfg.Model = mode, "baseline"
			cfg.Schedules = []capacity.Schedule{{Cron: "10 12 * * *", Duration: model.Duration(5 * time.Minute), MinReplicas: intp(10)}}
			e, store, _ := testEngine(t, cfg, &fakeSource{load: constant(100)}, now)
			e.deps.Now = func() time.Time { return now }
			if err := e.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			s, _ := store.Get(cfg.Name)
			if !slices.Equal(s.DesiredReplicas, want) {
				t.Errorf("desired %v, want %v", s.DesiredReplicas, want)
			}
			if mode == config.ModeShadow && !slices.Equal(s.PlannedReplicas, want) {
				t.Errorf("planned %v, want %v", s.PlannedReplicas, want)
			}
			if len(s.ActiveSchedules) != 0 {
				t.Errorf("windows open at 12:00:30: %+v, want none", s.ActiveSchedules)
			}
			now = time.Date(2026, 3, 2, 12, 11, 0, 0, time.UTC)
			if err := e.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			s, _ = store.Get(cfg.Name)
			if s.DesiredReplicas[0] != 10 || s.DecidedBy != string(capacity.DecidedBySchedule) {
				t.Errorf("at 12:11 desired[0] %d decided by %q, want 10 by the schedule", s.DesiredReplicas[0], s.DecidedBy)
			}
			if w := s.ActiveSchedules; len(w) != 1 || !w[0].Start.Equal(now.Add(-time.Minute)) || !w[0].End.Equal(now.Add(4*time.Minute)) {
				t.Errorf("windows open at 12:11: %+v, want 12:10 to 12:15", w)
			}
		})
	}
}

func intp(n int) *int { return &n }
