package benchproc

import (
	"bufio"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Env describes where and with what a benchmark was run.
type Env struct {
	Date       string
	CPUs       int
	CPUModel   string
	Platform   string
	Prometheus string
	Forecaster string
}

// Environment reads the machine and the versions of the binaries of bin.
func Environment(bin string) (Env, error) {
	e := Env{
		Date:     time.Now().UTC().Format(time.DateOnly),
		CPUs:     runtime.NumCPU(),
		CPUModel: cpuModel(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	var err error
	if e.Prometheus, err = binaryVersion(filepath.Join(bin, "prometheus")); err != nil {
		return Env{}, err
	}
	if e.Forecaster, err = binaryVersion(filepath.Join(bin, "forecaster")); err != nil {
		return Env{}, err
	}
	return e, nil
}

// cpuModel returns the first model name of /proc/cpuinfo, or "unknown CPU".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// binaryVersion returns the module version and Go version a binary was
// built with. A binary built from a work tree has no module version; its
// --version, set at link time, names it instead.
func binaryVersion(path string) (string, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the build information of %s: %w", path, err)
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		out, err := exec.Command(path, "--version").CombinedOutput() //nolint:gosec // the binaries of bin/, run on purpose
		if err != nil {
			return "", fmt.Errorf("ask %s its version: %w", path, err)
		}
		// "forecaster, version e91f463 (branch: main, revision: e91f463b…)"
		first, _, _ := strings.Cut(string(out), "\n")
		_, version, _ = strings.Cut(first, "version ")
	}
	return fmt.Sprintf("%s %s, %s", info.Main.Path, strings.TrimSpace(version), info.GoVersion), nil
}

// Thousands formats x rounded to an integer, with thousands separated by
// commas.
func Thousands(x float64) string {
	s := strconv.FormatFloat(x, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// MiB formats bytes in mebibytes, with one decimal.
func MiB(x float64) string { return fmt.Sprintf("%.1f MiB", x/(1<<20)) }
