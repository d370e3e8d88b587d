package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrNonFiniteLoad is returned by Plan when a forecast value is NaN or ±Inf:
// no plan is better than a plan made of garbage.
var ErrNonFiniteLoad = errors.New("forecast load is not a finite number")

// ErrStep is returned by Plan when the forecast step is not positive.
var ErrStep = errors.New("forecast step must be positive")

// Plan turns a forecast into replicas. values[i] is the load forecast at
// now + i·step; the result has the same length, desired[i] being the replicas to
// ask for at now + i·step so that they are ready for the load that follows.
//
// For each i:
//
//	adj[j]     = max(values[j], 0) × Headroom / TargetPerPod
//	i0         = ceil(LeadTime / step)
//	w          = PrewarmWindow / step (whole steps)
//	pre[i]     = max(adj[i+i0 .. min(i+i0+w, len-1)]), or adj[len-1] past the end
//	maxUp      = ceil(prev × UpMaxFactor)          (no cap when prev is 0)
//	maxDown    = floor(prev × (1 − DownMaxPercent/100))
//	desired[i] = round(clamp(pre[i], maxDown, maxUp)), bounded to [MinReplicas, MaxReplicas]
//
// where prev is desired[i-1], and for desired[0] the plan served last. A
// negative prev means no plan was served yet: MinReplicas stands in for it.
// Plan assumes p is valid (see Validate).
func (p Policy) Plan(values []float64, step time.Duration, prev int) ([]int, error) {
	if step <= 0 {
		return nil, ErrStep
	}
	adj := make([]float64, len(values))
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("plan value %d: %w", i, ErrNonFiniteLoad)
		}
		adj[i] = math.Max(v, 0) * p.Headroom / p.TargetPerPod
	}
	if prev < 0 {
		prev = p.MinReplicas
	}
	i0 := int(math.Ceil(float64(p.LeadTime) / float64(step)))
	w := int(int64(p.PrewarmWindow) / int64(step))
	desired := make([]int, len(values))
	for i := range desired {
		desired[i] = p.limit(prewarmPeak(adj, i+i0, w), prev)
		prev = desired[i]
	}
	return desired, nil
}

// prewarmPeak returns max(adj[from .. min(from+w, len-1)]), or the last value
// of adj when from is past its end.
func prewarmPeak(adj []float64, from, w int) float64 {
	last := len(adj) - 1
	if from >= last {
		return adj[last]
	}
	peak := adj[from]
	for _, a := range adj[from+1 : min(from+w, last)+1] {
		peak = math.Max(peak, a)
	}
	return peak
}

// limit clamps the wanted replicas x against the rate limits around prev,
// rounds, and bounds the result to [MinReplicas, MaxReplicas].
func (p Policy) limit(x float64, prev int) int {
	maxDown := math.Floor(float64(prev)*(1-p.DownMaxPercent/100) + epsilon)
	x = math.Max(x, maxDown)
	if prev > 0 {
		maxUp := math.Ceil(float64(prev)*p.UpMaxFactor - epsilon)
		x = math.Min(x, maxUp)
	}
	// Bounding before the conversion keeps a huge forecast from overflowing int.
	x = math.Min(x, float64(p.MaxReplicas))
	return max(p.MinReplicas, int(p.Rounding.apply(x)))
}
