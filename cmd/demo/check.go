package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
)

const (
	// pollInterval is the time between two polls of a condition.
	pollInterval = 200 * time.Millisecond
	// loadTolerance bounds how far the observed load may be from the
	// trace's: a factor, for the 5-minute rate's extrapolation, the scrape
	// timing and the minute the forecaster's range query ends on.
	loadTolerance = 3
)

// check waits for a forecast on the scale of the trace, then says what it
// is and what the receiver stored and dropped.
func check(ctx context.Context, w io.Writer, r *replay, fcURL string, failed <-chan error, deadline time.Time) error {
	s, err := waitForecast(ctx, fcURL, r, failed, deadline)
	if err != nil {
		return err
	}
	counts, err := receiverCounts(fcURL)
	if err != nil {
		return err
	}
	if counts[samplesStored] == 0 || counts[samplesDropped] == 0 {
		return fmt.Errorf("check the receiver: it stored %v samples and dropped %v, want some of each",
			counts[samplesStored], counts[samplesDropped])
	}
	fmt.Fprintf(w, "Check passed: load %.1f requests/min (trace %.1f), forecast %.1f now and %.1f at the horizon, "+
		"%d replicas now; the receiver stored %s samples and dropped %s.\n",
		s.ObservedValue, r.perMinute(s.ObservedAt, 5*time.Minute), s.Values[0], s.Values[len(s.Values)-1],
		s.DesiredReplicas[0], thousands(int(counts[samplesStored])), thousands(int(counts[samplesDropped])))
	return nil
}

// The receiver's counters that the check reads.
const (
	samplesStored  = "kedastral_receiver_samples_stored_total"
	samplesDropped = "kedastral_receiver_samples_dropped_total"
)

// receiverCounts returns the forecaster's samplesStored and samplesDropped,
// from its /metrics.
func receiverCounts(fcURL string) (map[string]float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fcURL + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("get the metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get the metrics: /metrics answered %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse the metrics: %w", err)
	}
	counts := map[string]float64{}
	for _, name := range []string{samplesStored, samplesDropped} {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) != 1 {
			return nil, fmt.Errorf("parse the metrics: no single %s", name)
		}
		counts[name] = f.GetMetric()[0].GetCounter().GetValue()
	}
	return counts, nil
}

// waitReady polls url until it answers 200, an error comes on failed, ctx
// ends or the deadline passes.
func waitReady(ctx context.Context, url string, failed <-chan error, deadline time.Time) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, failed, deadline, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	})
}

// waitForecast polls the forecaster until its snapshot passes judge.
func waitForecast(ctx context.Context, fcURL string, r *replay, failed <-chan error, deadline time.Time) (forecast.Snapshot, error) {
	var s forecast.Snapshot
	err := poll(ctx, failed, deadline, func() error {
		var err error
		if s, err = snapshot(fcURL); err != nil {
			return err
		}
		return judge(s, r.perMinute(s.ObservedAt, 5*time.Minute))
	})
	if err != nil {
		return s, fmt.Errorf("check the forecast: %w", err)
	}
	return s, nil
}

// poll calls cond until it returns nil, an error comes on failed, ctx ends
// or the deadline passes; the error then says which, with cond's last error.
func poll(ctx context.Context, failed <-chan error, deadline time.Time, cond func() error) error {
	timeout := time.NewTimer(time.Until(deadline))
	defer timeout.Stop()
	for {
		last := cond()
		if last == nil {
			return nil
		}
		select {
		case err := <-failed:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("timed out (raise --start.timeout?): %w", last)
		case <-time.After(pollInterval):
		}
	}
}

// snapshot fetches the workload's snapshot.
func snapshot(fcURL string) (forecast.Snapshot, error) {
	var s forecast.Snapshot
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fcURL + "/forecast/current?workload=" + url.QueryEscape(workload))
	if err != nil {
		return s, fmt.Errorf("get the forecast: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("get the forecast: /forecast/current answered %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("decode the forecast: %w", err)
	}
	return s, nil
}

// judge checks that a snapshot is on the scale of the trace, whose mean load
// is want when the snapshot's load was observed: horizon/step values and
// replicas, the values positive and finite, and the observed load within a
// factor loadTolerance of want.
func judge(s forecast.Snapshot, want float64) error {
	n := int(horizon / step)
	if len(s.Values) != n || len(s.DesiredReplicas) != n {
		return fmt.Errorf("%d values and %d replicas, want %d of each", len(s.Values), len(s.DesiredReplicas), n)
	}
	for i, v := range s.Values {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("value %d is %v, want a positive load", i, v)
		}
	}
	if want <= 0 {
		return fmt.Errorf("the trace has no load at %s", s.ObservedAt.Format(time.RFC3339))
	}
	if !(s.ObservedValue >= want/loadTolerance && s.ObservedValue <= want*loadTolerance) {
		return fmt.Errorf("observed load %.1f/min, but the trace has %.1f/min then", s.ObservedValue, want)
	}
	if s.DesiredReplicas[0] < 1 {
		return fmt.Errorf("%d replicas planned now, want at least 1", s.DesiredReplicas[0])
	}
	return nil
}
