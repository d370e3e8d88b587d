package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"time"
)

// printSummary says where to look.
func printSummary(w io.Writer, o options, r *replay, promURL, fcURL, dir string) {
	position := time.Now().Add(-r.shift)
	promQuery := func(q string) string {
		return promURL + "/api/v1/query?" + url.Values{"query": {q}}.Encode()
	}
	fmt.Fprintf(w, `
Kedastral demo is running. Ctrl-C stops everything.

  Load        NASA Kennedy Space Center HTTP requests per minute (NASA-HTTP trace, CC BY 4.0),
              %s of history backfilled, then replayed live from %s (shifted %d days)
  Forecaster  %s  (landing page; /metrics has the kedastral_forecast_* series)
  Prometheus  %s  (API only: this build has no web UI)
  Logs        %s, %s

  The forecast and plan:
    curl -s '%s/forecast/current?workload=%s'
  The load as the forecaster reads it, from Prometheus:
    curl -s '%s'

A line below every 30 s: the load observed, the forecast, and the replicas planned.
`, o.history, position.Format("Mon 2 Jan 2006 15:04"), int(r.shift/day),
		fcURL, promURL, filepath.Join(dir, "prometheus.log"), filepath.Join(dir, "forecaster.log"),
		fcURL, workload, promQuery(query))
}

// watch prints one status line every 30 s until ctx ends (nil) or a child
// dies (its error).
func watch(ctx context.Context, w io.Writer, fcURL string, r *replay, children ...*child) error {
	ticker := time.NewTicker(30 * time.Second)
	defer ticker.Stop()
	died := make(chan *child, len(children))
	for _, c := range children {
		go func() {
			<-c.exited
			died <- c
		}()
	}
	for {
		if s, err := snapshot(fcURL); err == nil {
			fmt.Fprintf(w, "%s  load %6.1f/min (trace %6.1f)  forecast in 5m %6.1f, in 30m %6.1f  replicas now %2d, in 30m %2d\n",
				s.GeneratedAt.Local().Format("15:04:05"), s.ObservedValue, r.perMinute(s.ObservedAt, 5*time.Minute),
				s.Values[min(5, len(s.Values)-1)], s.Values[len(s.Values)-1],
				s.DesiredReplicas[0], s.DesiredReplicas[len(s.DesiredReplicas)-1])
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(w, "Stopping.")
			return nil
		case c := <-died:
			return c.died()
		case <-ticker.C:
		}
	}
}
