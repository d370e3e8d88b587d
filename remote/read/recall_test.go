package read

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

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
		{name: "NaN", q: fakeQuerier{v: one(math.NaN())}, wantErr: ErrNotAReplicaCount},
		{name: "negative", q: fakeQuerier{v: one(-3)}, wantErr: ErrNotAReplicaCount},
		{name: "past 2^31", q: fakeQuerier{v: one(1 << 40)}, wantErr: ErrNotAReplicaCount},
		{name: "query failed", q: fakeQuerier{err: failed}, wantErr: failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := at.Time()
			n, ok, err := Recall(context.Background(), tc.q, "checkout", now.Add(-30*time.Minute), now)
			if !errors.Is(err, tc.wantErr) || n != tc.want || ok != tc.wantOK {
				t.Errorf("recall = %d, %v, %v; want %d, %v, %v", n, ok, err, tc.want, tc.wantOK, tc.wantErr)
			}
		})
	}
}
