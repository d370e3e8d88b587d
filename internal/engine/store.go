package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/HatiCode/kedastral/forecast"
)

// Store holds the latest snapshot of each workload. It is safe for concurrent
// use. Snapshots put in a Store must not be modified afterwards.
type Store struct {
	mu        sync.RWMutex
	snapshots map[string]forecast.Snapshot
	listeners []StoreListener
}

// A StoreListener hears of every snapshot put in a Store and of every
// workload deleted from it, for example to send them elsewhere. Its methods
// are called on the goroutine that changed the store, after the change, and
// must not block.
type StoreListener interface {
	// Published is called with every snapshot put in the store.
	Published(s forecast.Snapshot)
	// Removed is called when a workload's snapshot is deleted.
	Removed(workload string)
}

// Listen adds l to the listeners of the store. Call it before the store is
// used.
func (st *Store) Listen(l StoreListener) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.listeners = append(st.listeners, l)
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{snapshots: map[string]forecast.Snapshot{}}
}

// Put replaces the snapshot of s.Workload.
func (st *Store) Put(s forecast.Snapshot) {
	st.mu.Lock()
	st.snapshots[s.Workload] = s
	listeners := st.listeners
	st.mu.Unlock()
	for _, l := range listeners {
		l.Published(s)
	}
}

// Get returns the snapshot of workload, and false when there is none.
func (st *Store) Get(workload string) (forecast.Snapshot, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	s, ok := st.snapshots[workload]
	return s, ok
}

// Delete forgets the snapshot of workload.
func (st *Store) Delete(workload string) {
	st.mu.Lock()
	_, existed := st.snapshots[workload]
	delete(st.snapshots, workload)
	listeners := st.listeners
	st.mu.Unlock()
	if existed {
		for _, l := range listeners {
			l.Removed(workload)
		}
	}
}

// List returns every snapshot, sorted by workload.
func (st *Store) List() []forecast.Snapshot {
	st.mu.RLock()
	out := make([]forecast.Snapshot, 0, len(st.snapshots))
	for _, s := range st.snapshots {
		out = append(out, s)
	}
	st.mu.RUnlock()
	slices.SortFunc(out, func(a, b forecast.Snapshot) int { return strings.Compare(a.Workload, b.Workload) })
	return out
}
