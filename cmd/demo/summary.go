package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
)

// statusInterval is the time between two status lines of a running demo.
const statusInterval = 30 * time.Second

// printSummary says where to look.
func printSummary(w io.Writer, o options, r *replay, promURL, fcURL, dir string) {
	position := time.Now().Add(-r.shift)
	sel := fmt.Sprintf("{workload=%q", workload)
	fmt.Fprintf(w, `
Kedastral demo: the forecaster on real traffic. Ctrl-C stops everything.

  Load        NASA Kennedy Space Center web server, HTTP requests a minute (NASA-HTTP trace, CC BY 4.0,
              see data/traces/README.md): %s of it backfilled into Prometheus, the rest replayed
              live, shifted by %d days: now plays %s.
  Forecaster  %s          landing page
              %s/metrics  kedastral_forecast_* series
  Prometheus  %s          HTTP API (this build has no web UI); it scrapes the target and the forecaster
  Target      http://%s/metrics  the replayed nasa_http_requests_total
  Logs        %s
              %s%s

  The forecast and replica plan:
    curl -s '%s/forecast/current?workload=%s'

  PromQL to graph against %s/api/v1/query_range:
`, durationText(time.Duration(o.history)), r.shift/day, position.Format("Mon 2 Jan 2006 15:04"),
		fcURL, fcURL, promURL, o.targetAddr,
		filepath.Join(dir, "prometheus.log"), filepath.Join(dir, "forecaster.log"), removedNote(o.dataDir),
		fcURL, workload, promURL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range [][2]string{
		{"load observed", query},
		{"load forecast for now", "kedastral_forecast_value" + sel + `,horizon="0s"}`},
		{"forecast made 15m before", "kedastral_forecast_value" + sel + `,horizon="15m"} offset 15m`},
		{"replicas wanted now", "kedastral_forecast_desired_replicas" + sel + "}"},
	} {
		fmt.Fprintf(tw, "    %s\t%s\n", row[0], row[1])
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}

// removedNote says that the data directory goes at exit, unless the user
// chose it.
func removedNote(dataDir string) string {
	if dataDir != "" {
		return ""
	}
	return "\n              (removed at exit: --data-dir keeps them)"
}

// durationText returns d in days when it is whole days ("14 days"), else
// as a Prometheus duration ("36h").
func durationText(d time.Duration) string {
	if d%day == 0 && d > 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return model.Duration(d).String()
}

// watch prints a status line every statusInterval until ctx ends (nil) or a
// child ends (its error).
func watch(ctx context.Context, w io.Writer, fcURL string, r *replay, sup *supervisor) error {
	fmt.Fprintf(w, "Every %s: the load observed and the trace's, the forecast, the replicas planned.\n", statusInterval)
	ticker := time.NewTicker(statusInterval)
	defer ticker.Stop()
	for {
		if s, err := snapshot(fcURL); err == nil && len(s.Values) > 0 && len(s.DesiredReplicas) > 0 {
			last := len(s.Values) - 1
			fmt.Fprintf(w, "%s  load %6.1f/min (trace %6.1f)  forecast in 15m %6.1f, in %dm %6.1f  replicas now %2d, in %dm %2d\n",
				s.GeneratedAt.Local().Format("15:04:05"), s.ObservedValue, r.perMinute(s.ObservedAt, 5*time.Minute),
				s.Values[min(15, last)], last, s.Values[last],
				s.DesiredReplicas[0], last, s.DesiredReplicas[min(last, len(s.DesiredReplicas)-1)])
		}
		select {
		case <-ctx.Done():
			return nil
		case c := <-sup.died:
			return c.error()
		case <-ticker.C:
		}
	}
}
