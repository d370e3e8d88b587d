package read

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PlanMetric is the series a forecaster's plans are read back from after a
// restart: what its scaler served, as it publishes it.
const PlanMetric = "kedastral_forecast_desired_replicas"

// maxRecalledReplicas bounds a recalled plan: a larger value is not a
// replica count this forecaster published.
const maxRecalledReplicas = 1 << 31

// ErrNotAReplicaCount is returned for a recalled value that cannot be a
// plan: NaN, negative, or too large.
var ErrNotAReplicaCount = errors.New("not a replica count")

// Recall returns the newest replicas Prometheus holds of the workload's
// plan between from and to (kedastral_forecast_desired_replicas, scraped
// or remote-written; with several, as from an HA pair, the highest), and
// false when it holds none.
func (c *Client) Recall(ctx context.Context, workload string, from, to time.Time) (int, bool, error) {
	return Recall(ctx, c, workload, from, to)
}

// Recall runs max(last_over_time(kedastral_forecast_desired_replicas{workload}[to−from]))
// at to on q: the newest replicas of the workload's plan published between
// from and to, and false when there is none.
func Recall(ctx context.Context, q RangeQuerier, workload string, from, to time.Time) (int, bool, error) {
	window := max(to.Sub(from).Round(time.Second), time.Second)
	query := "max(last_over_time(" + PlanMetric + "{workload=" + strconv.Quote(workload) + "}[" +
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
		return 0, false, fmt.Errorf("recall the last plan: %s is %v: %w", PlanMetric, r, ErrNotAReplicaCount)
	}
	return int(math.Round(r)), true, nil
}
