// Package proctest runs the project's built commands in tests, as a user
// runs them: built once, started with their output in a log file that is
// shown when the test fails, killed when the test ends.
package proctest

import (
	"fmt"
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
// shown when the test fails. It is killed when the test ends.
func Start(t testing.TB, name, bin string, args, env []string) *Process {
	t.Helper()
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
