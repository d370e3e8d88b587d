package trace

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead checks that Read never panics, that what it accepts holds its
// promises (finite values, strictly increasing times), and that its counter
// is the running sum.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"timestamp,value\n1700000000,42\n1700000060,43.5\n",
		"timestamp, value\n 1700000000.5 , 1e3",
		"\ufefftimestamp,value\r\n1700000000,42\r\n",
		"timestamp,value\n",
		"",
		"1,2\n",                            // no header
		"timestamp,value\n1,2,3\n",         // three fields
		"timestamp,value\nnoon,2\n",        // bad timestamp
		"timestamp,value\n1,lots\n",        // bad value
		"timestamp,value\n1,NaN\n",         // NaN
		"timestamp,value\n1,+Inf\n",        // Inf
		"timestamp,value\n1e300,1\n",       // past year 9999
		"timestamp,value\n20,1\n10,1\n",    // unsorted
		"timestamp,value\n10,1\n10,2\n",    // duplicate
		"timestamp,value\n\"1\n0\",1\n",    // quoted field over two lines
		"timestamp,value\n0\"",             // bare quote
		"timestamp,value\n-1.25,1\n0,-3\n", // before 1970, negative value
	} {
		f.Add([]byte(seed))
	}
	if data, err := os.ReadFile(filepath.Join("..", "..", "data", "traces", "nasa_http_1m.csv")); err == nil {
		f.Add(data[:2000])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i, p := range points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				t.Fatalf("point %d has value %v", i, p.V)
			}
			if i > 0 && !p.T.After(points[i-1].T) {
				t.Fatalf("point %d at %v is not after %v", i, p.T, points[i-1].T)
			}
		}
		totals := Counter(points)
		sum := 0.0
		for i, p := range points {
			sum += p.V
			if totals[i] != sum {
				t.Fatalf("total %d = %v, want the running sum %v", i, totals[i], sum)
			}
		}
	})
}
