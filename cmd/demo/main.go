// Command demo runs Kedastral on real traffic with nothing else installed: a
// local Prometheus backfilled with two weeks of a bundled real trace, the rest
// of the trace replayed live, and the forecaster reading it. Run it with
// `make demo`; Ctrl-C stops everything.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
)

// options are the demo's flags.
type options struct {
	binDir     string
	tracePath  string
	history    model.Duration
	dataDir    string
	promAddr   string
	fcAddr     string
	targetAddr string
	check      bool
	timeout    time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, runs the demo until a signal (or the check ends) and
// returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("demo", "Kedastral on two weeks of real traffic in a local Prometheus. Ctrl-C stops everything.")
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	var o options
	app.Flag("bin-dir", "Directory holding prometheus, promtool and forecaster.").Default("bin").StringVar(&o.binDir)
	app.Flag("trace", "Trace to replay: a timestamp,value CSV of requests per minute.").
		Default(filepath.Join("data", "traces", "nasa_http_1m.csv")).StringVar(&o.tracePath)
	app.Flag("history", "History backfilled into Prometheus before now.").Default("14d").SetValue(&o.history)
	app.Flag("data-dir", "Directory for Prometheus data and logs (default: a temporary one, removed at exit).").StringVar(&o.dataDir)
	app.Flag("prometheus.listen-address", "Address of the demo's Prometheus.").Default("127.0.0.1:9090").StringVar(&o.promAddr)
	app.Flag("forecaster.listen-address", "Address of the forecaster.").Default("127.0.0.1:8081").StringVar(&o.fcAddr)
	app.Flag("target.listen-address", "Address of the replayed application that Prometheus scrapes.").
		Default("127.0.0.1:9100").StringVar(&o.targetAddr)
	app.Flag("check", "Start everything, check the first forecast against the trace, stop, and exit 0 if it is right.").BoolVar(&o.check)
	app.Flag("check.timeout", "How long --check waits for the first forecast.").Default("3m").DurationVar(&o.timeout)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo(ctx, o, stdout, logger); err != nil {
		logger.Error("Demo failed", "err", err)
		return 1
	}
	return 0
}

// checkFree fails when an address is taken, naming the flag to change.
func checkFree(addrs map[string]string) error {
	for flag, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s is taken (%w): choose another with --%s", addr, err, flag)
		}
		l.Close()
	}
	return nil
}
