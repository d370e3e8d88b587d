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
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/internal/cli"
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
	app := kingpin.New("forecaster", "Kedastral forecaster: forecasts each workload's load and plans its replicas lead time ahead.")
	app.Version(version.Print("forecaster"))
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	f := addFlags(app)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "forecaster: %v\n", err)
		return 2
	}
	logger := promslog.New(&f.log)
	if err := f.check(); err != nil {
		logger.Error("Invalid command line", "err", err)
		return 2
	}
	logger.Info("Starting forecaster", "version", version.Info())

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector("kedastral"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	store := engine.NewStore()
	reg.MustRegister(exporter.NewCollector(store, nil))
	metrics := engine.NewMetrics(reg)
	initial, err := f.config()
	if err != nil {
		logger.Error("Cannot load the configuration", "err", err)
		return 1
	}
	adapter := "prometheus"
	var push *pushMode
	if f.pushMode(initial) {
		adapter = "tsdb"
		if push, err = openPush(f, reg, metrics, logger); err != nil {
			logger.Error("Cannot open the storage", "err", err)
			return 1
		}
		defer func() {
			if err := push.storage.Close(); err != nil {
				logger.Error("Storage did not close cleanly", "err", err)
			}
		}()
		logger.Info("Push mode: receiving remote write at /api/v1/write", "storage", f.storagePath, "retention", f.retention)
	}
	sched := engine.NewScheduler(engine.Deps{
		Store:      store,
		Metrics:    metrics,
		Logger:     logger,
		StaleAfter: time.Duration(f.staleAfter),
		Adapter:    adapter,
	})
	sender := out.NewSender(out.SenderOptions{Logger: logger, Registerer: reg})
	store.Listen(sender)
	if push != nil {
		// The plans go into the storage too, for a restart to start from.
		store.Listen(push.storage)
	}
	rl := newReloader(f, sched, metrics, logger, reg, push, sender)
	backfill := push != nil && initial.Prometheus.URL != nil
	if !backfill {
		if err := rl.reload(); err != nil {
			logger.Error("Cannot load the configuration", "err", err)
			return 1
		}
	}

	api := exporter.NewAPI(store, time.Duration(f.staleAfter), nil, logger)
	server := &http.Server{Handler: newMux(api, store, reg, sched, rl, push, logger), ReadHeaderTimeout: 10 * time.Second}

	var g run.Group
	g.Add(cli.SignalHandler(context.Background(), os.Interrupt, syscall.SIGTERM))
	addReloadOnHangup(&g, rl, logger)
	g.Add(func() error {
		if err := web.ListenAndServe(server, &f.web, logger); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("web server: %w", err)
		}
		return nil
	}, func(error) {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := server.Shutdown(ctx); err != nil {
			logger.Warn("Web server did not drain in time", "err", err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	g.Add(func() error {
		if backfill {
			// The workloads start once the history they read is there.
			if err := push.backfill(ctx, initial, time.Now(), logger); err != nil && ctx.Err() == nil {
				logger.Error("Backfill failed; forecasting from what the storage holds", "err", err)
			}
			if ctx.Err() == nil {
				if err := rl.reload(); err != nil {
					return fmt.Errorf("load the configuration: %w", err)
				}
			}
		}
		<-ctx.Done()
		return nil
	}, func(error) {
		cancel()
		sched.Stop()
	})
	// Added after the scheduler, so interrupted after it: the last forecasts
	// are published, then flushed (for at most out.DefaultFlushTimeout).
	sendCtx, stopSending := context.WithCancel(context.Background())
	g.Add(func() error {
		sender.Run(sendCtx)
		return nil
	}, func(error) {
		stopSending()
	})

	err = g.Run()
	var sig run.SignalError
	if err != nil && !errors.As(err, &sig) {
		logger.Error("Forecaster stopped", "err", err)
		return 1
	}
	logger.Info("Forecaster stopped", "reason", err)
	return 0
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
