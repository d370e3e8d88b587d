package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/HatiCode/kedastral/internal/config"
)

// chartDir is the chart under test.
const chartDir = "helm/kedastral"

// testRelease is the release every case renders.
var testRelease = Release{Name: "kedastral", Namespace: "kedastral"}

// rendered is the chart rendered with one values file.
type rendered struct {
	values map[string]any
	objs   []object
}

// renderCase renders the chart with a ci/ values file and decodes every
// object strictly.
func renderCase(t *testing.T, file string) rendered {
	t.Helper()
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ReadValues(filepath.Join(chartDir, "ci", file))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(c, vals, testRelease)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{values: vals}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		o, err := decodeManifest(name, []byte(files[name]))
		if err != nil {
			t.Fatalf("%v\n%s", err, files[name])
		}
		r.objs = append(r.objs, o...)
	}
	return r
}

// kinds counts the objects by kind.
func (r rendered) kinds() map[string]int {
	n := map[string]int{}
	for _, o := range r.objs {
		n[o.Kind]++
	}
	return n
}

// find returns the object of kind and name, failing the test without it.
func find[T any](t *testing.T, r rendered, kind, name string) T {
	t.Helper()
	for _, o := range r.objs {
		if o.Kind == kind && o.Name == name {
			return o.Obj.(T)
		}
	}
	t.Fatalf("no %s %q rendered", kind, name)
	var zero T
	return zero
}

// all returns every object of a Go type.
func all[T any](r rendered) []T {
	var out []T
	for _, o := range r.objs {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// podTemplates returns the pod templates of the Deployments and
// StatefulSets, by object name.
func (r rendered) podTemplates() map[string]corev1.PodTemplateSpec {
	pods := map[string]corev1.PodTemplateSpec{}
	for _, d := range all[*appsv1.Deployment](r) {
		pods[d.Name] = d.Spec.Template
	}
	for _, s := range all[*appsv1.StatefulSet](r) {
		pods[s.Name] = s.Spec.Template
	}
	return pods
}

// selected returns the pod templates a label selector matches.
func (r rendered) selected(t *testing.T, sel *metav1.LabelSelector) []corev1.PodTemplateSpec {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.PodTemplateSpec
	for _, p := range r.podTemplates() {
		if !s.Empty() && s.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// container returns the only container of a pod template.
func container(t *testing.T, p corev1.PodTemplateSpec) corev1.Container {
	t.Helper()
	if len(p.Spec.Containers) != 1 {
		t.Fatalf("pod %v has %d containers, want 1", p.Labels, len(p.Spec.Containers))
	}
	return p.Spec.Containers[0]
}

// hasPort reports whether a container has a port of that name or number.
func hasPort(c corev1.Container, name string, number int32) bool {
	for _, p := range c.Ports {
		if (name != "" && p.Name == name) || (name == "" && p.ContainerPort == number) {
			return true
		}
	}
	return false
}

// checkCommon checks what every rendering must hold: the restricted
// security context, resources, images, and selectors and ports that
// meet.
func checkCommon(t *testing.T, r rendered) {
	t.Helper()
	for name, p := range r.podTemplates() {
		ps := p.Spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %+v is not restricted", name, ps)
		}
		if p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
			t.Errorf("%s: the service account token is mounted", name)
		}
		c := container(t, p)
		cs := c.SecurityContext
		if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
			cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
			cs.Capabilities == nil || !slices.Equal(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("%s: container security context %+v is not restricted", name, cs)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: resources %+v lack a CPU request or a memory limit", name, c.Resources)
		}
		if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
			t.Errorf("%s: image %q has no pinned tag", name, c.Image)
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Errorf("%s: probes missing", name)
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if probe != nil && probe.HTTPGet != nil && !hasPort(c, probe.HTTPGet.Port.StrVal, probe.HTTPGet.Port.IntVal) {
				t.Errorf("%s: probe port %v is not a container port", name, probe.HTTPGet.Port)
			}
		}
	}
	for _, s := range all[*corev1.Service](r) {
		pods := r.selected(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if len(pods) != 1 {
			t.Errorf("Service %s selects %d pod templates, want 1", s.Name, len(pods))
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasPort(container(t, pods[0]), p.TargetPort.StrVal, p.TargetPort.IntVal) {
				t.Errorf("Service %s: target port %v is no container port", s.Name, p.TargetPort)
			}
		}
	}
	for _, p := range all[*policyv1.PodDisruptionBudget](r) {
		if len(r.selected(t, p.Spec.Selector)) != 1 {
			t.Errorf("PodDisruptionBudget %s selects no pod template", p.Name)
		}
		// A forecaster waiting for data must not block a drain.
		if pol := p.Spec.UnhealthyPodEvictionPolicy; pol == nil || *pol != policyv1.AlwaysAllow {
			t.Errorf("PodDisruptionBudget %s: unhealthy pod eviction %v, want AlwaysAllow", p.Name, pol)
		}
	}
	for _, n := range all[*networkingv1.NetworkPolicy](r) {
		pods := r.selected(t, &n.Spec.PodSelector)
		if len(pods) != 1 {
			t.Errorf("NetworkPolicy %s selects %d pod templates", n.Name, len(pods))
			continue
		}
		for _, rule := range n.Spec.Ingress {
			for _, p := range rule.Ports {
				if !hasPort(container(t, pods[0]), p.Port.StrVal, p.Port.IntVal) {
					t.Errorf("NetworkPolicy %s: port %v is no container port", n.Name, p.Port)
				}
			}
		}
	}
	for _, sm := range all[*monitoringv1.ServiceMonitor](r) {
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		var matched []*corev1.Service
		for _, s := range all[*corev1.Service](r) {
			if sel.Matches(labels.Set(s.Labels)) {
				matched = append(matched, s)
			}
		}
		if len(matched) != 1 {
			t.Errorf("ServiceMonitor %s selects %d Services, want 1 (no scrape twice)", sm.Name, len(matched))
			continue
		}
		for _, e := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(matched[0].Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
				t.Errorf("ServiceMonitor %s: port %q is not a port of Service %s", sm.Name, e.Port, matched[0].Name)
			}
		}
	}
	for _, so := range all[*kedav1alpha1.ScaledObject](r) {
		if err := validateScaledObject(so); err != nil {
			t.Errorf("ScaledObject %s: KEDA refuses it: %v", so.Name, err)
		}
		if _, ok := so.Labels["app.kubernetes.io/instance"]; ok {
			t.Errorf("ScaledObject %s has a release label, which KEDA copies onto its HPA: %v", so.Name, so.Labels)
		}
		for _, tr := range so.Spec.Triggers {
			if tr.AuthenticationRef == nil || tr.AuthenticationRef.Kind == "ClusterTriggerAuthentication" {
				continue
			}
			ta := find[*kedav1alpha1.TriggerAuthentication](t, r, "TriggerAuthentication", tr.AuthenticationRef.Name)
			if ta.Namespace != so.Namespace {
				t.Errorf("TriggerAuthentication %s is in %s, its ScaledObject in %s", ta.Name, ta.Namespace, so.Namespace)
			}
		}
	}
	// The configuration the forecaster reads is one it accepts, with the
	// workloads of the values.
	cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "kedastral-forecaster")
	cfg, err := config.Load([]byte(cm.Data["config.yaml"]), "")
	if err != nil {
		t.Fatalf("the forecaster refuses the rendered config.yaml: %v\n%s", err, cm.Data["config.yaml"])
	}
	if want := len(r.values["workloads"].([]any)); len(cfg.Workloads) != want {
		t.Errorf("config.yaml has %d workloads, the values %d", len(cfg.Workloads), want)
	}
}

// args returns a container's arguments as a set of "--flag=value".
func args(c corev1.Container) map[string][]string {
	out := map[string][]string{}
	for _, a := range c.Args {
		k, v, _ := strings.Cut(a, "=")
		out[k] = append(out[k], v)
	}
	return out
}

// TestChartRenders renders the chart with every ci/ values file, decodes
// every object strictly into its API type, checks what all renderings
// share (checkCommon) and what each case is for.
func TestChartRenders(t *testing.T) {
	forecasterURL := func(i int) string {
		return fmt.Sprintf("http://kedastral-forecaster-%d.kedastral-forecaster-headless.kedastral.svc:8081", i)
	}
	for _, tc := range []struct {
		file  string
		kinds map[string]int
		check func(t *testing.T, r rendered)
	}{
		{
			file: "defaults-values.yaml",
			kinds: map[string]int{"ConfigMap": 1, "Service": 3, "StatefulSet": 1, "Deployment": 1,
				"PodDisruptionBudget": 2, "ServiceAccount": 1},
			check: func(t *testing.T, r rendered) {
				// Push mode: a StatefulSet keeps the TSDB on an 8Gi claim.
				sts := find[*appsv1.StatefulSet](t, r, "StatefulSet", "kedastral-forecaster")
				if *sts.Spec.Replicas != 1 || len(sts.Spec.VolumeClaimTemplates) != 1 {
					t.Fatalf("replicas %d, claims %d; want 1 and 1", *sts.Spec.Replicas, len(sts.Spec.VolumeClaimTemplates))
				}
				claim := sts.Spec.VolumeClaimTemplates[0]
				if claim.Name != "data" || claim.Spec.Resources.Requests.Storage().String() != "8Gi" {
					t.Errorf("claim %s of %v, want data of 8Gi", claim.Name, claim.Spec.Resources.Requests.Storage())
				}
				fc := container(t, sts.Spec.Template)
				a := args(fc)
				if !slices.Equal(a["--storage.path"], []string{"/data"}) || !slices.Equal(a["--storage.retention"], []string{"15d"}) {
					t.Errorf("forecaster args %v lack the storage flags", fc.Args)
				}
				if _, ok := a["--shard.count"]; ok {
					t.Errorf("one shard, yet %v", fc.Args)
				}
				if fc.LivenessProbe.HTTPGet.Path != "/-/healthy" || fc.ReadinessProbe.HTTPGet.Path != "/-/ready" {
					t.Errorf("probes %s and %s, want /-/healthy and /-/ready", fc.LivenessProbe.HTTPGet.Path, fc.ReadinessProbe.HTTPGet.Path)
				}
				// Reachable before the first forecast, which needs the pushed data.
				for _, name := range []string{"kedastral-forecaster", "kedastral-forecaster-headless"} {
					if s := find[*corev1.Service](t, r, "Service", name); !s.Spec.PublishNotReadyAddresses {
						t.Errorf("Service %s does not publish not-ready addresses", name)
					}
				}
				sc := container(t, find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler").Spec.Template)
				if got := args(sc)["--forecaster.url"]; !slices.Equal(got, []string{forecasterURL(0)}) {
					t.Errorf("scaler reads %v, want %s", got, forecasterURL(0))
				}
				if sc.ReadinessProbe.GRPC == nil || sc.ReadinessProbe.GRPC.Port != 8080 {
					t.Errorf("scaler readiness %+v, want gRPC health on 8080", sc.ReadinessProbe)
				}
			},
		},
		{
			file: "pull-values.yaml",
			kinds: map[string]int{"ConfigMap": 1, "Service": 3, "StatefulSet": 1, "Deployment": 1,
				"PodDisruptionBudget": 2, "ServiceAccount": 1},
			check: func(t *testing.T, r rendered) {
				// Pull mode, an HA pair: a StatefulSet without volumes, whose
				// pods the scaler reads by name, and whose remote-written
				// copies differ by a replica label.
				d := find[*appsv1.StatefulSet](t, r, "StatefulSet", "kedastral-forecaster")
				if *d.Spec.Replicas != 2 || len(d.Spec.VolumeClaimTemplates) != 0 {
					t.Errorf("forecaster replicas %d, claims %d; want 2 and none", *d.Spec.Replicas, len(d.Spec.VolumeClaimTemplates))
				}
				fc := container(t, d.Spec.Template)
				a := args(fc)
				if _, ok := a["--storage.path"]; ok || len(fc.VolumeMounts) != 1 {
					t.Errorf("pull mode with storage: %v %v", fc.Args, fc.VolumeMounts)
				}
				if fc.ReadinessProbe.HTTPGet.Path != "/-/healthy" {
					t.Errorf("readiness on %s, want the values' /-/healthy", fc.ReadinessProbe.HTTPGet.Path)
				}
				if !slices.Equal(a["--remote-write.external-label"], []string{"replica=$(POD_NAME)"}) {
					t.Errorf("external label %v, want replica=$(POD_NAME)", a["--remote-write.external-label"])
				}
				cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "kedastral-forecaster")
				cfg, err := config.Load([]byte(cm.Data["config.yaml"]), "")
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Prometheus.URL == nil || cfg.Prometheus.URL.String() != "http://prometheus-operated.monitoring.svc:9090" {
					t.Errorf("prometheus.url %v", cfg.Prometheus.URL)
				}
				if len(cfg.RemoteWrite) != 1 || cfg.RemoteWrite[0].QueueConfig.Capacity != 200 || cfg.ExternalLabels["cluster"] != "prod" {
					t.Errorf("remote write %+v, external labels %v", cfg.RemoteWrite, cfg.ExternalLabels)
				}
				// checkout's policy: target 150 × headroom 1.3, lead 3m, 3..40.
				p := cfg.Workloads[0].Capacity
				if p.TargetPerPod != 150 || p.Headroom != 1.3 || p.MinReplicas != 3 || p.MaxReplicas != 40 {
					t.Errorf("capacity %+v", p)
				}
				sc := container(t, find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler").Spec.Template)
				sa := args(sc)
				if _, ok := sa["--forecaster.url"]; ok || !slices.Equal(sa["--prometheus.url"], []string{"http://prometheus-operated.monitoring.svc:9090"}) {
					t.Errorf("scaler args %v, want the Prometheus source only", sc.Args)
				}
				// Both Services publish not-ready forecasters: one workload
				// without data must not hide the others' plans.
				for _, name := range []string{"kedastral-forecaster", "kedastral-forecaster-headless"} {
					if !find[*corev1.Service](t, r, "Service", name).Spec.PublishNotReadyAddresses {
						t.Errorf("Service %s does not publish not-ready addresses", name)
					}
				}
			},
		},
		{
			file: "sharded-values.yaml",
			kinds: map[string]int{"ConfigMap": 3, "Service": 3, "StatefulSet": 1, "Deployment": 1, "PodDisruptionBudget": 2,
				"ServiceAccount": 1, "ServiceMonitor": 2, "PrometheusRule": 1},
			check: func(t *testing.T, r rendered) {
				sts := find[*appsv1.StatefulSet](t, r, "StatefulSet", "kedastral-forecaster")
				if *sts.Spec.Replicas != 3 || sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
					t.Errorf("replicas %d, policy %s; want 3 Parallel", *sts.Spec.Replicas, sts.Spec.PodManagementPolicy)
				}
				if sc := sts.Spec.VolumeClaimTemplates[0].Spec.StorageClassName; sc == nil || *sc != "fast" {
					t.Errorf("storage class %v, want fast", sc)
				}
				fc := container(t, sts.Spec.Template)
				if got := args(fc)["--shard.count"]; !slices.Equal(got, []string{"3"}) {
					t.Errorf("--shard.count %v, want 3", got)
				}
				i := slices.IndexFunc(fc.Env, func(e corev1.EnvVar) bool { return e.Name == "KEDASTRAL_SHARD_INDEX" })
				if i < 0 || fc.Env[i].ValueFrom == nil || fc.Env[i].ValueFrom.FieldRef.FieldPath != "metadata.labels['apps.kubernetes.io/pod-index']" {
					t.Errorf("the shard index does not come from the pod ordinal: %+v", fc.Env)
				}
				sc := container(t, find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler").Spec.Template)
				if got, want := args(sc)["--forecaster.url"], []string{forecasterURL(0), forecasterURL(1), forecasterURL(2)}; !slices.Equal(got, want) {
					t.Errorf("scaler reads %v, want every shard %v", got, want)
				}
				// The ServiceMonitors give the jobs the mixin's rules select.
				for _, c := range []string{"forecaster", "scaler"} {
					sm := find[*monitoringv1.ServiceMonitor](t, r, "ServiceMonitor", "kedastral-"+c)
					rl := sm.Spec.Endpoints[0].RelabelConfigs
					if len(rl) == 0 || rl[0].TargetLabel != "job" || rl[0].Replacement == nil || *rl[0].Replacement != "kedastral-"+c {
						t.Errorf("ServiceMonitor %s relabels %+v, want job=kedastral-%s", sm.Name, rl, c)
					}
					if sm.Labels["release"] != "kube-prometheus-stack" {
						t.Errorf("ServiceMonitor %s labels %v", sm.Name, sm.Labels)
					}
				}
				checkRulesAreTheMixins(t, find[*monitoringv1.PrometheusRule](t, r, "PrometheusRule", "kedastral"))
				for _, name := range []string{"kedastral-overview-dashboard", "kedastral-operations-dashboard"} {
					cm := find[*corev1.ConfigMap](t, r, "ConfigMap", name)
					if cm.Labels["grafana_dashboard"] != "1" || len(cm.Data) != 1 {
						t.Errorf("dashboard ConfigMap %s: labels %v, %d files", name, cm.Labels, len(cm.Data))
					}
					for file, body := range cm.Data {
						var d struct{ UID, Title string }
						if err := json.Unmarshal([]byte(body), &d); err != nil || d.UID == "" {
							t.Errorf("%s/%s is not a dashboard: %v", name, file, err)
						}
					}
				}
			},
		},
		{
			file: "tls-values.yaml",
			kinds: map[string]int{"ConfigMap": 1, "Service": 3, "StatefulSet": 1, "Deployment": 1, "PodDisruptionBudget": 2,
				"ServiceAccount": 1, "Issuer": 2, "Certificate": 3, "ScaledObject": 1, "TriggerAuthentication": 1, "NetworkPolicy": 2},
			check: func(t *testing.T, r rendered) {
				sc := container(t, find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler").Spec.Template)
				a := args(sc)
				for flag, want := range map[string]string{
					"--grpc.tls-cert-file": "/etc/kedastral/tls/tls.crt", "--grpc.tls-key-file": "/etc/kedastral/tls/tls.key",
					"--grpc.tls-client-ca-file": "/etc/kedastral/tls/ca.crt",
				} {
					if !slices.Equal(a[flag], []string{want}) {
						t.Errorf("%s=%v, want %s", flag, a[flag], want)
					}
				}
				if sc.ReadinessProbe.TCPSocket == nil {
					t.Errorf("with TLS the readiness probe must not be a plain gRPC probe: %+v", sc.ReadinessProbe)
				}
				// The name KEDA dials is one the certificate is for.
				server := find[*certmanagerv1.Certificate](t, r, "Certificate", "kedastral-scaler")
				if server.Spec.SecretName != "kedastral-scaler-tls" || server.Spec.IssuerRef.Name != "kedastral-scaler-ca" ||
					!slices.Contains(server.Spec.DNSNames, "kedastral-scaler.kedastral.svc") ||
					!slices.Contains(server.Spec.DNSNames, "kedastral-scaler.kedastral.svc.cluster.local") {
					t.Errorf("server certificate %+v", server.Spec)
				}
				ca := find[*certmanagerv1.Certificate](t, r, "Certificate", "kedastral-scaler-ca")
				if !ca.Spec.IsCA || ca.Spec.IssuerRef.Name != "kedastral-scaler-selfsigned" {
					t.Errorf("CA certificate %+v", ca.Spec)
				}
				client := find[*certmanagerv1.Certificate](t, r, "Certificate", "kedastral-scaler-client")
				if !slices.Contains(client.Spec.Usages, certmanagerv1.UsageClientAuth) {
					t.Errorf("client certificate usages %v", client.Spec.Usages)
				}
				// checkout: its own target, bounds from its capacity (1..30),
				// metadata from its scaledObject; batch opted out.
				so := find[*kedav1alpha1.ScaledObject](t, r, "ScaledObject", "checkout")
				if so.Spec.ScaleTargetRef.Name != "checkout-web" || *so.Spec.MinReplicaCount != 1 || *so.Spec.MaxReplicaCount != 30 {
					t.Errorf("ScaledObject %+v", so.Spec)
				}
				// lead_time 10m30s: the planner holds the pods itself, so no
				// scale-down window of the chart's own.
				if a := so.Spec.Advanced; a != nil {
					t.Errorf("advanced %+v, want none", a)
				}
				tr := so.Spec.Triggers[0]
				want := map[string]string{"scalerAddress": "kedastral-scaler.kedastral.svc:8080", "workload": "checkout", "defaultMin": "3", "staleAfter": "3m", "enableTLS": "true"}
				if tr.Type != "external" || tr.MetricType != "AverageValue" || !maps.Equal(tr.Metadata, want) {
					t.Errorf("trigger %s %s %v, want external AverageValue %v", tr.Type, tr.MetricType, tr.Metadata, want)
				}
				ta := find[*kedav1alpha1.TriggerAuthentication](t, r, "TriggerAuthentication", "kedastral-scaler-checkout")
				var params []string
				for _, s := range ta.Spec.SecretTargetRef {
					params = append(params, s.Parameter+"="+s.Name+"/"+s.Key)
				}
				if want := []string{"caCert=kedastral-scaler-tls/ca.crt", "tlsClientCert=kedastral-scaler-client-tls/tls.crt", "tlsClientKey=kedastral-scaler-client-tls/tls.key"}; !slices.Equal(params, want) {
					t.Errorf("TriggerAuthentication %v, want %v", params, want)
				}
				np := find[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy", "kedastral-scaler")
				if from := np.Spec.Ingress[0].From; len(from) != 1 || from[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "keda" {
					t.Errorf("gRPC open to %+v, want KEDA's namespace", from)
				}
			},
		},
		{
			file: "tls-secret-values.yaml",
			kinds: map[string]int{"ConfigMap": 1, "Service": 3, "StatefulSet": 1, "Deployment": 1, "PodDisruptionBudget": 2,
				"ServiceAccount": 1, "ScaledObject": 1},
			check: func(t *testing.T, r rendered) {
				d := find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler")
				v := d.Spec.Template.Spec.Volumes
				if len(v) != 2 || v[0].Secret == nil || v[0].Secret.SecretName != "scaler-tls" || v[1].Secret == nil || v[1].Secret.SecretName != "kedastral-source" {
					t.Errorf("volumes %+v, want the Secrets scaler-tls and kedastral-source", v)
				}
				sc := container(t, d.Spec.Template)
				if _, ok := args(sc)["--grpc.tls-client-ca-file"]; ok {
					t.Error("client authentication without clientAuth")
				}
				if got := args(sc)["--source.http-config-file"]; !slices.Equal(got, []string{"/etc/kedastral/source/http.yml"}) {
					t.Errorf("--source.http-config-file %v, want the Secret's http.yml", got)
				}
				if m := sc.VolumeMounts; len(m) != 2 || m[1].Name != "source" || m[1].MountPath != "/etc/kedastral/source" {
					t.Errorf("mounts %+v, want source at /etc/kedastral/source", m)
				}
				// In another namespace than the Secrets: the values' own
				// ClusterTriggerAuthentication, and none of the chart's.
				so := find[*kedav1alpha1.ScaledObject](t, r, "ScaledObject", "checkout")
				ref := so.Spec.Triggers[0].AuthenticationRef
				if so.Namespace != "shop" || ref == nil || ref.Kind != "ClusterTriggerAuthentication" || ref.Name != "kedastral-scaler-tls" {
					t.Errorf("ScaledObject in %s with authenticationRef %+v", so.Namespace, ref)
				}
				// No bounds in the values: the planner's defaults, 2..50.
				if *so.Spec.MinReplicaCount != 2 || *so.Spec.MaxReplicaCount != 50 {
					t.Errorf("bounds %d..%d, want 2..50", *so.Spec.MinReplicaCount, *so.Spec.MaxReplicaCount)
				}
				// The default lead time, 5m, is within the HPA's 300 s window:
				// nothing to set.
				if so.Spec.Advanced != nil {
					t.Errorf("advanced %+v, want none", so.Spec.Advanced)
				}
			},
		},
		{
			file:  "minimal-values.yaml",
			kinds: map[string]int{"ConfigMap": 1, "Service": 2, "Deployment": 2},
			check: func(t *testing.T, r rendered) {
				for name, p := range r.podTemplates() {
					if p.Spec.ServiceAccountName != "default" {
						t.Errorf("%s runs as %q, want default", name, p.Spec.ServiceAccountName)
					}
				}
				d := find[*appsv1.Deployment](t, r, "Deployment", "kedastral-forecaster")
				if *d.Spec.Replicas != 1 || !find[*corev1.Service](t, r, "Service", "kedastral-forecaster").Spec.PublishNotReadyAddresses {
					t.Error("pull mode: one replica, reachable before its first forecast")
				}
				sc := container(t, find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler").Spec.Template)
				if got := args(sc)["--forecaster.url"]; !slices.Equal(got, []string{"http://kedastral-forecaster.kedastral.svc:8081"}) {
					t.Errorf("scaler reads %v, want the forecaster Service", got)
				}
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := renderCase(t, tc.file)
			if got := r.kinds(); !maps.Equal(got, tc.kinds) {
				t.Errorf("kinds %v, want %v", got, tc.kinds)
			}
			checkCommon(t, r)
			tc.check(t, r)
		})
	}
}

// checkRulesAreTheMixins checks that the PrometheusRule holds exactly the
// groups of mixin/generated: the rules are not written twice.
func checkRulesAreTheMixins(t *testing.T, pr *monitoringv1.PrometheusRule) {
	t.Helper()
	var want []monitoringv1.RuleGroup
	for _, file := range []string{"rules.yaml", "alerts.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "mixin", "generated", file))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(data, &f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		want = append(want, f.Groups...)
	}
	if len(want) == 0 {
		t.Fatal("the mixin has no rule groups")
	}
	if !reflect.DeepEqual(pr.Spec.Groups, want) {
		t.Errorf("the PrometheusRule's %d groups differ from the mixin's %d: run make mixin", len(pr.Spec.Groups), len(want))
	}
}

// TestChartFilesAreTheMixins checks that the chart's copies of the mixin's
// generated files are the same bytes (`make mixin` writes both).
func TestChartFilesAreTheMixins(t *testing.T) {
	src := filepath.Join("..", "mixin", "generated")
	var names []string
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(src, path)
			names = append(names, rel)
		}
		return err
	})
	if err != nil || len(names) < 4 {
		t.Fatalf("mixin/generated: %v, %d files", err, len(names))
	}
	for _, name := range names {
		want, _ := os.ReadFile(filepath.Join(src, name))
		got, err := os.ReadFile(filepath.Join(chartDir, "files", name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s/files/%s is not mixin/generated/%s: run make mixin", chartDir, name, name)
		}
	}
}

// TestChartLints runs Helm's linter with every ci/ values file: errors and
// warnings fail.
func TestChartLints(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("ci values: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			vals, err := ReadValues(file)
			if err != nil {
				t.Fatal(err)
			}
			res := lint.RunAll(chartDir, vals, testRelease.Namespace)
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				}
			}
		})
	}
}

// TestChartSchemaRefuses checks that values.schema.json turns bad values
// away at install, each with a message that names the field.
func TestChartSchemaRefuses(t *testing.T) {
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	const workload = "workloads: [{name: api, query: 'sum(rate(x[1m]))'}]\n"
	for _, tc := range []struct {
		name, values, want string
	}{
		{"no workloads", "{}", "workloads"},
		{"empty workloads", "workloads: []", "minItems"},
		{"workload without query", "workloads: [{name: api}]", "query"},
		{"workload name not DNS", "workloads: [{name: API_1, query: up}]", "name"},
		{"unknown workload key", "workloads: [{name: api, query: up, lead_time: 5m}]", "lead_time"},
		{"unknown model", "workloads: [{name: api, query: up, model: prophet}]", "model"},
		{"bad duration", "workloads: [{name: api, query: up, capacity: {lead_time: 5 minutes}}]", "lead_time"},
		{"headroom below 1", "workloads: [{name: api, query: up, capacity: {headroom: 0.8}}]", "headroom"},
		{"misspelt top-level key", workload + "forecastr: {}", "forecastr"},
		{"misspelt nested key", workload + "forecaster: {replica: 2}", "replica"},
		{"replicas with shards", workload + "forecaster: {shards: 3, replicas: 2}", "replicas"},
		{"zero shards", workload + "forecaster: {shards: 0}", "shards"},
		{"bad volume size", workload + "forecaster: {persistence: {size: lots}}", "size"},
		{"bad Prometheus URL", workload + "forecaster: {prometheus: {url: prometheus:9090}}", "url"},
		{"prometheus source without URL", workload + "scaler: {source: prometheus}", "prometheusURL"},
		{"unknown source", workload + "scaler: {source: thanos}", "source"},
		{"TLS without certificate", workload + "scaler: {tls: {enabled: true}}", "secretName"},
		{"bad log level", workload + "logLevel: verbose", "logLevel"},
		{"string replicas", workload + "scaler: {replicas: two}", "replicas"},
		{"extra arg not a flag", workload + "forecaster: {extraArgs: [stale-after=3m]}", "extraArgs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string]any{}
			if err := yaml.Unmarshal([]byte(tc.values), &vals); err != nil {
				t.Fatal(err)
			}
			_, err := Render(c, vals, testRelease)
			if err == nil {
				t.Fatalf("values %q accepted", tc.values)
			}
			if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want a schema error naming %q", err, tc.want)
			}
		})
	}
}

// TestInstallManifest checks deploy/examples/install.yaml, the install
// without Helm: it is what `make manifests` renders now, every object
// decodes strictly, and it holds what a rendering of the chart must.
func TestInstallManifest(t *testing.T) {
	const file, valuesFile = "examples/install.yaml", "examples/install-values.yaml"
	want, err := InstallManifest(chartDir, valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not what the chart renders: run make manifests", file)
	}
	vals, err := ReadValues(valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{values: vals, objs: decodeFile(t, file)}
	if got, want := r.kinds(), map[string]int{"Namespace": 1, "ConfigMap": 1, "Service": 3, "StatefulSet": 1,
		"Deployment": 1, "PodDisruptionBudget": 2, "ServiceAccount": 1}; !maps.Equal(got, want) {
		t.Errorf("kinds %v, want %v", got, want)
	}
	for _, o := range r.objs {
		m := o.Obj.(metav1.Object)
		if o.Kind != "Namespace" && m.GetNamespace() != InstallNamespace {
			t.Errorf("%s %s is in namespace %q, want %s", o.Kind, o.Name, m.GetNamespace(), InstallNamespace)
		}
		if m.GetLabels()["app.kubernetes.io/managed-by"] == "Helm" {
			t.Errorf("%s %s says it is managed by Helm", o.Kind, o.Name)
		}
	}
	checkCommon(t, r)
}

// TestChartNotes checks what `helm install` prints: where Prometheus must
// remote-write (every pod in push mode) or where load is read from.
func TestChartNotes(t *testing.T) {
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file          string
		want, notWant []string
	}{
		{"defaults-values.yaml", []string{
			"- url: http://kedastral-forecaster-0.kedastral-forecaster-headless.kedastral.svc:8081/api/v1/write",
			"scalerAddress: kedastral-scaler.kedastral.svc:8080", "workload: checkout",
		}, []string{"forecaster-1.", "authenticationRef"}},
		{"sharded-values.yaml", []string{
			"kedastral-forecaster-0.kedastral-forecaster-headless", "kedastral-forecaster-2.kedastral-forecaster-headless",
			"Workloads: checkout, search, payments.",
		}, []string{"forecaster-3."}},
		{"pull-values.yaml", []string{"reads load from http://prometheus-operated.monitoring.svc:9090"}, []string{"remote_write:"}},
		{"tls-values.yaml", []string{"caCert, tlsClientCert and tlsClientKey"}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			vals, err := ReadValues(filepath.Join(chartDir, "ci", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			notes, err := Notes(c, vals, testRelease)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES.txt lacks %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES.txt has %q:\n%s", w, notes)
				}
			}
		})
	}
}

// TestChartScaleDownWindow checks that the chart's ScaledObjects get no
// scale-down window of the chart's own, whatever the lead time (the
// planner keeps the pods until the load has fallen), and keep an
// advanced.horizontalPodAutoscalerConfig of the values as it is.
func TestChartScaleDownWindow(t *testing.T) {
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		capacity, advanced string
		want               int32 // 0: no behavior rendered
	}{
		{"{}", "", 0},
		{"{lead_time: 301s}", "", 0},
		{"{lead_time: 1h}", "", 0},
		{"{lead_time: 1d}", "", 0},
		{"{lead_time: 1h}", "{horizontalPodAutoscalerConfig: {name: hpa}}", 0}, // the values' own, no behavior
		{"{lead_time: 1h}", "{horizontalPodAutoscalerConfig: {behavior: {scaleDown: {stabilizationWindowSeconds: 900}}}}", 900},
	} {
		t.Run(tc.capacity+tc.advanced, func(t *testing.T) {
			so := "{enabled: true}"
			if tc.advanced != "" {
				so = "{enabled: true, advanced: " + tc.advanced + "}"
			}
			vals := map[string]any{}
			doc := "workloads: [{name: api, query: up, capacity: " + tc.capacity + ", scaledObject: " + so + "}]"
			if err := yaml.Unmarshal([]byte(doc), &vals); err != nil {
				t.Fatal(err)
			}
			files, err := Render(c, vals, testRelease)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeManifest("scaledobjects", []byte(files["kedastral/templates/scaledobjects.yaml"]))
			if err != nil || len(objs) != 1 {
				t.Fatalf("%d objects, %v", len(objs), err)
			}
			a := objs[0].Obj.(*kedav1alpha1.ScaledObject).Spec.Advanced
			var got int32
			if a != nil && a.HorizontalPodAutoscalerConfig != nil && a.HorizontalPodAutoscalerConfig.Behavior != nil {
				got = *a.HorizontalPodAutoscalerConfig.Behavior.ScaleDown.StabilizationWindowSeconds
			}
			if got != tc.want {
				t.Errorf("scale-down window %d s, want %d", got, tc.want)
			}
			if tc.advanced != "" && (a == nil || a.HorizontalPodAutoscalerConfig == nil) {
				t.Errorf("the values' advanced block was not kept: %+v", a)
			}
		})
	}
}

// TestChartForecasterURLs checks which forecasters the scaler reads: every
// pod by name when there are several (shards, HA replicas) or a volume,
// else the Service of the Deployment.
func TestChartForecasterURLs(t *testing.T) {
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(i int) string {
		return fmt.Sprintf("http://kedastral-forecaster-%d.kedastral-forecaster-headless.kedastral.svc:8081", i)
	}
	const pull = "prometheus: {url: 'http://prometheus:9090'}"
	for _, tc := range []struct {
		forecaster, kind string
		want             []string
	}{
		{pull, "Deployment", []string{"http://kedastral-forecaster.kedastral.svc:8081"}},
		{pull + ", replicas: 2", "StatefulSet", []string{pod(0), pod(1)}},
		{"replicas: 2", "StatefulSet", []string{pod(0), pod(1)}},
		{pull + ", shards: 3", "StatefulSet", []string{pod(0), pod(1), pod(2)}},
		{"persistence: {enabled: false}", "StatefulSet", []string{pod(0)}},
	} {
		t.Run(tc.forecaster, func(t *testing.T) {
			vals := map[string]any{}
			if err := yaml.Unmarshal([]byte("workloads: [{name: api, query: up}]\nforecaster: {"+tc.forecaster+"}"), &vals); err != nil {
				t.Fatal(err)
			}
			files, err := Render(c, vals, testRelease)
			if err != nil {
				t.Fatal(err)
			}
			r := rendered{values: vals}
			for _, name := range []string{"forecaster.yaml", "scaler.yaml"} {
				objs, err := decodeManifest(name, []byte(files["kedastral/templates/"+name]))
				if err != nil {
					t.Fatal(err)
				}
				r.objs = append(r.objs, objs...)
			}
			if r.objs[0].Kind != tc.kind {
				t.Errorf("forecaster is a %s, want a %s", r.objs[0].Kind, tc.kind)
			}
			sc := container(t, find[*appsv1.Deployment](t, r, "Deployment", "kedastral-scaler").Spec.Template)
			if got := args(sc)["--forecaster.url"]; !slices.Equal(got, tc.want) {
				t.Errorf("scaler reads %v, want %v", got, tc.want)
			}
		})
	}
}

// TestChartRefusesCrossNamespaceTLS checks that a ScaledObject outside the
// release namespace, with TLS and no authenticationRef of its own, is
// refused at render: KEDA would not find the Secrets the chart's
// TriggerAuthentication names and would call the scaler in plaintext.
func TestChartRefusesCrossNamespaceTLS(t *testing.T) {
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	doc := "workloads: [{name: api, query: up, scaledObject: {enabled: true, namespace: shop}}]\n" +
		"scaler: {tls: {enabled: true, secretName: scaler-tls, clientAuth: true}}"
	if err := yaml.Unmarshal([]byte(doc), &vals); err != nil {
		t.Fatal(err)
	}
	_, err = Render(c, vals, testRelease)
	want := "workload api: its ScaledObject is in namespace shop, but the scaler's TLS Secrets are in kedastral"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "caCert, tlsClientCert and tlsClientKey") {
		t.Errorf("error %v, want %q naming the parameters", err, want)
	}
}

// TestChartLongNames renders every ci/ values file with the longest
// release name Helm allows (53 characters): every object name stays within
// Kubernetes' limits, the StatefulSet's within 52 (its pods'
// controller-revision-hash label adds up to 11), and no two objects of a
// kind share a name.
func TestChartLongNames(t *testing.T) {
	c, err := LoadChart(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("ci values: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			vals, err := ReadValues(file)
			if err != nil {
				t.Fatal(err)
			}
			rendered, err := Render(c, vals, Release{Name: strings.Repeat("a", 53), Namespace: "kedastral"})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, name := range slices.Sorted(maps.Keys(rendered)) {
				objs, err := decodeManifest(name, []byte(rendered[name]))
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					limit := 63
					if o.Kind == "StatefulSet" {
						limit = 52
					}
					if len(o.Name) > limit {
						t.Errorf("%s %s: %d characters, over %d", o.Kind, o.Name, len(o.Name), limit)
					}
					if key := o.Kind + "/" + o.Name; seen[key] {
						t.Errorf("two objects %s", key)
					} else {
						seen[key] = true
					}
				}
			}
			if len(seen) < 5 {
				t.Errorf("only %d objects rendered", len(seen))
			}
		})
	}
}
