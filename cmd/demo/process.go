package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long a child has to exit after SIGTERM before SIGKILL.
const stopTimeout = 10 * time.Second

// child is a process the demo started; its output goes to a log file.
type child struct {
	name    string
	log     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startChild starts bin with args, logging to dir/name.log. The child has its
// own process group (so that the terminal's Ctrl-C reaches the demo alone,
// which stops children in order) and gets SIGTERM if the demo dies.
func startChild(name, bin string, args []string, dir string) (*child, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// stop sends SIGTERM, waits up to stopTimeout, then kills.
func (c *child) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// died returns an error with the child's last log lines, for a child that
// exited on its own.
func (c *child) died() error {
	if c.waitErr == nil {
		return fmt.Errorf("%s exited with status 0; last lines of %s:\n%s", c.name, c.log, c.tail(10))
	}
	return fmt.Errorf("%s exited (%w); last lines of %s:\n%s", c.name, c.waitErr, c.log, c.tail(10))
}

func (c *child) tail(n int) string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
