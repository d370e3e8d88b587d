package forecast

import (
	"hash/fnv"
	"sync/atomic"
	"time"
)

// FitLimiter bounds how many model fits (a Holt-Winters fit, auto's choice
// of a model) run at once across every workload of a process, so that fits,
// above all the first round at start-up, never take every core from the
// ticks. A model whose fit is due when no slot is free forecasts with what
// it has (its last fit; before any, the unfitted defaults, and auto the
// baseline) and tries again at its next prediction. A nil FitLimiter never
// limits. It is safe for concurrent use.
type FitLimiter struct {
	slots chan struct{}
	// fits counts the slots taken, deferred the fits put off for want of one.
	fits, deferred atomic.Uint64
}

// NewFitLimiter returns a FitLimiter of n slots, at least 1.
func NewFitLimiter(n int) *FitLimiter {
	return &FitLimiter{slots: make(chan struct{}, max(n, 1))}
}

// tryAcquire takes a slot when one is free.
func (l *FitLimiter) tryAcquire() bool {
	if l == nil {
		return true
	}
	select {
	case l.slots <- struct{}{}:
		l.fits.Add(1)
		return true
	default:
		l.deferred.Add(1)
		return false
	}
}

// Fits returns how many fits have taken a slot.
func (l *FitLimiter) Fits() uint64 { return l.fits.Load() }

// Deferred returns how many due fits found no slot free and were put off
// to the model's next prediction.
func (l *FitLimiter) Deferred() uint64 { return l.deferred.Load() }

// release gives back a slot tryAcquire took.
func (l *FitLimiter) release() {
	if l != nil {
		<-l.slots
	}
}

// RefitPhase returns a stable offset in [0, interval) for the workload
// called name (FNV-1a of the name), which spreads the refits of many
// workloads evenly over the refit interval; 0 when interval is not positive.
func RefitPhase(name string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// RefitDue reports whether a model last fitted on history ending at last
// must fit again on history ending at end: when end has crossed a refit
// boundary (opts.RefitPhase + k·opts.RefitInterval, in data time) since
// last, or gone back before last. An interval of 0 refits every time.
func RefitDue(last, end time.Time, opts ModelOptions) bool {
	if opts.RefitInterval <= 0 || end.Before(last) {
		return true
	}
	return refitSlot(end, opts) > refitSlot(last, opts)
}

// refitSlot returns k for the boundary phase + k·interval at or before t.
func refitSlot(t time.Time, opts ModelOptions) int64 {
	d := t.UnixNano() - int64(opts.RefitPhase)
	k := d / int64(opts.RefitInterval)
	if d < 0 && d%int64(opts.RefitInterval) != 0 {
		k-- // floor, not truncation, before the phase of 1970
	}
	return k
}
