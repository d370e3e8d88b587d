package capacity

import (
	"math"
	"time"
)

// Policies a Scorecard compares: the plan, the reactive count, and the
// replicas that actually ran (when they are known).
const (
	PolicyPredictive = "predictive"
	PolicyReactive   = "reactive"
	PolicyActual     = "actual"
)

// scorecardHours is how many hours of data time a Scorecard keeps by the
// hour, for its last day.
const scorecardHours = 24

// Score is what one policy's replicas would have done over the steps
// judged: the seconds judged with a load observed, replica-seconds ready,
// and seconds when the ready replicas served less than the load.
type Score struct {
	ScoredSeconds  float64
	ReplicaSeconds float64
	ShortSeconds   float64
}

// add adds o to s.
func (s *Score) add(o Score) {
	s.ScoredSeconds += o.ScoredSeconds
	s.ReplicaSeconds += o.ReplicaSeconds
	s.ShortSeconds += o.ShortSeconds
}

// judge counts one step of seconds with ready replicas, and when the load
// is known whether they served less than it.
func (s *Score) judge(seconds, ready, load float64, known bool, targetPerPod float64) {
	s.ReplicaSeconds += ready * seconds
	if !known {
		return
	}
	s.ScoredSeconds += seconds
	if load > ready*targetPerPod*(1+1e-9) {
		s.ShortSeconds += seconds
	}
}

// ScorecardTotals are a Scorecard's sums, per policy. Actual counts only
// the steps whose running replicas are known.
type ScorecardTotals struct {
	Predictive, Reactive, Actual Score
}

// add adds o to t.
func (t *ScorecardTotals) add(o ScorecardTotals) {
	t.Predictive.add(o.Predictive)
	t.Reactive.add(o.Reactive)
	t.Actual.add(o.Actual)
}

// Scorecard judges, as the load arrives, what the predictive plan and the
// reactive count would each have had ready, with the backtest's model of a
// cluster: a pod asked for is ready a lead time later (startup whole steps,
// at least one), and scale-downs remove the newest pods first, so that the
// replicas ready at step t are the fewest asked for over the startup steps
// before it,
//
//	ready(t) = min(r(s) for s in [t − startup, t − 1])
//
// (a step with no request keeps the one before it). At each step t the
// ready replicas of each policy count replicas × step replica-seconds, and
// when the load observed at t is above ready × target_per_pod the step
// counts as short. There is no HPA in between (its tolerance and
// stabilisation apply to both policies alike). The replicas that actually
// ran, when known, are judged the same way, as they were. A Scorecard is
// not safe for concurrent use.
type Scorecard struct {
	step   time.Duration
	origin time.Time
	// requests holds the counts asked for at consecutive steps, the first
	// at step first (in steps since origin).
	requests []request
	first    int64
	// judged is the last step judged; total the sums since the start.
	judged int64
	total  ScorecardTotals
	// hours are the sums of the last scorecardHours hours of data time,
	// by the hour (hour since the epoch mod scorecardHours).
	hours   [scorecardHours]ScorecardTotals
	hoursAt [scorecardHours]int64
}

type request struct{ predictive, reactive int }

// NewScorecard returns a Scorecard of the steps of a workload: origin +
// k·step (the Unix epoch when origin is zero).
func NewScorecard(step time.Duration, origin time.Time) *Scorecard {
	if origin.IsZero() {
		origin = time.Unix(0, 0).UTC()
	}
	return &Scorecard{step: step, origin: origin, judged: math.MinInt64}
}

// Request records what each policy asked for at the step of at (a tick
// records its own; a later tick at the same step replaces it). The steps
// between the last request and this one keep the last.
func (s *Scorecard) Request(at time.Time, predictive, reactive int) {
	k := s.stepOf(at)
	r := request{predictive, reactive}
	if len(s.requests) == 0 || k < s.first {
		s.requests, s.first = append(s.requests[:0], r), k
		return
	}
	for last := s.first + int64(len(s.requests)) - 1; last < k-1; last++ {
		s.requests = append(s.requests, s.requests[len(s.requests)-1])
	}
	if i := k - s.first; i < int64(len(s.requests)) {
		s.requests = append(s.requests[:i], r)
		return
	}
	s.requests = append(s.requests, r)
}

// Judge scores every step after the last one judged up to end, the newest
// step of the load history, once the requests reach startup steps before
// it: load returns the load observed at a step (false: none, when only the
// replica-seconds count), actual the replicas that ran then (nil or false:
// unknown, not judged), and targetPerPod what one replica serves.
func (s *Scorecard) Judge(end time.Time, load, actual func(time.Time) (float64, bool), startup int, targetPerPod float64) {
	if len(s.requests) == 0 {
		return
	}
	startup = max(startup, 1)
	from := max(s.judged+1, s.first+int64(startup))
	for k := from; k <= s.stepOf(end); k++ {
		i := k - s.first
		for int64(len(s.requests)) < i {
			// No request since: the last one stands.
			s.requests = append(s.requests, s.requests[len(s.requests)-1])
		}
		pred, react := math.MaxInt, math.MaxInt
		for _, r := range s.requests[i-int64(startup) : i] {
			pred, react = min(pred, r.predictive), min(react, r.reactive)
		}
		at := s.timeOf(k)
		var t ScorecardTotals
		seconds := s.step.Seconds()
		v, known := load(at)
		known = known && !math.IsNaN(v)
		t.Predictive.judge(seconds, float64(pred), v, known, targetPerPod)
		t.Reactive.judge(seconds, float64(react), v, known, targetPerPod)
		if actual != nil {
			if n, ok := actual(at); ok && n >= 0 && !math.IsInf(n, 0) {
				t.Actual.judge(seconds, n, v, known, targetPerPod)
			}
		}
		s.total.add(t)
		s.addHour(at, t)
		s.judged = k
	}
	// Keep the requests a later step may still need.
	if drop := s.judged - int64(startup) + 1 - s.first; drop > 0 && drop < int64(len(s.requests)) {
		s.requests = append(s.requests[:0], s.requests[drop:]...)
		s.first += drop
	}
}

// addHour adds t to the sums of the hour of at.
func (s *Scorecard) addHour(at time.Time, t ScorecardTotals) {
	h := at.Unix() / 3600
	i := ((h % scorecardHours) + scorecardHours) % scorecardHours
	if s.hoursAt[i] != h {
		s.hours[i], s.hoursAt[i] = ScorecardTotals{}, h
	}
	s.hours[i].add(t)
}

// Pending returns the time of the first step the next Judge may judge.
func (s *Scorecard) Pending() time.Time {
	if s.judged == math.MinInt64 {
		return s.timeOf(s.first)
	}
	return s.timeOf(s.judged + 1)
}

// Total returns the sums since the start.
func (s *Scorecard) Total() ScorecardTotals { return s.total }

// LastDay returns the sums of the 24 hours of data time up to and
// including the hour of the last step judged.
func (s *Scorecard) LastDay() ScorecardTotals {
	var t ScorecardTotals
	if s.judged == math.MinInt64 {
		return t
	}
	newest := s.timeOf(s.judged).Unix() / 3600
	for i, h := range s.hoursAt {
		if h > newest-scorecardHours && h <= newest {
			t.add(s.hours[i])
		}
	}
	return t
}

// stepOf returns the step of at, in steps since origin (floor).
func (s *Scorecard) stepOf(at time.Time) int64 {
	n := int64(at.Sub(s.origin))
	k := n / int64(s.step)
	if n < 0 && n%int64(s.step) != 0 {
		k--
	}
	return k
}

// timeOf returns the time of step k.
func (s *Scorecard) timeOf(k int64) time.Time {
	return s.origin.Add(time.Duration(k) * s.step)
}
