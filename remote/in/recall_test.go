package in

import (
	"context"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

// TestStorageKeepsThePlans: in push mode the forecaster's plans go into its
// own storage, so that after a restart (the storage closed and opened
// again) the first plan starts from the one served last.
func TestStorageKeepsThePlans(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStorage(StorageOptions{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	for i, desired := range []int{4, 9, 7} {
		st.Published(forecast.Snapshot{Workload: "checkout", GeneratedAt: now.Add(time.Duration(i-2) * 30 * time.Second), DesiredReplicas: []int{desired, 1}})
	}
	st.Published(forecast.Snapshot{Workload: "cart", GeneratedAt: now, DesiredReplicas: []int{3}})
	st.Published(forecast.Snapshot{Workload: "empty", GeneratedAt: now}) // no plan: nothing kept
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = OpenStorage(StorageOptions{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tests := []struct {
		workload string
		from     time.Time
		want     int
		wantOK   bool
	}{
		{"checkout", now.Add(-30 * time.Minute), 7, true}, // the newest of 4, 9, 7
		{"cart", now.Add(-30 * time.Minute), 3, true},
		{"empty", now.Add(-30 * time.Minute), 0, false},
		{"search", now.Add(-30 * time.Minute), 0, false},
	}
	for _, tc := range tests {
		n, ok, err := st.Recall(ctx, tc.workload, tc.from, now)
		if err != nil || ok != tc.wantOK || n != tc.want {
			t.Errorf("Recall(%s) = %d, %v, %v; want %d, %v", tc.workload, n, ok, err, tc.want, tc.wantOK)
		}
	}
	// A window that ends before the plans holds none of them.
	if n, ok, err := st.Recall(ctx, "checkout", now.Add(-time.Hour), now.Add(-30*time.Minute)); err != nil || ok {
		t.Errorf("Recall before the plans = %d, %v, %v; want none", n, ok, err)
	}
	// An out-of-order plan (a clock gone back) is refused by the TSDB and
	// logged; the newest stays.
	st.Published(forecast.Snapshot{Workload: "checkout", GeneratedAt: now.Add(-time.Hour), DesiredReplicas: []int{50}})
	if n, ok, err := st.Recall(ctx, "checkout", now.Add(-30*time.Minute), now); err != nil || !ok || n != 7 {
		t.Errorf("Recall after an old plan = %d, %v, %v; want 7", n, ok, err)
	}
}
