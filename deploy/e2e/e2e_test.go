package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment of `make e2e`.
const (
	// envBin is the directory of the control plane's binaries and CRDs,
	// as scripts/e2e-build.sh prints it. Without it the test skips.
	envBin = "KEDASTRAL_E2E_BIN"
	// envReport is the directory docs/e2e.md and its plot are written to;
	// unset, no report is written.
	envReport = "KEDASTRAL_E2E_REPORT"
	// envNetns is set in the test binary run again inside its own network
	// namespace.
	envNetns = "KEDASTRAL_E2E_NETNS"
)

// privateIP exists only inside the test's network namespace: the API
// server and KEDA's metrics server listen on it, since the aggregation
// layer refuses loopback endpoints.
const privateIP = "10.200.0.1"

// TestMain runs the tests again inside a new network namespace, where
// the private address is added to the loopback interface: nothing the
// control plane does can reach beyond this machine.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envBin) == "":
		// Not under `make e2e`: TestE2E skips itself.
	case os.Getenv(envNetns) == "":
		os.Exit(inNetns())
	default:
		if err := addPrivateIP(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// inNetns runs this test binary again under `unshare --net` and returns its
// exit code.
func inNetns() int {
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user") // a user namespace lets a non-root user own the network one
	}
	args = append(append(args, "--", os.Args[0]), os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envNetns+"=1")
	err := cmd.Run()
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "run the end-to-end test in a network namespace: %v (it needs unshare from util-linux, and root or user namespaces)\n", err)
		return 1
	}
	return 0
}

// addPrivateIP brings the namespace's loopback interface up with the
// private address on it.
func addPrivateIP() error {
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", privateIP + "/32", "dev", "lo"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// TestE2E starts the control plane and KEDA, installs the chart, and runs
// the loop: predictive, forecast-series and reactive Deployments scaled
// side by side through two ramps, with the forecaster killed during the
// second.
func TestE2E(t *testing.T) {
	bin := os.Getenv(envBin)
	if bin == "" {
		t.Skip("run by `make e2e`, which builds the control plane (scripts/e2e-build.sh) and sets " + envBin)
	}
	began := time.Now()
	c := StartCluster(t, ClusterOptions{Bin: bin, IP: net.ParseIP(privateIP), HPASync: poll})
	c.StartKEDA(t, filepath.Join(bin, "keda-crds"))
	ready := time.Since(began)
	t.Logf("control plane and KEDA ready in %v", ready.Round(time.Second))

	var chart []string
	if !t.Run("chart", func(t *testing.T) { chart = installChart(t, c, filepath.Join(bin, "crds")) }) {
		t.FailNow()
	}
	var loop loopResult
	t.Run("loop", func(t *testing.T) { runLoop(t, c, &loop) })
	dir := os.Getenv(envReport)
	if dir == "" || len(loop.run.Samples) < 2 {
		return
	}
	report := Report{
		Run: loop.run, Results: Analyze(loop.run), Setup: setup(bin), Killed: loop.killed, Chart: chart,
		Times: append(buildTimes(t, bin),
			fmt.Sprintf("Starting the control plane and KEDA: %.0f s.", ready.Seconds()),
			fmt.Sprintf("All scenarios, from the first process started to the last assertion: %.0f s.", time.Since(began).Seconds())),
	}
	if err := WriteReport(dir, report); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", filepath.Join(dir, "e2e.md"))
}

// setup describes the control plane from the name of its binaries'
// directory (bin-k8s-V-etcd-V-keda-V).
func setup(bin string) []string {
	parts := strings.Split(filepath.Base(bin), "-")
	version := func(name string) string {
		for i := 0; i+1 < len(parts); i++ {
			if parts[i] == name {
				return parts[i+1]
			}
		}
		return "?"
	}
	return []string{
		fmt.Sprintf("etcd %s, kube-apiserver and kube-controller-manager %s (HPA sync every %.0f s), KEDA operator and metrics API server %s: built from the Go module proxy by scripts/e2e-build.sh.",
			version("etcd"), version("k8s"), poll.Seconds(), version("keda")),
		fmt.Sprintf("All in a network namespace the test creates, the API server and KEDA's metrics server on %s, an address that exists only there. No kubelet: pods stay Pending, and the HPA sets each Deployment's spec.replicas from the external metric alone.", privateIP),
		"The load: a synthetic daily cycle, a base of 75 with ramps to 375 (rise 20 s, hold 60 s, fall 20 s) at two times of day that the run covers, noise ±4 %, written by remote write every 5 s; the forecaster gets the 26 hours before as history.",
		fmt.Sprintf("Forecaster in push mode: model seasonal_naive, step and interval %.0f s, lead time %.0f s, prewarm window 30 s, target 50 per pod, headroom 1, 2 to 12 replicas, the other settings at their defaults (plan_on auto, the reactive floor on); it remote-writes its forecasts into a Prometheus built from the pinned module.", step.Seconds(), lead.Seconds()),
		fmt.Sprintf("predictive: ScaledObject with the external trigger, served by the scaler. forecast-series: KEDA's prometheus trigger on kedastral_forecast_desired_replicas. reactive: KEDA's prometheus trigger on sum(e2e_load), threshold 50, as users scale today. All three: polling every %.0f s, 2 to 12 replicas, the same HPA behaviour (no stabilization, scale-up 1000 %% and scale-down 100 %% per 5 s).", poll.Seconds()),
	}
}

// buildTimes reads the build times scripts/e2e-build.sh recorded when it
// built the binaries.
func buildTimes(t *testing.T, bin string) []string {
	b, err := os.ReadFile(filepath.Join(bin, "build-times.txt"))
	if err != nil {
		t.Logf("no build times: %v", err)
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []string{"Building the control plane on a cold Go cache (scripts/e2e-build.sh, once per version, cached under $HOME/.cache/kedastral-e2e; 2 cores): " +
		strings.Join(lines, ", ") + "."}
}
