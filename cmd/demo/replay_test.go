package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/trace"
)

// traceStart is the start of the test traces, as the NASA trace's.
func traceStart() time.Time { return time.Date(1995, 7, 1, 0, 0, 0, 0, time.UTC) }

// minutes returns a trace of one point a minute from traceStart, values from value.
func minutes(n int, value func(i int) float64) []trace.Point {
	points := make([]trace.Point, n)
	for i := range points {
		points[i] = trace.Point{T: traceStart().Add(time.Duration(i) * time.Minute), V: value(i)}
	}
	return points
}

func TestNewReplay(t *testing.T) {
	fourDays := minutes(4*24*60, func(int) float64 { return 10 })
	tests := []struct {
		name         string
		points       []trace.Point
		history      time.Duration
		now          time.Time
		wantPosition time.Time // trace time played now
		wantFirst    time.Time // trace time of the replay's first point, where the counter starts
		wantErr      string
	}{
		{
			// The position is 05:30:20 of the first day with 2 days before
			// it, 3 July; the history is (1 July 05:30:20, 3 July 05:30:20],
			// whose first point is 05:31 on 1 July.
			name: "two days", points: fourDays, history: 2 * day,
			now:          time.Date(2026, 11, 28, 5, 30, 20, 0, time.UTC),
			wantPosition: time.Date(1995, 7, 3, 5, 30, 20, 0, time.UTC),
			wantFirst:    time.Date(1995, 7, 1, 5, 31, 0, 0, time.UTC),
		},
		{
			// Midnight: first + history exactly, 3 July 00:00; the history
			// is 00:01 on 1 July to 00:00 on 3 July.
			name: "at midnight", points: fourDays, history: 2 * day,
			now:          time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
			wantPosition: time.Date(1995, 7, 3, 0, 0, 0, 0, time.UTC),
			wantFirst:    time.Date(1995, 7, 1, 0, 1, 0, 0, time.UTC),
		},
		{
			// A trace from 1 July 12:00 and 12 hours of history: the position
			// is in [2 July 00:00, 3 July 00:00), at 11:00, 2 July 11:00; the
			// history is 1 July 23:01 to 2 July 11:00.
			name: "trace from noon", points: fourDays[720:], history: 12 * time.Hour,
			now:          time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC),
			wantPosition: time.Date(1995, 7, 2, 11, 0, 0, 0, time.UTC),
			wantFirst:    time.Date(1995, 7, 1, 23, 1, 0, 0, time.UTC),
		},
		{
			// The same with now before the trace: a negative shift, floored
			// to whole days all the same.
			name: "now before the trace", points: fourDays[720:], history: 12 * time.Hour,
			now:          time.Date(1995, 6, 20, 11, 0, 0, 0, time.UTC),
			wantPosition: time.Date(1995, 7, 2, 11, 0, 0, 0, time.UTC),
			wantFirst:    time.Date(1995, 7, 1, 23, 1, 0, 0, time.UTC),
		},
		{
			// 1 July + 3.5 days is 4 July 12:00: at 05:30 the position would be
			// 5 July, after the end of the trace.
			name: "nothing left to play", points: fourDays, history: 3*day + 12*time.Hour,
			now:     time.Date(2026, 11, 28, 5, 30, 0, 0, time.UTC),
			wantErr: "leaves nothing of the trace to replay",
		},
		{name: "history too long", points: fourDays, history: 4 * day, now: time.Now(), wantErr: "not more than --history"},
		{name: "empty", points: nil, history: day, now: time.Now(), wantErr: "the trace is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newReplay(tc.points, tc.history, tc.now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.shift%day != 0 {
				t.Errorf("shift %v is not whole days", r.shift)
			}
			if got := tc.now.Add(-r.shift); !got.Equal(tc.wantPosition) {
				t.Errorf("now plays %v, want %v", got, tc.wantPosition)
			}
			if got := r.points[0].T; !got.Equal(tc.wantFirst) {
				t.Errorf("the replay starts at %v, want %v", got, tc.wantFirst)
			}
			if got := r.total(tc.wantFirst.Add(r.shift - time.Second)); got != 0 {
				t.Errorf("the counter is %v before the first point, want 0", got)
			}
		})
	}
}

func TestReplayCounter(t *testing.T) {
	// Ten minutes from traceStart with values 1, 2, ..., 10, and no shift.
	r := &replay{points: minutes(10, func(i int) float64 { return float64(i + 1) })}
	r.totals = trace.Counter(r.points)
	at := func(d time.Duration) time.Time { return traceStart().Add(d) }
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// Before the first point nothing was served.
		{"total before the trace", r.total(at(-time.Second)), 0},
		// At minute 4: 1 + 2 + 3 + 4 + 5 = 15.
		{"total on a point", r.total(at(4 * time.Minute)), 15},
		// 30 s later: 15 + half of minute 5's 6 = 18.
		{"total between points", r.total(at(4*time.Minute + 30*time.Second)), 18},
		// After the last point the total stays at 1 + ... + 10 = 55.
		{"total after the trace", r.total(at(time.Hour)), 55},
		// Points in (4m, 9m]: minutes 5 to 9, values 6 to 10, mean 8.
		{"per minute", r.perMinute(at(9*time.Minute), 5*time.Minute), 8},
		// Points in (-3m, 2m]: minutes 0 to 2, values 1 to 3, mean 2.
		{"per minute at the start", r.perMinute(at(2*time.Minute), 5*time.Minute), 2},
		{"per minute before the trace", r.perMinute(at(-time.Hour), 5*time.Minute), 0},
	}
	for _, tc := range tests {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
