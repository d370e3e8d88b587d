package engine

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
)

// errNoStartupTimes is returned by a lead time query with no usable answer.
var errNoStartupTimes = errors.New("the lead time query gave no start-up time")

// leadTime is a workload's lead time: the configured one, or with a
// lead_time_query the larger of it and a quantile of the start-up times
// measured over the last day (config.LeadTimeSpan), measured again at each
// refit boundary.
type leadTime struct {
	source forecast.Source // nil: the configured lead time alone
	// measured is the quantile of the last measurement, in seconds (NaN
	// before one), and at when it was made.
	measured float64
	at       time.Time
}

// inUse returns the lead time the plan uses, measuring it first when it is
// due; a failed measurement keeps the last one, and is logged and counted.
func (e *Engine) inUse(ctx context.Context, now time.Time) time.Duration {
	p, l := e.cfg.Capacity, &e.lead
	if l.source == nil {
		return time.Duration(p.LeadTime)
	}
	if l.at.IsZero() || forecast.RefitDue(l.at, now, e.modelOpts) {
		l.at = now
		if v, err := e.measureLeadTime(ctx, now); err != nil {
			e.countError(ComponentLeadTime, ReasonMeasure)
			e.logger.Warn("Cannot measure the lead time; keeping the last", "err", err, "measured_seconds", l.seconds())
		} else {
			l.measured = v
		}
	}
	if math.IsNaN(l.measured) {
		if p.LeadTimeAuto {
			return time.Duration(capacity.DefaultPolicy().LeadTime)
		}
		return time.Duration(p.LeadTime)
	}
	measured := time.Duration(math.Ceil(l.measured)) * time.Second
	return max(time.Duration(p.LeadTime), measured)
}

// seconds returns the measured lead time in seconds, 0 before a
// measurement.
func (l *leadTime) seconds() float64 {
	if math.IsNaN(l.measured) {
		return 0
	}
	return l.measured
}

// measureLeadTime reads the lead time query over the last day and returns
// the configured quantile of its finite, non-negative answers.
func (e *Engine) measureLeadTime(ctx context.Context, now time.Time) (float64, error) {
	step := time.Duration(e.cfg.Step)
	s, err := e.lead.source.Range(ctx, now.Add(-config.LeadTimeSpan), now, step)
	if err != nil {
		return 0, err
	}
	values := slices.DeleteFunc(slices.Clone(s.Values), func(v float64) bool {
		return !(v >= 0) || math.IsInf(v, 0)
	})
	if len(values) == 0 {
		return 0, errNoStartupTimes
	}
	q := e.cfg.Capacity.LeadTimeQuantile
	if q == 0 {
		q = 0.9
	}
	return startupQuantile(values, q), nil
}

// startupQuantile returns the q-quantile of values, between the two nearest ranks
// as PromQL's quantile does; it sorts values.
func startupQuantile(values []float64, q float64) float64 {
	slices.Sort(values)
	rank := q * float64(len(values)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(values)-1)
	return values[lo] + (values[hi]-values[lo])*(rank-float64(lo))
}
