package engine

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// fakeConnector hands out constant sources and records the queries opened.
type fakeConnector struct {
	mu      sync.Mutex
	queries []string
}

func (c *fakeConnector) Source(query string, _ *slog.Logger) forecast.Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries = append(c.queries, query)
	return &fakeSource{load: constant(100)}
}

func (c *fakeConnector) opened() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.queries)
}

// waitTimeout bounds the waits of these tests.
const waitTimeout = 10 * time.Second

// newTestScheduler returns a Scheduler and its Store, stopped when the test ends.
func newTestScheduler(t *testing.T) (*Scheduler, *Store) {
	t.Helper()
	store := NewStore()
	s := NewScheduler(Deps{
		Store:      store,
		Metrics:    NewMetrics(prometheus.NewRegistry()),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		StaleAfter: time.Hour,
		Adapter:    "fake",
	})
	t.Cleanup(s.Stop)
	return s, store
}

func TestSchedulerApply(t *testing.T) {
	s, store := newTestScheduler(t)
	workload := func(name, query string) config.Workload {
		w := config.DefaultWorkload()
		w.Name, w.Query, w.Interval = name, query, model.Duration(time.Hour)
		return w
	}
	conn := &fakeConnector{}

	if s.Ready() {
		t.Error("ready before any configuration")
	}
	if err := s.Apply([]config.Workload{workload("a", "qa"), workload("b", "qb")}, conn); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, waitTimeout, "both first forecasts", s.Ready)
	if _, ok := store.Get("b"); !ok {
		t.Fatal("no snapshot of b")
	}

	// Same a, b removed, c added: a keeps running untouched, b's snapshot goes.
	if err := s.Apply([]config.Workload{workload("a", "qa"), workload("c", "qc")}, conn); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, waitTimeout, "c's first forecast", s.Ready)
	if _, ok := store.Get("b"); ok {
		t.Error("removed workload b still has a snapshot")
	}
	if got, want := conn.opened(), []string{"qa", "qb", "qc"}; !slices.Equal(sortedCopy(got), want) {
		t.Errorf("sources opened %v, want %v (a must not restart)", got, want)
	}

	// a's query changes: a restarts with the new source and keeps its snapshot meanwhile.
	if err := s.Apply([]config.Workload{workload("a", "qa2"), workload("c", "qc")}, conn); err != nil {
		t.Fatal(err)
	}
	if _, ok := store.Get("a"); !ok {
		t.Error("a lost its snapshot on restart")
	}
	if got := conn.opened(); !slices.Contains(got, "qa2") || len(got) != 4 {
		t.Errorf("sources opened %v, want qa2 added and nothing else", got)
	}

	// A new connector restarts every workload.
	conn2 := &fakeConnector{}
	if err := s.Apply([]config.Workload{workload("a", "qa2"), workload("c", "qc")}, conn2); err != nil {
		t.Fatal(err)
	}
	if got := sortedCopy(conn2.opened()); !slices.Equal(got, []string{"qa2", "qc"}) {
		t.Errorf("new connector opened %v, want [qa2 qc]", got)
	}

	// No workload left (a shard that owns none): ready, with no snapshot.
	if err := s.Apply(nil, conn2); err != nil {
		t.Fatal(err)
	}
	if !s.Ready() {
		t.Error("not ready with no workload to forecast")
	}
	if _, ok := store.Get("a"); ok {
		t.Error("a's snapshot kept after it was removed")
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// blockingConnector's sources for query "slow" hang until their tick is
// cancelled; others answer at once.
type blockingConnector struct{}

func (blockingConnector) Source(query string, _ *slog.Logger) forecast.Source {
	if query == "slow" {
		return hangingSource{}
	}
	return &fakeSource{load: constant(100)}
}

type hangingSource struct{}

func (hangingSource) Range(ctx context.Context, _, _ time.Time, _ time.Duration) (forecast.Series, error) {
	<-ctx.Done()
	return forecast.Series{}, ctx.Err()
}

// TestSchedulerSlowWorkloadBlocksNoOther runs a workload whose source hangs
// beside one that answers: the second keeps forecasting on its schedule.
func TestSchedulerSlowWorkloadBlocksNoOther(t *testing.T) {
	s, store := newTestScheduler(t)
	slow, fast := config.DefaultWorkload(), config.DefaultWorkload()
	slow.Name, slow.Query, slow.Interval = "slow", "slow", model.Duration(time.Hour)
	fast.Name, fast.Query, fast.Interval = "fast", "fast", model.Duration(10*time.Millisecond)
	if err := s.Apply([]config.Workload{slow, fast}, blockingConnector{}); err != nil {
		t.Fatal(err)
	}
	var first time.Time
	testutil.WaitFor(t, waitTimeout, "fast's first forecast", func() bool {
		snap, ok := store.Get("fast")
		first = snap.GeneratedAt
		return ok
	})
	testutil.WaitFor(t, waitTimeout, "fast's next forecasts while slow hangs", func() bool {
		snap, _ := store.Get("fast")
		return snap.GeneratedAt.After(first)
	})
	if _, ok := store.Get("slow"); ok {
		t.Error("the hanging workload published a snapshot")
	}
	if s.Ready() {
		t.Error("ready while a workload has no forecast")
	}
}
