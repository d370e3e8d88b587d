package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/remote/in"
)

// TestRun measures a small storage end to end: 10 series × 8 h at 15 s,
// both ends included, is 10 × (8 × 240 + 1) = 19,210 samples, and the head compacts at least one 2 h
// block, whose bytes per sample must be a plausible figure for Prometheus's
// compressed chunks (between 0.5 and 20 bytes).
func TestRun(t *testing.T) {
	o := options{series: 10, days: 8.0 / 24, interval: 15 * time.Second, batch: 2000,
		retention: in.DefaultRetention, values: "counter", window: time.Hour, dir: t.TempDir()}
	var out strings.Builder
	if err := run(o, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	if !strings.Contains(report, "| samples appended | 19210 ") {
		t.Errorf("want 19,210 samples appended:\n%s", report)
	}
	m := regexp.MustCompile(`\| blocks on disk \| (\d+) blocks`).FindStringSubmatch(report)
	if m == nil || m[1] == "0" {
		t.Fatalf("no block written:\n%s", report)
	}
	m = regexp.MustCompile(`\| blocks: bytes per sample \| ([0-9.]+) `).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no bytes per sample:\n%s", report)
	}
	if b, _ := strconv.ParseFloat(m[1], 64); b < 0.5 || b > 20 {
		t.Errorf("%v bytes per sample is not a compressed chunk's", b)
	}
}

// TestOptionsRefused checks that options that cannot measure anything are
// refused with a message.
func TestOptionsRefused(t *testing.T) {
	good := options{series: 10, days: 1, interval: 15 * time.Second, batch: 2000,
		retention: in.DefaultRetention, values: "counter", window: time.Hour}
	for _, tc := range []struct {
		name   string
		change func(*options)
		want   string
	}{
		{"no series", func(o *options) { o.series = 0 }, "must be positive"},
		{"unknown values", func(o *options) { o.values = "histogram" }, "counter or gauge"},
		{"jitter of a whole interval", func(o *options) { o.jitter = 15 * time.Second }, "jitter"},
		{"too short for a block", func(o *options) { o.days = 0.25 }, "days must span more than 6h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.change(&o)
			if err := o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if err := good.check(); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}
