package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/HatiCode/kedastral/internal/cli"
)

const (
	// stopTimeout is how long the children have to exit after SIGTERM
	// before they are killed.
	stopTimeout = 10 * time.Second
	// maxChildren bounds the children of one supervisor (the demo starts one).
	maxChildren = 4
)

// child is a process the demo started; its output goes to a log file.
type child struct {
	name    string
	log     string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has ended
	waitErr error         // its Wait error, once exited is closed
}

// supervisor starts the demo's processes and stops all of them.
type supervisor struct {
	dir         string
	stopTimeout time.Duration
	children    []*child
	died        chan *child // every child that ends, in the order they end
}

// newSupervisor returns a supervisor that writes the logs of its children
// to dir/NAME.log.
func newSupervisor(dir string) *supervisor {
	return &supervisor{dir: dir, stopTimeout: stopTimeout, died: make(chan *child, maxChildren)}
}

// start starts bin with args. The child runs in its own process group where
// the system allows (so that the terminal's Ctrl-C reaches the demo alone,
// which stops the children) and is sent SIGTERM if the demo dies (Linux). It
// does not inherit KEDASTRAL_* variables, which would change its flags.
func (s *supervisor) start(name, bin string, args []string) (*child, error) {
	if len(s.children) == maxChildren {
		return nil, fmt.Errorf("start %s: already %d children", name, maxChildren)
	}
	logPath := filepath.Join(s.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = childEnv(os.Environ())
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, cmd: cmd, exited: make(chan struct{})}
	s.children = append(s.children, c)
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
		s.died <- c
	}()
	return c, nil
}

// stop sends SIGTERM to every child still running, waits up to s.stopTimeout
// for all of them, then kills the rest and waits for them.
func (s *supervisor) stop() {
	for _, c := range s.children {
		if c.running() && c.cmd.Process.Signal(syscall.SIGTERM) != nil {
			_ = c.cmd.Process.Kill() // no SIGTERM on this system
		}
	}
	deadline := time.After(s.stopTimeout)
	late := false
	for _, c := range s.children {
		if !late {
			select {
			case <-c.exited:
				continue
			case <-deadline:
				late = true
			}
		}
		_ = c.cmd.Process.Kill() // an error only says it has exited already
		<-c.exited
	}
}

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// exitError is the error of a child that ended on its own.
type exitError struct {
	name, log string
	err       error  // its Wait error; nil for status 0
	tail      string // the last lines of its log
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("%s exited with status 0 (its log: %s)", e.name, e.log)
	}
	return fmt.Sprintf("%s exited (its log: %s): %v", e.name, e.log, e.err)
}

func (e *exitError) Unwrap() error { return e.err }

// error returns the error of a child that ended on its own.
func (c *child) error() error {
	return &exitError{name: c.name, log: c.log, err: c.waitErr, tail: c.tail(10)}
}

// tail returns the last n lines of the child's log.
func (c *child) tail(n int) string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// childEnv returns env without the KEDASTRAL_* variables.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, cli.EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}
