package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
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

// TestRefillEqualsFill: over 2,000 random windows of 0 to 40 points, a
// third of them missing, moved on by 0 to 5 points and changed from a
// random point on, Refill from the last fill gives the same series as Fill,
// bit for bit, also when it fills into the last fill's own array.
func TestRefillEqualsFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	point := func() float64 {
		if rng.IntN(3) == 0 {
			return math.NaN()
		}
		return float64(rng.IntN(100))
	}
	for c := range 2000 {
		a := Series{Start: t0, Step: time.Minute, Values: make([]float64, rng.IntN(40))}
		for i := range a.Values {
			a.Values[i] = point()
		}
		prev, _, err := a.Fill()
		if err != nil {
			continue
		}
		shift := rng.IntN(6)
		b := Series{Start: a.Time(shift), Step: time.Minute, Values: make([]float64, rng.IntN(40))}
		from := rng.IntN(max(len(a.Values)-shift, 0) + 1)
		for i := range b.Values {
			b.Values[i] = point()
			if i < from {
				b.Values[i] = a.Values[shift+i]
			}
		}
		want, wantRepairs, wantErr := b.Fill()
		for _, dst := range [][]float64{nil, prev.Values[:0]} {
			got, repairs, err := b.Refill(prev, from, dst)
			if (err != nil) != (wantErr != nil) || !got.Start.Equal(want.Start) || !sameBits(got.Values, want.Values) ||
				repairs.Leading != wantRepairs.Leading || repairs.Trailing != wantRepairs.Trailing || repairs.Interpolated > wantRepairs.Interpolated {
				t.Fatalf("case %d: %v moved on %d, changed from %d: %v\nRefill %v %v %+v\nFill   %v %v %+v", c, a.Values, shift, from, b.Values, got.Start, got.Values, repairs, want.Start, want.Values, wantRepairs)
			}
			prev, _, _ = a.Fill() // dst may have overwritten it
		}
	}
}

func sameBits(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// TestAllFinite puts one NaN, +Inf or −Inf at each position of 0 to 9
// finite values, the largest among them (whose v − v is still 0), so that
// every lane of the four sums and the loop after them is tried.
func TestAllFinite(t *testing.T) {
	for n := range 10 {
		values := make([]float64, n)
		for i := range values {
			values[i] = math.MaxFloat64 * float64(1-2*(i%2))
		}
		if !allFinite(values) {
			t.Fatalf("%v: not all finite, want all finite", values)
		}
		for i := range values {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				v := slices.Clone(values)
				v[i] = bad
				if allFinite(v) {
					t.Errorf("%v: all finite, want not", v)
				}
			}
		}
	}
}
