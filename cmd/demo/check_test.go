package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

func TestJudge(t *testing.T) {
	// A right snapshot: 30 values (horizon 30m / step 1m) of 20 requests a
	// minute, 4 replicas each, observed 24 a minute.
	good := func(edit func(s *forecast.Snapshot)) forecast.Snapshot {
		s := forecast.Snapshot{ObservedValue: 24, ObservedAt: time.Unix(1e9, 0)}
		for range 30 {
			s.Values = append(s.Values, 20)
			s.DesiredReplicas = append(s.DesiredReplicas, 4)
		}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	tests := []struct {
		name    string
		s       forecast.Snapshot
		want    float64 // the trace's load then
		wantErr string
	}{
		// 24 is within [20 / 3, 20 × 3] = [6.67, 60].
		{name: "right", s: good(nil), want: 20},
		{name: "at the upper bound", s: good(func(s *forecast.Snapshot) { s.ObservedValue = 60 }), want: 20},
		{name: "too low", s: good(func(s *forecast.Snapshot) { s.ObservedValue = 6.6 }), want: 20,
			wantErr: "observed load 6.6/min, but the trace has 20.0/min then"},
		{name: "too high", s: good(func(s *forecast.Snapshot) { s.ObservedValue = 61 }), want: 20,
			wantErr: "observed load 61.0/min"},
		{name: "NaN observed", s: good(func(s *forecast.Snapshot) { s.ObservedValue = math.NaN() }), want: 20,
			wantErr: "observed load NaN/min"},
		{name: "no trace load", s: good(nil), want: 0, wantErr: "the trace has no load at 2001-09-09"},
		{name: "short", s: good(func(s *forecast.Snapshot) { s.Values = s.Values[:29] }), want: 20,
			wantErr: "29 values and 30 replicas, want 30 of each"},
		{name: "zero value", s: good(func(s *forecast.Snapshot) { s.Values[3] = 0 }), want: 20,
			wantErr: "value 3 is 0, want a positive load"},
		{name: "NaN value", s: good(func(s *forecast.Snapshot) { s.Values[0] = math.NaN() }), want: 20,
			wantErr: "value 0 is NaN"},
		{name: "Inf value", s: good(func(s *forecast.Snapshot) { s.Values[29] = math.Inf(1) }), want: 20,
			wantErr: "value 29 is +Inf"},
		{name: "no replica", s: good(func(s *forecast.Snapshot) { s.DesiredReplicas[0] = 0 }), want: 20,
			wantErr: "0 replicas planned now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := judge(tc.s, tc.want)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
