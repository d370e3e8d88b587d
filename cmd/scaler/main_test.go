package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// bins are the binaries built once for every test here, as a user runs
// them: the scaler and, for the end-to-end tests, the forecaster it reads.
var bins = map[string]string{}

// callTimeout bounds every gRPC call: the scaler answers from its cache, so
// a call that takes this long has hung.
const callTimeout = 5 * time.Second

func TestMain(m *testing.M) {
	os.Exit(proctest.Main(m, map[string]string{"scaler": ".", "forecaster": "../forecaster"}, bins))
}

// process is a running scaler or forecaster.
type process struct {
	*proctest.Process
	// grpcAddr is the scaler's gRPC address; webURL the base URL of its HTTP
	// server (or of the forecaster's).
	grpcAddr string
	webURL   string
}

// start runs bin with args and env added to the environment.
func start(t *testing.T, name, bin string, args, env []string) *process {
	t.Helper()
	return &process{Process: proctest.Start(t, name, bin, args, env)}
}

// startScaler runs the scaler on free gRPC and HTTP ports of 127.0.0.1 and
// waits until /healthz answers; the gRPC listener is open by then, as the
// scaler listens for gRPC before it serves HTTP.
func startScaler(t *testing.T, args ...string) *process {
	t.Helper()
	grpcAddr, webAddr := prometheustest.FreeAddr(t), prometheustest.FreeAddr(t)
	args = append(args, "--grpc.listen-address="+grpcAddr, "--web.listen-address="+webAddr)
	p := start(t, "scaler", bins["scaler"], args, nil)
	p.grpcAddr, p.webURL = grpcAddr, "http://"+webAddr
	p.waitHTTP(t, "/healthz")
	return p
}

// waitHTTP waits until path answers 200, failing at once if the process
// exits first.
func (p *process) waitHTTP(t *testing.T, path string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, p.Name+" "+path, func() bool {
		select {
		case <-p.Exited():
			t.Fatalf("%s exited: %v\n%s", p.Name, p.Err(), p.Logs())
		default:
		}
		code, _ := get(t, p.webURL+path)
		return code == http.StatusOK
	})
}

// get returns the status and body of url; 0 when nothing answers.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	client := &http.Client{Timeout: callTimeout}
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// metrics scrapes the process's /metrics and parses it.
func (p *process) metrics(t *testing.T) testutil.Families {
	t.Helper()
	return testutil.Scrape(t, p.webURL+"/metrics")
}

// dial returns a client connection to addr with opts (plaintext when none),
// closed when the test ends.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// call runs one gRPC call under callTimeout and fails the test if it hung.
func call[R any](t *testing.T, what string, f func(context.Context) (R, error)) (R, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	r, err := f(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
		t.Fatalf("%s hung for %v: %v", what, callTimeout, err)
	}
	return r, err
}

// ref is a ScaledObject's reference as KEDA sends it, with scalerMetadata.
func ref(metadata map[string]string) *externalscaler.ScaledObjectRef {
	return &externalscaler.ScaledObjectRef{Name: "app", Namespace: "default", ScalerMetadata: metadata}
}

// getMetrics calls GetMetrics and returns the one value, checking that the
// int and float fields agree.
func getMetrics(t *testing.T, c externalscaler.ExternalScalerClient, metadata map[string]string) (int64, error) {
	t.Helper()
	resp, err := call(t, "GetMetrics", func(ctx context.Context) (*externalscaler.GetMetricsResponse, error) {
		return c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(metadata), MetricName: "desired_replicas"})
	})
	if err != nil {
		return 0, err
	}
	mv := resp.GetMetricValues()
	if len(mv) != 1 || mv[0].GetMetricName() != "desired_replicas" || float64(mv[0].GetMetricValue()) != mv[0].GetMetricValueFloat() {
		t.Fatalf("GetMetrics answered %v, want one desired_replicas value, int and float equal", mv)
	}
	return mv[0].GetMetricValue(), nil
}

// isActive calls IsActive.
func isActive(t *testing.T, c externalscaler.ExternalScalerClient, metadata map[string]string) (bool, error) {
	t.Helper()
	resp, err := call(t, "IsActive", func(ctx context.Context) (*externalscaler.IsActiveResponse, error) {
		return c.IsActive(ctx, ref(metadata))
	})
	return resp.GetResult(), err
}

// getMetricSpec calls GetMetricSpec.
func getMetricSpec(t *testing.T, c externalscaler.ExternalScalerClient, metadata map[string]string) (*externalscaler.GetMetricSpecResponse, error) {
	t.Helper()
	return call(t, "GetMetricSpec", func(ctx context.Context) (*externalscaler.GetMetricSpecResponse, error) {
		return c.GetMetricSpec(ctx, ref(metadata))
	})
}

// noForecaster is a forecaster URL where nothing listens: the scaler starts
// and serves its defaults.
func noForecaster(t *testing.T) string {
	return "--forecaster.url=http://" + prometheustest.FreeAddr(t)
}

// TestBadCommandLine checks that a bad command line stops the scaler at once
// with the documented exit code and a line saying why, never a panic.
func TestBadCommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pki := newPKI(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Parallel subtests run after this function returns: close at cleanup.
	t.Cleanup(func() { _ = taken.Close() })
	fc := "--forecaster.url=http://127.0.0.1:9"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{name: "no source", args: nil, wantCode: 2, wantMsg: "--forecaster.url or --prometheus.url is required"},
		{name: "both sources", args: []string{fc, "--prometheus.url=http://127.0.0.1:9"}, wantCode: 2, wantMsg: "--forecaster.url and --prometheus.url cannot be used together"},
		{name: "cert without key", args: []string{fc, "--grpc.tls-cert-file=" + pki.serverCert}, wantCode: 2, wantMsg: "--grpc.tls-cert-file and --grpc.tls-key-file go together"},
		{name: "key without cert", args: []string{fc, "--grpc.tls-key-file=" + pki.serverKey}, wantCode: 2, wantMsg: "--grpc.tls-cert-file and --grpc.tls-key-file go together"},
		{name: "client CA without cert", args: []string{fc, "--grpc.tls-client-ca-file=" + pki.caCert}, wantCode: 2, wantMsg: "--grpc.tls-client-ca-file needs --grpc.tls-cert-file and --grpc.tls-key-file"},
		{name: "unreadable cert file", args: []string{fc, "--grpc.tls-cert-file=" + filepath.Join(dir, "absent.crt"), "--grpc.tls-key-file=" + pki.serverKey}, wantCode: 1, wantMsg: "absent.crt: no such file or directory"},
		{name: "cert file not PEM", args: []string{fc, "--grpc.tls-cert-file=" + notPEM, "--grpc.tls-key-file=" + pki.serverKey}, wantCode: 1, wantMsg: "failed to find any PEM data in certificate input"},
		{name: "unreadable client CA", args: []string{fc, "--grpc.tls-cert-file=" + pki.serverCert, "--grpc.tls-key-file=" + pki.serverKey, "--grpc.tls-client-ca-file=" + filepath.Join(dir, "absent-ca.crt")}, wantCode: 1, wantMsg: "absent-ca.crt: no such file or directory"},
		{name: "TLS config file and file flags", args: []string{fc, "--grpc.tls-config-file=" + notPEM, "--grpc.tls-cert-file=" + pki.serverCert, "--grpc.tls-key-file=" + pki.serverKey}, wantCode: 2, wantMsg: "--grpc.tls-config-file and the --grpc.tls-*-file flags cannot be used together"},
		{name: "TLS config file not YAML", args: []string{fc, "--grpc.tls-config-file=" + notPEM}, wantCode: 1, wantMsg: "cannot unmarshal"},
		{name: "unreadable source HTTP config", args: []string{fc, "--source.http-config-file=" + filepath.Join(dir, "absent.yml")}, wantCode: 1, wantMsg: "--source.http-config-file: open"},
		{name: "source HTTP config not valid", args: []string{fc, "--source.http-config-file=" + notPEM}, wantCode: 1, wantMsg: "--source.http-config-file: yaml"},
		{name: "client CA not PEM", args: []string{fc, "--grpc.tls-cert-file=" + pki.serverCert, "--grpc.tls-key-file=" + pki.serverKey, "--grpc.tls-client-ca-file=" + notPEM}, wantCode: 1, wantMsg: "holds no PEM certificate"},
		{name: "unknown flag", args: []string{fc, "--no-such-flag"}, wantCode: 2, wantMsg: "unknown long flag '--no-such-flag'"},
		{name: "default-min not a number", args: []string{fc, "--default-min=two"}, wantCode: 2, wantMsg: "two"},
		{name: "fractional default-min", args: []string{fc, "--default-min=1.5"}, wantCode: 2, wantMsg: `--default-min="1.5" is not a whole number`},
		{name: "default-min above an int32", args: []string{fc, "--default-min=2147483648"}, wantCode: 2, wantMsg: "--default-min must be at most 2147483647"},
		{name: "negative max-streams", args: []string{fc, "--grpc.max-streams=-1"}, wantCode: 2, wantMsg: "must not be negative"},
		{name: "zero read timeout", args: []string{fc, "--web.read-timeout=0s"}, wantCode: 2, wantMsg: "--web.read-timeout must be positive"},
		{name: "negative default-min", args: []string{fc, "--default-min=-1"}, wantCode: 2, wantMsg: "--default-min must not be negative"},
		{name: "zero stale-after", args: []string{fc, "--stale-after=0s"}, wantCode: 2, wantMsg: "must be positive"},
		{name: "bad refresh interval", args: []string{fc, "--refresh-interval=soon"}, wantCode: 2, wantMsg: `not a valid duration string: "soon"`},
		{name: "forecaster URL without scheme", args: []string{"--forecaster.url=forecaster:8081"}, wantCode: 1, wantMsg: "is not an http(s) URL with a host"},
		{name: "gRPC address taken", args: []string{fc, "--grpc.listen-address=" + taken.Addr().String()}, wantCode: 1, wantMsg: "address already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(slices.Clone(tc.args), "--web.listen-address="+prometheustest.FreeAddr(t))
			if !strings.Contains(strings.Join(tc.args, " "), "--grpc.listen-address") {
				args = append(args, "--grpc.listen-address="+prometheustest.FreeAddr(t))
			}
			proctest.CheckExit(t, bins["scaler"], args, nil, 15*time.Second, tc.wantCode, tc.wantMsg)
		})
	}
}

// TestHealthAndMetrics checks the gRPC health service, the HTTP health
// endpoints, the answers without a plan, and that /metrics counts the calls.
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	s := startScaler(t, noForecaster(t), "--default-min=3", "--refresh-interval=100ms")
	conn := dial(t, s.grpcAddr)

	health, err := call(t, "Health.Check", func(ctx context.Context) (*healthpb.HealthCheckResponse, error) {
		return healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Health.Check = %v, %v; want SERVING", health.GetStatus(), err)
	}
	for _, path := range []string{"/healthz", "/-/healthy"} {
		if code, body := get(t, s.webURL+path); code != http.StatusOK || !strings.Contains(string(body), "Healthy") {
			t.Errorf("%s answered %d %q, want 200", path, code, body)
		}
	}

	c := externalscaler.NewExternalScalerClient(conn)
	app := map[string]string{"workload": "app", "scalerAddress": s.grpcAddr}
	spec, err := getMetricSpec(t, c, app)
	if err != nil {
		t.Fatalf("GetMetricSpec: %v", err)
	}
	if ms := spec.GetMetricSpecs(); len(ms) != 1 || ms[0].GetMetricName() != "desired_replicas" || ms[0].GetTargetSize() != 1 || ms[0].GetTargetSizeFloat() != 1 {
		t.Errorf("GetMetricSpec = %v, want desired_replicas with target 1", ms)
	}
	// No forecaster answers: the plan is missing, so --default-min, active
	// since it is above 0; a ScaledObject's defaultMin overrides the flag.
	for range 3 {
		if n, err := getMetrics(t, c, app); err != nil || n != 3 {
			t.Errorf("GetMetrics without a plan = %d, %v; want --default-min 3", n, err)
		}
	}
	if n, err := getMetrics(t, c, map[string]string{"workload": "app", "defaultMin": "7"}); err != nil || n != 7 {
		t.Errorf("GetMetrics with defaultMin=7 = %d, %v; want 7", n, err)
	}
	if active, err := isActive(t, c, app); err != nil || !active {
		t.Errorf("IsActive without a plan = %v, %v; want true (--default-min 3 > 0)", active, err)
	}
	if active, err := isActive(t, c, map[string]string{"workload": "app", "defaultMin": "0"}); err != nil || active {
		t.Errorf("IsActive without a plan and defaultMin=0 = %v, %v; want false", active, err)
	}
	// Bad metadata is the caller's fault.
	for _, md := range []map[string]string{
		{},
		{"workload": "app", "defaultMin": "-1"},
		{"workload": "app", "staleAfter": "soon"},
	} {
		if _, err := getMetrics(t, c, md); status.Code(err) != codes.InvalidArgument {
			t.Errorf("GetMetrics with %v: %v, want InvalidArgument", md, err)
		}
	}

	// Every call is counted by method and code; the forecaster that is not
	// there is counted as unavailable, and the fallbacks as missing.
	var families testutil.Families
	testutil.WaitFor(t, 10*time.Second, "a failed read of the forecaster in /metrics", func() bool {
		families = s.metrics(t)
		n := families.Value(t, "kedastral_scaler_source_errors_total", map[string]string{"source": "forecaster", "reason": "unavailable"})
		return n >= 1
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"kedastral_scaler_requests_total", map[string]string{"method": "GetMetrics", "status": "OK"}, 4},
		{"kedastral_scaler_requests_total", map[string]string{"method": "GetMetrics", "status": "InvalidArgument"}, 3},
		{"kedastral_scaler_requests_total", map[string]string{"method": "GetMetricSpec", "status": "OK"}, 1},
		{"kedastral_scaler_requests_total", map[string]string{"method": "IsActive", "status": "OK"}, 2},
		{"kedastral_scaler_requests_total", map[string]string{"method": "Check", "status": "OK"}, 1},
		{"kedastral_scaler_fallbacks_total", map[string]string{"reason": "missing"}, 6},
		{"kedastral_scaler_snapshot_stale_total", map[string]string{"reason": "missing"}, 6},
		{"kedastral_scaler_returned_replicas", map[string]string{"workload": "app"}, 3},
	} {
		if n, ok := families.Find(t, tc.name, tc.labels); !ok || n < tc.min {
			t.Errorf("%s%v = %v (present %v), want ≥ %v", tc.name, tc.labels, n, ok, tc.min)
		}
	}
	// GetMetrics answered 4 times OK and 3 times InvalidArgument: 7 timed.
	if n := families.Count(t, "kedastral_scaler_request_duration_seconds", map[string]string{"method": "GetMetrics"}); n < 7 {
		t.Errorf("kedastral_scaler_request_duration_seconds{method=GetMetrics} counts %d calls, want ≥ 7", n)
	}
	if _, ok := families["kedastral_build_info"]; !ok {
		t.Error("/metrics lacks kedastral_build_info")
	}
}

// TestGracefulShutdown: SIGTERM stops the scaler with exit 0 within 15 s,
// idle or while KEDA holds a stream open; the stream then ends, and the
// scaler is not listening any more.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		s := startScaler(t, noForecaster(t))
		took := s.Terminate(t)
		t.Logf("exited %v after SIGTERM", took)
		if code, _ := get(t, s.webURL+"/healthz"); code != 0 {
			t.Errorf("/healthz answered %d after exit", code)
		}
	})
	t.Run("stream open", func(t *testing.T) {
		t.Parallel()
		s := startScaler(t, noForecaster(t))
		c := externalscaler.NewExternalScalerClient(dial(t, s.grpcAddr))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream, err := c.StreamIsActive(ctx, ref(map[string]string{"workload": "app"}))
		if err != nil {
			t.Fatal(err)
		}
		// The first message is the activity at once: no plan, so
		// --default-min (2), active.
		if first, err := stream.Recv(); err != nil || !first.GetResult() {
			t.Fatalf("StreamIsActive first message %v, %v; want true", first, err)
		}
		ended := make(chan error, 1)
		go func() {
			for {
				if _, err := stream.Recv(); err != nil {
					ended <- err
					return
				}
			}
		}()
		took := s.Terminate(t)
		t.Logf("exited %v after SIGTERM with a stream open", took)
		select {
		case err := <-ended:
			// The scaler ends open streams itself at SIGTERM, so the
			// stream closes cleanly rather than being cut by a hard stop
			// after the drain timeout.
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v, want a clean end (EOF)", err)
			}
		case <-time.After(callTimeout):
			t.Error("the stream is still open after the scaler exited")
		}
	})
}

// TestWebReadTimeout: with --web.read-timeout=1s, the scaler's HTTP
// server closes an idle connection.
func TestWebReadTimeout(t *testing.T) {
	t.Parallel()
	s := startScaler(t, noForecaster(t), "--web.read-timeout=1s")
	if !testutil.IdleClosed(t, strings.TrimPrefix(s.webURL, "http://"), "/healthz", 30*time.Second) {
		t.Fatal("an idle connection still open after 30 s with --web.read-timeout=1s")
	}
}
