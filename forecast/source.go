package forecast

import (
	"context"
	"time"
)

// Source reads one workload's load history, such as a PromQL range query
// against Prometheus or the forecaster's embedded storage.
type Source interface {
	// Range returns the load at start, start+step, ..., end, with NaN at
	// steps that have no value. Sources count and log their own errors.
	Range(ctx context.Context, start, end time.Time, step time.Duration) (Series, error)
}
