package scaler

import (
	"errors"
	"testing"
	"time"
)

// FuzzDecodeSnapshot: whatever a forecaster answers, the scaler either
// refuses it with a counted reason or gets a plan it can follow: no panic,
// no negative count, a horizon that fits the steps.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte(`{"workload":"w","generatedAt":"2026-03-01T12:00:00Z","stepSeconds":60,"desiredReplicas":[3,4,5]}`))
	f.Add([]byte(`{"workload":"w","generatedAt":"2026-03-01T12:00:00Z","desiredReplicas":[3]}`))
	f.Add([]byte(`{"workload":"w","generatedAt":"2026-03-01T12:00:00Z","stepSeconds":604800,"desiredReplicas":[1,1]}`))
	f.Add([]byte(`{"workload":"w","generatedAt":"2026-03-01T12:00:00Z","stepSeconds":-1,"desiredReplicas":[1]}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeSnapshot(body, "w", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		if err != nil {
			var se *sourceError
			if !errors.As(err, &se) || (se.reason != reasonBadBody && se.reason != reasonInvalid) {
				t.Fatalf("error %v is not counted as bad_body or invalid", err)
			}
			return
		}
		if p.Desired < 0 || p.Desired > MaxReplicas || p.Horizon < 0 || p.Step < 0 || p.GeneratedAt.IsZero() {
			t.Fatalf("plan %+v", p)
		}
		if p.Steps != nil && p.Horizon != time.Duration(len(p.Steps))*p.Step {
			t.Fatalf("horizon %s for %d steps of %s", p.Horizon, len(p.Steps), p.Step)
		}
		for _, at := range []time.Duration{-time.Hour, 0, p.Step / 2, p.Step, p.Horizon / 2, p.Horizon - 1, p.Horizon} {
			if n, ok := p.At(p.GeneratedAt.Add(at)); n < 0 || (ok && at >= p.Horizon) {
				t.Fatalf("At(+%s) = %d, %v for %+v", at, n, ok, p)
			}
		}
	})
}
