// Command render writes deploy/examples/install.yaml, the install without
// Helm: the chart rendered with deploy/examples/install-values.yaml into
// the kedastral namespace, headed by that Namespace (`make manifests`).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/HatiCode/kedastral/deploy"
)

func main() {
	// The paths are those of the deploy module's directory, where
	// `make manifests` runs it.
	chartDir := flag.String("chart", filepath.Join("helm", "kedastral"), "Directory of the chart.")
	values := flag.String("values", filepath.Join("examples", "install-values.yaml"), "Values file to render with.")
	out := flag.String("out", filepath.Join("examples", "install.yaml"), "File written.")
	flag.Parse()
	if err := run(*chartDir, *values, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(chartDir, values, out string) error {
	manifest, err := deploy.InstallManifest(chartDir, values)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(manifest), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
