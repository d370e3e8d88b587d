package scaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/internal/clip"
)

// CacheOptions configures a Cache.
type CacheOptions struct {
	// Refresh is the time between two reads of a workload's plan.
	Refresh time.Duration
	// Timeout bounds one read.
	Timeout time.Duration
	// Idle is how long a workload nobody asks for is still refreshed.
	Idle time.Duration
	// MaxWorkloads bounds how many workloads are tracked at once: the names
	// come from the scaler's clients. Zero means no bound.
	MaxWorkloads int
	// Logger logs failed reads.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Age, when set, receives the age of each workload's cached plan at
	// every refresh.
	Age *prometheus.GaugeVec
	// Forget, when set, is called with each workload the cache forgets,
	// so that its series go with it.
	Forget func(workload string)
	// MaxConcurrentReads bounds the reads of plans in flight at once, over
	// every workload; zero means no bound.
	MaxConcurrentReads int
	// NotFoundWait is the longest wait between two reads of a workload the
	// source has never had a plan for: from Refresh, the wait doubles at
	// each "not found" up to it, so that names nobody forecasts (a typo,
	// a hostile client) cost few reads. Zero keeps Refresh.
	NotFoundWait time.Duration
}

// ErrTooManyWorkloads is returned when the cache already tracks
// CacheOptions.MaxWorkloads workloads and is asked for another.
var ErrTooManyWorkloads = errors.New("too many workloads")

// Cache keeps the newest plan of every workload asked for, refreshed in the
// background, so that a gRPC call never waits on the network. It is safe
// for concurrent use.
type Cache struct {
	source Source
	opts   CacheOptions

	mu      sync.Mutex
	ctx     context.Context
	stopped bool
	entries map[string]*entry
	// running counts the refreshing goroutines, which Run waits for.
	running sync.WaitGroup
	// reads holds a token per read in flight when MaxConcurrentReads is set.
	reads chan struct{}
}

// entry is one workload's cached plan.
type entry struct {
	plan     atomic.Pointer[Plan]
	lastUsed atomic.Int64
	// loaded is closed after the first read, successful or not.
	loaded chan struct{}
}

// NewCache returns a Cache over source; Run starts its refreshing.
func NewCache(source Source, opts CacheOptions) *Cache {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cache{source: source, opts: opts, entries: map[string]*entry{}}
	if opts.MaxConcurrentReads > 0 {
		c.reads = make(chan struct{}, opts.MaxConcurrentReads)
	}
	return c
}

// Run refreshes the cached workloads until ctx is done, and returns once
// every refreshing goroutine it started has ended.
func (c *Cache) Run(ctx context.Context) {
	c.mu.Lock()
	c.ctx = ctx
	for name, e := range c.entries {
		c.start(name, e)
	}
	c.mu.Unlock()
	<-ctx.Done()
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.running.Wait()
}

// start refreshes workload in a goroutine of its own while Run runs; c.mu
// is held.
func (c *Cache) start(workload string, e *entry) {
	if c.ctx == nil || c.stopped {
		return
	}
	c.running.Go(func() { c.refresh(c.ctx, workload, e) })
}

// Get returns the cached plan of workload, and false when there is none
// yet (or the source has none). The first Get of a workload starts its
// refreshing and does not wait for it.
func (c *Cache) Get(workload string) (Plan, bool) {
	e, err := c.entry(workload)
	if err != nil {
		return Plan{}, false
	}
	e.lastUsed.Store(c.opts.Now().UnixNano())
	if p := e.plan.Load(); p != nil {
		return *p, true
	}
	return Plan{}, false
}

// Track starts tracking workload, as Get does, or returns
// ErrTooManyWorkloads when MaxWorkloads others are tracked already; a
// workload nobody asks for is forgotten after Idle, which frees its place.
func (c *Cache) Track(workload string) error {
	_, err := c.entry(workload)
	return err
}

// Loaded returns a channel closed once workload's first read is done, for
// callers that may wait (tests, a warm-up at start); closed at once for a
// workload refused by MaxWorkloads.
func (c *Cache) Loaded(workload string) <-chan struct{} {
	e, err := c.entry(workload)
	if err != nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return e.loaded
}

// Tracked returns how many workloads are tracked.
func (c *Cache) Tracked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) entry(workload string) (*entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[workload]; ok {
		return e, nil
	}
	if c.opts.MaxWorkloads > 0 && len(c.entries) >= c.opts.MaxWorkloads {
		return nil, fmt.Errorf("%w: workload %q refused, %d are tracked, the limit", ErrTooManyWorkloads, clip.String(workload), len(c.entries))
	}
	e := &entry{loaded: make(chan struct{})}
	e.lastUsed.Store(c.opts.Now().UnixNano())
	c.entries[workload] = e
	c.start(workload, e)
	return e, nil
}

// refresh reads workload's plan every Refresh until ctx is done or nobody
// asked for it for Idle; a workload never found is read less and less
// often, down to once every NotFoundWait.
func (c *Cache) refresh(ctx context.Context, workload string, e *entry) {
	logger := c.opts.Logger.With("workload", workload)
	wait := c.opts.Refresh
	for first := true; ; first = false {
		err := c.read(ctx, workload, e)
		switch {
		case err == nil:
			wait = c.opts.Refresh
		case errors.Is(err, ErrNotFound):
			// A forecaster that restarts has no plan until its first
			// tick, and Prometheus drops a stopped forecaster's series:
			// the last plan stays, and runs out at its horizon.
			if e.plan.Load() == nil {
				wait = min(2*wait, max(c.opts.NotFoundWait, c.opts.Refresh))
			}
		case ctx.Err() != nil:
			return
		default:
			// The last plan stays; it runs out at its horizon.
			logger.Warn("Cannot read the forecast; the last plan stays until its horizon", "err", err)
		}
		if p := e.plan.Load(); p != nil && c.opts.Age != nil {
			c.opts.Age.WithLabelValues(workload).Set(c.opts.Now().Sub(p.GeneratedAt).Seconds())
		}
		if first {
			close(e.loaded)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if idle := c.opts.Now().Sub(time.Unix(0, e.lastUsed.Load())); idle > c.opts.Idle {
			c.forget(workload)
			return
		}
	}
}

// read reads workload's plan once, within MaxConcurrentReads and Timeout,
// and keeps it when there is one.
func (c *Cache) read(ctx context.Context, workload string, e *entry) error {
	if c.reads != nil {
		select {
		case c.reads <- struct{}{}:
			defer func() { <-c.reads }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	p, err := c.source.Fetch(rctx, workload)
	if err == nil {
		e.plan.Store(&p)
	}
	return err
}

// forget drops workload from the cache, and its series with it.
func (c *Cache) forget(workload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, workload)
	if c.opts.Age != nil {
		c.opts.Age.DeleteLabelValues(workload)
	}
	if c.opts.Forget != nil {
		c.opts.Forget(workload)
	}
}
