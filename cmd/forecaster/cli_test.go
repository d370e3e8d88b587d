package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestBadCommandLine checks that bad flags and bad configuration files stop
// the forecaster with a non-zero exit and one line saying why, never a panic.
func TestBadCommandLine(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(badConfig, []byte("workloads:\n  - name: a\n    query: up\n    capacity:\n      min_replicas: 9\n      max_replicas: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notYAML := filepath.Join(dir, "not.yml")
	if err := os.WriteFile(notYAML, []byte("workloads: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := "--prometheus.url=http://127.0.0.1:9"
	tests := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		wantMsg  string
	}{
		{name: "unknown flag", args: []string{"--no-such-flag"}, wantCode: 2, wantMsg: "unknown long flag '--no-such-flag'"},
		{name: "nothing to forecast", args: []string{url}, wantCode: 2, wantMsg: "--query (or --config.file) is required"},
		{name: "query without workload", args: []string{url, "--query=up"}, wantCode: 2, wantMsg: "--workload is required with --query"},
		{name: "bad duration", args: []string{url, "--query=up", "--workload=a", "--interval=soon"}, wantCode: 2, wantMsg: `not a valid duration string: "soon"`},
		{name: "bad number", args: []string{url, "--query=up", "--workload=a", "--headroom=lots"}, wantCode: 2, wantMsg: "lots"},
		// kingpin's IntVar would truncate these to 0 and 4.
		{name: "fractional min-replicas", args: []string{url, "--query=up", "--workload=a", "--min-replicas=0.9"}, wantCode: 2, wantMsg: `--min-replicas="0.9" is not a whole number`},
		{name: "fractional max-replicas", args: []string{url, "--query=up", "--workload=a", "--max-replicas=4.9"}, wantCode: 2, wantMsg: `--max-replicas="4.9" is not a whole number`},
		{name: "max-replicas out of range", args: []string{url, "--query=up", "--workload=a", "--max-replicas=99999999999999999999"}, wantCode: 2, wantMsg: `--max-replicas="99999999999999999999" is not a whole number`},
		{name: "fractional alias", args: []string{url, "--query=up", "--workload=a", "--min=1.5"}, wantCode: 2, wantMsg: `--min="1.5" is not a whole number`},
		{name: "fractional receiver limit", args: []string{"--receiver.max-series=1e6"}, wantCode: 2, wantMsg: `--receiver.max-series="1e6" is not a whole number`},
		{name: "unknown model", args: []string{url, "--query=up", "--workload=a", "--model=prophet"}, wantCode: 2, wantMsg: "enum value must be one of auto,baseline,holt_winters,seasonal_naive, got 'prophet'"},
		{name: "min above max", args: []string{url, "--query=up", "--workload=a", "--min-replicas=10", "--max-replicas=5"}, wantCode: 1, wantMsg: "min_replicas must not be above max_replicas (10 > 5)"},
		{name: "bad PromQL", args: []string{url, "--query=sum(", "--workload=a"}, wantCode: 1, wantMsg: "parse query"},
		{name: "storage not writable", args: []string{"--query=up", "--workload=a", "--storage.path=/proc/kedastral"}, wantCode: 1, wantMsg: "open storage at /proc/kedastral"},
		{name: "shard index past the count", args: []string{url, "--query=up", "--workload=a", "--shard.count=2", "--shard.index=2"}, wantCode: 2, wantMsg: "--shard.index=2 must be from 0 to --shard.count − 1"},
		{name: "zero shards", args: []string{url, "--query=up", "--workload=a", "--shard.count=0"}, wantCode: 2, wantMsg: "--shard.count=0, at least 1"},
		{name: "bad remote-write URL", args: []string{url, "--query=up", "--workload=a", "--remote-write.url=localhost:9090"}, wantCode: 1, wantMsg: "remote_write 1: remote_write url"},
		{name: "unknown remote-write protocol", args: []string{url, "--query=up", "--workload=a", "--remote-write.protobuf-message=v3"}, wantCode: 2, wantMsg: "v3"},
		{name: "reserved external label", args: []string{url, "--query=up", "--workload=a", "--remote-write.external-label=workload=x"}, wantCode: 1, wantMsg: "is a label of the forecast series themselves"},
		{name: "zero retention", args: []string{"--query=up", "--workload=a", "--storage.retention=0s"}, wantCode: 2, wantMsg: "--storage.retention must be positive"},
		{name: "bad body size", args: []string{"--query=up", "--workload=a", "--receiver.max-body-size=lots"}, wantCode: 2, wantMsg: "lots"},
		{name: "bad Prometheus URL", args: []string{"--prometheus.url=localhost:9090", "--query=up", "--workload=a"}, wantCode: 1, wantMsg: "is not an http(s) URL with a host"},
		{name: "zero stale-after", args: []string{url, "--query=up", "--workload=a", "--stale-after=0s"}, wantCode: 2, wantMsg: "--stale-after must be positive"},
		{name: "missing config file", args: []string{url, "--config.file=" + filepath.Join(dir, "absent.yml")}, wantCode: 1, wantMsg: "no such file or directory"},
		{name: "invalid config file", args: []string{url, "--config.file=" + badConfig}, wantCode: 1, wantMsg: "min_replicas must not be above max_replicas (9 > 3)"},
		{name: "config file not YAML", args: []string{url, "--config.file=" + notYAML}, wantCode: 1, wantMsg: "yaml"},
		{name: "config file and workload flags", args: []string{url, "--config.file=" + badConfig, "--lead-time=1m"}, wantCode: 2, wantMsg: "--lead-time cannot be used with --config.file"},
		{name: "config file and workload variables", args: []string{url, "--config.file=" + badConfig}, env: []string{"KEDASTRAL_QUERY=up"}, wantCode: 2, wantMsg: "KEDASTRAL_QUERY cannot be used with --config.file"},
		{name: "bad web config", args: []string{url, "--query=up", "--workload=a", "--web.config.file=" + filepath.Join(dir, "absent-web.yml")}, wantCode: 1, wantMsg: "absent-web.yml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(slices.Clone(tc.args), "--web.listen-address="+prometheustest.FreeAddr(t))
			proctest.CheckExit(t, bins["forecaster"], args, tc.env, 30*time.Second, tc.wantCode, tc.wantMsg)
		})
	}
}

// TestReloadNeedsLifecycle: without --web.enable-lifecycle, POST and PUT
// /-/reload answer 403, as Prometheus does, and reload nothing; SIGHUP
// still reloads.
func TestReloadNeedsLifecycle(t *testing.T) {
	config := filepath.Join(t.TempDir(), "kedastral.yml")
	write := func(names ...string) {
		t.Helper()
		body := "workloads:\n"
		for _, n := range names {
			body += fmt.Sprintf("  - name: %s\n    query: sum(load)\n", n)
		}
		if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a")
	fc := startForecaster(t, []string{"--config.file=" + config, "--storage.path=" + t.TempDir()}, nil, true)
	testutil.WaitFor(t, 30*time.Second, "the forecaster", func() bool { code, _, _ := get(t, fc.url+"/-/healthy"); return code == http.StatusOK })
	reloadedAt := func() float64 {
		t.Helper()
		return fc.metrics(t).Value(t, "kedastral_config_last_reload_success_timestamp_seconds", nil)
	}
	started := reloadedAt()
	time.Sleep(1100 * time.Millisecond) // a reload now would change the timestamp's second
	write("a", "b")
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		req, err := http.NewRequest(method, fc.url+"/-/reload", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "--web.enable-lifecycle") {
			t.Errorf("%s /-/reload without --web.enable-lifecycle: %d %s; want 403 naming the flag", method, resp.StatusCode, body)
		}
	}
	if got := reloadedAt(); got != started {
		t.Errorf("last reload at %v after the refused reloads, want the start %v", got, started)
	}
	if err := fc.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "SIGHUP to reload", func() bool { return reloadedAt() > started })
}

// TestReload changes the configuration file under a running forecaster: a
// good file is applied on POST /-/reload and on SIGHUP; a bad one is refused
// and the old configuration keeps running. The first reload also switches
// workload a from shadow to active mode.
func TestReload(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{})
	config := filepath.Join(t.TempDir(), "kedastral.yml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(config, []byte(fmt.Sprintf("prometheus:\n  url: %s\n%s", prom.URL, body)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	workload := func(name string, load int) string {
		return fmt.Sprintf("  - name: %s\n    query: vector(%d)\n    interval: 1s\n    step: 1s\n    window: 10s\n    horizon: 10s\n", name, load)
	}
	write("workloads:\n" + workload("a", 100) + "    mode: shadow\n")
	fc := startForecaster(t, []string{"--config.file=" + config, "--web.enable-lifecycle"}, nil, true)
	testutil.WaitFor(t, time.Minute, "a's first forecast", func() bool { _, _, ok := fc.snapshot(t, "a"); return ok })
	if s, _, _ := fc.snapshot(t, "a"); s.Mode != "shadow" || len(s.PlannedReplicas) != len(s.DesiredReplicas) {
		t.Errorf("a in mode %q with %d planned counts, want shadow with %d", s.Mode, len(s.PlannedReplicas), len(s.DesiredReplicas))
	}

	reload := func() (int, string) {
		t.Helper()
		resp, err := http.Post(fc.url+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		return resp.StatusCode, body.String()
	}

	write("workloads:\n" + workload("a", 100) + workload("b", 200))
	if code, body := reload(); code != http.StatusOK {
		t.Fatalf("reload of a good file: %d %s", code, body)
	}
	testutil.WaitFor(t, 30*time.Second, "b's first forecast", func() bool {
		s, _, ok := fc.snapshot(t, "b")
		return ok && s.ObservedValue == 200
	})
	testutil.WaitFor(t, 30*time.Second, "a in active mode", func() bool {
		s, _, ok := fc.snapshot(t, "a")
		return ok && s.Mode == "active" && s.PlannedReplicas == nil
	})

	write("workloads:\n" + workload("a", 100) + "  - name: c\n    query: sum(\n")
	code, body := reload()
	if code != http.StatusInternalServerError {
		t.Errorf("reload of a bad file answered %d, want 500", code)
	}
	var msg map[string]string
	if err := json.Unmarshal([]byte(body), &msg); err != nil || !strings.Contains(msg["error"], "parse query") {
		t.Errorf("reload error body %q, want a JSON error about the query", body)
	}
	if v := fc.metrics(t).Value(t, "kedastral_config_last_reload_successful", nil); v != 0 {
		t.Errorf("kedastral_config_last_reload_successful = %v after a failed reload, want 0", v)
	}
	// The old configuration still runs: both workloads keep getting fresh forecasts.
	before, _, _ := fc.snapshot(t, "b")
	testutil.WaitFor(t, 30*time.Second, "b still forecast after the failed reload", func() bool {
		s, header, ok := fc.snapshot(t, "b")
		return ok && s.GeneratedAt.After(before.GeneratedAt) && header.Get("X-Kedastral-Stale") == "false"
	})

	write("workloads:\n" + workload("b", 300))
	if err := fc.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "a removed and b changed after SIGHUP", func() bool {
		_, _, aServed := fc.snapshot(t, "a")
		s, _, ok := fc.snapshot(t, "b")
		return !aServed && ok && s.ObservedValue == 300
	})
	if code, _, _ := get(t, fc.url+"/forecast/current?workload=a"); code != http.StatusNotFound {
		t.Errorf("removed workload answered %d, want 404", code)
	}
	if v := fc.metrics(t).Value(t, "kedastral_config_last_reload_successful", nil); v != 1 {
		t.Errorf("kedastral_config_last_reload_successful = %v after a good reload, want 1", v)
	}
	fc.Terminate(t)
}

// TestAliasesAndEnvironment starts the forecaster once with the original
// specification's flag names and once from KEDASTRAL_* variables alone.
func TestAliasesAndEnvironment(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{})
	common := []string{"--interval=1s", "--step=1s", "--window=10s", "--horizon=10s"}
	// vector(300) needs 300 × 1.2 / 200 = 1.8 → 2 pods; --min 3 lifts it to 3.
	const wantDesired = 3
	tests := []struct {
		name string
		args func(addr string) []string
		env  func(addr string) []string
	}{
		{
			name: "hidden aliases",
			args: func(addr string) []string {
				return append([]string{"--listen=" + addr, "--prom-url=" + prom.URL, "--prom-query=vector(300)", "--workload=w",
					"--min=3", "--max=4", "--down-max-pct=10", "--log-level=debug"}, common...)
			},
			env: func(string) []string { return nil },
		},
		{
			name: "environment variables",
			args: func(string) []string { return common },
			env: func(addr string) []string {
				return []string{"KEDASTRAL_WEB_LISTEN_ADDRESS=" + addr, "KEDASTRAL_PROMETHEUS_URL=" + prom.URL,
					"KEDASTRAL_QUERY=vector(300)", "KEDASTRAL_WORKLOAD=w", "KEDASTRAL_MIN_REPLICAS=3", "LOG_FORMAT=json"}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := prometheustest.FreeAddr(t)
			args, env := tc.args(addr), tc.env(addr)
			fc := startForecaster(t, args, env, false)
			fc.url = "http://" + addr
			testutil.WaitFor(t, time.Minute, "the first forecast", func() bool { _, _, ok := fc.snapshot(t, "w"); return ok })
			s, _, _ := fc.snapshot(t, "w")
			if s.DesiredReplicas[0] != wantDesired {
				t.Errorf("desired %d, want %d", s.DesiredReplicas[0], wantDesired)
			}
			if tc.name == "environment variables" && !strings.HasPrefix(fc.Logs(), "{") {
				t.Errorf("LOG_FORMAT=json did not select JSON logs:\n%s", fc.Logs())
			}
			fc.Terminate(t)
		})
	}
}

// TestWebConfig protects every endpoint with basic auth through
// --web.config.file (exporter-toolkit), the remote-write receiver included.
func TestWebConfig(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{})
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  ops: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fc := startForecaster(t, []string{
		"--prometheus.url=" + prom.URL, "--workload=w", "--query=vector(1)",
		"--interval=1s", "--step=1s", "--window=10s", "--horizon=10s", "--web.config.file=" + webConfig,
		"--web.enable-remote-write-receiver", "--storage.path=" + filepath.Join(t.TempDir(), "data"),
	}, nil, true)
	request := func(path, user, password string) int {
		t.Helper()
		var req *http.Request
		if path == "/api/v1/write" {
			// An empty remote-write 1.0 request: nothing to store, 204.
			req = testutil.WriteRequestV1(t, fc.url+path)
		} else {
			var err error
			if req, err = http.NewRequest(http.MethodGet, fc.url+path, nil); err != nil {
				t.Fatal(err)
			}
		}
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	testutil.WaitFor(t, time.Minute, "the first forecast", func() bool {
		return request("/forecast/current?workload=w", "ops", "s3cret") == http.StatusOK
	})
	for path, ok := range map[string]int{
		"/forecast/current?workload=w": http.StatusOK, "/metrics": http.StatusOK, "/-/ready": http.StatusOK,
		"/-/healthy": http.StatusOK, "/": http.StatusOK, "/api/v1/write": http.StatusNoContent,
	} {
		if code := request(path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", path, code)
		}
		if code := request(path, "ops", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong password: %d, want 401", path, code)
		}
		if code := request(path, "ops", "s3cret"); code != ok {
			t.Errorf("%s with credentials: %d, want %d", path, code, ok)
		}
	}
}
