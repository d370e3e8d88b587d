package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"

	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// TestDemoCheck runs the whole demo with --check: the real Prometheus and
// promtool, the forecaster built from this tree, two weeks of the bundled
// trace. It must succeed, print where to look, and leave nothing running.
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
		history:    model.Duration(14 * day),
		dataDir:    t.TempDir(),
		promAddr:   prometheustest.FreeAddr(t),
		fcAddr:     prometheustest.FreeAddr(t),
		targetAddr: prometheustest.FreeAddr(t),
		check:      true,
		timeout:    2 * time.Minute,
	}
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := demo(ctx, o, &out, promslog.New(&promslog.Config{Writer: &logs}))
	if err != nil {
		t.Fatalf("demo --check: %v\noutput:\n%s\nlogs:\n%s", err, out.String(), logs.String())
	}
	for _, want := range []string{
		"curl -s 'http://" + o.fcAddr + "/forecast/current?workload=nasa-http'",
		"http://" + o.promAddr,
		`kedastral_forecast_value{workload="nasa-http",horizon="0s"}`,
		filepath.Join(o.dataDir, "forecaster.log"),
		"Check passed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if err := checkFree(o.listenFlags()); err != nil {
		t.Errorf("something still listens after the demo: %v", err)
	}
	if left := processesOf(t, binDir, o.dataDir); len(left) > 0 {
		t.Errorf("still running after the demo: %v", left)
	}
}

// processesOf returns the command lines of running processes that name one
// of marks (their binary's directory, their data directory).
func processesOf(t *testing.T, marks ...string) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Log("no /proc: processes not checked")
		return nil
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue // not a process, or gone
		}
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		for _, mark := range marks {
			if strings.Contains(line, mark) {
				found = append(found, d.Name()+": "+line)
				break
			}
		}
	}
	return found
}

func TestRunExitCodes(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := prometheustest.FreeAddr(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"unknown flag", []string{"--nope"}, 2, "unknown long flag '--nope'"},
		{"bad history", []string{"--history=two weeks"}, 2, `not a valid duration string: "two weeks"`},
		{
			"prometheus port taken",
			[]string{"--prometheus.listen-address=" + taken.Addr().String()},
			1, "choose another address with --prometheus.listen-address",
		},
		{
			"target port taken",
			[]string{"--prometheus.listen-address=" + free, "--forecaster.listen-address=" + prometheustest.FreeAddr(t),
				"--target.listen-address=" + taken.Addr().String()},
			1, "choose another address with --target.listen-address",
		},
		{
			"no binaries",
			[]string{"--prometheus.listen-address=" + free, "--bin-dir=" + t.TempDir(),
				"--forecaster.listen-address=" + prometheustest.FreeAddr(t),
				"--target.listen-address=" + prometheustest.FreeAddr(t)},
			1, "forecaster is missing (run `make demo`",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, stderr.String())
			}
		})
	}
}

func TestBackfillRefusesUsedDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := newPrometheus(options{history: model.Duration(day)}, dir)
	err := p.backfill(context.Background(), "promtool", &replay{})
	if err == nil || !strings.Contains(err.Error(), "give --data-dir a new or empty directory") {
		t.Errorf("err = %v, want a refusal", err)
	}
}

// TestRunChildDiesEarly fakes Prometheus with a script that fails at once:
// the demo must exit 1 with its last log lines, and leave nothing behind.
func TestRunChildDiesEarly(t *testing.T) {
	sh := shell(t)
	binDir := t.TempDir()
	for name, body := range map[string]string{
		"promtool":   "exit 0",
		"prometheus": "echo starting; echo 'error loading config' >&2; exit 1",
		"forecaster": "exit 1",
	} {
		script := "#!" + sh + "\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(binDir, name), []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	args := []string{
		"--bin-dir=" + binDir, "--data-dir=" + dataDir, "--history=1d",
		"--trace=" + filepath.Join(prometheustest.ModuleRoot(t), "data", "traces", "nasa_http_1m.csv"),
		"--prometheus.listen-address=" + prometheustest.FreeAddr(t),
		"--forecaster.listen-address=" + prometheustest.FreeAddr(t),
		"--target.listen-address=" + prometheustest.FreeAddr(t),
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		"prometheus exited (its log: " + filepath.Join(dataDir, "prometheus.log") + "): exit status 1",
		"The last lines prometheus logged:\nstarting\nerror loading config\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if left := processesOf(t, binDir, dataDir); len(left) > 0 {
		t.Errorf("still running after the demo: %v", left)
	}
}
