package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksWhatItRuns: the scaler links neither the models (forecast,
// capacity, gonum) nor Prometheus's server code (the PromQL engine and
// parser, the TSDB): it only reads plans and serves them.
func TestLinksWhatItRuns(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed %d packages, too few to be the scaler's", len(deps))
	}
	banned := []string{
		"gonum.org/",
		"github.com/prometheus/prometheus/",
		"github.com/HatiCode/kedastral/forecast",
		"github.com/HatiCode/kedastral/capacity",
		"github.com/HatiCode/kedastral/internal/config",
		"github.com/HatiCode/kedastral/internal/engine",
	}
	for _, dep := range deps {
		for _, b := range banned {
			if strings.HasPrefix(dep, b) {
				t.Errorf("the scaler links %s", dep)
			}
		}
	}
}
