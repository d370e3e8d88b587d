// Package mixin renders Kedastral's monitoring mixin, written in jsonnet in
// this directory, into the files Prometheus and Grafana load: alerts.yaml,
// rules.yaml and dashboards/*.json under generated/.
package mixin

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-jsonnet"
)

// Render evaluates dir/mixin.libsonnet and returns the generated files by
// path relative to generated/: alerts.yaml, rules.yaml and
// dashboards/<name>.json.
func Render(dir string) (map[string][]byte, error) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{dir}})
	snippet := `local m = import 'mixin.libsonnet';
{
  'alerts.yaml': std.manifestYamlDoc(m.prometheusAlerts, quote_keys=false),
  'rules.yaml': std.manifestYamlDoc(m.prometheusRules, quote_keys=false),
} + {
  ['dashboards/' + name]: std.manifestJsonEx(m.grafanaDashboards[name], '  ')
  for name in std.objectFields(m.grafanaDashboards)
}`
	out, err := vm.EvaluateAnonymousSnippet(filepath.Join(dir, "render.jsonnet"), snippet)
	if err != nil {
		return nil, fmt.Errorf("render mixin: %w", err)
	}
	var files map[string]string
	if err := json.Unmarshal([]byte(out), &files); err != nil {
		return nil, fmt.Errorf("render mixin: %w", err)
	}
	rendered := make(map[string][]byte, len(files))
	for name, content := range files {
		if !strings.HasSuffix(content, "\n") {
			content += "\n"
		}
		rendered[name] = []byte(content)
	}
	return rendered, nil
}
