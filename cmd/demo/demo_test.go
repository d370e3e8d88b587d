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

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// TestDemoCheck runs the whole demo with --check: the forecaster built from
// this tree in push mode, two weeks of the bundled trace remote-written to
// it. It must succeed, print where to look, and leave nothing running.
func TestDemoCheck(t *testing.T) {
	proctest.SkipIfShort(t)
	root := prometheustest.ModuleRoot(t)
	binDir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(binDir, "forecaster"), "../forecaster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build forecaster: %v\n%s", err, out)
	}
	o := options{
		binDir:    binDir,
		tracePath: filepath.Join(root, "data", "traces", "nasa_http_1m.csv"),
		history:   model.Duration(14 * day),
		dataDir:   t.TempDir(),
		fcAddr:    prometheustest.FreeAddr(t),
		check:     true,
		timeout:   2 * time.Minute,
	}
	var out, logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := demo(ctx, o, &out, promslog.New(&promslog.Config{Writer: &logs}))
	if err != nil {
		t.Fatalf("demo --check: %v\noutput:\n%s\nlogs:\n%s", err, out.String(), logs.String())
	}
	for _, want := range []string{
		// 14 days of a sample every 15 s: 14 × 24 × 60 × 4 = 80,640, and
		// twice as many of the two series the query does not select.
		"Backfilled 14 days of history by remote write in ",
		" s: 80,640 samples of nasa_http_requests_total, and 161,280 of 2 series the query does not select",
		"curl -s 'http://" + o.fcAddr + "/forecast/current?workload=nasa-http'",
		"http://" + o.fcAddr + "/api/v1/write",
		filepath.Join(o.dataDir, "forecaster.log"),
		"Check passed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	if err := checkFree("forecaster.listen-address", o.fcAddr); err != nil {
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
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"unknown flag", []string{"--nope"}, 2, "unknown long flag '--nope'"},
		{"no more prometheus", []string{"--prometheus.listen-address=127.0.0.1:9090"}, 2,
			"unknown long flag '--prometheus.listen-address'"},
		{"no more target", []string{"--target.listen-address=127.0.0.1:9100"}, 2,
			"unknown long flag '--target.listen-address'"},
		{"bad history", []string{"--history=two weeks"}, 2, `not a valid duration string: "two weeks"`},
		{"no history", []string{"--history=0s"}, 2, "--history must be positive, not 0s"},
		{
			"forecaster port taken",
			[]string{"--forecaster.listen-address=" + taken.Addr().String()},
			1, "choose another address with --forecaster.listen-address",
		},
		{
			"no forecaster",
			[]string{"--bin-dir=" + t.TempDir(), "--forecaster.listen-address=" + prometheustest.FreeAddr(t)},
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

func TestDataDir(t *testing.T) {
	tests := []struct {
		name    string
		make    func(dir string) error // prepares the data directory
		wantErr string
	}{
		{name: "new", make: os.Remove},
		{name: "empty", make: func(string) error { return nil }},
		{name: "empty storage", make: func(dir string) error { return os.Mkdir(filepath.Join(dir, storageDir), 0o700) }},
		{
			name: "used storage",
			make: func(dir string) error {
				if err := os.Mkdir(filepath.Join(dir, storageDir), 0o700); err != nil {
					return err
				}
				return os.Mkdir(filepath.Join(dir, storageDir, "wal"), 0o700)
			},
			wantErr: "holds an earlier run's samples: give --data-dir a new or empty directory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(dir); err != nil {
				t.Fatal(err)
			}
			got, cleanup, err := dataDir(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cleanup()
			if _, err := os.Stat(got); got != dir || err != nil {
				t.Errorf("dataDir = %q (%v), want %q kept at exit", got, err, dir)
			}
		})
	}
}

func TestDataDirTemporary(t *testing.T) {
	dir, cleanup, err := dataDir("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the temporary directory is missing: %v", err)
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after cleanup (%v)", dir, err)
	}
}

// TestRunChildDiesEarly fakes the forecaster with a script that fails at
// once: the demo must exit 1 with its last log lines, and leave nothing
// behind.
func TestRunChildDiesEarly(t *testing.T) {
	sh := shell(t)
	binDir := t.TempDir()
	script := "#!" + sh + "\necho starting; echo 'cannot open the storage' >&2; exit 1\n"
	if err := os.WriteFile(filepath.Join(binDir, "forecaster"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	args := []string{
		"--bin-dir=" + binDir, "--data-dir=" + dataDir, "--history=1d",
		"--trace=" + filepath.Join(prometheustest.ModuleRoot(t), "data", "traces", "nasa_http_1m.csv"),
		"--forecaster.listen-address=" + prometheustest.FreeAddr(t),
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		"forecaster exited (its log: " + filepath.Join(dataDir, "forecaster.log") + "): exit status 1",
		"The last lines forecaster logged:\nstarting\ncannot open the storage\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if left := processesOf(t, binDir, dataDir); len(left) > 0 {
		t.Errorf("still running after the demo: %v", left)
	}
}
