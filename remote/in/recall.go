package in

import (
	"context"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/read"
)

// Recall returns the newest replicas of the workload's plan the storage
// kept between from and to (see Published), and false when it kept none.
func (s *Storage) Recall(ctx context.Context, workload string, from, to time.Time) (int, bool, error) {
	return read.Recall(ctx, s, workload, from, to)
}

// Published keeps the replicas the snapshot asks for now in the storage as
// kedastral_forecast_desired_replicas{workload}, so that a restarted
// forecaster starts from the plan it served last (see Recall). It is a
// listener of the engine's snapshot store; a failed append is logged, and
// costs only that.
func (s *Storage) Published(snap forecast.Snapshot) {
	if len(snap.DesiredReplicas) == 0 {
		return
	}
	app := s.db.AppenderV2(context.Background())
	ls := labels.FromStrings(model.MetricNameLabel, read.PlanMetric, "workload", snap.Workload)
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
