package e2e

import (
	"context"
	"encoding/base64"
	"net"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// KEDA's namespace and the Service the external metrics APIService names.
const (
	kedaNamespace = "keda"
	kedaService   = "keda-operator-metrics-apiserver"
)

// apiServiceResource is the resource of APIServices.
func apiServiceResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
}

// StartKEDA installs KEDA's CRDs from crds, starts its operator and metrics
// API server as they run in a cluster but with certificate rotation off
// (the certificates are the cluster's own, in keda/), and registers the
// metrics server for external.metrics.k8s.io through a selector-less
// Service whose EndpointSlice names the private address. It returns once
// the APIService is available.
func (c *Cluster) StartKEDA(tb testing.TB, crds string) {
	tb.Helper()
	c.InstallCRDs(tb, crds)
	ip := c.opts.IP.String()
	adapterPort := 7443
	grpc := net.JoinHostPort(ip, "9666")
	env := []string{"WATCH_NAMESPACE=", "POD_NAMESPACE=" + kedaNamespace, "KEDA_CLUSTER_OBJECT_NAMESPACE=" + kedaNamespace}
	certs := c.path("keda")
	proctest.Start(tb, "keda-operator", c.bin("keda-operator"), []string{
		"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false", "--enable-cert-rotation=false", "--cert-dir=" + certs,
		"--metrics-service-bind-address=" + grpc,
		"--metrics-bind-address=" + prometheustest.FreeAddr(tb), "--health-probe-bind-address=" + prometheustest.FreeAddr(tb),
	}, env)
	_, metricsPort, err := net.SplitHostPort(prometheustest.FreeAddr(tb))
	if err != nil {
		tb.Fatal(err)
	}
	proctest.Start(tb, "keda-adapter", c.bin("keda-adapter"), []string{
		"--kubeconfig=" + c.Kubeconfig, "--lister-kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=" + ip, "--secure-port=7443", "--cert-dir=" + certs,
		"--tls-cert-file=" + certs + "/tls.crt", "--tls-private-key-file=" + certs + "/tls.key",
		"--metrics-service-address=" + grpc, "--metrics-service-grpc-authority=keda-operator.keda.svc.cluster.local",
		"--port=" + metricsPort,
	}, env)
	c.registerMetricsAPI(tb, adapterPort)
}

// registerMetricsAPI creates KEDA's namespace, the Service and EndpointSlice
// of its metrics server, and the APIService, and waits until it is
// available.
func (c *Cluster) registerMetricsAPI(tb testing.TB, port int) {
	tb.Helper()
	kube, dyn := c.Clients(tb)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	create := func(what string, err error) {
		if err != nil {
			tb.Fatalf("create %s: %v", what, err)
		}
	}
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kedaNamespace}}, metav1.CreateOptions{})
	create("namespace", err)
	_, err = kube.CoreV1().Services(kedaNamespace).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: kedaService},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "https", Port: 443, TargetPort: intstr.FromInt32(int32(port)), //nolint:gosec // a port number
		}}},
	}, metav1.CreateOptions{})
	create("service", err)
	name, proto, ready, p := "https", corev1.ProtocolTCP, true, int32(port) //nolint:gosec // a port number
	_, err = kube.DiscoveryV1().EndpointSlices(kedaNamespace).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: kedaService, Labels: map[string]string{discoveryv1.LabelServiceName: kedaService}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Protocol: &proto, Port: &p}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{c.opts.IP.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}, metav1.CreateOptions{})
	create("endpointslice", err)
	ca, err := os.ReadFile(c.path("ca.crt"))
	if err != nil {
		tb.Fatal(err)
	}
	apiService := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.external.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "external.metrics.k8s.io", "version": "v1beta1",
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service":  map[string]any{"name": kedaService, "namespace": kedaNamespace, "port": int64(443)},
			"caBundle": base64.StdEncoding.EncodeToString(ca),
		},
	}}
	_, err = dyn.Resource(apiServiceResource()).Create(ctx, apiService, metav1.CreateOptions{})
	create("apiservice", err)
	waitCondition(ctx, tb, apiServiceResource(), dyn, "", apiService.GetName(), "Available")
}
