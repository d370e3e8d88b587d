package main

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// shell returns the path of sh, skipping the test without one.
func shell(t *testing.T) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	return sh
}

func TestSupervisorReportsEarlyExit(t *testing.T) {
	sup := newSupervisor(t.TempDir())
	defer sup.stop()
	if _, err := sup.start("quitter", shell(t), []string{"-c", "echo starting; echo cannot bind >&2; exit 3"}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-sup.died:
		var exit *exitError
		if err := c.error(); !errors.As(err, &exit) || !strings.Contains(err.Error(), "quitter exited (its log: ") ||
			!strings.HasSuffix(err.Error(), "quitter.log): exit status 3") {
			t.Fatalf("error = %v, want an exitError naming the log and the status", err)
		}
		if exit.tail != "starting\ncannot bind" {
			t.Errorf("tail = %q, want the log's two lines", exit.tail)
		}
	case <-time.After(time.Minute):
		t.Fatal("the child's exit was not reported")
	}
}

func TestSupervisorStop(t *testing.T) {
	sup := newSupervisor(t.TempDir())
	sup.stopTimeout = 100 * time.Millisecond
	sh := shell(t)
	// One child stops on SIGTERM; the other ignores it and must be killed.
	polite, err := sup.start("polite", sh, []string{"-c", "exec sleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	stubborn, err := sup.start("stubborn", sh, []string{"-c", `trap "" TERM; echo ready; while :; do sleep 0.05; done`})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the trap is set before stopping.
	testutil.WaitFor(t, time.Minute, "the stubborn child to start", func() bool { return strings.Contains(stubborn.tail(1), "ready") })
	start := time.Now()
	sup.stop()
	if polite.running() || stubborn.running() {
		t.Fatal("a child still runs after stop")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stop took %v, want about the 100ms stop timeout", took)
	}
	if !strings.Contains(stubborn.waitErr.Error(), "killed") {
		t.Errorf("stubborn child ended with %v, want killed", stubborn.waitErr)
	}
}

func TestChildEnv(t *testing.T) {
	env := []string{"PATH=/bin", "KEDASTRAL_WORKLOAD=prod", "HOME=/root", "KEDASTRAL_MODEL=auto"}
	if got, want := childEnv(env), []string{"PATH=/bin", "HOME=/root"}; !slices.Equal(got, want) {
		t.Errorf("childEnv = %v, want %v", got, want)
	}
}
