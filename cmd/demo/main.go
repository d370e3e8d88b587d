// Command demo runs Kedastral on real traffic with nothing else installed:
// the forecaster in push mode, its embedded storage filled by remote write
// with two weeks of a bundled real trace, then the rest of the trace
// streamed live, as a Prometheus would send it. Run it with `make demo`;
// Ctrl-C stops everything.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"

	"github.com/HatiCode/kedastral/internal/cli"
)

// options are the demo's flags.
type options struct {
	binDir    string
	tracePath string
	history   model.Duration
	dataDir   string
	fcAddr    string
	check     bool
	timeout   time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, runs the demo until a signal (or the end of the
// check) and returns the exit code: 0 after Ctrl-C or SIGTERM too.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("demo", "Kedastral on two weeks of real traffic, with no Prometheus: starts the forecaster "+
		"in push mode, remote-writes two weeks of a bundled trace into its embedded storage, streams the rest of "+
		"the trace live, and prints where to look. Ctrl-C stops everything.")
	app.Version(version.Print("demo"))
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	o := options{}
	logConfig := promslog.Config{Writer: stderr}
	addFlags(app, &o, &logConfig)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 2
	}
	if o.history <= 0 {
		fmt.Fprintf(stderr, "demo: --history must be positive, not %s\n", o.history)
		return 2
	}
	logger := promslog.New(&logConfig)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := demo(ctx, o, stdout, logger)
	switch {
	case ctx.Err() != nil:
		logger.Info("Demo stopped", "reason", "signal", "err", err)
		return 0
	case err != nil:
		logger.Error("Demo failed", "err", err)
		if exit, ok := errors.AsType[*exitError](err); ok {
			fmt.Fprintf(stderr, "The last lines %s logged:\n%s\n", exit.name, exit.tail)
		}
		return 1
	}
	return 0
}

// addFlags defines the demo's flags on app.
func addFlags(app *kingpin.Application, o *options, logConfig *promslog.Config) {
	app.Flag("bin-dir", "Directory holding the forecaster (`make demo` builds it).").
		Default("bin").StringVar(&o.binDir)
	app.Flag("trace", "Trace to replay: a timestamp,value CSV of requests per minute.").
		Default(filepath.Join("data", "traces", "nasa_http_1m.csv")).StringVar(&o.tracePath)
	app.Flag("history", "How much of the trace to backfill, up to now, through the forecaster's remote-write receiver.").
		Default("14d").SetValue(&o.history)
	app.Flag("data-dir", "Directory for the forecaster's storage and log (default: a new temporary one, removed at exit).").
		PlaceHolder("<dir>").StringVar(&o.dataDir)
	app.Flag("forecaster.listen-address", "Address of the forecaster.").Default("127.0.0.1:8081").StringVar(&o.fcAddr)
	app.Flag("check", "Smoke test: start everything, wait for a forecast on the scale of the trace, print "+
		"where to look, stop everything and exit 0 (1 if none comes within --start.timeout).").BoolVar(&o.check)
	app.Flag("start.timeout", "How long the forecaster may take to start, take the backfill and serve a first forecast "+
		"(and, with --check, one on the scale of the trace).").Default("3m").DurationVar(&o.timeout)
	promslogflag.AddFlags(app, logConfig)
	cli.SetEnvars(app)
}

// checkFree fails when addr is taken, naming the flag to change.
func checkFree(flag, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is taken, choose another address with --%s: %w", addr, flag, err)
	}
	return l.Close()
}
