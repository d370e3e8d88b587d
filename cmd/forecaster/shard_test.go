package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// shardOwners pins the shard, of three, that owns each workload name, so
// that a change of hash — which would move workloads between the shards of a
// running deployment — fails the test. Worked out apart from the Go code,
// with 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3,
// for each byte: h ^= byte; h *= prime, modulo 2⁶⁴) over the bytes of the
// name:
//
//	name  FNV-1a 64           decimal               mod 3
//	w0    0x08cb8607b56d7952  633747540242430290    2
//	w1    0x08cb8707b56d7b05  633748639754058501    0
//	w2    0x08cb8407b56d75ec  633745341219173868    0
//	w3    0x08cb8507b56d779f  633746440730802079    1
//	w4    0x08cb8207b56d7286  633743142195917446    1
//	w5    0x08cb8307b56d7439  633744241707545657    2
//	w6    0x08cb8007b56d6f20  633740943172661024    2
//	w7    0x08cb8107b56d70d3  633742042684289235    0
//	w8    0x08cb8e07b56d86ea  633756336335455978    1
//
// Shard 0 owns w1, w2, w7; shard 1 owns w3, w4 (and w8); shard 2 owns w0,
// w5, w6: no shard is empty, so a shard that ignored --shard.index is seen.
var shardOwners = []int{2, 0, 0, 1, 1, 2, 2, 0, 1}

// TestShardsSplitWorkloads runs three shards of the forecaster on one
// configuration file and checks that every workload is forecast by exactly
// its owner, before and after a reload that adds a workload.
func TestShardsSplitWorkloads(t *testing.T) {
	const shards = 3
	for i, want := range shardOwners {
		name := fmt.Sprintf("w%d", i)
		if got := config.ShardOf(name, shards); got != want {
			t.Fatalf("config.ShardOf(%q, %d) = %d, pinned %d: the hash changed, and with it the shard of deployed workloads", name, shards, got, want)
		}
	}

	prom := prometheustest.Start(t, prometheustest.Options{})
	config := filepath.Join(t.TempDir(), "kedastral.yml")
	// write lists workloads w0 … w(n−1), wi with the constant load 100+i.
	write := func(n int) {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "prometheus:\n  url: %s\nworkloads:\n", prom.URL)
		for i := range n {
			fmt.Fprintf(&b, "  - name: w%d\n    query: vector(%d)\n    interval: 1s\n    step: 1s\n    window: 10s\n    horizon: 10s\n", i, 100+i)
		}
		if err := os.WriteFile(config, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(8)

	fcs := make([]*process, shards)
	for s := range fcs {
		fcs[s] = startForecaster(t, []string{
			"--config.file=" + config, "--web.enable-lifecycle",
			fmt.Sprintf("--shard.count=%d", shards),
			fmt.Sprintf("--shard.index=%d", s),
		}, nil, true)
	}

	// check waits until every shard is ready — /-/ready answers 200 once
	// every workload the shard runs has a forecast, so a shard that ran a
	// workload it does not own would serve it by then — and has the
	// snapshot of each of its workloads, then checks who serves what.
	check := func(n int) {
		t.Helper()
		for s, fc := range fcs {
			testutil.WaitFor(t, time.Minute, fmt.Sprintf("shard %d ready with its workloads", s), func() bool {
				if code, _, _ := get(t, fc.url+"/-/ready"); code != http.StatusOK {
					return false
				}
				for i := range n {
					if shardOwners[i] != s {
						continue
					}
					if snap, _, ok := fc.snapshot(t, fmt.Sprintf("w%d", i)); !ok || snap.ObservedValue != float64(100+i) {
						return false
					}
				}
				return true
			})
		}

		served := make([][]string, shards) // the workloads each shard serves
		for i := range n {
			name := fmt.Sprintf("w%d", i)
			var servers []int
			for s, fc := range fcs {
				code, _, body := get(t, fc.url+"/forecast/current?workload="+name)
				switch code {
				case http.StatusOK:
					servers = append(servers, s)
					served[s] = append(served[s], name)
					if snap, _, ok := fc.snapshot(t, name); !ok || snap.ObservedValue != float64(100+i) || snap.Workload != name {
						t.Errorf("shard %d serves %s as %+v, want observedValue %d", s, name, snap, 100+i)
					}
				case http.StatusNotFound:
				default:
					t.Errorf("shard %d answered %d for %s, want 200 or 404: %s", s, code, name, body)
				}
			}
			if want := []int{shardOwners[i]}; !slices.Equal(servers, want) {
				t.Errorf("%s is served by shards %v, want only its owner %v", name, servers, want)
			}
		}

		covered := 0
		for s, fc := range fcs {
			var own []string
			for i := range n {
				if shardOwners[i] == s {
					own = append(own, fmt.Sprintf("w%d", i))
				}
			}
			covered += len(served[s])
			var series []string
			for _, m := range fc.metrics(t).Family(t, "kedastral_forecast_desired_replicas").GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "workload" {
						series = append(series, l.GetValue())
					}
				}
			}
			slices.Sort(series)
			if !slices.Equal(series, own) {
				t.Errorf("shard %d has kedastral_forecast_desired_replicas for %v, want its own workloads %v", s, series, own)
			}
		}
		if covered != n {
			t.Errorf("the shards serve %d workloads between them, want all %d, each once", covered, n)
		}
	}
	check(8)
	if t.Failed() {
		t.FailNow()
	}

	// A ninth workload appears in the file: every shard reloads it, and only
	// its owner takes it.
	write(9)
	for s, fc := range fcs {
		resp, err := http.Post(fc.url+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload of shard %d answered %d, want 200", s, resp.StatusCode)
		}
	}
	check(9)

	for _, fc := range fcs {
		fc.Terminate(t)
	}
}
