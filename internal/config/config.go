// Package config is the forecaster's configuration: the YAML file of
// workloads, Prometheus and remote-write endpoints, its defaults and
// validation, and the sharding of the workloads across forecasters.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v2"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/out"
)

// maxPoints bounds the number of forecast values, like the most points
// Prometheus returns per series in one range query.
const maxPoints = 11000

// maxWindowPoints bounds the history a tick reads: five weeks at one-minute
// steps, room for a weekly season. Sources read long windows in pieces.
const maxWindowPoints = 5 * 7 * 24 * 60

// Config is the forecaster's configuration file.
type Config struct {
	// Prometheus is where pull mode reads load history.
	Prometheus Prometheus `yaml:"prometheus,omitempty"`
	// Workloads are forecast independently, each on its own schedule.
	Workloads []Workload `yaml:"workloads"`
	// RemoteWrite lists the endpoints the forecasts are remote-written to.
	RemoteWrite []out.Config `yaml:"remote_write,omitempty"`
	// ExternalLabels are added to every remote-written series, such as
	// replica: a for one replica of an HA pair.
	ExternalLabels map[string]string `yaml:"external_labels,omitempty"`
}

// Prometheus is how to reach the Prometheus HTTP API.
type Prometheus struct {
	// URL of the Prometheus server (its API lives under /api/v1).
	URL *promconfig.URL `yaml:"url,omitempty"`
	// Timeout bounds a whole query, retries included; 0 means 10 s.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// HTTPClientConfig holds authentication, TLS and proxy settings, as in
	// Prometheus's own configuration.
	HTTPClientConfig promconfig.HTTPClientConfig `yaml:",inline"`
}

// DefaultPrometheus returns the connection settings used where the
// configuration sets none.
func DefaultPrometheus() Prometheus {
	return Prometheus{
		Timeout:          model.Duration(10 * time.Second),
		HTTPClientConfig: promconfig.DefaultHTTPClientConfig,
	}
}

// UnmarshalYAML applies the defaults, then the YAML.
func (c *Prometheus) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultPrometheus()
	type plain Prometheus
	return unmarshal((*plain)(c))
}

// Validate reports the first setting of c that cannot work.
func (c Prometheus) Validate() error {
	if c.URL != nil && ((c.URL.Scheme != "http" && c.URL.Scheme != "https") || c.URL.Host == "") {
		return fmt.Errorf("prometheus url %q is not an http(s) URL with a host", c.URL.Redacted())
	}
	if c.Timeout < 0 {
		return errors.New("prometheus timeout must not be negative")
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	return nil
}

// Workload is one workload to forecast.
type Workload struct {
	// Name identifies the workload in the API, in labels and to the scaler.
	Name string `yaml:"name"`
	// Metric names the load, for people; it defaults to the query.
	Metric string `yaml:"metric,omitempty"`
	// Query is the PromQL expression of the load; several series are summed.
	Query string `yaml:"query"`
	// Interval is the time between two forecasts.
	Interval model.Duration `yaml:"interval,omitempty"`
	// Window is how much history each forecast reads.
	Window model.Duration `yaml:"window,omitempty"`
	// Step is the time between two points of history and of forecast.
	Step model.Duration `yaml:"step,omitempty"`
	// Horizon is how far ahead the forecast reaches: Horizon/Step values.
	Horizon model.Duration `yaml:"horizon,omitempty"`
	// Model is the name of the forecasting model (see ModelNames).
	Model string `yaml:"model,omitempty"`
	// RefitInterval is how often, in the time of the data, a model fits its
	// parameters again and auto chooses its model again.
	RefitInterval model.Duration `yaml:"refit_interval,omitempty"`
	// LowerQuantile and UpperQuantile are the quantiles of the model's own
	// recent errors that bound the prediction interval.
	LowerQuantile float64 `yaml:"lower_quantile,omitempty"`
	UpperQuantile float64 `yaml:"upper_quantile,omitempty"`
	// AccuracyWindow is how far back past forecasts are compared with what
	// then happened, for the online accuracy and the prediction interval.
	AccuracyWindow model.Duration `yaml:"accuracy_window,omitempty"`
	// Capacity turns the forecast into replicas.
	Capacity capacity.Policy `yaml:"capacity,omitempty"`
	// Schedules are time windows that raise or cap the replica bounds.
	Schedules []capacity.Schedule `yaml:"schedules,omitempty"`
	// Mode is ModeActive, where the scaler serves the plan, or ModeShadow,
	// where it serves the reactive count while the plan is published
	// beside it.
	Mode string `yaml:"mode,omitempty"`
}

// Modes of a workload.
const (
	// ModeActive serves the predictive plan: what KEDA reads is the plan.
	ModeActive = "active"
	// ModeShadow forecasts and plans as usual and publishes the plan under
	// its own names, but what KEDA reads is the reactive count,
	// ceil(observed × headroom / target_per_pod) within the replica bounds:
	// the plan runs beside today's autoscaling until it is trusted.
	ModeShadow = "shadow"
)

// Modes lists the modes a workload may be in.
func Modes() []string { return []string{ModeActive, ModeShadow} }

// DefaultWorkload returns the settings of a workload that sets nothing
// but its name and query.
func DefaultWorkload() Workload {
	return Workload{
		Interval: model.Duration(30 * time.Second),
		Window:   model.Duration(30 * time.Minute),
		Step:     model.Duration(time.Minute),
		Horizon:  model.Duration(30 * time.Minute),
		Model:    forecast.ModelAuto,
		Capacity: capacity.DefaultPolicy(),
		Mode:     ModeActive,

		RefitInterval:  model.Duration(time.Hour),
		LowerQuantile:  0.1,
		UpperQuantile:  0.9,
		AccuracyWindow: model.Duration(time.Hour),
	}
}

// UnmarshalYAML applies the defaults, then the YAML.
func (c *Workload) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultWorkload()
	type plain Workload
	return unmarshal((*plain)(c))
}

// Points returns the number of history points a tick reads: Window/Step.
func (c Workload) Points() int {
	return int(c.Window / c.Step)
}

// Steps returns the number of forecast values: Horizon/Step.
func (c Workload) Steps() int {
	return int(c.Horizon / c.Step)
}

// MaxNameLength bounds a workload's name, in bytes: the length of a
// Kubernetes object name (a DNS subdomain). The scaler refuses longer names
// from its clients.
const MaxNameLength = 253

// Validate reports the first setting of c that cannot work.
func (c Workload) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("workload name is empty")
	case len(c.Name) > MaxNameLength:
		return fmt.Errorf("workload name is %d bytes long, more than %d", len(c.Name), MaxNameLength)
	case c.Query == "":
		return errors.New("query is empty")
	case c.Interval <= 0:
		return errors.New("interval must be positive")
	case c.Step <= 0:
		return errors.New("step must be positive")
	case c.Window < c.Step:
		return fmt.Errorf("window %s is shorter than step %s", c.Window, c.Step)
	case c.Points() > maxWindowPoints:
		return fmt.Errorf("window %s at step %s is %d points, over the limit of %d",
			c.Window, c.Step, c.Points(), maxWindowPoints)
	case c.Horizon < c.Step:
		return fmt.Errorf("horizon %s is shorter than step %s", c.Horizon, c.Step)
	case c.Horizon%c.Step != 0:
		return fmt.Errorf("horizon %s is not a whole number of steps of %s", c.Horizon, c.Step)
	case c.Steps() > maxPoints:
		return fmt.Errorf("horizon %s at step %s is %d values, over the limit of %d", c.Horizon, c.Step, c.Steps(), maxPoints)
	case !slices.Contains(Modes(), c.Mode):
		return fmt.Errorf("mode %q is not one of %v", c.Mode, Modes())
	}
	if err := c.validModel(); err != nil {
		return err
	}
	if err := validQuery(c.Query); err != nil {
		return err
	}
	if err := c.Capacity.Validate(); err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	if q := c.Capacity.LeadTimeQuery; q != "" {
		if err := validQuery(q); err != nil {
			return fmt.Errorf("capacity: lead_time_query: %w", err)
		}
	}
	if q := c.Capacity.ReplicasQuery; q != "" {
		if err := validQuery(q); err != nil {
			return fmt.Errorf("capacity: replicas_query: %w", err)
		}
	}
	if _, err := capacity.ParseSchedules(c.Schedules, c.Capacity.MinReplicas, c.Capacity.MaxReplicas); err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	return nil
}

// validModel checks the model and its interval and accuracy settings.
func (c Workload) validModel() error {
	if !slices.Contains(forecast.ModelNames(), c.Model) {
		return fmt.Errorf("%w %q (known: %v)", forecast.ErrUnknownModel, c.Model, forecast.ModelNames())
	}
	switch {
	case c.RefitInterval <= 0:
		return errors.New("refit_interval must be positive")
	case !(c.LowerQuantile >= 0 && c.LowerQuantile < c.UpperQuantile && c.UpperQuantile <= 1):
		return fmt.Errorf("quantiles must satisfy 0 <= lower_quantile < upper_quantile <= 1, not %g and %g",
			c.LowerQuantile, c.UpperQuantile)
	case c.AccuracyWindow < c.Interval:
		return fmt.Errorf("accuracy_window %s is shorter than interval %s", c.AccuracyWindow, c.Interval)
	}
	return nil
}

// validQuery checks that q parses as PromQL and yields an instant vector or a
// scalar, the two shapes a range query can return.
func validQuery(q string) error {
	p := parser.NewParser(parser.Options{EnableExperimentalFunctions: true})
	expr, err := p.ParseExpr(q)
	if err != nil {
		return fmt.Errorf("parse query: %w", err)
	}
	switch t := expr.Type(); t {
	case parser.ValueTypeVector, parser.ValueTypeScalar:
		return nil
	default:
		return fmt.Errorf("query must give an instant vector or a scalar, not a %s", t)
	}
}

// Validate reports the first setting of c that cannot work. It does not
// require a Prometheus URL: that may come from a flag.
func (c *Config) Validate() error {
	if err := c.Prometheus.Validate(); err != nil {
		return err
	}
	if len(c.Workloads) == 0 {
		return errors.New("no workloads configured")
	}
	for i, rw := range c.RemoteWrite {
		if err := rw.Validate(); err != nil {
			return fmt.Errorf("remote_write %d: %w", i+1, err)
		}
	}
	if err := out.ValidateExternalLabels(c.ExternalLabels); err != nil {
		return err
	}
	seen := make(map[string]bool, len(c.Workloads))
	for i, w := range c.Workloads {
		if err := w.Validate(); err != nil {
			if w.Name == "" {
				return fmt.Errorf("workload %d: %w", i+1, err)
			}
			return fmt.Errorf("workload %q: %w", w.Name, err)
		}
		if seen[w.Name] {
			return fmt.Errorf("workload %q is configured twice", w.Name)
		}
		seen[w.Name] = true
	}
	return nil
}

// Queries returns every PromQL expression the workloads run: their load,
// lead time and replicas queries, which a push-mode receiver must keep the
// series of.
func (c *Config) Queries() []string {
	var queries []string
	for _, w := range c.Workloads {
		queries = append(queries, w.Query)
		for _, q := range []string{w.Capacity.LeadTimeQuery, w.Capacity.ReplicasQuery} {
			if q != "" {
				queries = append(queries, q)
			}
		}
	}
	return queries
}

// LeadTimeSpan is how far back a lead_time_query reads the start-up times.
const LeadTimeSpan = 24 * time.Hour

// LoadSchedules parses a YAML list of schedules, as under a workload's
// schedules: key (the backtest's --schedule-file); it does not check them
// (Workload.Validate does).
func LoadSchedules(data []byte) ([]capacity.Schedule, error) {
	var list []capacity.Schedule
	if err := yaml.UnmarshalStrict(data, &list); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return list, nil
}

// Load parses a configuration, applies defaults and validates it. Relative
// file paths in it (TLS files, password files) are taken from dir.
func Load(data []byte, dir string) (*Config, error) {
	cfg := &Config{Prometheus: DefaultPrometheus()}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	cfg.Prometheus.HTTPClientConfig.SetDirectory(dir)
	for i := range cfg.RemoteWrite {
		cfg.RemoteWrite[i].HTTPClientConfig.SetDirectory(dir)
	}
	if cfg.Prometheus.Timeout == 0 {
		cfg.Prometheus.Timeout = DefaultPrometheus().Timeout
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadFile reads and loads the configuration file at path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Load(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return cfg, nil
}
