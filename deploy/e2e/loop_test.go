package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/prometheus/prometheus/prompb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/scaler"
)

// The loop's settings.
const (
	workload   = "e2e"
	namespace  = "e2e"
	perPod     = 50.0
	lead       = time.Minute
	step       = 15 * time.Second
	poll       = 5 * time.Second
	writeEvery = 5 * time.Second
	minReplica = 2
	maxReplica = 12
)

// The loop's timeline, from the start of the live load: two ramps far
// enough apart (170 s) that the plan, which looks lead time and prewarm
// window (90 s) ahead, comes down between them; the forecaster killed
// during the second; the end 160 s later, once the scaler's cached plan
// is stale (2 min) and followed by its age.
const (
	ramp1At  = 120 * time.Second
	ramp2At  = 390 * time.Second
	killAt   = 440 * time.Second
	endAt    = 600 * time.Second
	rampRise = 20 * time.Second
	rampHold = 60 * time.Second
	rampFall = 20 * time.Second
)

// deployments are the loop's Deployments, in Run.Deployments order.
func deployments() []string { return []string{"predictive", "forecast-series", "reactive"} }

// loopResult is the recorded loop and what the Deployments did after the
// forecaster was killed.
type loopResult struct {
	run    Run
	killed []string
}

// loopEnv is what the loop runs against.
type loopEnv struct {
	kube       kubernetes.Interface
	dyn        dynamic.Interface
	prometheus *prometheustest.Server
	forecaster *proctest.Process
	fcURL      string
	scalerAddr string
	cycle      Cycle
	start      time.Time
}

// runLoop runs scenarios 1 to 4 into res and checks what the issue asks
// of them.
func runLoop(t *testing.T, c *Cluster, res *loopResult) {
	env := startLoopEnv(t, c)
	run := env.record(t)
	res.run = run
	results := Analyze(run)
	if len(results) != 2 {
		t.Fatalf("%d ramps analysed, want 2", len(results))
	}
	for i, r := range results {
		t.Logf("ramp %d: peak needs %d replicas at +%v; lead %v had %v; short %v; short starting %v",
			i+1, r.Need, r.NeededAt.Sub(run.Start).Round(time.Second), r.Lead, r.Had, r.Short, r.ShortStarting)
		for d, name := range run.Deployments[:2] {
			if !r.Had[d] || r.Lead[d] <= 0 {
				t.Errorf("ramp %d: %s had the %d replicas the peak needs %v before it needed them (had them: %v); want them before", i+1, name, r.Need, r.Lead[d], r.Had[d])
			}
		}
		// The reactive Deployment must have followed the ramp for the
		// comparison to mean something; within the HPA's tolerance it may
		// stay one replica short of the peak (7 replicas for a load of 370
		// at 50 a pod: 370 / 350 = 1.06, within 1.1).
		if r.Most[2] < r.Need-1 {
			t.Errorf("ramp %d: reactive reached %d replicas, the peak needs %d: the comparison means nothing", i+1, r.Most[2], r.Need)
		}
		for d, name := range run.Deployments[:2] {
			if r.Had[2] && r.Lead[d] <= r.Lead[2] {
				t.Errorf("ramp %d: %s lead %v, not ahead of reactive %v", i+1, name, r.Lead[d], r.Lead[2])
			}
			if r.Short[d] > r.Short[2] {
				t.Errorf("ramp %d: %s short-handed %v, more than reactive %v", i+1, name, r.Short[d], r.Short[2])
			}
		}
	}
	res.killed = env.checkKilled(t, run)
}

// startLoopEnv starts Prometheus, the forecaster and the scaler, feeds the
// forecaster a day of history, and creates the three Deployments and their
// ScaledObjects.
func startLoopEnv(t *testing.T, c *Cluster) *loopEnv {
	root := prometheustest.ModuleRoot(t)
	bin := func(name string) string {
		p := filepath.Join(root, "bin", name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: run `make build` (make e2e does)", p)
		}
		return p
	}
	env := &loopEnv{prometheus: prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})}
	env.kube, env.dyn = c.Clients(t)
	fcAddr := prometheustest.FreeAddr(t)
	env.fcURL = "http://" + fcAddr
	env.forecaster = proctest.Start(t, "forecaster", bin("forecaster"), []string{
		"--storage.path=" + t.TempDir(), "--workload=" + workload, "--query=sum(e2e_load)",
		"--model=seasonal_naive", "--window=25h", "--step=" + step.String(), "--interval=" + step.String(), "--horizon=10m",
		"--lead-time=" + lead.String(), "--prewarm-window=30s", "--target-per-pod=50", "--headroom=1",
		fmt.Sprintf("--min-replicas=%d", minReplica), fmt.Sprintf("--max-replicas=%d", maxReplica),
		"--remote-write.url=" + env.prometheus.URL + "/api/v1/write", "--web.listen-address=" + fcAddr,
	}, nil)
	waitHTTP(t, "forecaster", &http.Client{Timeout: time.Second}, env.fcURL+"/-/healthy", "")
	env.scalerAddr = prometheustest.FreeAddr(t)
	proctest.Start(t, "scaler", bin("scaler"), []string{
		"--grpc.listen-address=" + env.scalerAddr, "--forecaster.url=" + env.fcURL,
		"--web.listen-address=" + prometheustest.FreeAddr(t), fmt.Sprintf("--default-min=%d", minReplica),
	}, nil)

	env.start = time.Now().Add(30 * time.Second).Truncate(step).Add(step)
	at := func(d time.Duration) time.Duration { return env.start.Add(d).Sub(env.start.Truncate(24 * time.Hour)) }
	env.cycle = Cycle{Base: 75, Peak: 375, Noise: 0.04, Seed: uint64(env.start.UnixNano()), Ramps: []Ramp{ //nolint:gosec // a seed
		{Start: at(ramp1At), Rise: rampRise, Hold: rampHold, Fall: rampFall},
		{Start: at(ramp2At), Rise: rampRise, Hold: rampHold, Fall: rampFall},
	}}
	history := env.cycle.Samples(env.start.Add(-26*time.Hour), env.start, step)
	if err := Write(t.Context(), http.DefaultClient, env.fcURL+"/api/v1/write", loadLabels(), history, 2000); err != nil {
		t.Fatalf("backfill the forecaster: %v", err)
	}
	createTargets(t, env)
	waitHTTP(t, "the first forecast", &http.Client{Timeout: time.Second}, env.fcURL+"/forecast/current?workload="+workload, "")
	return env
}

// loadLabels are the labels of the load series.
func loadLabels() []prompb.Label {
	return []prompb.Label{{Name: "__name__", Value: "e2e_load"}, {Name: "job", Value: "e2e"}}
}

// record writes the live load from the start to the end of the loop, kills
// the forecaster on time, and reads each Deployment's replicas every second.
func (env *loopEnv) record(t *testing.T) Run {
	run := Run{Deployments: deployments(), PerPod: perPod, Lead: lead, Poll: poll, Start: env.start,
		Ramps: []Window{
			{From: env.start.Add(ramp1At), To: env.start.Add(ramp1At + rampRise + rampHold + rampFall)},
			{From: env.start.Add(ramp2At), To: env.start.Add(ramp2At + rampRise + rampHold + rampFall)},
		}}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { env.writeLive(ctx, t) })
	time.Sleep(time.Until(env.start))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for now := range tick.C {
		if now.Sub(env.start) > endAt {
			return run
		}
		if run.Killed.IsZero() && now.Sub(env.start) >= killAt {
			if err := env.forecaster.Cmd.Process.Kill(); err != nil {
				t.Fatalf("kill the forecaster: %v", err)
			}
			run.Killed = now
		}
		if s, err := env.sample(t.Context(), now); err != nil {
			t.Errorf("at +%v: %v", now.Sub(env.start).Round(time.Second), err)
		} else {
			run.Samples = append(run.Samples, s)
		}
	}
	return run
}

// sample reads the Deployments' replicas (the scale subresource, which the
// HPA sets) and the load being written at now.
func (env *loopEnv) sample(ctx context.Context, now time.Time) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s := Sample{T: now, Load: env.cycle.At(env.start.Add(now.Sub(env.start).Truncate(writeEvery)))}
	for _, name := range deployments() {
		scale, err := env.kube.AppsV1().Deployments(namespace).GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Sample{}, fmt.Errorf("scale of %s: %w", name, err)
		}
		s.Replicas = append(s.Replicas, int(scale.Spec.Replicas))
	}
	return s, nil
}

// writeLive writes the load every writeEvery, from the start until ctx is
// done, to the forecaster (until it is killed) and to Prometheus.
func (env *loopEnv) writeLive(ctx context.Context, t *testing.T) {
	client := &http.Client{Timeout: 5 * time.Second}
	for at := env.start; ; at = at.Add(writeEvery) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		samples := []prompb.Sample{{Timestamp: at.UnixMilli(), Value: env.cycle.At(at)}}
		if err := Write(ctx, client, env.prometheus.URL+"/api/v1/write", loadLabels(), samples, 1); err != nil && ctx.Err() == nil {
			t.Errorf("write the load to Prometheus: %v", err)
		}
		if at.Sub(env.start) < killAt {
			if err := Write(ctx, client, env.fcURL+"/api/v1/write", loadLabels(), samples, 1); err != nil && ctx.Err() == nil {
				t.Errorf("write the load to the forecaster: %v", err)
			}
		}
	}
}

// checkKilled checks what the Deployments did after the forecaster was
// killed: the predictive one never dropped below the fewest replicas, and
// ends where the scaler's answer, from its cached plan, says.
func (env *loopEnv) checkKilled(t *testing.T, run Run) []string {
	if run.Killed.IsZero() {
		t.Fatal("the forecaster was never killed")
	}
	var lines []string
	for d, name := range run.Deployments {
		fewest, _ := run.After(d, run.Killed)
		lines = append(lines, fmt.Sprintf("%s: at least %d replicas from the kill (+%v) to the end (+%v).",
			name, fewest, run.Killed.Sub(run.Start).Round(time.Second), endAt))
		if d < 2 && fewest < minReplica {
			t.Errorf("%s fell to %d replicas after the forecaster was killed; want at least %d", name, fewest, minReplica)
		}
	}
	lines = append(lines,
		"The scaler answers from the plan it cached before the kill: the plan's first step until it is `--stale-after` (2 min) old, then the step its age reaches, until its horizon runs out ([scaler.md](scaler.md)).",
		"forecast-series reads the last value the forecaster remote-wrote, which Prometheus answers for its 5-minute lookback whatever the load does ([remote-write.md](remote-write.md#scaling-with-kedas-prometheus-trigger)).")
	// The HPA follows the scaler a poll or two late: compare fresh reads.
	var want, got int
	for range 30 {
		want = env.scalerAnswer(t)
		scale, err := env.kube.AppsV1().Deployments(namespace).GetScale(t.Context(), "predictive", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got = int(scale.Spec.Replicas); got == want {
			break
		}
		time.Sleep(time.Second)
	}
	lines = append(lines, fmt.Sprintf("After the end the scaler answered %d from the plan it cached before the kill, and the predictive Deployment had %d.", want, got))
	if got != want {
		t.Errorf("predictive Deployment has %d replicas after the end, the scaler answers %d", got, want)
	}
	return lines
}

// scalerAnswer asks the scaler, as KEDA does, for the workload's replicas.
func (env *loopEnv) scalerAnswer(t *testing.T) int {
	conn, err := grpc.NewClient(env.scalerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := externalscaler.NewExternalScalerClient(conn).GetMetrics(t.Context(), &externalscaler.GetMetricsRequest{
		MetricName: scaler.MetricName,
		ScaledObjectRef: &externalscaler.ScaledObjectRef{Name: "predictive", Namespace: namespace,
			ScalerMetadata: map[string]string{scaler.KeyWorkload: workload}},
	})
	if err != nil || len(resp.GetMetricValues()) != 1 {
		t.Fatalf("GetMetrics: %v, %v", resp, err)
	}
	return int(resp.GetMetricValues()[0].GetMetricValue())
}
