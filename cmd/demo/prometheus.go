package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/trace"
)

const (
	// forecasterJob is the scrape job of the forecaster's /metrics.
	forecasterJob = "kedastral"
	// blockDuration is the span of the backfilled blocks: promtool's default,
	// 2h, makes 168 blocks for two weeks and re-reads the input for each
	// (10 s); 54h, one of Prometheus's compaction ranges, makes 7 (under 1 s).
	blockDuration = 54 * time.Hour
	// minRetention is the least retention: Prometheus compacts blocks up to
	// a tenth of it, which must not be less than blockDuration.
	minRetention = 30 * 24 * time.Hour
)

// promServer is the demo's Prometheus: its files, flags and scrape targets.
type promServer struct {
	url        string
	addr       string
	dir        string
	history    time.Duration
	targetAddr string
	fcAddr     string
}

func newPrometheus(o options, dir string) *promServer {
	return &promServer{
		url:        "http://" + o.promAddr,
		addr:       o.promAddr,
		dir:        dir,
		history:    time.Duration(o.history),
		targetAddr: o.targetAddr,
		fcAddr:     o.fcAddr,
	}
}

// dataDir is the TSDB directory.
func (p *promServer) dataDir() string { return filepath.Join(p.dir, "data") }

// args returns Prometheus's command line. The retention keeps the backfilled
// history, whose oldest blocks would otherwise be deleted at once.
func (p *promServer) args() []string {
	retention := max(minRetention, p.history+48*time.Hour)
	return []string{
		"--config.file=" + filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path=" + p.dataDir(),
		"--storage.tsdb.retention.time=" + model.Duration(retention).String(),
		"--web.listen-address=" + p.addr,
	}
}

// config returns prometheus.yml: the replayed application and the forecaster.
func (p *promServer) config() string {
	return fmt.Sprintf(`global:
  scrape_interval: 15s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
  - job_name: %s
    static_configs:
      - targets: [%q]
`, targetJob, p.targetAddr, forecasterJob, p.fcAddr)
}

// backfill refuses a data directory used before, writes the configuration, and the replay's history as
// OpenMetrics with the labels the scrape of the target will give (job and
// instance), and turns the history into TSDB blocks with promtool.
func (p *promServer) backfill(ctx context.Context, promtool string, r *replay) error {
	if _, err := os.Stat(p.dataDir()); err == nil {
		return fmt.Errorf("%s exists: give --data-dir a new or empty directory, since a second backfill "+
			"would overlap the first", p.dataDir())
	}
	if err := os.WriteFile(filepath.Join(p.dir, "prometheus.yml"), []byte(p.config()), 0o600); err != nil {
		return fmt.Errorf("write the prometheus configuration: %w", err)
	}
	om := filepath.Join(p.dir, "history.om")
	f, err := os.Create(om)
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	labels := map[string]string{"job": targetJob, "instance": p.targetAddr}
	if err := trace.WriteOpenMetricsCounter(f, metricName, labels, r.history(), r.shift); err != nil {
		f.Close()
		return fmt.Errorf("backfill: write %s: %w", om, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	cmd := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
		"--max-block-duration="+model.Duration(blockDuration).String(), om, p.dataDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("backfill: promtool tsdb create-blocks-from openmetrics: %w\n%s", err, out)
	}
	return os.Remove(om)
}

// checkBackfill asks the running Prometheus how many samples of the target's
// counter it holds over the history, and fails with fewer than want.
func (p *promServer) checkBackfill(ctx context.Context, want int) error {
	client, err := api.NewClient(api.Config{Address: p.url})
	if err != nil {
		return fmt.Errorf("check the backfill: %w", err)
	}
	// Ten minutes more than the history: the backfill ended a moment ago.
	q := fmt.Sprintf("count_over_time(%s_total{job=%q}[%s])",
		metricName, targetJob, model.Duration(p.history+10*time.Minute))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, _, _, err := v1.NewAPI(client).Query(ctx, q, time.Time{})
	if err != nil {
		return fmt.Errorf("check the backfill: query %s: %w", q, err)
	}
	got := 0.0
	if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
		got = float64(vec[0].Value)
	}
	if got < float64(want) {
		return fmt.Errorf("check the backfill: prometheus holds %v samples of the %d backfilled (%s)", got, want, q)
	}
	return nil
}
