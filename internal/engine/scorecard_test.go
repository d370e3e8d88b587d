package engine

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

// TestScorecardInTheSnapshot ticks an engine once a minute for 10 minutes
// of a constant load of 300, at 100 a pod, headroom 1 and a lead time of one
// step, with data that is final (judged at once): the plan and the reactive
// count both ask for 3 pods; 2 ran (replicas_query), short-handed at every
// step (300 > 200). Steps 1 to 9 are judged (step 0 has no request a step
// before it): 9 × 60 = 540 s each, 3 × 540 = 1,620 replica-seconds for the
// two policies, 2 × 540 = 1,080 for what ran, all 540 s of it short.
func TestScorecardInTheSnapshot(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	cfg := testWorkload()
	cfg.Model = "baseline"
	c := &cfg.Capacity
	c.TargetPerPod, c.Headroom, c.LeadTime, c.PrewarmWindow, c.MinReplicas = 100, 1, model.Duration(time.Minute), 0, 1
	c.ReplicasQuery = "running"
	e, store, _ := testEngine(t, cfg, &fakeSource{load: constant(300)}, now)
	e.deps.Now, e.deps.FinalData = func() time.Time { return now }, true
	e.replicas.source = &fakeSource{load: constant(2)}
	for range 10 {
		if err := e.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	s, _ := store.Get(cfg.Name)
	if s.Scorecard == nil || s.Scorecard.Total.Actual == nil {
		t.Fatalf("scorecard %+v, want one with what ran", s.Scorecard)
	}
	got := s.Scorecard.Total
	for name, c := range map[string]struct{ got, want forecast.PolicyScore }{
		"predictive": {got.Predictive, forecast.PolicyScore{ScoredSeconds: 540, ReplicaSeconds: 1620}},
		"reactive":   {got.Reactive, forecast.PolicyScore{ScoredSeconds: 540, ReplicaSeconds: 1620}},
		"actual":     {*got.Actual, forecast.PolicyScore{ScoredSeconds: 540, ReplicaSeconds: 1080, ShortSeconds: 540}},
	} {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", name, c.got, c.want)
		}
	}
	if !reflect.DeepEqual(s.Scorecard.LastDay, got) {
		t.Errorf("last day %+v, want the total %+v (10 minutes of data)", s.Scorecard.LastDay, got)
	}
}
