package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
)

// statusInterval is the time between two status lines of a running demo.
const statusInterval = 30 * time.Second

// printSummary says where to look.
func printSummary(w io.Writer, o options, r *replay, fcURL, dir string) {
	position := time.Now().Add(-r.shift)
	fmt.Fprintf(w, `
Kedastral demo: the forecaster on real traffic, received by remote write; no Prometheus. Ctrl-C stops everything.

  Load        NASA Kennedy Space Center web server, HTTP requests a minute (NASA-HTTP trace, CC BY 4.0,
              see data/traces/README.md), shifted by %s days: now plays %s.
              %s of it were remote-written as the counter %s_total{job=%q}, a sample
              every %s; the rest streams live, as a Prometheus's remote_write would send it.
  Query       %s
`, thousands(int(r.shift/day)), position.Format("Mon 2 Jan 2006 15:04"),
		durationText(time.Duration(o.history)), metricName, targetJob, scrapeInterval, query)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range [][3]string{
		{"Forecaster", fcURL + "/", "landing page: a chart of the load, forecast and replica plan"},
		{"", fcURL + "/metrics", "kedastral_forecast_* series; kedastral_receiver_* counters"},
		{"", fcURL + writePath, "the remote-write receiver"},
		{"Storage", filepath.Join(dir, storageDir), "the embedded TSDB: only the series the query selects"},
		{"Log", filepath.Join(dir, "forecaster.log"), removedNote(o.dataDir)},
	} {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", row[0], row[1], row[2])
	}
	_ = tw.Flush()
	fmt.Fprintf(w, `
  The forecast and replica plan:
    curl -s '%s/forecast/current?workload=%s'
  Samples stored, and dropped (up and process_cpu_seconds_total, which the query does not select):
    curl -s %s/metrics | grep -E '^kedastral_receiver_(samples|series)'

`, fcURL, workload, fcURL)
}

// removedNote says that the data directory goes at exit, unless the user
// chose it.
func removedNote(dataDir string) string {
	if dataDir != "" {
		return ""
	}
	return "removed at exit, with the storage: --data-dir keeps them"
}

// durationText returns d in days when it is whole days ("14 days"), else
// as a Prometheus duration ("36h").
func durationText(d time.Duration) string {
	if d%day == 0 && d > 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return model.Duration(d).String()
}

// thousands returns n with commas between groups of three digits: 80640 is
// "80,640".
func thousands(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

// watch prints a status line every statusInterval until ctx ends (nil) or
// an error comes on failed (that error).
func watch(ctx context.Context, w io.Writer, fcURL string, r *replay, failed <-chan error) error {
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
		case err := <-failed:
			return err
		case <-ticker.C:
		}
	}
}
