package deploy

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binaries are the forecaster and scaler built as the Dockerfiles build
// them (CGO_ENABLED=0, static), by TestMain.
var binaries map[string]string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaries = map[string]string{}
	for _, name := range []string{"forecaster", "scaler"} {
		bin := filepath.Join(dir, name)
		// Built in the main module, with its versions, as `make build` does.
		build := exec.Command("go", "-C", "..", "build", "-trimpath", "-o", bin, "./cmd/"+name)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "CGO_ENABLED=0 go build %s: %v\n%s", name, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		binaries[name] = bin
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestStaticBinariesRun runs both commands built with CGO_ENABLED=0 (for a
// distroless image with no C library): each prints its version and exits
// 0, and needs no dynamic loader.
func TestStaticBinariesRun(t *testing.T) {
	for _, name := range []string{"forecaster", "scaler"} {
		t.Run(name, func(t *testing.T) {
			bin := binaries[name]
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
