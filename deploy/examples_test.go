package deploy

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // registers kubernetes_sd_configs with the config loader
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/remote/in"
	"github.com/HatiCode/kedastral/scaler"
)

// The examples' shared facts, as install.yaml (the chart) and the
// components define them.
const (
	exampleDir = "examples"
	// exampleWorkload is the forecaster workload and Deployment the
	// ScaledObjects scale.
	exampleWorkload = "api"
	// exampleWorkloadQuery is the workload's load, as the files show it.
	exampleWorkloadQuery = `sum(rate(http_requests_total{job="api"}[1m]))`
	// exampleScalerAddress is the scaler's gRPC Service (the chart's
	// kedastral.scaler.address).
	exampleScalerAddress = "kedastral-scaler.kedastral.svc.cluster.local:8080"
	// exampleForecastMetric is what the prometheus trigger reads.
	exampleForecastMetric = "kedastral_forecast_desired_replicas"
)

// Metadata keys each trigger type reads (KEDA v2.20 scalers: the keda:""
// tags of pkg/scalers/*_scaler.go; the scaler's own in scaler/metadata.go).
// KEDA ignores keys it does not know, so a misspelt key would silently do
// nothing: the test refuses it instead.
var exampleTriggerKeys = map[string][]string{
	"external": {
		"scalerAddress", "enableTLS", "unsafeSsl", // KEDA's
		scaler.KeyWorkload, scaler.KeyDefaultMin, scaler.KeyStaleAfter, // the scaler's
	},
	"prometheus": {
		"serverAddress", "query", "queryParameters", "threshold", "activationThreshold",
		"namespace", "customHeaders", "ignoreNullValues", "unsafeSsl", "timeout",
	},
	"cpu": {"value", "containerName"},
}

// exampleTLSParams are the TriggerAuthentication parameters of KEDA's
// external scaler (authParams of pkg/scalers/external_scaler.go).
var exampleTLSParams = []string{"caCert", "tlsClientCert", "tlsClientKey"}

// TestExampleScaledObjects decodes every ScaledObject example strictly into
// KEDA's types, runs the checks of KEDA's admission webhook that need no
// cluster, and checks each trigger against what its scaler reads.
func TestExampleScaledObjects(t *testing.T) {
	scalerPort := exampleServicePort(t, "kedastral-scaler", "grpc")
	for _, tc := range []struct {
		file string
		// triggers maps each ScaledObject to its triggers' names and types.
		triggers map[string]map[string]string
		// modifiers: the ScaledObjects use scalingModifiers.
		modifiers bool
	}{
		{"scaledobject-external.yaml", map[string]map[string]string{
			"api":     {"forecast": "external"},
			"api-tls": {"forecast": "external"},
		}, false},
		{"scaledobject-prometheus.yaml", map[string]map[string]string{
			"api": {"forecast": "prometheus"},
		}, false},
		{"scaledobject-scaling-modifiers.yaml", map[string]map[string]string{
			"api": {"forecast": "external", "reactive": "prometheus", "cpu": "cpu"},
		}, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			objs := decodeFile(t, filepath.Join(exampleDir, tc.file))
			sos := exampleScaledObjects(objs)
			if len(sos) != len(tc.triggers) {
				t.Fatalf("%d ScaledObjects, want %d", len(sos), len(tc.triggers))
			}
			variants := map[string]string{}
			for _, so := range sos {
				t.Run(so.Name, func(t *testing.T) {
					want, ok := tc.triggers[so.Name]
					if !ok {
						t.Fatalf("unexpected ScaledObject %s", so.Name)
					}
					if err := validateScaledObject(so.DeepCopy()); err != nil {
						t.Errorf("KEDA's validation: %v", err)
					}
					if so.Spec.ScaleTargetRef.Name != exampleWorkload {
						t.Errorf("scales %q, want Deployment %s", so.Spec.ScaleTargetRef.Name, exampleWorkload)
					}
					if k := so.Spec.ScaleTargetRef.Kind; k != "" && k != "Deployment" {
						t.Errorf("scales a %s, want a Deployment", k)
					}
					// The forecaster's default bounds, 2 and 50.
					if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount != 2 ||
						so.Spec.MaxReplicaCount == nil || *so.Spec.MaxReplicaCount != 50 {
						t.Errorf("replica bounds %v..%v, want 2..50", so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount)
					}
					if so.IsUsingModifiers() != tc.modifiers {
						t.Errorf("uses scalingModifiers: %v, want %v", so.IsUsingModifiers(), tc.modifiers)
					}
					got := map[string]string{}
					for _, tr := range so.Spec.Triggers {
						got[tr.Name] = tr.Type
						exampleCheckTrigger(t, tr, so, objs, scalerPort)
					}
					if !maps.Equal(got, want) {
						t.Errorf("triggers %v, want %v", got, want)
					}
				})
				// Alternatives for one Deployment in one file must be
				// told apart by `kubectl apply -l variant=...`.
				if len(sos) > 1 {
					v := so.Labels["variant"]
					if v == "" {
						t.Errorf("%s: no variant label to select it with kubectl apply -l", so.Name)
					} else if other, dup := variants[v]; dup {
						t.Errorf("%s and %s share variant=%s", other, so.Name, v)
					}
					variants[v] = so.Name
				}
			}
			// Every TriggerAuthentication of the file is used.
			for _, o := range objs {
				if _, ok := o.Obj.(*kedav1alpha1.TriggerAuthentication); !ok {
					continue
				}
				used := false
				for _, so := range sos {
					for _, tr := range so.Spec.Triggers {
						used = used || (tr.AuthenticationRef != nil && tr.AuthenticationRef.Name == o.Name)
					}
				}
				if !used {
					t.Errorf("TriggerAuthentication %s: no trigger references it", o.Name)
				}
			}
		})
	}
}

// exampleCheckTrigger checks one trigger of so against what its scaler
// reads; objs are the file's objects, for its TriggerAuthentication.
func exampleCheckTrigger(t *testing.T, tr kedav1alpha1.ScaleTriggers, so *kedav1alpha1.ScaledObject, objs []object, scalerPort string) {
	t.Helper()
	keys, known := exampleTriggerKeys[tr.Type]
	if !known {
		t.Fatalf("trigger %s: unexpected type %s", tr.Name, tr.Type)
	}
	for k := range tr.Metadata {
		if !slices.Contains(keys, k) {
			t.Errorf("trigger %s: metadata %q is not a key of the %s trigger (%v)", tr.Name, k, tr.Type, keys)
		}
	}
	// The value is a replica count: AverageValue, which the HPA divides by
	// the target of 1. Value would multiply it by the current replicas.
	if tr.Type != "cpu" && tr.MetricType != "" && tr.MetricType != autoscalingv2.AverageValueMetricType {
		t.Errorf("trigger %s: metricType %s, want AverageValue", tr.Name, tr.MetricType)
	}
	switch tr.Type {
	case "external":
		addr := tr.Metadata["scalerAddress"]
		host, port, err := net.SplitHostPort(addr)
		if err != nil || addr != exampleScalerAddress {
			t.Errorf("trigger %s: scalerAddress %q, want %s", tr.Name, addr, exampleScalerAddress)
		}
		if port != "8080" || port != scalerPort {
			t.Errorf("trigger %s: scaler port %s, want 8080, the grpc port of install.yaml's Service (%s)", tr.Name, port, scalerPort)
		}
		if !strings.HasPrefix(host, "kedastral-scaler.kedastral.") {
			t.Errorf("trigger %s: scaler host %s is not the Service kedastral-scaler in namespace kedastral", tr.Name, host)
		}
		// The scaler's own parser, with its flags' defaults.
		md, err := scaler.ParseMetadata(tr.Metadata, scaler.Defaults{DefaultMin: 2, StaleAfter: 2 * time.Minute})
		if err != nil {
			t.Errorf("trigger %s: the scaler refuses the metadata: %v", tr.Name, err)
		} else if md.Workload != exampleWorkload {
			t.Errorf("trigger %s: workload %q, want %s", tr.Name, md.Workload, exampleWorkload)
		}
		if _, ok := tr.Metadata[scaler.KeyWorkload]; !ok {
			t.Errorf("trigger %s: no %s in metadata", tr.Name, scaler.KeyWorkload)
		}
		exampleCheckAuthentication(t, tr, so, objs)
	case "prometheus":
		if u, err := url.Parse(tr.Metadata["serverAddress"]); err != nil || u.Scheme != "http" || u.Host == "" {
			t.Errorf("trigger %s: serverAddress %q is not an http URL", tr.Name, tr.Metadata["serverAddress"])
		}
		if v, err := strconv.ParseFloat(tr.Metadata["threshold"], 64); err != nil || v != 1 {
			t.Errorf("trigger %s: threshold %q, want 1 (the value is a replica count)", tr.Name, tr.Metadata["threshold"])
		}
		if v, ok := tr.Metadata["ignoreNullValues"]; ok {
			if _, err := strconv.ParseBool(v); err != nil {
				t.Errorf("trigger %s: ignoreNullValues %q: %v", tr.Name, v, err)
			}
		}
		query := tr.Metadata["query"]
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(query)
		if err != nil {
			t.Fatalf("trigger %s: query %q: %v", tr.Name, query, err)
		}
		// Every series the query reads is the workload's.
		sels := parser.ExtractSelectors(expr)
		if len(sels) == 0 {
			t.Errorf("trigger %s: query %q selects no series", tr.Name, query)
		}
		// The load's series are the app's (its job or container), the
		// forecast's the workload's.
		want := []string{"job", "container"}
		if tr.Name == "forecast" {
			want = []string{"workload"}
			if !strings.Contains(query, exampleForecastMetric) {
				t.Errorf("trigger %s: query %q does not read %s", tr.Name, query, exampleForecastMetric)
			}
		}
		for _, sel := range sels {
			if !exampleHasMatcher(sel, want, exampleWorkload) {
				t.Errorf("trigger %s: selector %v has none of %v equal to %q", tr.Name, sel, want, exampleWorkload)
			}
		}
	case "cpu":
		if tr.MetricType != autoscalingv2.UtilizationMetricType {
			t.Errorf("trigger %s: metricType %q, want Utilization", tr.Name, tr.MetricType)
		}
		if v, err := strconv.Atoi(tr.Metadata["value"]); err != nil || v <= 0 || v > 100 {
			t.Errorf("trigger %s: value %q is not a utilization percentage", tr.Name, tr.Metadata["value"])
		}
	}
}

// exampleCheckAuthentication checks that the TriggerAuthentication a
// trigger names is in the same file, with KEDA's TLS parameters, and is
// selected by the same `kubectl apply -l variant=...` as its ScaledObject.
func exampleCheckAuthentication(t *testing.T, tr kedav1alpha1.ScaleTriggers, so *kedav1alpha1.ScaledObject, objs []object) {
	t.Helper()
	if tr.AuthenticationRef == nil {
		return
	}
	if k := tr.AuthenticationRef.Kind; k != "" && k != "TriggerAuthentication" {
		t.Errorf("trigger %s: authenticationRef kind %s, want TriggerAuthentication", tr.Name, k)
	}
	var ta *kedav1alpha1.TriggerAuthentication
	for _, o := range objs {
		if a, ok := o.Obj.(*kedav1alpha1.TriggerAuthentication); ok && a.Name == tr.AuthenticationRef.Name {
			ta = a
		}
	}
	if ta == nil {
		t.Fatalf("trigger %s: TriggerAuthentication %s is not in the file", tr.Name, tr.AuthenticationRef.Name)
	}
	if ta.Labels["variant"] != so.Labels["variant"] {
		t.Errorf("TriggerAuthentication %s has variant=%q, its ScaledObject variant=%q: kubectl apply -l would leave it out",
			ta.Name, ta.Labels["variant"], so.Labels["variant"])
	}
	params := map[string]bool{}
	for _, ref := range ta.Spec.SecretTargetRef {
		if !slices.Contains(exampleTLSParams, ref.Parameter) {
			t.Errorf("TriggerAuthentication %s: parameter %q is not one of the external scaler's %v", ta.Name, ref.Parameter, exampleTLSParams)
		}
		if ref.Name == "" || ref.Key == "" {
			t.Errorf("TriggerAuthentication %s: parameter %s has no Secret name or key", ta.Name, ref.Parameter)
		}
		params[ref.Parameter] = true
	}
	if !params["caCert"] {
		t.Errorf("TriggerAuthentication %s: no caCert, so KEDA cannot verify the scaler", ta.Name)
	}
	if params["tlsClientCert"] != params["tlsClientKey"] {
		t.Errorf("TriggerAuthentication %s: tlsClientCert and tlsClientKey go together", ta.Name)
	}
}

// TestExampleScalingModifiers checks the formula of the scalingModifiers
// recipe: it names exactly the triggers KEDA feeds it, KEDA compiles it,
// and it refuses a cpu trigger in it, which is why the CPU guard stays a
// separate HPA metric.
func TestExampleScalingModifiers(t *testing.T) {
	path := filepath.Join(exampleDir, "scaledobject-scaling-modifiers.yaml")
	sos := exampleScaledObjects(decodeFile(t, path))
	if len(sos) != 1 {
		t.Fatalf("%d ScaledObjects, want 1", len(sos))
	}
	so := sos[0]
	sm := so.Spec.Advanced.ScalingModifiers
	if sm.Target != "1" || sm.MetricType != autoscalingv2.AverageValueMetricType {
		t.Errorf("target %q metricType %q, want 1 and AverageValue: the formula yields replicas", sm.Target, sm.MetricType)
	}
	if v, err := strconv.ParseFloat(sm.ActivationTarget, 64); err != nil || v < 0 {
		t.Errorf("activationTarget %q: %v", sm.ActivationTarget, err)
	}

	// The formula's names are the triggers KEDA feeds it (every named
	// trigger but cpu and memory), each of them: a trigger the formula does
	// not name would reach neither the formula nor the HPA.
	fed, resource := []string{}, []string{}
	for _, tr := range so.Spec.Triggers {
		if tr.Type == "cpu" || tr.Type == "memory" {
			resource = append(resource, tr.Name)
		} else {
			fed = append(fed, tr.Name)
		}
	}
	names := exampleFormulaNames(sm.Formula)
	sort.Strings(fed)
	if !slices.Equal(names, fed) {
		t.Errorf("formula %q names %v, want exactly the triggers KEDA feeds it: %v", sm.Formula, names, fed)
	}
	if len(resource) == 0 {
		t.Errorf("no cpu trigger: the recipe's reactive CPU guard is missing")
	}

	// KEDA's own validation compiles and runs the formula with every fed
	// trigger; a cpu trigger, or a name no trigger has, is refused.
	for _, c := range []struct {
		formula, wantErr string
	}{
		{sm.Formula, ""},
		{"max(forecast, reactive, cpu)", "unknown name cpu"},
		{"max(forcast, reactive)", "unknown name forcast"},
	} {
		s := so.DeepCopy()
		s.Spec.Advanced.ScalingModifiers.Formula = c.formula
		_, err := kedav1alpha1.ValidateAndCompileScalingModifiers(s)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("formula %q: KEDA refuses it: %v", c.formula, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("formula %q: error %v, want %q", c.formula, err, c.wantErr)
		}
	}
	// Utilization is refused for the composite metric.
	s := so.DeepCopy()
	s.Spec.Advanced.ScalingModifiers.MetricType = autoscalingv2.UtilizationMetricType
	if _, err := kedav1alpha1.ValidateAndCompileScalingModifiers(s); err == nil {
		t.Error("KEDA accepts metricType Utilization for the composite metric")
	}

	// The commented alternative: CPU read from Prometheus as a replica
	// count, named in the formula.
	var alt struct {
		Triggers []kedav1alpha1.ScaleTriggers `json:"triggers"`
	}
	exampleUncomment(t, path, "- type: prometheus", "triggers:", &alt)
	if len(alt.Triggers) != 1 || alt.Triggers[0].Name != "cpu_replicas" {
		t.Fatalf("commented trigger: %+v, want one named cpu_replicas", alt.Triggers)
	}
	exampleCheckTrigger(t, alt.Triggers[0], so, nil, "8080")
	s = so.DeepCopy()
	s.Spec.Triggers = append(s.Spec.Triggers, alt.Triggers[0])
	s.Spec.Advanced.ScalingModifiers.Formula = "max(forecast, reactive, cpu_replicas)"
	if err := validateScaledObject(s); err != nil {
		t.Errorf("with the commented cpu_replicas trigger: %v", err)
	}
	if !strings.Contains(string(exampleRead(t, path)), `formula: "max(forecast, reactive, cpu_replicas)"`) {
		t.Error("the comment does not give the formula with cpu_replicas")
	}
}

// TestExampleScalingModifiersWorked replays the worked example of the
// recipe's header: the composite metric max(forecast, reactive) at target
// 1, and the HPA's largest replica count over it and the cpu metric.
func TestExampleScalingModifiersWorked(t *testing.T) {
	so := exampleScaledObjects(decodeFile(t, filepath.Join(exampleDir, "scaledobject-scaling-modifiers.yaml")))[0]
	sm := so.Spec.Advanced.ScalingModifiers
	// The table below assumes the formula is the max of its triggers.
	args := regexp.MustCompile(`^max\(([a-z_]+(?:, [a-z_]+)*)\)$`).FindStringSubmatch(sm.Formula)
	if args == nil {
		t.Fatalf("formula %q is no longer max(...) of triggers: update this table", sm.Formula)
	}
	target, err := strconv.ParseFloat(sm.Target, 64)
	if err != nil {
		t.Fatal(err)
	}
	cpuTarget := 0.0
	for _, tr := range so.Spec.Triggers {
		if tr.Type == "cpu" {
			cpuTarget, _ = strconv.ParseFloat(tr.Metadata["value"], 64)
		}
	}
	for _, c := range []struct {
		name     string
		values   map[string]float64 // the triggers' metric values
		pods     int                // current replicas
		cpu      float64            // CPU utilization, % of requests
		replicas int
	}{
		{"the plan leads", map[string]float64{"forecast": 8, "reactive": 5}, 6, 50, 8},
		{"a surge the forecast missed", map[string]float64{"forecast": 8, "reactive": 12}, 8, 60, 12},
		{"CPU runs hot", map[string]float64{"forecast": 8, "reactive": 5}, 10, 95, 14},
		{"a stale plan answers defaultMin", map[string]float64{"forecast": 2, "reactive": 5}, 5, 40, 5},
		{"bounded by maxReplicaCount", map[string]float64{"forecast": 80, "reactive": 5}, 40, 50, 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			composite := math.Inf(-1)
			for _, name := range strings.Split(args[1], ", ") {
				v, ok := c.values[name]
				if !ok {
					t.Fatalf("no value for trigger %s", name)
				}
				composite = max(composite, v)
			}
			// HPA: AverageValue → ceil(metric / target); Utilization →
			// ceil(pods × utilization / target); the largest wins, within
			// the ScaledObject's bounds (its 10 % tolerance aside).
			replicas := int(math.Ceil(composite / target))
			replicas = max(replicas, int(math.Ceil(float64(c.pods)*c.cpu/cpuTarget)))
			replicas = min(max(replicas, int(*so.Spec.MinReplicaCount)), int(*so.Spec.MaxReplicaCount))
			if replicas != c.replicas {
				t.Errorf("%v at %d pods, CPU %.0f%%: %d replicas, want %d", c.values, c.pods, c.cpu, replicas, c.replicas)
			}
		})
	}
}

// TestExampleFallbackBlocks decodes the commented fallback blocks strictly
// and checks KEDA accepts them in their ScaledObject.
func TestExampleFallbackBlocks(t *testing.T) {
	for _, c := range []struct {
		file, behavior string
	}{
		{"scaledobject-external.yaml", ""},
		{"scaledobject-scaling-modifiers.yaml", kedav1alpha1.FallbackBehaviorCurrentReplicasIfHigher},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(exampleDir, c.file)
			var block struct {
				Fallback *kedav1alpha1.Fallback `json:"fallback"`
			}
			exampleUncomment(t, path, "fallback:", "", &block)
			fb := block.Fallback
			if fb == nil || fb.FailureThreshold <= 0 || fb.Replicas <= 0 || fb.Behavior != c.behavior {
				t.Fatalf("fallback %+v, want a threshold, replicas and behavior %q", fb, c.behavior)
			}
			so := exampleScaledObjects(decodeFile(t, path))[0].DeepCopy()
			so.Spec.Fallback = fb
			if err := validateScaledObject(so); err != nil {
				t.Errorf("KEDA refuses the fallback: %v", err)
			}
		})
	}
}

// TestExamplePrometheusQuery runs the prometheus trigger's query on
// Prometheus's engine (the forecaster's embedded one) over the series the
// forecaster publishes: one value while a plan is fresh, none when it is
// stale or missing, and never more than one.
func TestExamplePrometheusQuery(t *testing.T) {
	sos := exampleScaledObjects(decodeFile(t, filepath.Join(exampleDir, "scaledobject-prometheus.yaml")))
	if len(sos) != 1 || len(sos[0].Spec.Triggers) != 1 {
		t.Fatal("want one ScaledObject with one trigger")
	}
	tr := sos[0].Spec.Triggers[0]
	query := tr.Metadata["query"]
	// KEDA treats an empty result as an error only then, so the fallback
	// takes over from a stale plan rather than a 0.
	if tr.Metadata["ignoreNullValues"] != "false" {
		t.Errorf("ignoreNullValues %q, want \"false\"", tr.Metadata["ignoreNullValues"])
	}
	if sos[0].Spec.Fallback == nil {
		t.Error("no fallback for an empty result")
	}
	now := time.Now().Truncate(time.Second)
	type series struct {
		replica  string
		workload string
		desired  float64
		// generated is the age of the plan; the samples themselves are
		// 15 s old, as a scrape or remote write of the forecaster.
		generated time.Duration
	}
	for _, c := range []struct {
		name   string
		series []series
		want   []float64
	}{
		{"fresh plan", []series{{"", "api", 7, 30 * time.Second}}, []float64{7}},
		{"stale plan still exposed", []series{{"", "api", 7, 3 * time.Minute}}, nil},
		{"HA pair: one series, the larger", []series{{"a", "api", 7, 30 * time.Second}, {"b", "api", 9, 20 * time.Second}}, []float64{9}},
		// The limit the file's comment names: max() still sees the plan of
		// a replica whose ticks fail; docs/remote-write.md's
		// freshest-replica query does not.
		{"HA pair, one replica stale: max still sees it", []series{{"a", "api", 7, 30 * time.Second}, {"b", "api", 9, 10 * time.Minute}}, []float64{9}},
		{"another workload only", []series{{"", "checkout", 7, 30 * time.Second}}, nil},
		{"no series", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := in.OpenStorage(in.StorageOptions{Path: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			app := st.Appendable().AppenderV2(context.Background())
			at := now.Add(-15 * time.Second).UnixMilli()
			for _, s := range c.series {
				for name, v := range map[string]float64{
					exampleForecastMetric:                            s.desired,
					"kedastral_forecast_generated_timestamp_seconds": float64(now.Add(-s.generated).Unix()),
				} {
					lb := labels.NewBuilder(labels.FromStrings("__name__", name, "workload", s.workload, "job", "kedastral-forecaster"))
					ls := lb.Set("replica", s.replica).Labels() // none when empty
					if _, err := app.Append(0, ls, 0, at, v, nil, nil, storage.AOptions{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			// An instant query at now: a range of one step.
			v, _, err := st.QueryRange(context.Background(), query, promv1.Range{Start: now, End: now, Step: time.Second})
			if err != nil {
				t.Fatalf("query %q: %v", query, err)
			}
			var got []float64
			for _, ss := range v.(model.Matrix) {
				for _, p := range ss.Values {
					got = append(got, float64(p.Value))
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("query gives %v, want %v", got, c.want)
			}
		})
	}
}

// TestExamplePrometheusRemoteWrite loads prometheus-remote-write.yaml with
// Prometheus's own configuration loader and applies its
// write_relabel_configs with Prometheus's relabelling code: exactly the
// series the workload's query selects are sent to the forecaster.
func TestExamplePrometheusRemoteWrite(t *testing.T) {
	path := filepath.Join(exampleDir, "prometheus-remote-write.yaml")
	data := exampleRead(t, path)
	cfg, err := promconfig.Load(string(data), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Prometheus refuses %s: %v", path, err)
	}
	if !strings.Contains(string(data), exampleWorkloadQuery) {
		t.Errorf("%s does not show the workload's query %s", path, exampleWorkloadQuery)
	}
	var jobs []string
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	// job="api" is what the query selects; the others are the mixin's.
	if want := []string{"api", "kedastral-forecaster", "kedastral-scaler"}; !slices.Equal(jobs, want) {
		t.Errorf("scrape jobs %v, want %v", jobs, want)
	}

	if len(cfg.RemoteWriteConfigs) != 1 {
		t.Fatalf("%d remote_write entries, want 1", len(cfg.RemoteWriteConfigs))
	}
	rw := cfg.RemoteWriteConfigs[0]
	forecasterPort := exampleServicePort(t, "kedastral-forecaster", "http")
	if u := rw.URL.URL; u.Scheme != "http" || u.Host != "kedastral-forecaster.kedastral.svc:"+forecasterPort ||
		u.Port() != "8081" || u.Path != "/api/v1/write" {
		t.Errorf("remote_write url %s, want the forecaster's Service on 8081 (install.yaml: %s), path /api/v1/write", u, forecasterPort)
	}
	if rw.MetadataConfig.Send {
		t.Error("remote_write sends metadata, which the forecaster does not store")
	}
	if err := rw.QueueConfig.Validate(); err != nil || rw.QueueConfig.MaxShards > 10 {
		t.Errorf("queue_config %+v: %v", rw.QueueConfig, err)
	}

	// The relabelling keeps what the query reads, drops the rest, and
	// keeps every label of what it keeps.
	sels, err := in.Selectors([]string{exampleWorkloadQuery})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		series labels.Labels
		keep   bool
	}{
		{"the workload's counter", labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "10.0.0.7:8080", "pod", "api-7d9f-x2k", "namespace", "shop", "code", "200"), true},
		{"the workload's counter, with an external label", labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "10.0.0.8:8080", "cluster", "eu-1"), true},
		{"the same counter of another job", labels.FromStrings("__name__", "http_requests_total", "job", "checkout", "instance", "10.0.0.9:8080"), false},
		{"a job whose name starts with api", labels.FromStrings("__name__", "http_requests_total", "job", "api-canary"), false},
		{"an unrelated metric of the app", labels.FromStrings("__name__", "go_goroutines", "job", "api", "instance", "10.0.0.7:8080"), false},
		{"a metric whose name starts with the counter's", labels.FromStrings("__name__", "http_requests_total_created", "job", "api"), false},
		{"a histogram of the app", labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "job", "api", "le", "0.1"), false},
		{"the forecaster's own forecast", labels.FromStrings("__name__", exampleForecastMetric, "job", "kedastral-forecaster", "workload", "api"), false},
		{"scrape health", labels.FromStrings("__name__", "up", "job", "api", "instance", "10.0.0.7:8080"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			selected := false
			for _, sel := range sels {
				selected = selected || exampleMatches(sel, c.series)
			}
			if selected != c.keep {
				t.Fatalf("the table says keep=%v but the query selects it: %v", c.keep, selected)
			}
			lb := labels.NewBuilder(c.series)
			kept := relabel.ProcessBuilder(lb, rw.WriteRelabelConfigs...)
			if kept != c.keep {
				t.Errorf("write_relabel_configs keep %s: %v, want %v", c.series, kept, c.keep)
			}
			if kept && !labels.Equal(lb.Labels(), c.series) {
				t.Errorf("write_relabel_configs changed %s into %s", c.series, lb.Labels())
			}
		})
	}

	// The commented sharded variant: one entry per shard pod through the
	// headless Service, with the same rules.
	sharded, err := promconfig.Load(exampleUncomment(t, path, "remote_write:", "", nil), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("the sharded remote_write: %v", err)
	}
	if len(sharded.RemoteWriteConfigs) != 3 {
		t.Fatalf("%d sharded entries, want 3", len(sharded.RemoteWriteConfigs))
	}
	headless := exampleServicePort(t, "kedastral-forecaster-headless", "http")
	for i, e := range sharded.RemoteWriteConfigs {
		want := "http://kedastral-forecaster-" + strconv.Itoa(i) + ".kedastral-forecaster-headless.kedastral.svc:" + headless + "/api/v1/write"
		if e.URL.String() != want || e.Name != "kedastral-"+strconv.Itoa(i) {
			t.Errorf("shard %d: %s %s, want kedastral-%d %s", i, e.Name, e.URL, i, want)
		}
		if got, want := exampleRelabelYAML(t, e.WriteRelabelConfigs), exampleRelabelYAML(t, rw.WriteRelabelConfigs); got != want {
			t.Errorf("shard %d rules:\n%s\nwant those of the single forecaster:\n%s", i, got, want)
		}
		if e.MetadataConfig.Send {
			t.Errorf("shard %d sends metadata", i)
		}
	}

	// The commented prometheus-operator equivalent, decoded strictly into
	// its CRD type: the same endpoint, rules and queue.
	var op struct {
		Spec struct {
			RemoteWrite []monitoringv1.RemoteWriteSpec `json:"remoteWrite"`
		} `json:"spec"`
	}
	exampleUncomment(t, path, "spec:", "", &op)
	if len(op.Spec.RemoteWrite) != 1 {
		t.Fatalf("%d operator remoteWrite entries, want 1", len(op.Spec.RemoteWrite))
	}
	ow := op.Spec.RemoteWrite[0]
	if string(ow.URL) != rw.URL.String() || ow.Name == nil || *ow.Name != rw.Name {
		t.Errorf("operator remoteWrite %v %s, want %s %s", ow.Name, ow.URL, rw.Name, rw.URL)
	}
	if len(ow.WriteRelabelConfigs) != len(rw.WriteRelabelConfigs) {
		t.Fatalf("operator writeRelabelConfigs %d rules, want %d", len(ow.WriteRelabelConfigs), len(rw.WriteRelabelConfigs))
	}
	for i, r := range ow.WriteRelabelConfigs {
		p := rw.WriteRelabelConfigs[i]
		var src []string
		for _, l := range r.SourceLabels {
			src = append(src, string(l))
		}
		if !slices.Equal(src, []string{"__name__", "job"}) || len(p.SourceLabels) != 2 ||
			src[0] != string(p.SourceLabels[0]) || src[1] != string(p.SourceLabels[1]) ||
			r.Regex != p.Regex.String() || r.Action != string(p.Action) || r.Separator == nil || *r.Separator != p.Separator {
			t.Errorf("operator rule %d %+v differs from %+v", i, r, *p)
		}
	}
	q, qc := ow.QueueConfig, rw.QueueConfig
	if q == nil || q.Capacity != qc.Capacity || q.MinShards != qc.MinShards || q.MaxShards != qc.MaxShards ||
		q.MaxSamplesPerSend != qc.MaxSamplesPerSend || q.BatchSendDeadline == nil || string(*q.BatchSendDeadline) != qc.BatchSendDeadline.String() ||
		q.MinBackoff == nil || string(*q.MinBackoff) != qc.MinBackoff.String() || q.MaxBackoff == nil || string(*q.MaxBackoff) != qc.MaxBackoff.String() {
		t.Errorf("operator queueConfig %+v differs from %+v", q, qc)
	}
	if ow.MetadataConfig == nil || ow.MetadataConfig.Send {
		t.Error("operator metadataConfig sends metadata")
	}
}

// TestExamplePrometheusConfigPromtool checks prometheus-remote-write.yaml,
// and its sharded variant, with promtool (bin/promtool, built by make from
// the pinned Prometheus module).
func TestExamplePrometheusConfigPromtool(t *testing.T) {
	promtool := prometheustest.Binary(t, "promtool")
	path := filepath.Join(exampleDir, "prometheus-remote-write.yaml")
	sharded := filepath.Join(t.TempDir(), "sharded.yml")
	if err := os.WriteFile(sharded, []byte(exampleUncomment(t, path, "remote_write:", "", nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{path, sharded} {
		if out, err := exec.Command(promtool, "check", "config", file).CombinedOutput(); err != nil {
			t.Errorf("promtool check config %s: %v\n%s", file, err, out)
		}
	}
}

// TestExampleREADME checks that the README has a section for every example
// file, says how to apply it, and names the generated install.yaml.
func TestExampleREADME(t *testing.T) {
	readme := string(exampleRead(t, filepath.Join(exampleDir, "README.md")))
	files, err := filepath.Glob(filepath.Join(exampleDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name == "install-values.yaml" {
			// The values of install.yaml, described in its section.
			name = "install.yaml"
		}
		if !strings.Contains(readme, "\n## "+name+"\n") {
			t.Errorf("README.md has no section ## %s", name)
		}
		if strings.HasPrefix(name, "scaledobject-") && !strings.Contains(readme, "apply -f "+name) {
			t.Errorf("README.md does not say how to apply %s", name)
		}
	}
	if !strings.Contains(readme, "install.yaml` | Kedastral without Helm") || !strings.Contains(readme, "make manifests") {
		t.Error("README.md does not describe install.yaml as generated by make manifests")
	}
	for _, doc := range []string{"docs/scaler.md", "docs/push-mode.md", "docs/remote-write.md"} {
		if !strings.Contains(readme, "../../"+doc) {
			t.Errorf("README.md does not link %s", doc)
		}
		if _, err := os.Stat(filepath.Join("..", doc)); err != nil {
			t.Errorf("README.md links %s: %v", doc, err)
		}
	}
}

// exampleScaledObjects returns the ScaledObjects among objs.
func exampleScaledObjects(objs []object) []*kedav1alpha1.ScaledObject {
	var sos []*kedav1alpha1.ScaledObject
	for _, o := range objs {
		if so, ok := o.Obj.(*kedav1alpha1.ScaledObject); ok {
			sos = append(sos, so)
		}
	}
	return sos
}

// exampleServicePort returns the port named portName of the Service name in
// install.yaml, the install the examples point at.
func exampleServicePort(t *testing.T, name, portName string) string {
	t.Helper()
	for _, o := range decodeFile(t, filepath.Join(exampleDir, "install.yaml")) {
		svc, ok := o.Obj.(*corev1.Service)
		if !ok || svc.Name != name {
			continue
		}
		if svc.Namespace != "kedastral" {
			t.Fatalf("Service %s is in namespace %q, the examples say kedastral", name, svc.Namespace)
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == portName {
				return strconv.Itoa(int(p.Port))
			}
		}
	}
	t.Fatalf("install.yaml has no Service %s with a port %s", name, portName)
	return ""
}

// exampleUncomment finds in path the commented-out YAML block whose first
// line is "# "+head, with the lines after it that are commented deeper,
// and returns it uncommented. A non-empty wrap is put above it, indenting
// the block under it. With out non-nil, it decodes the block strictly into
// out.
func exampleUncomment(t *testing.T, path, head, wrap string, out any) string {
	t.Helper()
	lines := strings.Split(string(exampleRead(t, path)), "\n")
	start, indent := -1, ""
	for i, l := range lines {
		if strings.TrimSpace(l) == "# "+head {
			if start >= 0 {
				t.Fatalf("%s: two commented blocks start with %q", path, head)
			}
			indent, _, _ = strings.Cut(l, "#")
			start = i
		}
	}
	if start < 0 {
		t.Fatalf("%s: no commented block starting with %q", path, head)
	}
	block := []string{head}
	for _, l := range lines[start+1:] {
		body, ok := strings.CutPrefix(l, indent+"# ")
		if !ok || !strings.HasPrefix(body, " ") {
			break
		}
		block = append(block, body)
	}
	text := strings.Join(block, "\n") + "\n"
	if wrap != "" {
		text = wrap + "\n  " + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n  ") + "\n"
	}
	if out != nil {
		if err := yaml.UnmarshalStrict([]byte(text), out); err != nil {
			t.Fatalf("%s: the commented block %q:\n%s\n%v", path, head, text, err)
		}
	}
	return text
}

// exampleFormulaNames returns the variables of a scalingModifiers formula,
// sorted and without repeats: its identifiers that are not functions
// (followed by a parenthesis) or expr-lang keywords.
func exampleFormulaNames(formula string) []string {
	keywords := []string{"true", "false", "nil", "and", "or", "not", "in", "let", "matches", "contains", "startsWith", "endsWith"}
	var names []string
	for _, loc := range regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`).FindAllStringIndex(formula, -1) {
		name := formula[loc[0]:loc[1]]
		if strings.HasPrefix(strings.TrimSpace(formula[loc[1]:]), "(") || slices.Contains(keywords, name) {
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// exampleHasMatcher reports whether sel requires one of names to equal
// value.
func exampleHasMatcher(sel []*labels.Matcher, names []string, value string) bool {
	for _, m := range sel {
		if slices.Contains(names, m.Name) && m.Type == labels.MatchEqual && m.Value == value {
			return true
		}
	}
	return false
}

// exampleMatches reports whether every matcher of sel matches ls.
func exampleMatches(sel []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range sel {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

// exampleRelabelYAML renders relabelling rules, to compare them.
func exampleRelabelYAML(t *testing.T, rules []*relabel.Config) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rules {
		var src []string
		for _, l := range r.SourceLabels {
			src = append(src, string(l))
		}
		b.WriteString(strings.Join(src, ",") + " " + r.Separator + " " + r.Regex.String() + " " + string(r.Action) + "\n")
	}
	return b.String()
}

// exampleRead reads a file.
func exampleRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
