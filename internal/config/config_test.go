package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/scaler"
)

func TestLoadFileValid(t *testing.T) {
	cfg, err := LoadFile("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Prometheus.URL.String(), "http://prometheus.monitoring:9090"; got != want {
		t.Errorf("prometheus url %q, want %q", got, want)
	}
	if got, want := time.Duration(cfg.Prometheus.Timeout), 5*time.Second; got != want {
		t.Errorf("prometheus timeout %v, want %v", got, want)
	}
	// Relative secret files are taken from the config file's directory.
	if got, want := cfg.Prometheus.HTTPClientConfig.BasicAuth.PasswordFile, filepath.Join("testdata", "secrets", "password"); got != want {
		t.Errorf("password file %q, want %q", got, want)
	}

	checkout := DefaultWorkload()
	checkout.Name = "checkout"
	checkout.Query = `sum(rate(http_requests_total{job="checkout"}[1m]))`
	checkout.Metric = "http_requests_per_second"
	checkout.Interval = model.Duration(15 * time.Second)
	checkout.Capacity.TargetPerPod = 100
	checkout.Capacity.LeadTime = model.Duration(3 * time.Minute)

	cart := checkout // merged from checkout's anchor
	cart.Name = "cart"
	cart.Query = `sum(rate(http_requests_total{job="cart"}[1m]))`

	search := DefaultWorkload()
	search.Name = "search"
	search.Query = `sum(rate(http_requests_total{job="search"}[1m]))`
	search.Window = model.Duration(7 * 24 * time.Hour)
	search.Horizon = model.Duration(time.Hour)
	search.Capacity.MaxReplicas = 80
	search.Capacity.Rounding = capacity.RoundingRound
	search.Capacity.ReactiveFloor = false
	search.Capacity.PlanOn = capacity.BasisUpper
	search.Capacity.CostBudgetPercent = 15

	want := []Workload{checkout, cart, search}
	if !reflect.DeepEqual(cfg.Workloads, want) {
		t.Errorf("workloads\n got %+v\nwant %+v", cfg.Workloads, want)
	}
}

func TestLoadFileInvalid(t *testing.T) {
	tests := map[string]string{
		"invalid-unknown-field.yml":      "field lead_tme not found in type config.plain",
		"invalid-no-workloads.yml":       "no workloads configured",
		"invalid-no-name.yml":            "workload 1: workload name is empty",
		"invalid-no-query.yml":           `workload "a": query is empty`,
		"invalid-query-syntax.yml":       `workload "a": parse query: 1:16: parse error: unclosed left parenthesis`,
		"invalid-query-range-vector.yml": `workload "a": query must give an instant vector or a scalar, not a matrix`,
		"invalid-duplicate-name.yml":     `workload "a" is configured twice`,
		"invalid-min-above-max.yml":      `workload "a": capacity: min_replicas must not be above max_replicas (10 > 5)`,
		"invalid-target-per-pod.yml":     `workload "a": capacity: target_per_pod must be a positive number`,
		"invalid-model.yml":              `workload "a": unknown model "prophet" (known: [auto baseline holt_winters seasonal_naive])`,
		"invalid-horizon-steps.yml":      `workload "a": horizon 1m30s is not a whole number of steps of 1m`,
		"invalid-window-short.yml":       `workload "a": window 30s is shorter than step 1m`,
		"invalid-window-points.yml":      `workload "a": window 36d at step 1m is 51840 points, over the limit of 50400`,
		"invalid-horizon-values.yml":     `workload "a": horizon 1d at step 1s is 86400 values, over the limit of 11000`,
		"invalid-quantiles.yml":          `workload "a": quantiles must satisfy 0 <= lower_quantile < upper_quantile <= 1, not 0.9 and 0.1`,
		"invalid-refit.yml":              `workload "a": refit_interval must be positive`,
		"invalid-accuracy-window.yml":    `workload "a": accuracy_window 10s is shorter than interval 30s`,
		"invalid-plan-on.yml":            `workload "a": capacity: plan_on must be one of auto, forecast, upper, not "median"`,
		"invalid-step.yml":               `workload "a": step must be positive`,
		"invalid-cost-budget.yml":        `workload "a": capacity: cost_budget_percent must be a number, 0 or more`,
		"invalid-reactive-floor.yml":     "cannot unmarshal !!str `sometimes` into bool",
		"invalid-horizon-short.yml":      `workload "a": horizon 30s is shorter than step 1m`,
		"invalid-headroom.yml":           `workload "a": capacity: headroom must be a positive number`,
		"invalid-min-replicas.yml":       `workload "a": capacity: min_replicas must not be negative`,
		"invalid-max-replicas.yml":       `workload "a": capacity: max_replicas must be at least 1`,
		"invalid-up-max-factor.yml":      `workload "a": capacity: up_max_factor must be at least 1`,
		"invalid-down-max-percent.yml":   `workload "a": capacity: down_max_percent must be between 0 and 100`,
		"invalid-rounding.yml":           `workload "a": capacity: rounding must be one of ceil, floor, round, not "up"`,
		"invalid-interval.yml":           `workload "a": interval must be positive`,
		"invalid-prometheus-url.yml":     `prometheus url "localhost:9090" is not an http(s) URL with a host`,
		"invalid-prometheus-auth.yml":    "prometheus: at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
		"invalid-duration.yml":           `not a valid duration string: "soon"`,
	}
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d invalid-*.yml files but %d test cases", len(files), len(tests))
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := LoadFile(filepath.Join("testdata", file))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\ndoes not contain %q", err, want)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "absent.yml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

// TestNameLength: a workload name of 253 bytes loads, one of 254 does not;
// the scaler takes the same bound from its clients.
func TestNameLength(t *testing.T) {
	if MaxNameLength != scaler.MaxWorkloadName {
		t.Fatalf("MaxNameLength %d, the scaler's MaxWorkloadName %d: they must agree", MaxNameLength, scaler.MaxWorkloadName)
	}
	for _, tc := range []struct {
		length  int
		wantErr string
	}{
		{253, ""},
		{254, ": workload name is 254 bytes long, more than 253"},
	} {
		t.Run(strconv.Itoa(tc.length), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "kedastral.yml")
			doc := fmt.Sprintf("workloads:\n  - name: %s\n    query: sum(up)\n", strings.Repeat("w", tc.length))
			if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFile(file)
			if (tc.wantErr == "" && err != nil) || (tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr))) {
				t.Errorf("LoadFile with a name of %d bytes: %v, want %q", tc.length, err, tc.wantErr)
			}
		})
	}
}
