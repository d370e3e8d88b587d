// Command render writes the monitoring mixin's generated files:
// `go run ./mixin/render` (what `make mixin` runs).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/HatiCode/kedastral/mixin"
)

func main() {
	dir := flag.String("dir", "mixin", "Directory of mixin.libsonnet.")
	out := flag.String("out", filepath.Join("mixin", "generated"), "Directory the generated files are written to; its dashboards/ is replaced.")
	chart := flag.String("chart-files", filepath.Join("deploy", "helm", "kedastral", "files"), "Directory of the Helm chart's copy of the same files; empty writes none.")
	flag.Parse()
	files, err := mixin.Render(*dir)
	if err == nil {
		err = write(files, *out)
	}
	if err == nil && *chart != "" {
		err = write(files, *chart)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

// write writes the rendered files under out, replacing its dashboards/.
func write(files map[string][]byte, out string) error {
	if err := os.RemoveAll(filepath.Join(out, "dashboards")); err != nil {
		return fmt.Errorf("clear dashboards: %w", err)
	}
	for name, content := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("make %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
