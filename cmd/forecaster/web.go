package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/internal/engine"
)

// newMux routes the forecaster's HTTP endpoints; lifecycle enables POST
// /-/reload.
func newMux(api *exporter.API, store *engine.Store, reg *prometheus.Registry, sched *engine.Scheduler, rl *reloader, lifecycle bool, push *pushMode, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", exporter.NewPage(store, exporter.PageOptions{
		Name:    "Kedastral forecaster",
		Version: version.Version,
		Links: []exporter.PageLink{
			{Address: "/metrics", Text: "Metrics", Description: "kedastral_forecast_* series and self-telemetry"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness", Description: "ready once every workload has a forecast"},
			{Address: "/forecast/current?workload=NAME", Text: "Forecast JSON", Description: "one workload's snapshot"},
		},
		Logger: logger,
	}))
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)})))
	mux.HandleFunc("/forecast/current", api.ServeCurrent)
	mux.HandleFunc("/healthz", serveHealthy)
	mux.HandleFunc("/-/healthy", serveHealthy)
	mux.Handle("/-/ready", readiness{sched})
	mux.Handle("/-/reload", reloadHandler{rl: rl, enabled: lifecycle, logger: logger})
	if push != nil {
		mux.Handle("/api/v1/write", push.receiver)
	}
	return mux
}

// serveHealthy answers 200 while the process runs.
func serveHealthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "Forecaster is Healthy.")
}

// readiness answers 200 once every workload has a first forecast, else 503.
type readiness struct {
	sched *engine.Scheduler
}

func (h readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if !h.sched.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not ready: waiting for the first forecast of every workload")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "Forecaster is Ready.")
}

// reloadHandler reloads the configuration on POST /-/reload: 200 when the new
// configuration runs, 500 when it was refused and the old one keeps running;
// 403, as Prometheus answers, unless enabled by --web.enable-lifecycle.
type reloadHandler struct {
	rl      *reloader
	enabled bool
	logger  *slog.Logger
}

func (h reloadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enabled {
		writeError(w, http.StatusForbidden, "lifecycle API is not enabled: start the forecaster with --web.enable-lifecycle to reload by HTTP, or send it SIGHUP")
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	if err := h.rl.reload(); err != nil {
		h.logger.Error("Reload failed, the previous configuration keeps running", "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("reload failed, the previous configuration keeps running: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "Configuration reloaded.")
}

// writeError writes {"error": msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
