package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStaticBinariesRun builds both commands as the Dockerfiles do
// (CGO_ENABLED=0, for a distroless image with no C library) and runs them:
// each prints its version and exits 0.
func TestStaticBinariesRun(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"forecaster", "scaler"} {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(dir, name)
			build := exec.Command("go", "build", "-trimpath", "-o", bin, "../cmd/"+name)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin, "--version").CombinedOutput()
			if err != nil || !strings.Contains(string(out), name+", version") {
				t.Errorf("%s --version: %v\n%s", name, err, out)
			}
			// A static binary needs no dynamic loader: no PT_INTERP header.
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s asks for a dynamic loader: it is not static", name)
				}
			}
		})
	}
}

// TestDockerfiles checks what the images promise: a static build, a
// distroless non-root base, no shell form that needs /bin/sh at run time.
func TestDockerfiles(t *testing.T) {
	for _, name := range []string{"forecaster", "scaler"} {
		b, err := os.ReadFile(filepath.Join("docker", "Dockerfile."+name))
		if err != nil {
			t.Fatal(err)
		}
		d := string(b)
		for _, want := range []string{
			"CGO_ENABLED=0 go build",
			"./cmd/" + name,
			"FROM gcr.io/distroless/static-debian12:nonroot",
			"USER nonroot:nonroot",
			`ENTRYPOINT ["/` + name,
		} {
			if !strings.Contains(d, want) {
				t.Errorf("Dockerfile.%s lacks %q", name, want)
			}
		}
	}
}
