package cli

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/oklog/run"
)

// TestSignalHandlerCatchesEarly: a signal sent after SignalHandler returns,
// before its execute function runs, is caught rather than taking the
// process down, and ends execute with a run.SignalError.
func TestSignalHandlerCatchesEarly(t *testing.T) {
	execute, interrupt := SignalHandler(context.Background(), syscall.SIGUSR1)
	defer interrupt(nil)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	var sig run.SignalError
	if err := execute(); !errors.As(err, &sig) || sig.Signal != syscall.SIGUSR1 {
		t.Errorf("execute = %v, want a run.SignalError of SIGUSR1", err)
	}
}

// TestSignalHandlerInterrupt: interrupt ends execute without a signal.
func TestSignalHandlerInterrupt(t *testing.T) {
	execute, interrupt := SignalHandler(context.Background(), syscall.SIGUSR2)
	done := make(chan error, 1)
	go func() { done <- execute() }()
	interrupt(nil)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("execute = %v, want context.Canceled", err)
	}
}
