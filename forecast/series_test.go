package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func TestSeriesFill(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name        string
		values      []float64
		want        []float64
		wantStart   int
		wantRepairs Repairs
	}{
		{
			name:   "nothing to repair",
			values: []float64{1, 2, 3},
			want:   []float64{1, 2, 3},
		},
		{
			// One leading and two trailing NaN are trimmed; the gap between 1 and 3
			// becomes 1 + (3 − 1)/2 = 2.
			name:        "trim the ends, interpolate inside",
			values:      []float64{nan, 1, nan, 3, nan, nan},
			want:        []float64{1, 2, 3},
			wantStart:   1,
			wantRepairs: Repairs{Leading: 1, Trailing: 2, Interpolated: 1},
		},
		{
			// From 0 to 9 over 3 steps: slope 3, so 3 and 6.
			name:        "a longer gap is a straight line",
			values:      []float64{0, nan, nan, 9},
			want:        []float64{0, 3, 6, 9},
			wantRepairs: Repairs{Interpolated: 2},
		},
		{
			name:        "two gaps",
			values:      []float64{10, nan, 20, nan, nan, 50},
			want:        []float64{10, 15, 20, 30, 40, 50},
			wantRepairs: Repairs{Interpolated: 3},
		},
		{
			name:        "a single value",
			values:      []float64{nan, 4, nan},
			want:        []float64{4},
			wantStart:   1,
			wantRepairs: Repairs{Leading: 1, Trailing: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Series{Start: t0, Step: time.Minute, Values: slices.Clone(tc.values)}
			got, repairs, err := in.Fill()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Values, tc.want) {
				t.Errorf("values %v, want %v", got.Values, tc.want)
			}
			if want := t0.Add(time.Duration(tc.wantStart) * time.Minute); !got.Start.Equal(want) {
				t.Errorf("start %v, want %v", got.Start, want)
			}
			if repairs != tc.wantRepairs {
				t.Errorf("repairs %+v, want %+v", repairs, tc.wantRepairs)
			}
			if !slices.EqualFunc(in.Values, tc.values, func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }) {
				t.Errorf("Fill modified its input: %v", in.Values)
			}
		})
	}
}

func TestSeriesFillNoData(t *testing.T) {
	for _, values := range [][]float64{nil, {math.NaN(), math.NaN()}} {
		if _, _, err := (Series{Start: t0, Step: time.Minute, Values: values}).Fill(); !errors.Is(err, ErrNoData) {
			t.Errorf("Fill(%v) err = %v, want ErrNoData", values, err)
		}
	}
}
