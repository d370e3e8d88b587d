package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	certmanagerv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// object is one decoded Kubernetes object of a manifest.
type object struct {
	// Source names where it came from (template or file name).
	Source string
	// Kind and Name identify it.
	Kind, Name string
	// Obj is the typed object: *appsv1.Deployment, *corev1.Service, ...
	Obj any
}

// newTyped returns an empty object of the Go type of apiVersion and kind,
// or an error for a kind this project never renders.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	case "keda.sh/v1alpha1/ScaledObject":
		return &kedav1alpha1.ScaledObject{}, nil
	case "keda.sh/v1alpha1/TriggerAuthentication":
		return &kedav1alpha1.TriggerAuthentication{}, nil
	case "cert-manager.io/v1/Certificate":
		return &certmanagerv1.Certificate{}, nil
	case "cert-manager.io/v1/Issuer":
		return &certmanagerv1.Issuer{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %s %s", apiVersion, kind)
}

// decodeStrict decodes one YAML document into its Kubernetes API type,
// refusing unknown and duplicate fields, and checks it has a name.
func decodeStrict(source string, doc []byte) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return object{}, fmt.Errorf("%s: type: %w", source, err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return object{}, fmt.Errorf("%s: no apiVersion or kind", source)
	}
	obj, err := newTyped(tm.APIVersion, tm.Kind)
	if err != nil {
		return object{}, fmt.Errorf("%s: %w", source, err)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return object{}, fmt.Errorf("%s: %s: %w", source, tm.Kind, err)
	}
	meta, ok := obj.(metav1.Object)
	if !ok || meta.GetName() == "" {
		return object{}, fmt.Errorf("%s: %s has no metadata.name", source, tm.Kind)
	}
	return object{Source: source, Kind: tm.Kind, Name: meta.GetName(), Obj: obj}, nil
}

// decodeManifest splits a multi-document YAML stream and decodes every
// non-empty document strictly.
func decodeManifest(source string, data []byte) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if isBlank(string(doc)) {
			continue
		}
		o, err := decodeStrict(source, doc)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
}

// decodeFile decodes every object of a manifest file.
func decodeFile(t *testing.T, path string) []object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifest(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 {
		t.Fatalf("%s holds no object", path)
	}
	return objs
}

// TestDecodeStrictRefuses checks the decoder itself: a misspelt field, a
// wrong type and an unknown kind are errors, so the tests that use it can
// fail.
func TestDecodeStrictRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {prots: []}\n", `unknown field "prots"`},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: two}\n", "cannot unmarshal"},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, name: b}\n", "already set"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "unexpected kind v1 Pod"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "no metadata.name"},
		{"keda misspelt", "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}\nspec: {scaleTargetRef: {name: a}, triggers: [{type: external, metdata: {}}]}\n", `unknown field "metdata"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeManifest("test", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// validateScaledObject runs the checks of KEDA's admission webhook that
// need no cluster: replica bounds, fallback, triggers, and the scaling
// modifiers' formula and target.
func validateScaledObject(so *kedav1alpha1.ScaledObject) error {
	if err := kedav1alpha1.CheckReplicaCountBoundsAreValid(so); err != nil {
		return err
	}
	if err := kedav1alpha1.CheckFallbackValid(so); err != nil {
		return err
	}
	if err := kedav1alpha1.ValidateTriggers(so.Spec.Triggers); err != nil {
		return err
	}
	if so.IsUsingModifiers() {
		if _, err := kedav1alpha1.ValidateAndCompileScalingModifiers(so); err != nil {
			return err
		}
	}
	return nil
}
