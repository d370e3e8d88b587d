// Package proctest runs the project's built commands in tests, as a user
// runs them: built once, started with their output in a log file that is
// shown when the test fails, killed when the test ends. Under -short
// nothing is built and the tests that would start a command skip.
package proctest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/cli"
)

// TerminateLimit is how long a command may take to exit after SIGTERM: its
// 10 s drain budget, and room for a loaded machine.
const TerminateLimit = 15 * time.Second

// Build builds each package (a directory, relative to the working
// directory) into dir under its name, and returns the binaries' paths by
// name. Build errors go to standard error.
func Build(dir string, packages map[string]string) (map[string]string, error) {
	bins := make(map[string]string, len(packages))
	for name, pkg := range packages {
		out := filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build %s: %w", pkg, err)
		}
		bins[name] = out
	}
	return bins, nil
}

// SkipIfShort skips the test under -short: it starts processes, which the
// quick inner loop (go test -short ./...) leaves out.
func SkipIfShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("starts processes: not run under -short")
	}
}

// Main is a TestMain for the tests of built commands: it builds packages
// (as Build does) into a temporary directory, records their paths by name
// in bins, runs the tests, removes the directory and returns the exit code
// for os.Exit. Under -short it builds nothing and leaves bins empty: Start
// and CheckExit skip the tests that would run them.
func Main(m *testing.M, packages map[string]string, bins map[string]string) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "proctest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	built, err := Build(dir, packages)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	maps.Copy(bins, built)
	return m.Run()
}

// Env returns the environment without the variables that would change the
// commands' flags (KEDASTRAL_*) or log format (LOG_FORMAT), plus extra.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, cli.EnvPrefix) && !strings.HasPrefix(kv, "LOG_FORMAT=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// Process is a running command.
type Process struct {
	// Name names the command in messages.
	Name string
	// Cmd is the running command.
	Cmd *exec.Cmd

	log     string
	exited  chan struct{}
	waitErr error
}

// Start runs bin with args in the environment Env(env...), logging to a file
// shown when the test fails. It is killed when the test ends. Under -short
// it skips the test.
func Start(t testing.TB, name, bin string, args, env []string) *Process {
	t.Helper()
	SkipIfShort(t)
	p := &Process{Name: name, log: filepath.Join(t.TempDir(), name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = Env(env...)
	p.Cmd.Stdout, p.Cmd.Stderr = logFile, logFile
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.Cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s log:\n%s", p.Name, p.Logs())
		}
	})
	return p
}

// Logs returns what the process wrote so far.
func (p *Process) Logs() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit error, once Exited is closed.
func (p *Process) Err() error { return p.waitErr }

// Terminate sends SIGTERM and checks that the process exits 0 within
// TerminateLimit; it returns how long it took.
func (p *Process) Terminate(t testing.TB) time.Duration {
	t.Helper()
	began := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("%s exit after SIGTERM: %v, want 0", p.Name, p.waitErr)
		}
	case <-time.After(TerminateLimit):
		t.Errorf("%s still running %v after SIGTERM", p.Name, TerminateLimit)
	}
	return time.Since(began)
}

// CheckExit runs bin with args in Env(env...) to its end and checks that it
// exits with wantCode, that its last line which is not an info line
// contains wantMsg, and that it did not panic. A run longer than limit is
// killed and fails the test. Under -short it skips the test.
func CheckExit(t testing.TB, bin string, args, env []string, limit time.Duration, wantCode int, wantMsg string) {
	t.Helper()
	SkipIfShort(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = Env(env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		killed := <-done
		t.Fatalf("still running after %v (killed: %v); stderr:\n%s", limit, killed, stderr.String())
	}
	code := 0
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	}
	if code != wantCode {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, wantCode, stderr.String())
	}
	var lastLine string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.Contains(line, "level=INFO") {
			lastLine = line
		}
	}
	if !strings.Contains(lastLine, wantMsg) {
		t.Errorf("message %q does not contain %q", lastLine, wantMsg)
	}
	if s := stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("panicked:\n%s", s)
	}
}
