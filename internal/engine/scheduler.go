package engine

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
)

// A Connector opens the Source of a workload's history, for example a
// Prometheus server that runs the workload's query. A Connector that is
// also a Recaller gives its engines the plans they served before a restart.
type Connector interface {
	Source(query string, logger *slog.Logger) forecast.Source
}

// A Recaller reads back the replicas a workload's plan asked for last, as
// published before a restart (kedastral_forecast_desired_replicas), so that
// the first plan after it starts from there.
type Recaller interface {
	// Recall returns the newest value published between from and to, and
	// false when there is none.
	Recall(ctx context.Context, workload string, from, to time.Time) (int, bool, error)
}

// Scheduler runs one Engine per configured workload, each on its own
// goroutine and schedule, so that a slow workload never delays another.
type Scheduler struct {
	deps Deps

	mu        sync.Mutex
	ctx       context.Context
	cancel    context.CancelFunc
	connector Connector
	running   map[string]*runningEngine
	// applied is set by the first Apply, even of no workload.
	applied bool
}

type runningEngine struct {
	cfg    config.Workload
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns a Scheduler that runs no workload yet.
func NewScheduler(deps Deps) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{deps: deps, ctx: ctx, cancel: cancel, running: map[string]*runningEngine{}}
}

// Apply makes the running workloads those of cfgs, read through connector.
// Unchanged workloads keep running on their schedule; changed ones restart
// (keeping their last snapshot, so the rate limits still apply to it); removed
// ones stop and their snapshots go. A new connector restarts every workload.
// The configurations must be valid.
func (s *Scheduler) Apply(cfgs []config.Workload, connector Connector) error {
	engines := make(map[string]*Engine, len(cfgs))
	s.mu.Lock()
	defer s.mu.Unlock()
	sameConnector := connector == s.connector
	deps := s.deps
	deps.Recaller, _ = connector.(Recaller)
	for _, cfg := range cfgs {
		if r, ok := s.running[cfg.Name]; ok && sameConnector && reflect.DeepEqual(r.cfg, cfg) {
			continue
		}
		logger := s.deps.Logger.With("workload", cfg.Name)
		d := deps
		if q := cfg.Capacity.LeadTimeQuery; q != "" {
			d.LeadTime = connector.Source(q, logger.With("query", "lead_time"))
		}
		if q := cfg.Capacity.ReplicasQuery; q != "" {
			d.Replicas = connector.Source(q, logger.With("query", "replicas"))
		}
		e, err := New(cfg, connector.Source(cfg.Query, logger), d)
		if err != nil {
			return err
		}
		engines[cfg.Name] = e
	}
	wanted := make(map[string]bool, len(cfgs))
	for _, cfg := range cfgs {
		wanted[cfg.Name] = true
	}
	for name, r := range s.running {
		if _, restart := engines[name]; restart || !wanted[name] {
			r.stop()
			delete(s.running, name)
		}
		if !wanted[name] {
			s.deps.Store.Delete(name)
		}
	}
	for _, cfg := range cfgs {
		if e, ok := engines[cfg.Name]; ok {
			s.running[cfg.Name] = s.start(cfg, e)
		}
	}
	s.connector = connector
	s.applied = true
	return nil
}

func (s *Scheduler) start(cfg config.Workload, e *Engine) *runningEngine {
	ctx, cancel := context.WithCancel(s.ctx)
	r := &runningEngine{cfg: cfg, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		e.Run(ctx)
	}()
	return r
}

func (r *runningEngine) stop() {
	r.cancel()
	<-r.done
}

// Ready reports whether a configuration was applied and every workload it
// runs has published a snapshot. A configuration of no workload (a shard
// that owns none) is ready at once.
func (s *Scheduler) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.running {
		if _, ok := s.deps.Store.Get(name); !ok {
			return false
		}
	}
	return s.applied
}

// Stop stops every workload and waits for their ticks to end.
func (s *Scheduler) Stop() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.running {
		<-r.done
		delete(s.running, name)
	}
}
