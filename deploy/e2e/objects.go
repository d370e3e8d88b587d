package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// crdResource is the resource of CustomResourceDefinitions.
func crdResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
}

// Clients returns typed and dynamic clients of the cluster.
func (c *Cluster) Clients(tb testing.TB) (kubernetes.Interface, dynamic.Interface) {
	tb.Helper()
	kube, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		tb.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		tb.Fatal(err)
	}
	return kube, dyn
}

// InstallCRDs creates the CustomResourceDefinitions of every YAML file in
// dir and waits until each is established.
func (c *Cluster) InstallCRDs(tb testing.TB, dir string) []string {
	tb.Helper()
	_, dyn := c.Clients(tb)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no CRDs in %s (%v): run scripts/e2e-build.sh", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var names []string
	for _, file := range files {
		for _, obj := range readObjects(tb, file) {
			if _, err := dyn.Resource(crdResource()).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
				tb.Fatalf("create CRD %s from %s: %v", obj.GetName(), file, err)
			}
			names = append(names, obj.GetName())
		}
	}
	for _, name := range names {
		waitCondition(ctx, tb, crdResource(), dyn, "", name, "Established")
	}
	return names
}

// readObjects decodes every object of a multi-document YAML file.
func readObjects(tb testing.TB, file string) []*unstructured.Unstructured {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	objs, err := decodeObjects(data)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return objs
}

// decodeObjects decodes the objects of multi-document YAML, skipping empty
// documents.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufioReader(data))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read yaml: %w", err)
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("decode yaml: %w", err)
		}
		if len(obj) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
	}
}

// waitCondition waits until the object's status has condition cond True.
func waitCondition(ctx context.Context, tb testing.TB, gvr schema.GroupVersionResource, dyn dynamic.Interface, ns, name, cond string) {
	tb.Helper()
	var last string
	for {
		obj, err := dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == cond {
					if m["status"] == "True" {
						return
					}
					last = fmt.Sprintf("%v: %v", m["reason"], m["message"])
				}
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("%s %s/%s not %s: %s", gvr.Resource, ns, name, cond, strings.TrimSpace(last))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// bufioReader wraps data for the YAML reader.
func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }
