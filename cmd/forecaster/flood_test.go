package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// floodWrite sends one remote-write 1.0 request and returns its status code;
// safe to call from several goroutines.
func floodWrite(t *testing.T, client *http.Client, url string, series []prompb.TimeSeries) (int, error) {
	resp, err := client.Do(testutil.WriteRequestV1(t, url+"/api/v1/write", series...))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// rssBytes returns the resident memory of process pid, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestFlood sends the forecaster, in push mode with --receiver.max-series=
// 1000, a cardinality flood (100 requests of 1,000 new series each of a
// metric a workload selects: 100,000 series) and then a request-rate flood
// (2,000 small requests from 8 senders). Throughout, /-/healthy answers 200
// and the real workload keeps being forecast; the flood is refused past the
// limit, counted by reason, and the head never holds more than the limit.
// The RSS before and after is logged: docs/operations.md has the figures.
func TestFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a forecaster")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "kedastral.yml")
	if err := os.WriteFile(config, []byte("workloads:\n"+
		"  - {name: real, query: sum(load), interval: 1s, step: 1m, window: 30m, horizon: 10m}\n"+
		"  - {name: flooded, query: sum(flood), interval: 1s, step: 1m, window: 30m, horizon: 10m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fc := startForecaster(t, []string{"--config.file=" + config, "--storage.path=" + filepath.Join(dir, "data"), "--receiver.max-series=1000"}, nil, true)
	testutil.WaitFor(t, 30*time.Second, "the receiver", func() bool { code, _, _ := get(t, fc.url+"/-/healthy"); return code == http.StatusOK })
	now := time.Now().Truncate(time.Minute)
	if code := testutil.PushV1(t, fc.url+"/api/v1/write", loadSeries("load", now)); code != http.StatusNoContent {
		t.Fatalf("real load: %d", code)
	}
	testutil.WaitFor(t, time.Minute, "the real workload's forecast", func() bool { _, _, ok := fc.snapshot(t, "real"); return ok })
	before := rssBytes(t, fc.Cmd.Process.Pid)

	// The probe checks health every 50 ms while the floods run.
	var unhealthy, probes atomic.Int64
	stop := make(chan struct{})
	var probe sync.WaitGroup
	probe.Go(func() {
		client := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			probes.Add(1)
			resp, err := client.Get(fc.url + "/-/healthy")
			if err != nil || resp.StatusCode != http.StatusOK {
				unhealthy.Add(1)
			}
			if err == nil {
				resp.Body.Close()
			}
		}
	})

	codes := map[int]int{}
	var mu sync.Mutex
	client := &http.Client{Timeout: 30 * time.Second}
	ts := now.UnixMilli()
	for r := range 100 {
		series := make([]prompb.TimeSeries, 1000)
		for i := range series {
			series[i] = prompb.TimeSeries{
				Labels:  []prompb.Label{{Name: "__name__", Value: "flood"}, {Name: "id", Value: strconv.Itoa(r*1000 + i)}},
				Samples: []prompb.Sample{{Timestamp: ts, Value: 1}},
			}
		}
		code, err := floodWrite(t, client, fc.url, series)
		if err != nil {
			t.Fatalf("cardinality flood request %d: %v", r, err)
		}
		codes[code]++
	}
	var senders sync.WaitGroup
	for s := range 8 {
		senders.Go(func() {
			for i := range 250 {
				one := []prompb.TimeSeries{{
					Labels:  []prompb.Label{{Name: "__name__", Value: "unselected"}, {Name: "sender", Value: strconv.Itoa(s)}},
					Samples: []prompb.Sample{{Timestamp: ts + int64(i), Value: 1}},
				}}
				code, err := floodWrite(t, client, fc.url, one)
				mu.Lock()
				if err != nil {
					codes[-1]++
				} else {
					codes[code+1000]++ // rate flood codes, apart
				}
				mu.Unlock()
			}
		})
	}
	senders.Wait()
	close(stop)
	probe.Wait()
	after := rssBytes(t, fc.Cmd.Process.Pid)
	t.Logf("RSS before %d MiB, after %d MiB; cardinality flood answers %v; rate flood answers %v; %d of %d health probes failed",
		before>>20, after>>20, map[int]int{204: codes[204], 400: codes[400]}, map[int]int{204: codes[1204], -1: codes[-1]}, unhealthy.Load(), probes.Load())

	// Measured: with the limit the RSS grows by about 10 MiB (31 to 40
	// MiB); without it (--receiver.max-series=0) the same flood keeps all
	// 100,000 series and grows it by 129 MiB (31 to 160 MiB). 64 MiB tells
	// the two apart.
	if grown := after - before; grown > 64<<20 {
		t.Errorf("RSS grew by %d MiB during the floods; the series limit should bound it to a few", grown>>20)
	}
	if unhealthy.Load() != 0 {
		t.Errorf("%d of %d health probes failed during the floods", unhealthy.Load(), probes.Load())
	}
	// The head holds the real load and the forecaster's own plan series
	// before the flood (a few), so the first request keeps up to 1,000 of
	// them, less those few, and refuses the rest; every later request is
	// refused whole: 99 × 1,000 = 99,000 series, plus the first's few.
	if codes[400] != 100 && (codes[204] != 1 || codes[400] != 99) {
		t.Errorf("cardinality flood answered %v; want every request but at most the first refused (400)", codes)
	}
	if codes[1204] != 2000 {
		t.Errorf("rate flood: %d of 2000 answered 204 (errors %d)", codes[1204], codes[-1])
	}
	limited := fc.metrics(t).Value(t, "kedastral_receiver_limited_total", prometheus.Labels{"limit": "series"})
	if kept := 100_000 - limited; kept < 900 || kept > 1000 {
		t.Errorf("kedastral_receiver_limited_total{limit=\"series\"} = %v: %v flood series kept, want at most 1,000 and not far below", limited, kept)
	}
	// The real workload is still forecast after the floods.
	first, _, _ := fc.snapshot(t, "real")
	testutil.WaitFor(t, 30*time.Second, "a new forecast of the real workload", func() bool {
		s, _, ok := fc.snapshot(t, "real")
		return ok && s.GeneratedAt.After(first.GeneratedAt)
	})
}
