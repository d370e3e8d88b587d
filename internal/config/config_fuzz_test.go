package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/HatiCode/kedastral/forecast"
)

// FuzzLoad feeds arbitrary bytes to the configuration loader: it must never
// panic, and what it accepts must be a configuration the engine can run.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("workloads:\n  - name: a\n    query: up\n    step: 1ms\n    horizon: 1y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(data, t.TempDir())
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted a configuration that does not validate: %v", err)
		}
		for _, w := range cfg.Workloads {
			if w.Steps() < 1 || w.Steps() > maxPoints || w.Points() < 1 || w.Points() > maxWindowPoints || w.Interval <= 0 {
				t.Fatalf("workload %q: %d steps, %d points, interval %v", w.Name, w.Steps(), w.Points(), w.Interval)
			}
			if _, err := forecast.NewModel(w.Model, forecast.ModelOptions{}); err != nil {
				t.Fatalf("workload %q: %v", w.Name, err)
			}
		}
	})
}
