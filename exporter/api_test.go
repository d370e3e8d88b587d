package exporter

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

func TestServeCurrent(t *testing.T) {
	store := &snapshots{}
	store.Put(testSnapshot())
	tests := []struct {
		name      string
		method    string
		target    string
		age       time.Duration
		wantCode  int
		wantStale string
		wantError string
	}{
		{name: "fresh", method: "GET", target: "/forecast/current?workload=checkout", age: time.Minute, wantCode: 200, wantStale: "false"},
		// Stale after 2m: 2m01s old is stale but still served.
		{name: "stale", method: "GET", target: "/forecast/current?workload=checkout", age: 121 * time.Second, wantCode: 200, wantStale: "true"},
		{name: "missing workload", method: "GET", target: "/forecast/current", wantCode: 400, wantError: "missing query parameter: workload"},
		{name: "unknown workload", method: "GET", target: "/forecast/current?workload=cart", wantCode: 404, wantError: `snapshot not found for workload "cart"`},
		{name: "wrong method", method: "POST", target: "/forecast/current?workload=checkout", wantCode: 405, wantError: "method not allowed: use GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := NewAPI(store, 2*time.Minute, func() time.Time { return generated.Add(tc.age) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
			rec := httptest.NewRecorder()
			api.ServeCurrent(rec, httptest.NewRequest(tc.method, tc.target, nil))
			res := rec.Result()
			if res.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := res.Header.Get(StaleHeader); got != tc.wantStale {
				t.Errorf("%s = %q, want %q", StaleHeader, got, tc.wantStale)
			}
			if tc.wantCode != http.StatusOK {
				var body map[string]string
				if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(body, map[string]string{"error": tc.wantError}) {
					t.Errorf("body %v, want error %q", body, tc.wantError)
				}
				return
			}
			var got forecast.Snapshot
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, testSnapshot()) {
				t.Errorf("snapshot %+v, want %+v", got, testSnapshot())
			}
		})
	}
}

// TestSnapshotJSONFields pins the JSON field names of the contract.
func TestSnapshotJSONFields(t *testing.T) {
	b, err := json.Marshal(testSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"workload", "metric", "model", "generatedAt", "stepSeconds", "horizonSeconds", "values", "desiredReplicas"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("snapshot JSON lacks %q: %s", name, b)
		}
	}
	if got := fields["generatedAt"]; got != "2026-03-01T12:00:00Z" {
		t.Errorf("generatedAt = %v, want RFC 3339", got)
	}
}
