// Package deploy renders Kedastral's Helm chart with Helm's own packages,
// as `helm template` does: for the plain manifests of deploy/examples and
// for the tests that check every object the chart can produce.
package deploy

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"
)

// Release names the release a chart is rendered for.
type Release struct {
	// Name is the release name, such as kedastral.
	Name string
	// Namespace is the release namespace.
	Namespace string
	// Service is what the app.kubernetes.io/managed-by label says:
	// Helm when empty.
	Service string
}

// LoadChart loads the chart in dir.
func LoadChart(dir string) (*chart.Chart, error) {
	c, err := loader.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return c, nil
}

// ReadValues reads a values file.
func ReadValues(file string) (map[string]any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read values: %w", err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("parse values %s: %w", file, err)
	}
	return vals, nil
}

// Render renders the chart's templates with vals over the chart's
// values.yaml, after checking them against values.schema.json, as `helm
// template` does. It returns the rendered manifests by template path
// (empty ones and NOTES.txt left out).
func Render(c *chart.Chart, vals map[string]any, rel Release) (map[string]string, error) {
	files, err := renderAll(c, vals, rel)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, content := range files {
		if path.Base(name) == "NOTES.txt" || strings.TrimSpace(content) == "" {
			continue
		}
		out[name] = content
	}
	return out, nil
}

// Notes renders the chart's NOTES.txt with vals.
func Notes(c *chart.Chart, vals map[string]any, rel Release) (string, error) {
	files, err := renderAll(c, vals, rel)
	if err != nil {
		return "", err
	}
	for name, content := range files {
		if path.Base(name) == "NOTES.txt" {
			return content, nil
		}
	}
	return "", fmt.Errorf("chart %s has no NOTES.txt", c.Name())
}

// renderAll checks vals against the schema and renders every template.
func renderAll(c *chart.Chart, vals map[string]any, rel Release) (map[string]string, error) {
	opts := common.ReleaseOptions{Name: rel.Name, Namespace: rel.Namespace, IsInstall: true, Revision: 1}
	top, err := util.ToRenderValues(c, vals, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	if rel.Service != "" {
		if r, ok := top["Release"].(map[string]any); ok {
			r["Service"] = rel.Service
		}
	}
	files, err := engine.Render(c, top)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return files, nil
}

// Manifest joins rendered templates into one YAML stream in template-name
// order, each document headed by a "# Source:" comment as helm template
// writes it.
func Manifest(files map[string]string) string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		for _, doc := range strings.Split(files[name], "\n---") {
			doc = strings.Trim(doc, "\n")
			if isBlank(doc) {
				continue
			}
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, doc)
		}
	}
	return b.String()
}

// isBlank reports whether a YAML document holds only comments and space.
func isBlank(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// InstallNamespace is the namespace of the plain-manifest install.
const InstallNamespace = "kedastral"

// InstallManifest renders the install without Helm: the chart in chartDir
// with the values file, as release kedastral in the kedastral namespace,
// headed by that Namespace, for `kubectl apply -f`.
func InstallManifest(chartDir, valuesFile string) (string, error) {
	c, err := LoadChart(chartDir)
	if err != nil {
		return "", err
	}
	vals, err := ReadValues(valuesFile)
	if err != nil {
		return "", err
	}
	files, err := Render(c, vals, Release{Name: "kedastral", Namespace: InstallNamespace, Service: "kubectl"})
	if err != nil {
		return "", err
	}
	return "# Kedastral without Helm: the chart deploy/helm/kedastral rendered with\n" +
		"# deploy/examples/install-values.yaml by `make manifests`. Do not edit: change\n" +
		"# the values and render again. To change the workloads of a running install,\n" +
		"# edit the ConfigMap kedastral-forecaster, then\n" +
		"#   kubectl -n kedastral rollout restart statefulset/kedastral-forecaster\n" +
		"# Install:\n" +
		"#   kubectl apply -f install.yaml\n" +
		"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + InstallNamespace + "\n" +
		Manifest(files), nil
}
