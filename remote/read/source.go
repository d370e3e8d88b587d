package read

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

// ErrEmptyResult is returned when a query matches no series at all.
var ErrEmptyResult = errors.New("query returned no series")

// Source reads one workload's load history by a PromQL range query, run by
// a Prometheus server (pull mode) or by the embedded engine (push mode).
type Source struct {
	querier RangeQuerier
	errors  *prometheus.CounterVec
	query   string
	logger  *slog.Logger
}

// RangeQuerier runs a PromQL range query; failures are *QueryError.
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, v1.Warnings, error)
}

// NewSource returns the history source of one workload's query, run by q;
// errors counts its failures as kedastral_errors_total{component="source"}
// (nil counts none).
func NewSource(q RangeQuerier, query string, errors *prometheus.CounterVec, logger *slog.Logger) *Source {
	return &Source{querier: q, errors: errors, query: query, logger: logger.With("component", "source")}
}

// maxPointsPerQuery is the most points Prometheus returns per series in one
// range query; longer ranges are read in pieces.
const maxPointsPerQuery = 11000

// Range runs the query from start to end at step and returns the load on that
// grid. Several series are summed point by point (a step where only some
// series have a value sums those); NaN and ±Inf samples are dropped, counted
// and logged; steps with no value are NaN for the engine to repair. A range of
// more than 11,000 steps, the most Prometheus returns per query, is read in
// pieces.
func (s *Source) Range(ctx context.Context, start, end time.Time, step time.Duration) (forecast.Series, error) {
	n := int(end.Sub(start)/step) + 1
	values := make([]float64, n)
	for i := range values {
		values[i] = math.NaN()
	}
	series, nonFinite := 0, 0
	for first := 0; first < n; first += maxPointsPerQuery {
		last := min(first+maxPointsPerQuery, n) - 1
		from := start.Add(time.Duration(first) * step)
		matrix, err := s.queryRange(ctx, v1.Range{Start: from, End: start.Add(time.Duration(last) * step), Step: step})
		if err != nil {
			return forecast.Series{}, err
		}
		series = max(series, len(matrix))
		nonFinite += sumOnGrid(values[first:last+1], matrix, from, step)
	}
	if series == 0 {
		s.count(ReasonNoData)
		return forecast.Series{}, ErrEmptyResult
	}
	if nonFinite > 0 {
		s.count(ReasonNonFinite)
		s.logger.Warn("Prometheus returned samples that are not finite numbers; they were dropped",
			"samples", nonFinite, "query", ShortQuery(s.query))
	}
	return forecast.Series{Start: start, Step: step, Values: values}, nil
}

// queryRange runs one range query and returns its matrix.
func (s *Source) queryRange(ctx context.Context, r v1.Range) (model.Matrix, error) {
	v, warnings, err := s.querier.QueryRange(ctx, s.query, r)
	if err != nil {
		var qe *QueryError
		if errors.As(err, &qe) {
			s.count(qe.Reason)
		}
		return nil, fmt.Errorf("query: %w", err)
	}
	if len(warnings) > 0 {
		s.logger.Debug("The query ran with warnings", "warnings", warnings, "query", ShortQuery(s.query))
	}
	switch v := v.(type) {
	case model.Matrix:
		return v, nil
	case nil:
		return nil, nil
	default:
		s.count(ReasonBadResponse)
		return nil, fmt.Errorf("query: range query returned a %s, not a matrix", v.Type())
	}
}

// sumOnGrid adds the float samples of matrix onto values, the grid start,
// start+step, ...: a NaN value takes the first sample, later ones add to it.
// It returns the number of non-finite samples dropped.
func sumOnGrid(values []float64, matrix model.Matrix, start time.Time, step time.Duration) int {
	nonFinite := 0
	for _, stream := range matrix {
		for _, sp := range stream.Values {
			// Prometheus evaluates a range query exactly at start + k·step.
			k := int(math.Round(float64(sp.Timestamp.Time().Sub(start)) / float64(step)))
			if k < 0 || k >= len(values) {
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
	return nonFinite
}

func (s *Source) count(reason string) {
	if reason != "" && s.errors != nil {
		s.errors.WithLabelValues(ComponentSource, reason).Inc()
	}
}
