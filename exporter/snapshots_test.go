package exporter

import (
	"slices"
	"strings"
	"sync"

	"github.com/HatiCode/kedastral/forecast"
)

// snapshots is a Snapshots for the tests: the forecaster's store is in the
// engine, which the exporter does not import.
type snapshots struct {
	mu  sync.Mutex
	all []forecast.Snapshot
}

// Put adds s, or replaces the snapshot of its workload.
func (st *snapshots) Put(s forecast.Snapshot) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.all = slices.DeleteFunc(st.all, func(o forecast.Snapshot) bool { return o.Workload == s.Workload })
	st.all = append(st.all, s)
	slices.SortFunc(st.all, func(a, b forecast.Snapshot) int { return strings.Compare(a.Workload, b.Workload) })
}

func (st *snapshots) Get(workload string) (forecast.Snapshot, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(st.all, func(o forecast.Snapshot) bool { return o.Workload == workload })
	if i < 0 {
		return forecast.Snapshot{}, false
	}
	return st.all[i], true
}

func (st *snapshots) List() []forecast.Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.all)
}
