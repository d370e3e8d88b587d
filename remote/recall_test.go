package remote

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

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

// fakeQuerier answers a range query with a fixed value or error.
type fakeQuerier struct {
	v   model.Value
	err error
}

func (f fakeQuerier) QueryRange(context.Context, string, v1.Range) (model.Value, v1.Warnings, error) {
	return f.v, nil, f.err
}

// TestRecallAnswers: what recall makes of each answer.
func TestRecallAnswers(t *testing.T) {
	at := model.TimeFromUnix(1772366400)
	one := func(v float64) model.Value {
		return model.Matrix{{Values: []model.SamplePair{{Timestamp: at, Value: model.SampleValue(v)}}}}
	}
	failed := errors.New("prometheus is down")
	tests := []struct {
		name    string
		q       fakeQuerier
		want    int
		wantOK  bool
		wantErr error
	}{
		{name: "a plan", q: fakeQuerier{v: one(12)}, want: 12, wantOK: true},
		{name: "zero", q: fakeQuerier{v: one(0)}, want: 0, wantOK: true},
		{name: "no series", q: fakeQuerier{v: model.Matrix{}}},
		{name: "nothing", q: fakeQuerier{}},
		{name: "NaN", q: fakeQuerier{v: one(math.NaN())}, wantErr: errNotAReplicaCount},
		{name: "negative", q: fakeQuerier{v: one(-3)}, wantErr: errNotAReplicaCount},
		{name: "past 2^31", q: fakeQuerier{v: one(1 << 40)}, wantErr: errNotAReplicaCount},
		{name: "query failed", q: fakeQuerier{err: failed}, wantErr: failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := at.Time()
			n, ok, err := recall(context.Background(), tc.q, "checkout", now.Add(-30*time.Minute), now)
			if !errors.Is(err, tc.wantErr) || n != tc.want || ok != tc.wantOK {
				t.Errorf("recall = %d, %v, %v; want %d, %v, %v", n, ok, err, tc.want, tc.wantOK, tc.wantErr)
			}
		})
	}
}

// Both connectors give their engines the plans served before a restart.
var (
	_ forecast.Recaller      = (*Client)(nil)
	_ forecast.Recaller      = (*Storage)(nil)
	_ forecast.StoreListener = (*Storage)(nil)
)
