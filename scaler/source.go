package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// Plan is what a source knows of a workload's forecast: the replicas to run
// now and when the forecast was made.
type Plan struct {
	Desired     int
	GeneratedAt time.Time
}

// ErrNotFound is a source's answer when it has no forecast for the
// workload.
var ErrNotFound = errors.New("no forecast for the workload")

// A Source fetches the newest plan of a workload.
type Source interface {
	// Fetch returns the plan, ErrNotFound, or why it could not be read.
	Fetch(ctx context.Context, workload string) (Plan, error)
}

// Reasons of kedastral_scaler_source_errors_total{reason}.
const (
	reasonUnavailable = "unavailable"
	reasonStatus      = "http_status"
	reasonBadBody     = "bad_body"
	reasonInvalid     = "invalid"
	reasonQuery       = "query"
)

// sourceError is a failed read and the reason it is counted under.
type sourceError struct {
	reason string
	err    error
}

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// maxSnapshotBytes bounds a /forecast/current answer read.
const maxSnapshotBytes = 4 << 20

// Forecasters reads /forecast/current of one or more forecasters (shards,
// HA replicas) and keeps the freshest answer.
type Forecasters struct {
	urls   []string
	client *http.Client
	errors *prometheus.CounterVec
}

// NewForecasters returns a Source of the forecasters at urls; errors counts
// failed reads by reason.
func NewForecasters(urls []string, client *http.Client, errors *prometheus.CounterVec) (*Forecasters, error) {
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("forecaster url %q is not an http(s) URL with a host", u)
		}
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("no forecaster url")
	}
	return &Forecasters{urls: urls, client: client, errors: errors}, nil
}

// Fetch asks every forecaster at once and returns the freshest plan. It is
// ErrNotFound when every forecaster answered that it has no such workload,
// and an error when none has it and one could not answer.
func (f *Forecasters) Fetch(ctx context.Context, workload string) (Plan, error) {
	type answer struct {
		plan Plan
		err  error
	}
	answers := make(chan answer, len(f.urls))
	for _, u := range f.urls {
		go func() {
			p, err := f.fetchOne(ctx, u, workload)
			answers <- answer{p, err}
		}()
	}
	var (
		best  Plan
		found bool
		errs  []error
	)
	for range f.urls {
		a := <-answers
		var se *sourceError
		switch {
		case a.err == nil:
			if !found || a.plan.GeneratedAt.After(best.GeneratedAt) {
				best, found = a.plan, true
			}
		case errors.Is(a.err, ErrNotFound):
		case errors.As(a.err, &se):
			f.errors.WithLabelValues("forecaster", se.reason).Inc()
			errs = append(errs, a.err)
		default:
			f.errors.WithLabelValues("forecaster", reasonUnavailable).Inc()
			errs = append(errs, a.err)
		}
	}
	switch {
	case found:
		return best, nil
	case len(errs) == 0:
		// Every forecaster answered, and none has the workload. When one
		// failed, it may be the owner (a shard): the last plan stays.
		return Plan{}, ErrNotFound
	default:
		return Plan{}, errors.Join(errs...)
	}
}

// snapshotJSON is what the scaler reads of /forecast/current.
type snapshotJSON struct {
	Workload        string    `json:"workload"`
	GeneratedAt     time.Time `json:"generatedAt"`
	DesiredReplicas []int     `json:"desiredReplicas"`
}

func (f *Forecasters) fetchOne(ctx context.Context, base, workload string) (Plan, error) {
	u := base + "/forecast/current?workload=" + url.QueryEscape(workload)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Plan{}, &sourceError{reasonUnavailable, err}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return Plan{}, &sourceError{reasonUnavailable, fmt.Errorf("forecaster %s: %w", base, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshotBytes))
	if err != nil {
		return Plan{}, &sourceError{reasonUnavailable, fmt.Errorf("forecaster %s: read: %w", base, err)}
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return Plan{}, ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return Plan{}, &sourceError{reasonStatus, fmt.Errorf("forecaster %s answered %s", base, resp.Status)}
	}
	var s snapshotJSON
	if err := json.Unmarshal(body, &s); err != nil {
		return Plan{}, &sourceError{reasonBadBody, fmt.Errorf("forecaster %s: snapshot is not JSON: %w", base, err)}
	}
	if err := s.check(workload); err != nil {
		return Plan{}, &sourceError{reasonInvalid, fmt.Errorf("forecaster %s: %w", base, err)}
	}
	return Plan{Desired: s.DesiredReplicas[0], GeneratedAt: s.GeneratedAt}, nil
}

// check refuses a snapshot the scaler cannot act on.
func (s snapshotJSON) check(workload string) error {
	switch {
	case s.Workload != workload:
		return fmt.Errorf("snapshot is of workload %q, not %q", s.Workload, workload)
	case len(s.DesiredReplicas) == 0:
		return errors.New("snapshot has no desiredReplicas")
	case s.DesiredReplicas[0] < 0:
		return fmt.Errorf("snapshot plans %d replicas", s.DesiredReplicas[0])
	case s.GeneratedAt.IsZero():
		return errors.New("snapshot has no generatedAt")
	}
	return nil
}

// Prometheus reads the plans from Prometheus: the desired replicas of the
// replica (external label replica) that forecast last.
type Prometheus struct {
	api    v1.API
	errors *prometheus.CounterVec
}

// NewPrometheus returns a Source of the Prometheus at address.
func NewPrometheus(address string, client *http.Client, errors *prometheus.CounterVec) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: address, Client: client})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", address, err)
	}
	return &Prometheus{api: v1.NewAPI(c), errors: errors}, nil
}

// Fetch runs the freshest-replica query of docs/remote-write.md, and reads
// when that forecast was made.
func (p *Prometheus) Fetch(ctx context.Context, workload string) (Plan, error) {
	sel := "{workload=" + strconv.Quote(workload) + "}"
	desired, err := p.scalar(ctx, "max(kedastral_forecast_desired_replicas"+sel+
		" and on (replica) topk(1, kedastral_forecast_generated_timestamp_seconds"+sel+"))")
	if err != nil || desired == nil {
		return Plan{}, err
	}
	generated, err := p.scalar(ctx, "max(kedastral_forecast_generated_timestamp_seconds"+sel+")")
	if err != nil || generated == nil {
		return Plan{}, err
	}
	d, g := float64(*desired), float64(*generated)
	if math.IsNaN(d) || d < 0 || d > float64(1<<31) || math.IsNaN(g) || math.IsInf(g, 0) || g <= 0 {
		p.errors.WithLabelValues("prometheus", reasonInvalid).Inc()
		return Plan{}, &sourceError{reasonInvalid, fmt.Errorf("prometheus: desired replicas %v generated at %v", d, g)}
	}
	sec := int64(g)
	return Plan{Desired: int(d), GeneratedAt: time.Unix(sec, int64((g-float64(sec))*1e9))}, nil
}

// scalar runs an instant query that yields at most one value: nil and
// ErrNotFound when it yields none.
func (p *Prometheus) scalar(ctx context.Context, query string) (*model.SampleValue, error) {
	v, _, _, err := p.api.Query(ctx, query, time.Now())
	if err != nil {
		p.errors.WithLabelValues("prometheus", reasonQuery).Inc()
		return nil, &sourceError{reasonQuery, fmt.Errorf("prometheus: %w", err)}
	}
	vec, ok := v.(model.Vector)
	if !ok {
		p.errors.WithLabelValues("prometheus", reasonBadBody).Inc()
		return nil, &sourceError{reasonBadBody, fmt.Errorf("prometheus: instant query returned a %s", v.Type())}
	}
	if len(vec) == 0 {
		return nil, ErrNotFound
	}
	return &vec[0].Value, nil
}
