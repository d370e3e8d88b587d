package e2e

import (
	"sort"
	"time"
)

// Run is a recorded end-to-end run.
type Run struct {
	// Deployments names the Deployments recorded, in the order of
	// Sample.Replicas.
	Deployments []string
	// PerPod is the load one replica serves: the load needs
	// ceil(load / PerPod) replicas.
	PerPod float64
	// Lead is the forecaster's lead time: how long a pod takes to start.
	Lead time.Duration
	// Poll is KEDA's polling interval and the HPA's sync period.
	Poll time.Duration
	// Start is when the live load began.
	Start time.Time
	// Ramps are the wall times each ramp began and ended.
	Ramps []Window
	// Killed is when the forecaster was killed (zero: never).
	Killed time.Time
	// Samples are the readings, in time order.
	Samples []Sample
}

// Window is a span of wall time.
type Window struct {
	From, To time.Time
}

// Sample is one reading: the load being written then and each Deployment's
// spec.replicas, as the HPA set them.
type Sample struct {
	T        time.Time
	Load     float64
	Replicas []int
}

// RampResult is how each Deployment met one ramp.
type RampResult struct {
	// Need is the most replicas the load needed during the ramp, and
	// NeededAt the first time it needed them.
	Need     int
	NeededAt time.Time
	// Lead is, per Deployment, how long before NeededAt it had Need
	// replicas without a break until then, or how long after NeededAt it
	// first had them (negative); Had says whether it had them at all.
	Lead []time.Duration
	Had  []bool
	// Most is, per Deployment, the most replicas it had during the ramp:
	// an HPA within its tolerance (10 %) of the load's need may stay one
	// short of it.
	Most []int
	// Short is, per Deployment, how long its replicas were fewer than the
	// load needed; ShortStarting the same when a pod is ready only Lead
	// after the HPA asks for it.
	Short, ShortStarting []time.Duration
}

// Analyze measures each ramp of the run. A ramp is looked at from two lead
// times before it began (or from the end of the ramp before, when that is
// later) to its end; its short-handed time is counted from one lead time
// before it began (or the end of the ramp before).
func Analyze(run Run) []RampResult {
	results := make([]RampResult, 0, len(run.Ramps))
	var prevEnd time.Time
	for _, w := range run.Ramps {
		from, shortFrom := latest(w.From.Add(-2*run.Lead), prevEnd), latest(w.From.Add(-run.Lead), prevEnd)
		prevEnd = w.To
		in := run.between(from, w.To)
		if len(in) == 0 {
			continue
		}
		r := RampResult{
			Lead: make([]time.Duration, len(run.Deployments)), Had: make([]bool, len(run.Deployments)), Most: make([]int, len(run.Deployments)),
			Short: make([]time.Duration, len(run.Deployments)), ShortStarting: make([]time.Duration, len(run.Deployments)),
		}
		for _, s := range in {
			if n := Needed(s.Load, run.PerPod); n > r.Need {
				r.Need, r.NeededAt = n, s.T
			}
		}
		for d := range run.Deployments {
			r.Lead[d], r.Had[d] = leadOf(in, d, r.Need, r.NeededAt)
			for _, s := range run.between(w.From, w.To) {
				r.Most[d] = max(r.Most[d], s.Replicas[d])
			}
			r.Short[d], r.ShortStarting[d] = run.short(d, shortFrom, w.To)
		}
		results = append(results, r)
	}
	return results
}

// leadOf returns how long before neededAt Deployment d had need replicas
// without a break until then, or, when it had fewer at neededAt, minus how
// long after neededAt it first had them; and whether it had them at all.
func leadOf(in []Sample, d, need int, neededAt time.Time) (time.Duration, bool) {
	k := sort.Search(len(in), func(i int) bool { return !in[i].T.Before(neededAt) })
	if k == len(in) {
		return 0, false
	}
	if in[k].Replicas[d] >= need {
		j := k
		for j > 0 && in[j-1].Replicas[d] >= need {
			j--
		}
		return neededAt.Sub(in[j].T), true
	}
	for ; k < len(in); k++ {
		if in[k].Replicas[d] >= need {
			return neededAt.Sub(in[k].T), true
		}
	}
	return 0, false
}

// latest returns the later of two times.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// between returns the samples taken from from to to, inclusive.
func (run Run) between(from, to time.Time) []Sample {
	i := sort.Search(len(run.Samples), func(i int) bool { return !run.Samples[i].T.Before(from) })
	j := sort.Search(len(run.Samples), func(i int) bool { return run.Samples[i].T.After(to) })
	return run.Samples[i:j]
}

// short returns how long, from from to to, Deployment d had fewer replicas
// than the load needed: as the HPA set them, and as they would be ready if
// a pod took the lead time to start.
func (run Run) short(d int, from, to time.Time) (set, starting time.Duration) {
	in := run.between(from, to)
	for k := 0; k+1 < len(in); k++ {
		s, dt := in[k], in[k+1].T.Sub(in[k].T)
		need := Needed(s.Load, run.PerPod)
		if s.Replicas[d] < need {
			set += dt
		}
		if run.replicasAt(d, s.T.Add(-run.Lead)) < need {
			starting += dt
		}
	}
	return set, starting
}

// replicasAt returns Deployment d's replicas at t: those of the last sample
// at or before t, or of the first sample when t is before it.
func (run Run) replicasAt(d int, t time.Time) int {
	i := sort.Search(len(run.Samples), func(i int) bool { return run.Samples[i].T.After(t) }) - 1
	return run.Samples[max(i, 0)].Replicas[d]
}

// After returns the fewest replicas Deployment d had from t on, and
// whether any sample was taken then.
func (run Run) After(d int, t time.Time) (fewest int, ok bool) {
	for _, s := range run.Samples {
		if s.T.Before(t) {
			continue
		}
		if !ok || s.Replicas[d] < fewest {
			fewest, ok = s.Replicas[d], true
		}
	}
	return fewest, ok
}
