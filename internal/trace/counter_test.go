package trace

import (
	"slices"
	"testing"
	"time"
)

func TestCounter(t *testing.T) {
	at := func(i int) time.Time { return time.Unix(int64(i)*60, 0) }
	for _, tc := range []struct {
		name   string
		values []float64
		want   []float64
	}{
		{"empty", nil, []float64{}},
		// 3, 3 + 4 = 7, 7 + 0 = 7, 7 + 2.5 = 9.5.
		{"running total", []float64{3, 4, 0, 2.5}, []float64{3, 7, 7, 9.5}},
		{"one point", []float64{42}, []float64{42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			points := make([]Point, len(tc.values))
			for i, v := range tc.values {
				points[i] = Point{T: at(i), V: v}
			}
			if got := Counter(points); !slices.Equal(got, tc.want) {
				t.Errorf("Counter = %v, want %v", got, tc.want)
			}
		})
	}
}
