// Package synthetic makes load that looks like real traffic, for the
// benchmarks: deterministic, so that two runs measure the same work.
package synthetic

import (
	"math"
	"math/rand/v2"
)

// WebTraffic returns n points of one-minute load with a daily cycle
// between 600 and 1400 and normal noise of σ = 50, like busy web traffic,
// from a fixed seed.
func WebTraffic(n int) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, n)
	for i := range values {
		daily := math.Sin(2 * math.Pi * float64(i) / (24 * 60))
		values[i] = 1000 + 400*daily + rng.NormFloat64()*50
	}
	return values
}
