package e2e

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// scaledObjectResource is the resource of KEDA's ScaledObjects.
func scaledObjectResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
}

// createTargets creates the namespace, the three Deployments and a
// ScaledObject for each, and waits until KEDA has made their HPAs.
func createTargets(t *testing.T, env *loopEnv) {
	ctx := t.Context()
	if _, err := env.kube.CoreV1().Namespaces().Create(ctx, namespaceObject(namespace), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	triggers := map[string]map[string]any{
		"predictive": {"type": "external", "metadata": map[string]any{"scalerAddress": env.scalerAddr, "workload": workload}},
		"forecast-series": {"type": "prometheus", "metadata": map[string]any{
			"serverAddress": env.prometheus.URL, "query": fmt.Sprintf(`kedastral_forecast_desired_replicas{workload=%q}`, workload), "threshold": "1"}},
		"reactive": {"type": "prometheus", "metadata": map[string]any{
			"serverAddress": env.prometheus.URL, "query": "sum(e2e_load)", "threshold": fmt.Sprint(perPod)}},
	}
	dyn := env.dyn
	for _, name := range deployments() {
		if _, err := env.kube.AppsV1().Deployments(namespace).Create(ctx, deployment(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		so := scaledObject(name, triggers[name])
		if _, err := dyn.Resource(scaledObjectResource()).Namespace(namespace).Create(ctx, so, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create ScaledObject %s: %v", name, err)
		}
	}
	waitCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for _, name := range deployments() {
		waitCondition(waitCtx, t, scaledObjectResource(), dyn, namespace, name, "Ready")
	}
}

// deployment returns a Deployment of two replicas whose pods stay Pending:
// no kubelet runs them.
func deployment(name string) *appsv1.Deployment {
	replicas := int32(minReplica)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/e2e:never-pulled"}}},
			},
		},
	}
}

// scaledObject returns the ScaledObject of a Deployment: the same polling,
// bounds and HPA behaviour for all three, only the trigger differs.
func scaledObject(name string, trigger map[string]any) *unstructured.Unstructured {
	policy := func(kind string, value int64) map[string]any {
		return map[string]any{"stabilizationWindowSeconds": int64(0), "policies": []any{
			map[string]any{"type": kind, "value": value, "periodSeconds": int64(poll.Seconds())}}}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": name},
			"pollingInterval": int64(poll.Seconds()),
			"minReplicaCount": int64(minReplica), "maxReplicaCount": int64(maxReplica),
			"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{"behavior": map[string]any{
				"scaleUp": policy("Percent", 1000), "scaleDown": policy("Percent", 100),
			}}},
			"triggers": []any{trigger},
		},
	}}
}

// namespaceObject returns a Namespace.
func namespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
