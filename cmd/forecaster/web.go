package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/forecast"
)

// newMux routes the forecaster's HTTP endpoints.
func newMux(api *exporter.API, reg *prometheus.Registry, sched *forecast.Scheduler, rl *reloader, logger *slog.Logger) (http.Handler, error) {
	landing, err := web.NewLandingPage(web.LandingConfig{
		RoutePrefix: "/",
		Name:        "Kedastral forecaster",
		Description: "Predictive autoscaling for KEDA: load forecasts and replica plans",
		Version:     version.Info(),
		Profiling:   "false",
		Form: web.LandingForm{
			Action: "/forecast/current",
			Inputs: []web.LandingFormInput{{Label: "Workload", Type: "text", Name: "workload", Placeholder: "name"}},
		},
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics", Description: "kedastral_forecast_* series and self-telemetry"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness", Description: "ready once every workload has a forecast"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", landing)
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)})))
	mux.HandleFunc("/forecast/current", api.ServeCurrent)
	mux.HandleFunc("/healthz", serveHealthy)
	mux.HandleFunc("/-/healthy", serveHealthy)
	mux.Handle("/-/ready", readiness{sched})
	mux.Handle("/-/reload", reloadHandler{rl: rl, logger: logger})
	return mux, nil
}

// serveHealthy answers 200 while the process runs.
func serveHealthy(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "Forecaster is Healthy.")
}

// readiness answers 200 once every workload has a first forecast, else 503.
type readiness struct {
	sched *forecast.Scheduler
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
// configuration runs, 500 when it was refused and the old one keeps running.
type reloadHandler struct {
	rl     *reloader
	logger *slog.Logger
}

func (h reloadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
