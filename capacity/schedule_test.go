package capacity

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func intp(n int) *int { return &n }

// TestScheduleBounds reads weekday windows of 08:00 for 10 hours in
// Europe/Paris (min_replicas 10 over a workload's 2..50) around both
// daylight-saving changes of 2026, and a window that spans the spring one.
func TestScheduleBounds(t *testing.T) {
	utc := func(s string) time.Time {
		at, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	for _, tc := range []struct {
		name string
		sc   Schedule
		at   string // UTC
		want int    // the lower bound in force
	}{
		// Friday 27 March, CET (UTC+1): 08:00 local is 07:00 UTC, and the
		// window ends 10 h later, 17:00 UTC.
		{"before a CET window", paris("0 8 * * 1-5"), "2026-03-27 06:59", 2},
		{"a CET window opens", paris("0 8 * * 1-5"), "2026-03-27 07:00", 10},
		{"a CET window's last minute", paris("0 8 * * 1-5"), "2026-03-27 16:59", 10},
		{"a CET window closed", paris("0 8 * * 1-5"), "2026-03-27 17:00", 2},
		// Saturday and Sunday: 1-5 is Monday to Friday.
		{"no window on Saturday", paris("0 8 * * 1-5"), "2026-03-28 09:00", 2},
		// Monday 30 March, CEST (UTC+2) since Sunday 01:00 UTC: 08:00
		// local is 06:00 UTC, until 16:00 UTC.
		{"before a CEST window", paris("0 8 * * 1-5"), "2026-03-30 05:59", 2},
		{"a CEST window opens", paris("0 8 * * 1-5"), "2026-03-30 06:00", 10},
		{"a CEST window closed", paris("0 8 * * 1-5"), "2026-03-30 16:00", 2},
		// Monday 26 October, CET again since Sunday 01:00 UTC: 07:00 UTC.
		{"after autumn's change, still closed", paris("0 8 * * 1-5"), "2026-10-26 06:30", 2},
		{"after autumn's change, open", paris("0 8 * * 1-5"), "2026-10-26 07:00", 10},
		// Every day at 00:00 for 4 hours: on Sunday 29 March the window
		// opens at 00:00 CET (23:00 UTC on the 28th) and lasts 4 hours of
		// elapsed time, to 03:00 UTC, though the local clock then reads
		// 05:00.
		{"a window over the change, its last minute", paris4h("0 0 * * *"), "2026-03-29 02:59", 10},
		{"a window over the change, closed", paris4h("0 0 * * *"), "2026-03-29 03:00", 2},
		{"UTC when no timezone", Schedule{Cron: "30 7 * * *", Duration: model.Duration(time.Hour), MinReplicas: intp(10)}, "2026-03-29 07:30", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSchedules([]Schedule{tc.sc}, 2, 50)
			if err != nil {
				t.Fatal(err)
			}
			at := utc(tc.at)
			windows := s.Windows(at, at.Add(time.Hour))
			if lo, hi := Bounds(windows, at, 2, 50); lo != tc.want || hi != 50 {
				t.Errorf("bounds at %s UTC = %d..%d, want %d..50 (windows %v)", tc.at, lo, hi, tc.want, windows)
			}
		})
	}
}

func paris(cron string) Schedule {
	return Schedule{Cron: cron, Duration: model.Duration(10 * time.Hour), Timezone: "Europe/Paris", MinReplicas: intp(10)}
}

func paris4h(cron string) Schedule {
	s := paris(cron)
	s.Duration = model.Duration(4 * time.Hour)
	return s
}

// TestScheduleBoundsCombine: two windows open at once, one raising the
// minimum to 10 and capping at 40, one capping at 8: the caps combine to 8,
// and the cap wins over the raised minimum: 8..8.
func TestScheduleBoundsCombine(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s, err := ParseSchedules([]Schedule{
		{Cron: "0 8 * * *", Duration: model.Duration(4 * time.Hour), MinReplicas: intp(10), MaxReplicas: intp(40)},
		{Cron: "0 9 * * *", Duration: model.Duration(time.Hour), MaxReplicas: intp(8)},
	}, 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	w := s.Windows(at, at)
	if lo, hi := Bounds(w, at, 2, 50); lo != 8 || hi != 8 {
		t.Errorf("bounds %d..%d, want 8..8", lo, hi)
	}
	if lo, hi := Bounds(w, at.Add(time.Hour), 2, 50); lo != 10 || hi != 40 {
		t.Errorf("an hour later %d..%d, want 10..40: the cap of 8 has closed", lo, hi)
	}
}

// TestParseSchedulesRefuses: each bad schedule is refused with a message
// that says what is wrong, for a workload of 2..50 replicas.
func TestParseSchedulesRefuses(t *testing.T) {
	good := Schedule{Cron: "0 8 * * 1-5", Duration: model.Duration(time.Hour), MinReplicas: intp(10)}
	for _, tc := range []struct {
		edit func(*Schedule)
		want string
	}{
		{func(s *Schedule) { s.Cron = "0 8 * *" }, "cron: expected exactly 5 fields"},
		{func(s *Schedule) { s.Cron = "61 8 * * *" }, "cron: end of range (61) above maximum (59)"},
		{func(s *Schedule) { s.Cron = "CRON_TZ=Europe/Paris 0 8 * * *" }, "set the time zone with timezone"},
		{func(s *Schedule) { s.Cron = "@every 1m" }, "@every is not a calendar schedule"},
		{func(s *Schedule) { s.Timezone = "Europe/Atlantis" }, "timezone: unknown time zone Europe/Atlantis"},
		{func(s *Schedule) { s.Duration = 0 }, "duration must be positive"},
		{func(s *Schedule) { s.MinReplicas = nil }, "set min_replicas, max_replicas or both"},
		{func(s *Schedule) { s.MinReplicas = intp(-1) }, "min_replicas must not be negative"},
		{func(s *Schedule) { s.MinReplicas = intp(60) }, "min_replicas 60 is above the workload's max_replicas 50"},
		{func(s *Schedule) { s.MaxReplicas = intp(0) }, "max_replicas must be at least 1"},
		{func(s *Schedule) { s.MinReplicas, s.MaxReplicas = nil, intp(1) }, "max_replicas 1 is below the workload's min_replicas 2"},
		{func(s *Schedule) { s.MaxReplicas = intp(5) }, "min_replicas must not be above max_replicas"},
	} {
		sc := good
		tc.edit(&sc)
		_, err := ParseSchedules([]Schedule{good, sc}, 2, 50)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "schedule 1 ") {
			t.Errorf("%+v: error %v, want schedule 1 … %q", sc, err, tc.want)
		}
	}
}
