package capacity

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/robfig/cron/v3"
)

// Schedule is a time window that repeats on a cron schedule, within which
// the replica bounds of a workload change: MinReplicas raises the lower
// bound, MaxReplicas caps the upper one. A window starts at each time the
// cron expression (five fields, in Timezone) fires and lasts Duration.
type Schedule struct {
	// Cron is a standard five-field cron expression (minute, hour, day of
	// month, month, day of week) or a descriptor such as @daily.
	Cron string `yaml:"cron" json:"cron"`
	// Duration is how long each window lasts, in elapsed time.
	Duration model.Duration `yaml:"duration" json:"duration"`
	// Timezone is the IANA time zone the expression is read in, such as
	// Europe/Paris; UTC when empty.
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// MinReplicas, when set, is the fewest replicas planned in the window.
	MinReplicas *int `yaml:"min_replicas,omitempty" json:"minReplicas,omitempty"`
	// MaxReplicas, when set, is the most replicas planned in the window.
	MaxReplicas *int `yaml:"max_replicas,omitempty" json:"maxReplicas,omitempty"`
}

// Window is one window of a Schedule: from Start, until End.
type Window struct {
	Schedule   Schedule
	Start, End time.Time
}

// Schedules are the parsed schedules of one workload.
type Schedules struct {
	list  []Schedule
	specs []cron.Schedule
	locs  []*time.Location
}

// ParseSchedules checks and parses the schedules of a workload whose
// bounds are lo..hi; the error names the first bad one.
func ParseSchedules(list []Schedule, lo, hi int) (*Schedules, error) {
	s := &Schedules{list: list}
	// The five standard fields and the descriptors (@daily, …).
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for i, sc := range list {
		spec, loc, err := sc.parse(parser, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("schedule %d (%q): %w", i, sc.Cron, err)
		}
		s.specs, s.locs = append(s.specs, spec), append(s.locs, loc)
	}
	return s, nil
}

// parse checks sc and returns its cron schedule and time zone.
func (sc Schedule) parse(parser cron.Parser, lo, hi int) (cron.Schedule, *time.Location, error) {
	switch {
	case strings.Contains(sc.Cron, "TZ="):
		return nil, nil, errors.New("set the time zone with timezone, not in cron")
	case strings.HasPrefix(strings.TrimSpace(sc.Cron), "@every"):
		return nil, nil, errors.New("@every is not a calendar schedule: use five fields or @hourly, @daily, @weekly, @monthly")
	}
	spec, err := parser.Parse(sc.Cron)
	if err != nil {
		return nil, nil, fmt.Errorf("cron: %w", err)
	}
	loc, err := time.LoadLocation(sc.Timezone)
	if err != nil {
		return nil, nil, fmt.Errorf("timezone: %w", err)
	}
	switch {
	case sc.Duration <= 0:
		return nil, nil, errors.New("duration must be positive")
	case sc.MinReplicas == nil && sc.MaxReplicas == nil:
		return nil, nil, errors.New("set min_replicas, max_replicas or both")
	case sc.MinReplicas != nil && *sc.MinReplicas < 0:
		return nil, nil, errors.New("min_replicas must not be negative")
	case sc.MinReplicas != nil && *sc.MinReplicas > hi:
		return nil, nil, fmt.Errorf("min_replicas %d is above the workload's max_replicas %d", *sc.MinReplicas, hi)
	case sc.MaxReplicas != nil && *sc.MaxReplicas < 1:
		return nil, nil, errors.New("max_replicas must be at least 1")
	case sc.MaxReplicas != nil && *sc.MaxReplicas < lo:
		return nil, nil, fmt.Errorf("max_replicas %d is below the workload's min_replicas %d", *sc.MaxReplicas, lo)
	case sc.MinReplicas != nil && sc.MaxReplicas != nil && *sc.MinReplicas > *sc.MaxReplicas:
		return nil, nil, errors.New("min_replicas must not be above max_replicas")
	}
	return spec, loc, nil
}

// Windows returns the windows of every schedule that are open at some time
// in [from, to], in the order of the schedules, then of time.
func (s *Schedules) Windows(from, to time.Time) []Window {
	if s == nil {
		return nil
	}
	var out []Window
	for i, sc := range s.list {
		d := time.Duration(sc.Duration)
		// The first start after from − d is the first window still open
		// at from, or the first to open after it.
		for start := s.specs[i].Next(from.Add(-d).In(s.locs[i])); !start.IsZero() && !start.After(to); start = s.specs[i].Next(start) {
			out = append(out, Window{Schedule: sc, Start: start.UTC(), End: start.Add(d).UTC()})
		}
	}
	return out
}

// Bounds returns the replica bounds in force at t among windows: the
// policy's lo and hi, raised by the min_replicas and capped by the
// max_replicas of every window open at t (Start ≤ t < End). Where a window
// raises the minimum above another's maximum, the maximum wins.
func Bounds(windows []Window, t time.Time, lo, hi int) (int, int) {
	for _, w := range windows {
		if t.Before(w.Start) || !t.Before(w.End) {
			continue
		}
		if w.Schedule.MinReplicas != nil {
			lo = max(lo, *w.Schedule.MinReplicas)
		}
		if w.Schedule.MaxReplicas != nil {
			hi = min(hi, *w.Schedule.MaxReplicas)
		}
	}
	return min(lo, hi), hi
}
