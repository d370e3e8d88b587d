package scaler

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
)

const (
	// benchClients is the number of KEDA-like clients calling at once.
	benchClients = 200
	// benchConns is the number of gRPC connections they share.
	benchConns = 4
)

// BenchmarkGetMetrics calls GetMetrics over loopback gRPC from a warm cache
// with 200 concurrent clients on 4 shared connections, and reports each
// call's latency at the 50th and 99th percentiles. Allocations are the
// client's and the server's together.
func BenchmarkGetMetrics(b *testing.B) {
	f := newFakeForecaster(b)
	f.set("checkout", fresh(b, "checkout", time.Now(), 8))
	// A slow refresh keeps the background reads out of the figures.
	h := startScaler(b, []string{f.URL()}, harnessOptions{refresh: time.Minute})
	waitLoaded(b, h.cache, "checkout")
	req := &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(workloadMD("checkout")), MetricName: MetricName}
	clients := make([]externalscaler.ExternalScalerClient, benchConns)
	for i := range clients {
		clients[i] = externalscaler.NewExternalScalerClient(dial(b, h.addr))
		// Warm the connection, and check the answer is the plan's.
		resp, err := clients[i].GetMetrics(callCtx(b), req)
		if err != nil {
			b.Fatal(err)
		}
		if v := resp.GetMetricValues()[0].GetMetricValue(); v != 8 {
			b.Fatalf("GetMetrics = %d, want 8", v)
		}
	}

	latencies := make([][]time.Duration, benchClients)
	for i := range latencies {
		latencies[i] = make([]time.Duration, 0, b.N/benchClients+1)
	}
	var next atomic.Int64
	var wrong atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := range benchClients {
		wg.Go(func() {
			client, own := clients[i%benchConns], latencies[i]
			ctx := context.Background()
			for next.Add(1) <= int64(b.N) {
				start := time.Now()
				resp, err := client.GetMetrics(ctx, req)
				own = append(own, time.Since(start))
				if err != nil || resp.GetMetricValues()[0].GetMetricValue() != 8 {
					wrong.Add(1)
				}
			}
			latencies[i] = own
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := wrong.Load(); n > 0 {
		b.Fatalf("%d calls failed or did not answer 8", n)
	}
	reportPercentiles(b, slices.Concat(latencies...))
}

// BenchmarkGetMetricsInProcess is the server's own work, without gRPC or
// the network: GetMetrics must answer within p95 < 20 ms excluding the
// network.
func BenchmarkGetMetricsInProcess(b *testing.B) {
	f := newFakeForecaster(b)
	f.set("checkout", fresh(b, "checkout", time.Now(), 8))
	h := startScaler(b, []string{f.URL()}, harnessOptions{refresh: time.Minute})
	waitLoaded(b, h.cache, "checkout")
	req := &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(workloadMD("checkout")), MetricName: MetricName}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.server.GetMetrics(ctx, req)
		if err != nil || resp.GetMetricValues()[0].GetMetricValue() != 8 {
			b.Fatalf("GetMetrics = %v, %v; want 8", resp, err)
		}
	}
}

// reportPercentiles reports the p50 and p99 of the latencies in
// microseconds, by the nearest-rank method: the p-th percentile of n sorted
// values is the one of rank ceil(p/100 × n).
func reportPercentiles(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	for _, p := range []struct {
		q    int
		unit string
	}{{50, "p50-µs"}, {99, "p99-µs"}} {
		b.ReportMetric(float64(d[nearestRank(p.q, len(d))-1].Nanoseconds())/1e3, p.unit)
	}
}

// nearestRank is the 1-based rank of the q-th percentile of n sorted
// values: ceil(q × n / 100).
func nearestRank(q, n int) int {
	return (q*n + 99) / 100
}

func TestNearestRank(t *testing.T) {
	// Nearest rank of 200 values: p50 → ceil(0.5 × 200) = 100, p99 →
	// ceil(0.99 × 200) = 198; of 1 value, both rank 1; of 101 values, p50
	// → ceil(50.5) = 51, p99 → ceil(99.99) = 100.
	for _, tc := range []struct{ n, q, rank int }{
		{200, 50, 100}, {200, 99, 198}, {1, 50, 1}, {1, 99, 1}, {101, 50, 51}, {101, 99, 100},
	} {
		if got := nearestRank(tc.q, tc.n); got != tc.rank {
			t.Errorf("n=%d p%d: rank %d, want %d", tc.n, tc.q, got, tc.rank)
		}
	}
}
