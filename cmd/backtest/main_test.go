package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// writeTrace writes five days of 5-minute load ending at end: a daily cycle
// between 200 and 1000 plus a fixed ripple, as a CSV trace and, when om is
// set, as an OpenMetrics gauge for promtool.
func writeTrace(t *testing.T, dir string, end time.Time) (csvPath, omPath string) {
	t.Helper()
	csvPath, omPath = filepath.Join(dir, "trace.csv"), filepath.Join(dir, "trace.om")
	var c, o bytes.Buffer
	c.WriteString("timestamp,value\n")
	o.WriteString("# TYPE load gauge\n")
	const steps = 5 * 288
	start := end.Add(-time.Duration(steps-1) * 5 * time.Minute)
	for i := range steps {
		ts := start.Add(time.Duration(i) * 5 * time.Minute).Unix()
		v := 600 + 400*math.Sin(2*math.Pi*float64(i)/288) + float64(20*(i%5))
		fmt.Fprintf(&c, "%d,%g\n", ts, v)
		fmt.Fprintf(&o, "load %g %d\n", v, ts)
	}
	o.WriteString("# EOF\n")
	if err := os.WriteFile(csvPath, c.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(omPath, o.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return csvPath, omPath
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = runBacktest(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBadCommandLine(t *testing.T) {
	dir := t.TempDir()
	csvPath, _ := writeTrace(t, dir, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC))
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return "--trace=" + path
	}
	badValue := write("bad-value.csv", "timestamp,value\n0,1\n60,lots\n")
	noHeader := write("no-header.csv", "0,1\n60,2\n")
	// 20 one-minute steps with a 0.9 split: the test part starts at
	// ceil(0.9 × 19) = 18 and has 2 steps, fewer than the 5 + 1 a 5-minute
	// evaluation horizon needs.
	var short strings.Builder
	short.WriteString("timestamp,value\n")
	for i := range 20 {
		fmt.Fprintf(&short, "%d,%d\n", 60*i, 10+i)
	}
	shortTrace := write("short.csv", short.String())
	prom := []string{"--prometheus.url=http://127.0.0.1:1", "--query=up"}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"no input", nil, 2, "--trace or --prometheus.url is required"},
		{"two inputs", []string{"--trace=" + csvPath, "--prometheus.url=http://x"}, 2, "cannot be used together"},
		{"prometheus without query", []string{"--prometheus.url=http://x"}, 2, "needs --query, --start and --end"},
		{"bad sweep", []string{"--trace=" + csvPath, "--sweep-headroom=1,lots"}, 2, `"lots" is not a positive number`},
		{"unknown format", []string{"--trace=" + csvPath, "--format=xml"}, 2, "enum value must be one of table,json,markdown"},
		{"unknown model", []string{"--trace=" + csvPath, "--model=prophet"}, 2, "enum value must be one of"},
		{"unknown flag", []string{"--trace=" + csvPath, "--colour"}, 2, "unknown long flag '--colour'"},
		{"bad duration", []string{"--trace=" + csvPath, "--eval-horizon=soon"}, 2, `not a valid duration string: "soon"`},
		{"bad train fraction", []string{"--trace=" + csvPath, "--train-fraction=1.5"}, 2, "train fraction must be between 0 and 1"},
		{"bad quantile", []string{"--trace=" + csvPath, "--upper-quantile=2"}, 2, "quantiles must satisfy"},
		{"bad time", append(prom, "--start=yesterday", "--end=1"), 2, `--start: "yesterday" is neither RFC 3339 nor unix seconds`},
		{"end before start", append(prom, "--start=2026-03-02T00:00:00Z", "--end=1"), 2, "--end 1970-01-01T00:00:01Z must be after --start 2026-03-02T00:00:00Z"},
		{"window over the limit at the step", append(prom, "--start=0", "--end=1", "--step=1s", "--window=15d"), 2, "over the limit"},
		{"missing file", []string{"--trace=" + filepath.Join(dir, "nope.csv")}, 1, "no such file or directory"},
		{"bad value", []string{badValue}, 1, `bad-value.csv: line 3: value "lots" is not a finite number`},
		{"no header", []string{noHeader}, 1, `line 1: header "0,1", want timestamp,value`},
		{"too short", []string{shortTrace, "--train-fraction=0.9"}, 1, "history of 20 steps is too short to train on 0.9 of it and score the rest: want at least 13 steps before the test part and 6 in it"},
		{"unreachable prometheus", append(prom, "--start=0", "--end=3600"), 1, "read the range from http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(tc.args...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.wantCode, tc.want)
			}
		})
	}
}

// TestTrace runs a whole backtest of a trace file with every output: the
// table, the JSON, whose WAPE the forecasts CSV recomputes exactly, the
// plot and the markdown.
func TestTrace(t *testing.T) {
	dir := t.TempDir()
	csvPath, _ := writeTrace(t, dir, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC))
	forecasts, plot := filepath.Join(dir, "forecasts.csv"), filepath.Join(dir, "plot.svg")
	code, stdout, stderr := runCmd("--trace="+csvPath, "--window=2d", "--plot="+plot)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"forecast 5m ahead", "last value", "same time yesterday", "predictive", "reactive", "oracle", "perfect forecast"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table has no %q:\n%s", want, stdout)
		}
	}
	if fi, err := os.Stat(plot); err != nil || fi.Size() == 0 {
		t.Errorf("%s: %v, want a file", plot, err)
	}

	code, stdout, stderr = runCmd("--trace="+csvPath, "--window=2d", "--format=json", "--eval-horizon=30m", "--forecasts-out="+forecasts)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Forecast struct {
			Horizon string
			WAPE    float64
			Points  int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	f, err := os.Open(forecasts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var absErr, absActual float64
	for _, row := range rows[1:] {
		actual, _ := strconv.ParseFloat(row[1], 64)
		forecast, _ := strconv.ParseFloat(row[2], 64)
		absErr += math.Abs(forecast - actual)
		absActual += math.Abs(actual)
	}
	if res.Forecast.Horizon != "30m" || len(rows)-1 != res.Forecast.Points || absErr/absActual != res.Forecast.WAPE {
		t.Errorf("JSON WAPE %v at %s over %d points; the CSV has %d points and WAPE %v",
			res.Forecast.WAPE, res.Forecast.Horizon, res.Forecast.Points, len(rows)-1, absErr/absActual)
	}

	code, stdout, _ = runCmd("--trace="+csvPath, "--window=2d", "--format=markdown")
	if code != 0 || !strings.HasPrefix(stdout, "### trace\n") || !strings.Contains(stdout, "| **Kedastral** |") {
		t.Errorf("markdown: exit %d\n%s", code, stdout)
	}
}

// TestPrometheusInput backfills the trace into a real Prometheus and checks
// that replaying the range read from it gives the same result as the file.
func TestPrometheusInput(t *testing.T) {
	dir := t.TempDir()
	end := time.Now().Truncate(5 * time.Minute)
	csvPath, omPath := writeTrace(t, dir, end)
	data := filepath.Join(dir, "data")
	out, err := exec.Command(prometheustest.Binary(t, "promtool"), "tsdb", "create-blocks-from", "openmetrics", omPath, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	prom := prometheustest.Start(t, prometheustest.Options{DataDir: data, Args: []string{"--storage.tsdb.retention.time=30d"}})
	start := end.Add(-(5*288 - 1) * 5 * time.Minute)
	common := []string{"--window=2d", "--format=json"}
	code, fromFile, stderr := runCmd(append(common, "--trace="+csvPath)...)
	if code != 0 {
		t.Fatalf("from the file: exit %d: %s", code, stderr)
	}
	code, fromProm, stderr := runCmd(append(common, "--prometheus.url="+prom.URL, "--query=load",
		fmt.Sprintf("--start=%d", start.Unix()), "--end="+end.Format(time.RFC3339), "--step=5m")...)
	if code != 0 {
		t.Fatalf("from Prometheus: exit %d: %s", code, stderr)
	}
	a, b := withoutElapsed(t, fromFile), withoutElapsed(t, fromProm)
	if a != b {
		t.Errorf("results differ:\nfile       %s\nprometheus %s", a, b)
	}
}

// withoutElapsed returns the JSON result without its run time.
func withoutElapsed(t *testing.T, s string) string {
	t.Helper()
	var doc map[string]any
	if err := json.NewDecoder(bufio.NewReader(strings.NewReader(s))).Decode(&doc); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	delete(doc, "elapsedSeconds")
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestScheduleFile replays the trace with hourly windows, back to back,
// that raise the minimum to 500 replicas, far above what the load needs
// (about 20): every policy then asks for 500 at every step, so that each
// spends 500 replicas × 432 test steps × 5 min = 18,000 replica-hours. A
// bad schedule file is refused with exit code 2.
func TestScheduleFile(t *testing.T) {
	dir := t.TempDir()
	csvPath, _ := writeTrace(t, dir, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC))
	schedules := filepath.Join(dir, "schedules.yaml")
	if err := os.WriteFile(schedules, []byte("- cron: \"0 * * * *\"\n  duration: 1h\n  timezone: Europe/Paris\n  min_replicas: 500\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd("--trace="+csvPath, "--window=2d", "--format=json", "--schedule-file="+schedules)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Trace struct {
			TestPoints int `json:"testPoints"`
		} `json:"trace"`
		Policies struct {
			Predictive, Reactive, Oracle struct {
				ReplicaHours float64 `json:"replicaHours"`
			}
		} `json:"policies"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	n := res.Trace.TestPoints
	want := 500 * float64(n) * 5 / 60
	for name, got := range map[string]float64{"predictive": res.Policies.Predictive.ReplicaHours, "reactive": res.Policies.Reactive.ReplicaHours, "oracle": res.Policies.Oracle.ReplicaHours} {
		// A sum of 432 steps of 41.67 replica-hours: equal but for rounding.
		if n != 432 || math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: %v replica-hours over %d test points, want 500 × 432 × 5m = 18000", name, got, n)
		}
	}

	if err := os.WriteFile(schedules, []byte("- cron: \"0 8 * *\"\n  duration: 1h\n  min_replicas: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd("--trace="+csvPath, "--schedule-file="+schedules)
	if code != 2 || !strings.Contains(stderr, "--schedule-file: schedule 0") || !strings.Contains(stderr, "expected exactly 5 fields") {
		t.Errorf("a bad cron: exit %d, %q; want 2 and the schedule's error", code, stderr)
	}
}
