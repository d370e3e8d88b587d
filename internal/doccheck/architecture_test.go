package doccheck

import (
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// packageTable returns the section of docs/architecture.md that holds the
// package table.
func packageTable(t *testing.T) string {
	t.Helper()
	section, err := Section(ReadDoc(t, Architecture), regexp.MustCompile(`^Package layout$`))
	if err != nil {
		t.Fatalf("%s: %v", Architecture, err)
	}
	return section
}

// TestPackageTable checks that the package table of docs/architecture.md
// names every Go package of the repository: those `go list ./...` lists at
// the root and in the deploy module, each in the first cell of a row.
func TestPackageTable(t *testing.T) {
	named := FirstCells(packageTable(t))
	root := prometheustest.ModuleRoot(t)
	for _, module := range []string{".", "deploy"} {
		pkgs, err := Packages(t.Context(), filepath.Join(root, module))
		if err != nil {
			t.Fatal(err)
		}
		if len(pkgs) == 0 {
			t.Fatalf("go list ./... in %s lists no package", module)
		}
		for _, pkg := range pkgs {
			if !slices.Contains(named, pkg) {
				t.Errorf("package %s is not in the package table of %s: add a row for it (or name it, as `%s`, in the first cell of its group's row)",
					pkg, Architecture, pkg)
			}
		}
	}
}

// TestModelsNamed checks that the package table names every model
// forecast.NewModel makes, by the name a workload's model setting takes.
func TestModelsNamed(t *testing.T) {
	table := packageTable(t)
	for _, name := range forecast.ModelNames() {
		if !slices.Contains(codeSpans(table), name) {
			t.Errorf("model %s is not named, as `%s`, in the package table of %s (the forecast row)", name, name, Architecture)
		}
	}
}
