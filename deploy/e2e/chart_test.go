package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/release"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/HatiCode/kedastral/deploy"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// installChart installs the chart with every ci/ values file, each release
// in a namespace of its own, after the Prometheus Operator's and
// cert-manager's CRDs in crds (KEDA's are already there), and checks that
// the API server stored every object. It returns a line per values file.
func installChart(t *testing.T, c *Cluster, crds string) []string {
	c.InstallCRDs(t, crds)
	kube, dyn := c.Clients(t)
	ctx := t.Context()
	// tls-secret-values.yaml puts its ScaledObject in the namespace of the
	// Deployment it scales, which the chart does not create.
	if _, err := kube.CoreV1().Namespaces().Create(ctx, namespaceObject("shop"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(prometheustest.ModuleRoot(t), "deploy", "helm", "kedastral")
	chart, err := deploy.LoadChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/ values files in %s: %v", dir, err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery()))
	var lines []string
	for _, file := range files {
		ns := strings.TrimSuffix(filepath.Base(file), "-values.yaml")
		vals, err := deploy.ReadValues(file)
		if err != nil {
			t.Fatal(err)
		}
		manifest := c.helmInstall(t, chart, vals, ns)
		objs, err := decodeObjects([]byte(manifest))
		if err != nil {
			t.Fatalf("%s: release manifest: %v", filepath.Base(file), err)
		}
		kinds := map[string]int{}
		for _, obj := range objs {
			gvk := obj.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatalf("%s: %s: %v", filepath.Base(file), gvk, err)
			}
			objNS := obj.GetNamespace()
			if objNS == "" && m.Scope.Name() == "namespace" {
				objNS = ns
			}
			if _, err := dyn.Resource(m.Resource).Namespace(objNS).Get(ctx, obj.GetName(), metav1.GetOptions{}); err != nil {
				t.Errorf("%s: %s %s/%s installed but not stored: %v", filepath.Base(file), gvk.Kind, objNS, obj.GetName(), err)
			}
			kinds[gvk.Kind]++
		}
		lines = append(lines, fmt.Sprintf("`ci/%s`: %d objects accepted by the API server's validation and stored (%s).", filepath.Base(file), len(objs), countKinds(kinds)))
	}
	checkRefused(t, c)
	return append(lines, "A ScaledObject whose minReplicaCount is a string is refused (422 Invalid): the CRDs' schemas are enforced, not only installed.")
}

// helmInstall installs the chart as release kedastral in namespace ns,
// created by the install, without waiting for pods (none run here), and
// returns the release's manifest.
func (c *Cluster) helmInstall(t *testing.T, chart any, vals map[string]any, ns string) string {
	getter := genericclioptions.NewConfigFlags(false)
	getter.KubeConfig, getter.Namespace = &c.Kubeconfig, &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(getter, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.CreateNamespace = "kedastral", ns, true
	install.WaitStrategy, install.Timeout = kube.HookOnlyStrategy, 2*time.Minute
	rel, err := install.RunWithContext(t.Context(), chart, vals)
	if err != nil {
		t.Fatalf("helm install with %s-values.yaml: %v", ns, err)
	}
	acc, err := release.NewAccessor(rel)
	if err != nil {
		t.Fatal(err)
	}
	return acc.Manifest()
}

// checkRefused checks that the API server validates custom resources
// against their CRD's schema: what makes the chart's acceptance mean
// something.
func checkRefused(t *testing.T, c *Cluster) {
	_, dyn := c.Clients(t)
	so := scaledObject("refused", map[string]any{"type": "cpu", "metadata": map[string]any{"value": "50"}})
	so.SetNamespace("shop")
	so.Object["spec"].(map[string]any)["minReplicaCount"] = "two"
	_, err := dyn.Resource(scaledObjectResource()).Namespace("shop").Create(context.Background(), so, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("a ScaledObject with minReplicaCount \"two\" was answered %v; want 422 Invalid", err)
	}
}

// countKinds lists kinds with their counts, such as "ConfigMap, Service ×2".
func countKinds(kinds map[string]int) string {
	var out []string
	for k, n := range kinds {
		if n > 1 {
			k = fmt.Sprintf("%s ×%d", k, n)
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
