package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

// ErrEmptyResult is returned when a query matches no series at all.
var ErrEmptyResult = errors.New("query returned no series")

// Source reads one workload's load history by a PromQL range query.
type Source struct {
	client *Client
	query  string
	logger *slog.Logger
}

// Range runs the query from start to end at step and returns the load on that
// grid. Several series are summed point by point (a step where only some
// series have a value sums those); NaN and ±Inf samples are dropped, counted
// and logged; steps with no value are NaN for the engine to repair.
func (s *Source) Range(ctx context.Context, start, end time.Time, step time.Duration) (forecast.Series, error) {
	v, warnings, err := s.client.QueryRange(ctx, s.query, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		var qe *QueryError
		if errors.As(err, &qe) {
			s.count(qe.Reason)
		}
		return forecast.Series{}, fmt.Errorf("query prometheus: %w", err)
	}
	if len(warnings) > 0 {
		s.logger.Debug("Prometheus warned about the query", "warnings", warnings, "query", truncate(s.query, maxQueryLog))
	}
	var matrix model.Matrix
	switch v := v.(type) {
	case model.Matrix:
		matrix = v
	case nil:
	default:
		s.count(forecast.ReasonBadResponse)
		return forecast.Series{}, fmt.Errorf("query prometheus: range query returned a %s, not a matrix", v.Type())
	}
	if len(matrix) == 0 {
		s.count(forecast.ReasonNoData)
		return forecast.Series{}, ErrEmptyResult
	}
	series, nonFinite := sumOnGrid(matrix, start, end, step)
	if nonFinite > 0 {
		s.count(forecast.ReasonNonFinite)
		s.logger.Warn("Prometheus returned samples that are not finite numbers; they were dropped",
			"samples", nonFinite, "query", truncate(s.query, maxQueryLog))
	}
	return series, nil
}

// sumOnGrid sums the float samples of matrix onto the grid start, start+step,
// ..., end. It returns the series (NaN where no series has a finite value) and
// the number of non-finite samples dropped.
func sumOnGrid(matrix model.Matrix, start, end time.Time, step time.Duration) (forecast.Series, int) {
	n := int(end.Sub(start)/step) + 1
	values := make([]float64, n)
	for i := range values {
		values[i] = math.NaN()
	}
	nonFinite := 0
	for _, stream := range matrix {
		for _, sp := range stream.Values {
			// Prometheus evaluates a range query exactly at start + k·step.
			k := int(math.Round(float64(sp.Timestamp.Time().Sub(start)) / float64(step)))
			if k < 0 || k >= n {
				continue
			}
			v := float64(sp.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				nonFinite++
				continue
			}
			if math.IsNaN(values[k]) {
				values[k] = v
			} else {
				values[k] += v
			}
		}
	}
	return forecast.Series{Start: start, Step: step, Values: values}, nonFinite
}

func (s *Source) count(reason string) {
	if reason != "" && s.client.errors != nil {
		s.client.errors.WithLabelValues(forecast.ComponentSource, reason).Inc()
	}
}
