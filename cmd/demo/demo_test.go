package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/trace"
)

// TestDemoCheck runs the whole demo with --check: the real Prometheus and
// promtool, the forecaster built from this tree, two weeks of the bundled
// trace. It must succeed and leave nothing listening.
func TestDemoCheck(t *testing.T) {
	root := prometheustest.ModuleRoot(t)
	binDir := t.TempDir()
	for _, name := range []string{"prometheus", "promtool"} {
		if err := os.Symlink(prometheustest.Binary(t, name), filepath.Join(binDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", filepath.Join(binDir, "forecaster"), "../forecaster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build forecaster: %v\n%s", err, out)
	}
	o := options{
		binDir:     binDir,
		tracePath:  filepath.Join(root, "data", "traces", "nasa_http_1m.csv"),
		history:    model.Duration(14 * 24 * time.Hour),
		dataDir:    t.TempDir(),
		promAddr:   prometheustest.FreeAddr(t),
		fcAddr:     prometheustest.FreeAddr(t),
		targetAddr: prometheustest.FreeAddr(t),
		check:      true,
		timeout:    3 * time.Minute,
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := demo(ctx, o, &out, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("demo --check: %v\noutput:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "curl -s 'http://"+o.fcAddr+"/forecast/current?workload=nasa-http'") {
		t.Errorf("the summary lacks the curl line:\n%s", out.String())
	}
	if err := checkFree(map[string]string{"prometheus": o.promAddr, "forecaster": o.fcAddr, "target": o.targetAddr}); err != nil {
		t.Errorf("something still listens after the demo: %v", err)
	}
}

func TestDemoRefusesTakenPort(t *testing.T) {
	addr := prometheustest.FreeAddr(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = demo(context.Background(), options{promAddr: addr, fcAddr: prometheustest.FreeAddr(t), targetAddr: prometheustest.FreeAddr(t)},
		io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "choose another with --prometheus.listen-address") {
		t.Errorf("err = %v, want the flag to change", err)
	}
}

func TestReplay(t *testing.T) {
	day0 := time.Date(1995, 7, 1, 0, 0, 0, 0, time.UTC)
	var points []trace.Point
	for i := range 4 * 24 * 60 { // four days, one point a minute, 10 requests each
		points = append(points, trace.Point{T: day0.Add(time.Duration(i) * time.Minute), V: 10})
	}
	now := time.Date(2026, 11, 28, 5, 30, 20, 0, time.UTC)
	r, err := newReplay(points, 2*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	// Shifted by whole days, so now plays 05:30:20 of a trace day at least 2 days in.
	position := now.Add(-r.shift)
	if r.shift%day != 0 || position.Before(day0.Add(2*day)) || !position.Before(day0.Add(3*day)) {
		t.Fatalf("shift %v puts now at %v", r.shift, position)
	}
	if position.Hour() != 5 || position.Minute() != 30 {
		t.Errorf("now plays %v, want 05:30 of a trace day", position)
	}
	// History: the points in (05:30:20 two days before, 05:30:20], 05:31 to
	// 05:30: 2 × 1440 = 2880 points.
	if n := len(r.history()); n != 2880 {
		t.Errorf("%d history points, want 2880", n)
	}
	// The counter at now: 2880 points of 10 played, plus 20 s of the next
	// minute's 10: 28800 + 10 × 20/60 = 28803.33.
	if got, want := r.total(now), 28800+10*20.0/60; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("total at now = %v, want %v", got, want)
	}
	if got := r.perMinute(now, 5*time.Minute); got != 10 {
		t.Errorf("perMinute = %v, want 10", got)
	}
	if _, err := newReplay(points, 5*day, now); err == nil {
		t.Error("a history longer than the trace was accepted")
	}
}
