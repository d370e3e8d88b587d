// Command forecaster forecasts the load of each configured workload, plans
// the replicas it needs lead time ahead, and publishes the plan as JSON at
// /forecast/current and as kedastral_forecast_* series on /metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	// The time zones of schedules, also on images without a zoneinfo.
	_ "time/tzdata"

	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/engine"
	"github.com/HatiCode/kedastral/remote/out"
)

// shutdownTimeout bounds the drain of HTTP requests and ticks at exit.
const shutdownTimeout = 10 * time.Second

func main() {
	os.Exit(runForecaster(os.Args[1:], os.Stderr))
}

// runForecaster is the whole program; it returns the exit code.
func runForecaster(args []string, stderr io.Writer) int {
	f, logger, code := parseCommandLine(args, stderr)
	if logger == nil {
		return code
	}
	logger.Info("Starting forecaster", "version", version.Info())
	fc, err := newForecaster(f, logger)
	if err != nil {
		logger.Error("Cannot start", "err", err)
		return 1
	}
	defer fc.close()
	return fc.run()
}

// parseCommandLine parses and checks the flags. It returns them with the
// logger they configure, or a nil logger and the exit code of a bad
// command line.
func parseCommandLine(args []string, stderr io.Writer) (*flags, *slog.Logger, int) {
	app := cli.NewApp("forecaster", "Kedastral forecaster: forecasts each workload's load and plans its replicas lead time ahead.", stderr)
	f := addFlags(app)
	logger, code := cli.ParseCommandLine(app, args, stderr, &f.log, f.check)
	return f, logger, code
}

// forecaster is the running program: the snapshot store every part shares,
// the scheduler that fills it, what publishes it, and what reloads the
// configuration.
type forecaster struct {
	flags    *flags
	logger   *slog.Logger
	reg      *prometheus.Registry
	store    *engine.Store
	sched    *engine.Scheduler
	sender   *out.Sender
	reloader *reloader
	// push is set in push mode: the receiver and the embedded storage.
	push *pushMode
	// initial is the configuration at start; backfill says whether the
	// workloads wait for a backfill from Prometheus before they start.
	initial  *config.Config
	backfill bool
}

// newForecaster builds the program's parts from the flags and loads the
// configuration; without a backfill to wait for, the workloads start.
func newForecaster(f *flags, logger *slog.Logger) (*forecaster, error) {
	fc := &forecaster{flags: f, logger: logger, reg: prometheus.NewRegistry(), store: engine.NewStore()}
	fc.reg.MustRegister(
		versioncollector.NewCollector("kedastral"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		exporter.NewCollector(fc.store, exporter.Horizons(f.horizons), nil),
	)
	metrics := engine.NewMetrics(fc.reg)
	// Half the cores fit models at most; the others are the ticks'.
	fits := forecast.NewFitLimiter(runtime.GOMAXPROCS(0) / 2)
	engine.RegisterFitLimiter(fc.reg, fits)
	var err error
	if fc.initial, err = f.config(); err != nil {
		return nil, fmt.Errorf("load the configuration: %w", err)
	}
	adapter := "prometheus"
	if f.pushMode(fc.initial) {
		adapter = "tsdb"
		if fc.push, err = openPush(f, fc.reg, metrics, logger); err != nil {
			return nil, fmt.Errorf("open the storage: %w", err)
		}
		logger.Info("Push mode: receiving remote write at /api/v1/write", "storage", f.storagePath, "retention", f.retention)
	}
	fc.sched = engine.NewScheduler(engine.Deps{
		Store: fc.store, Metrics: metrics, Logger: logger, StaleAfter: time.Duration(f.staleAfter), Adapter: adapter,
		Fits: fits,
	})
	fc.sender = out.NewSender(out.SenderOptions{Logger: logger, Registerer: fc.reg, Horizons: exporter.Horizons(f.horizons)})
	fc.store.Listen(fc.sender)
	if fc.push != nil {
		// The plans go into the storage too, for a restart to start from.
		fc.store.Listen(fc.push.storage)
	}
	fc.reloader = newReloader(f, fc.sched, metrics, logger, fc.reg, fc.push, fc.sender)
	fc.backfill = fc.push != nil && fc.initial.Prometheus.URL != nil
	if !fc.backfill {
		if err := fc.reloader.reload(); err != nil {
			fc.close()
			return nil, fmt.Errorf("load the configuration: %w", err)
		}
	}
	return fc, nil
}

// close closes the embedded storage, if any.
func (fc *forecaster) close() {
	if fc.push == nil {
		return
	}
	if err := fc.push.storage.Close(); err != nil {
		fc.logger.Error("Storage did not close cleanly", "err", err)
	}
	fc.push = nil
}

// run serves and forecasts until a signal or a failure, and returns the
// exit code.
func (fc *forecaster) run() int {
	var g run.Group
	g.Add(cli.SignalHandler(context.Background(), os.Interrupt, syscall.SIGTERM))
	addReloadOnHangup(&g, fc.reloader, fc.logger)
	fc.addWeb(&g)
	fc.addWorkloads(&g)
	// Added after the workloads, so interrupted after them: the last
	// forecasts are published, then flushed (for at most
	// out.DefaultFlushTimeout).
	sendCtx, stopSending := context.WithCancel(context.Background())
	g.Add(func() error {
		fc.sender.Run(sendCtx)
		return nil
	}, func(error) {
		stopSending()
	})
	err := g.Run()
	var sig run.SignalError
	if err != nil && !errors.As(err, &sig) {
		fc.logger.Error("Forecaster stopped", "err", err)
		return 1
	}
	fc.logger.Info("Forecaster stopped", "reason", err)
	return 0
}

// addWeb adds the HTTP server, drained within shutdownTimeout at the end.
func (fc *forecaster) addWeb(g *run.Group) {
	api := exporter.NewAPI(fc.store, time.Duration(fc.flags.staleAfter), nil, fc.logger)
	server := &http.Server{
		Handler:           newMux(api, fc.store, fc.reg, fc.sched, fc.reloader, fc.flags.lifecycle, fc.push, fc.logger),
		ReadHeaderTimeout: 10 * time.Second,
		// As Prometheus's --web.read-timeout: the whole request, and idle
		// connections.
		ReadTimeout: time.Duration(fc.flags.readTimeout),
	}
	g.Add(func() error {
		if err := web.ListenAndServe(server, &fc.flags.web, fc.logger); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("web server: %w", err)
		}
		return nil
	}, func(error) {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			fc.logger.Warn("Web server did not drain in time", "err", err)
		}
	})
}

// addWorkloads runs the workloads until the end: at once, or once the
// backfill has brought the history they read.
func (fc *forecaster) addWorkloads(g *run.Group) {
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(func() error {
		if fc.backfill {
			if err := fc.push.backfill(ctx, fc.initial, time.Now(), fc.logger); err != nil && ctx.Err() == nil {
				fc.logger.Error("Backfill failed; forecasting from what the storage holds", "err", err)
			}
			if ctx.Err() == nil {
				if err := fc.reloader.reload(); err != nil {
					return fmt.Errorf("load the configuration: %w", err)
				}
			}
		}
		<-ctx.Done()
		return nil
	}, func(error) {
		cancel()
		fc.sched.Stop()
	})
}

// addReloadOnHangup reloads the configuration on every SIGHUP.
func addReloadOnHangup(g *run.Group, rl *reloader, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	g.Add(func() error {
		for {
			select {
			case <-hup:
				if err := rl.reload(); err != nil {
					logger.Error("Reload failed, the previous configuration keeps running", "err", err)
				}
			case <-done:
				return nil
			}
		}
	}, func(error) {
		signal.Stop(hup)
		close(done)
	})
}
