package engine

import (
	"slices"
	"testing"

	"github.com/HatiCode/kedastral/forecast"
)

type recordingListener struct{ events []string }

func (l *recordingListener) Published(s forecast.Snapshot) {
	l.events = append(l.events, "put "+s.Workload)
}
func (l *recordingListener) Removed(workload string) { l.events = append(l.events, "delete "+workload) }

// TestStoreListeners: listeners hear every put and the deletion of a
// workload that had a snapshot, in order; deleting an unknown workload is
// not an event.
func TestStoreListeners(t *testing.T) {
	st := NewStore()
	l := &recordingListener{}
	st.Listen(l)
	st.Put(forecast.Snapshot{Workload: "a"})
	st.Put(forecast.Snapshot{Workload: "a"})
	st.Delete("never")
	st.Delete("a")
	want := []string{"put a", "put a", "delete a"}
	if !slices.Equal(l.events, want) {
		t.Errorf("events %v, want %v", l.events, want)
	}
}
