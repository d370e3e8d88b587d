package scaler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/clip"
)

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

// maxStepSeconds bounds a snapshot's step: a week, far past any forecast
// step, and small enough not to overflow a time.Duration.
const maxStepSeconds = 7 * 24 * 3600

// maxHorizonSeconds bounds how far a snapshot plans: a year.
const maxHorizonSeconds = 366 * 24 * 3600

// MaxReplicas is the largest replica count a plan may ask for: a
// Kubernetes replica count is an int32. A plan asking for more is refused
// as invalid, not passed to KEDA.
const MaxReplicas = math.MaxInt32

// MaxClockSkew is how far in the future a plan's generatedAt may be. A plan
// made later than that (a forecaster's clock far ahead, or a forged
// timestamp) would never go stale and would win every HA comparison: it is
// refused as invalid.
const MaxClockSkew = time.Minute

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
	for _, r := range []string{reasonUnavailable, reasonStatus, reasonBadBody, reasonInvalid} {
		errors.WithLabelValues("forecaster", r) // each reason at 0 from the start
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
	StepSeconds     float64   `json:"stepSeconds"`
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
	p, err := decodeSnapshot(body, workload, time.Now())
	if err != nil {
		var se *sourceError
		if errors.As(err, &se) {
			se.err = fmt.Errorf("forecaster %s: %w", base, se.err)
		}
		return Plan{}, err
	}
	return p, nil
}

// decodeSnapshot reads the plan of workload from a /forecast/current body
// read at now; its errors are *sourceError.
func decodeSnapshot(body []byte, workload string, now time.Time) (Plan, error) {
	var s snapshotJSON
	if err := json.Unmarshal(body, &s); err != nil {
		return Plan{}, &sourceError{reasonBadBody, fmt.Errorf("snapshot is not JSON: %w", err)}
	}
	if err := s.check(workload, now); err != nil {
		return Plan{}, &sourceError{reasonInvalid, err}
	}
	return densePlan(s.DesiredReplicas, s.GeneratedAt, time.Duration(s.StepSeconds*float64(time.Second))), nil
}

// check refuses a snapshot the scaler cannot act on, read at now.
func (s snapshotJSON) check(workload string, now time.Time) error {
	switch {
	case s.Workload != workload:
		return fmt.Errorf("snapshot is of workload %q, not %q", clip.String(s.Workload), clip.String(workload))
	case len(s.DesiredReplicas) == 0:
		return errors.New("snapshot has no desiredReplicas")
	case s.GeneratedAt.IsZero():
		return errors.New("snapshot has no generatedAt")
	case s.GeneratedAt.After(now.Add(MaxClockSkew)):
		return fmt.Errorf("snapshot generated at %s, more than %v after now (%s): a clock ahead", s.GeneratedAt.Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339))
	case !(s.StepSeconds >= 0 && s.StepSeconds <= maxStepSeconds):
		return fmt.Errorf("snapshot has a step of %v seconds", s.StepSeconds)
	case float64(len(s.DesiredReplicas))*s.StepSeconds > maxHorizonSeconds:
		return fmt.Errorf("snapshot plans %d steps of %v seconds, past a year", len(s.DesiredReplicas), s.StepSeconds)
	}
	for i, r := range s.DesiredReplicas {
		if r < 0 || r > MaxReplicas {
			return fmt.Errorf("snapshot plans %d replicas at step %d, outside 0..%d", r, i, MaxReplicas)
		}
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
	for _, r := range []string{reasonQuery, reasonBadBody, reasonInvalid} {
		errors.WithLabelValues("prometheus", r) // each reason at 0 from the start
	}
	return &Prometheus{api: v1.NewAPI(c), errors: errors}, nil
}

// Fetch runs the freshest-replica query of docs/remote-write.md, reads when
// that forecast was made, and the plan it published for each horizon.
func (p *Prometheus) Fetch(ctx context.Context, workload string) (Plan, error) {
	sel := "{workload=" + strconv.Quote(workload) + "}"
	freshest := " and on (replica) topk(1, kedastral_forecast_generated_timestamp_seconds" + sel + ")"
	desired, err := p.scalar(ctx, "max(kedastral_forecast_desired_replicas"+sel+freshest+")")
	if err != nil || desired == nil {
		return Plan{}, err
	}
	generated, err := p.scalar(ctx, "max(kedastral_forecast_generated_timestamp_seconds"+sel+")")
	if err != nil || generated == nil {
		return Plan{}, err
	}
	d, g := float64(*desired), float64(*generated)
	latest := float64(time.Now().Add(MaxClockSkew).Unix())
	if !(d >= 0 && d <= MaxReplicas) || !(g > 0 && g <= latest) {
		p.errors.WithLabelValues("prometheus", reasonInvalid).Inc()
		return Plan{}, &sourceError{reasonInvalid, fmt.Errorf("prometheus: desired replicas %v generated at %v: want 0..%d replicas generated before now + %v", d, g, MaxReplicas, MaxClockSkew)}
	}
	sec := int64(g)
	plan := Plan{Desired: int(d), GeneratedAt: time.Unix(sec, int64((g-float64(sec))*1e9))}
	// Without the counts ahead, the plan for now still stands: only
	// holding it when the forecaster stops is lost.
	plan.Steps = p.steps(ctx, "max by (horizon) (kedastral_forecast_replicas"+sel+freshest+")")
	if len(plan.Steps) > 0 {
		plan.Step = stepOf(plan.Steps)
		plan.Horizon = plan.Steps[len(plan.Steps)-1].Offset + plan.Step
	}
	return plan, nil
}

// steps runs the query of a plan's counts by horizon and returns them
// sorted, the first at horizon 0s; nil when there are none, or a horizon
// or count is not usable (counted in kedastral_scaler_source_errors_total).
func (p *Prometheus) steps(ctx context.Context, query string) []PlanStep {
	v, _, _, err := p.api.Query(ctx, query, time.Now())
	if err != nil {
		p.errors.WithLabelValues("prometheus", reasonQuery).Inc()
		return nil
	}
	vec, ok := v.(model.Vector)
	if !ok {
		p.errors.WithLabelValues("prometheus", reasonBadBody).Inc()
		return nil
	}
	steps := make([]PlanStep, 0, len(vec))
	for _, s := range vec {
		h, err := model.ParseDuration(string(s.Metric["horizon"]))
		r := float64(s.Value)
		if err != nil || !(r >= 0 && r <= MaxReplicas) {
			p.errors.WithLabelValues("prometheus", reasonInvalid).Inc()
			return nil
		}
		steps = append(steps, PlanStep{Offset: time.Duration(h), Replicas: int(r)})
	}
	slices.SortFunc(steps, func(a, b PlanStep) int { return cmp.Compare(a.Offset, b.Offset) })
	if len(steps) == 0 || steps[0].Offset != 0 {
		return nil
	}
	return steps
}

// stepOf returns the smallest time between two counts: the forecaster's
// step, unless every horizon is thinned; 0 for one count.
func stepOf(steps []PlanStep) time.Duration {
	var step time.Duration
	for i := 1; i < len(steps); i++ {
		if d := steps[i].Offset - steps[i-1].Offset; step == 0 || d < step {
			step = d
		}
	}
	return step
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
