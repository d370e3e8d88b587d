package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// tmpfsNamespace is a private mount namespace holding a small tmpfs at
// dir, kept alive by a sleeping process; commands run in it by nsenter.
type tmpfsNamespace struct {
	dir    string
	holder *exec.Cmd
}

// newTmpfsNamespace mounts a tmpfs of size bytes at a new temporary
// directory, in a mount namespace of its own, so that nothing outside the
// test sees it. It skips the test where that cannot be done (not root, no
// unshare or nsenter).
func newTmpfsNamespace(t *testing.T, size int) *tmpfsNamespace {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs in a mount namespace needs root")
	}
	for _, tool := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	ns := &tmpfsNamespace{dir: t.TempDir()}
	ns.holder = exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t tmpfs -o size="$1" tmpfs "$2" && echo mounted && exec sleep 3600`, "sh", strconv.Itoa(size), ns.dir)
	out, err := ns.holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	ns.holder.Stderr = &stderr
	if err := ns.holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ns.holder.Process.Kill()
		_ = ns.holder.Wait()
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "mounted\n" {
		t.Skipf("cannot mount a tmpfs in a mount namespace: %q, %v: %s", line, err, stderr.String())
	}
	return ns
}

// enter returns the arguments of nsenter that run command in the namespace.
func (ns *tmpfsNamespace) enter(command ...string) []string {
	return append([]string{"-t", strconv.Itoa(ns.holder.Process.Pid), "-m", "--"}, command...)
}

// sh runs a shell script in the namespace, with the tmpfs's path as $1.
func (ns *tmpfsNamespace) sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("nsenter", ns.enter("sh", "-c", script, "sh", ns.dir)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", script, err, out)
	}
	return string(out)
}

// startForecaster runs the forecaster in push mode on the tmpfs, with
// extra flags, and waits until it is healthy.
func (ns *tmpfsNamespace) startForecaster(t *testing.T, extra ...string) *process {
	t.Helper()
	addr := prometheustest.FreeAddr(t)
	args := append([]string{bins["forecaster"], "--workload=app", "--query=sum(load)", "--interval=1h",
		"--storage.path=" + filepath.Join(ns.dir, "data"), "--web.listen-address=" + addr}, extra...)
	p := &process{Process: proctest.Start(t, "forecaster", "nsenter", ns.enter(args...), nil), url: "http://" + addr}
	testutil.WaitFor(t, 60*time.Second, "the forecaster healthy", func() bool {
		select {
		case <-p.Exited():
			t.Fatalf("forecaster exited: %v\n%s", p.Err(), p.Logs())
		default:
		}
		code, _, _ := get(t, p.url+"/-/healthy")
		return code == http.StatusOK
	})
	return p
}

// loadRequest returns the request of a round: 50 new series of load
// labelled with the round, 20 random samples each, a second apart from
// start: 1,000 samples that compress badly.
func loadRequest(round int, start time.Time) []prompb.TimeSeries {
	series := make([]prompb.TimeSeries, 50)
	for i := range series {
		series[i].Labels = []prompb.Label{{Name: "__name__", Value: "load"},
			{Name: "pod", Value: fmt.Sprintf("pod-%02d-%x", i, rand.Uint64())}, {Name: "round", Value: strconv.Itoa(round)}}
		for k := range 20 {
			series[i].Samples = append(series[i].Samples, prompb.Sample{
				Value: rand.Float64(), Timestamp: start.Add(time.Duration(k) * time.Second).UnixMilli(),
			})
		}
	}
	return series
}

// storedRounds reads the storage with promtool, in the namespace, and
// returns how many samples of each round (its label) it holds.
func (ns *tmpfsNamespace) storedRounds(t *testing.T) map[int]int {
	t.Helper()
	out := ns.sh(t, fmt.Sprintf(`%s tsdb dump --match='{__name__="load"}' "$1/data"`, prometheustest.Binary(t, "promtool")))
	rounds := map[int]int{}
	roundLabel := regexp.MustCompile(`round="(\d+)"`)
	for line := range strings.Lines(out) {
		m := roundLabel.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatalf("dump line %q: %v", line, err)
		}
		rounds[r]++
	}
	return rounds
}

// TestDiskFull fills the forecaster's disk, a 24 MiB tmpfs, but for
// 2 MiB while a sender writes, frees it, writes again, kills the
// forecaster and starts it again: every sample it answered 204 for is
// still stored. While the disk is nearly full (under
// --storage.min-free-space) it answers 503, so that the sender keeps the
// samples and retries.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	ns := newTmpfsNamespace(t, 24<<20)
	fc := ns.startForecaster(t, "--storage.min-free-space=4MiB")
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	acked := map[int]bool{}
	refused := 0
	push := func(round int) int {
		code := testutil.PushV1(t, fc.url+"/api/v1/write", loadRequest(round, start.Add(time.Duration(round)*20*time.Second))...)
		if code == http.StatusNoContent {
			acked[round] = true
		}
		return code
	}
	round := 0
	for ; round < 5; round++ {
		if code := push(round); code != http.StatusNoContent {
			t.Fatalf("round %d on an empty disk: %d", round, code)
		}
	}
	// Fill the disk but for 2 MiB: under the 4 MiB minimum.
	ns.sh(t, `dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null; truncate -s -2M "$1/filler"`)
	// Write until three rounds are refused (503), at most 400 rounds.
	for ; refused < 3 && round < 400; round++ {
		code := push(round)
		if code != http.StatusNoContent && code != http.StatusServiceUnavailable {
			t.Fatalf("round %d on a full disk: %d, want 204 or 503", round, code)
		}
		if code == http.StatusServiceUnavailable {
			refused++
		}
	}
	if refused == 0 {
		t.Error("no write refused with 503 in 400 rounds of 1,000 samples on a full disk")
	}
	// Space again: writes are taken.
	ns.sh(t, `rm "$1/filler"`)
	for end := round + 20; round < end; round++ {
		if code := push(round); code != http.StatusNoContent {
			t.Errorf("round %d once the disk has room: %d, want 204", round, code)
		}
	}
	// Killed, not stopped: what is answered must be on disk already.
	_ = fc.Cmd.Process.Kill()
	<-fc.Exited()
	ns.startForecaster(t, "--storage.min-free-space=4MiB").Terminate(t)
	stored := ns.storedRounds(t)
	for r := range acked {
		// 50 series × 20 samples a round.
		if stored[r] != 1000 {
			t.Errorf("round %d answered 204, but %d of its 1000 samples are stored after the restart", r, stored[r])
		}
	}
	t.Logf("%d rounds answered 204, %d refused with 503", len(acked), refused)
}
