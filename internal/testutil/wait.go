// Package testutil holds the helpers the project's tests share: waiting for
// a condition, reading metrics in a way that fails the test when the
// series read is missing (rather than reading it as 0), and building
// remote-write requests as client_golang's remote-write client sends them.
package testutil

import (
	"testing"
	"time"
)

// maxPollInterval bounds the pause between two calls of a WaitFor
// condition.
const maxPollInterval = 100 * time.Millisecond

// WaitFor calls cond until it returns true, and fails the test with
// "timed out after <timeout> waiting for <what>" when it has not within
// timeout. It calls cond again after 1 ms, then doubles the pause up to
// 100 ms, so that a condition that holds soon is seen soon and one that
// takes seconds is not polled in a busy loop. cond runs on the caller's
// goroutine: it may fail the test itself.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
			return
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPollInterval)
	}
}
