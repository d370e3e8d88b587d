package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/forecast"
)

// planMetric is the series a forecaster's plans are read back from after a
// restart: what its scaler served, as it publishes it.
const planMetric = "kedastral_forecast_desired_replicas"

// maxRecalledReplicas bounds a recalled plan: a larger value is not a
// replica count this forecaster published.
const maxRecalledReplicas = 1 << 31

// errNotAReplicaCount is returned for a recalled value that cannot be a
// plan: NaN, negative, or too large.
var errNotAReplicaCount = errors.New("not a replica count")

// Recall returns the newest replicas Prometheus holds of the workload's
// plan between from and to (kedastral_forecast_desired_replicas, scraped
// or remote-written; with several, as from an HA pair, the highest), and
// false when it holds none.
func (c *Client) Recall(ctx context.Context, workload string, from, to time.Time) (int, bool, error) {
	return recall(ctx, c, workload, from, to)
}

// Recall returns the newest replicas of the workload's plan the storage
// kept between from and to (see Published), and false when it kept none.
func (s *Storage) Recall(ctx context.Context, workload string, from, to time.Time) (int, bool, error) {
	return recall(ctx, s, workload, from, to)
}

// recall runs max(last_over_time(kedastral_forecast_desired_replicas{workload}[to−from]))
// at to on q.
func recall(ctx context.Context, q rangeQuerier, workload string, from, to time.Time) (int, bool, error) {
	window := max(to.Sub(from).Round(time.Second), time.Second)
	query := "max(last_over_time(" + planMetric + "{workload=" + strconv.Quote(workload) + "}[" +
		model.Duration(window).String() + "]))"
	v, _, err := q.QueryRange(ctx, query, v1.Range{Start: to, End: to, Step: time.Minute})
	if err != nil {
		return 0, false, fmt.Errorf("recall the last plan: %w", err)
	}
	m, ok := v.(model.Matrix)
	if !ok || len(m) == 0 || len(m[0].Values) == 0 {
		return 0, false, nil
	}
	r := float64(m[0].Values[len(m[0].Values)-1].Value)
	if !(r >= 0 && r < maxRecalledReplicas) {
		return 0, false, fmt.Errorf("recall the last plan: %s is %v: %w", planMetric, r, errNotAReplicaCount)
	}
	return int(math.Round(r)), true, nil
}

// Published keeps the replicas the snapshot asks for now in the storage as
// kedastral_forecast_desired_replicas{workload}, so that a restarted
// forecaster starts from the plan it served last (see Recall). It is a
// forecast.StoreListener; a failed append is logged, and costs only that.
func (s *Storage) Published(snap forecast.Snapshot) {
	if len(snap.DesiredReplicas) == 0 {
		return
	}
	app := s.db.AppenderV2(context.Background())
	ls := labels.FromStrings(model.MetricNameLabel, planMetric, "workload", snap.Workload)
	_, err := app.Append(0, ls, 0, snap.GeneratedAt.UnixMilli(), float64(snap.DesiredReplicas[0]), nil, nil, storage.AOptions{})
	if err == nil {
		err = app.Commit()
	} else {
		_ = app.Rollback()
	}
	if err != nil {
		s.logger.Warn("Cannot keep the plan in the storage; a restart will start from the reactive floor",
			"workload", snap.Workload, "err", err)
	}
}

// Removed does nothing: a removed workload's plans expire with the
// retention.
func (s *Storage) Removed(string) {}
