package cli

import (
	"context"
	"os"
	"os/signal"

	"github.com/oklog/run"
)

// SignalHandler is run.SignalHandler with the signals caught from the
// moment it is called, not from when the run group starts its goroutine:
// a signal that arrives as the group starts (a pod stopped as soon as it
// is ready) ends the group with a run.SignalError instead of killing the
// process with the default action.
func SignalHandler(ctx context.Context, signals ...os.Signal) (execute func() error, interrupt func(error)) {
	ctx, cancel := context.WithCancel(ctx)
	c := make(chan os.Signal, 1)
	signal.Notify(c, signals...)
	return func() error {
			defer signal.Stop(c)
			select {
			case sig := <-c:
				return run.SignalError{Signal: sig}
			case <-ctx.Done():
				return ctx.Err()
			}
		}, func(error) {
			cancel()
		}
}
