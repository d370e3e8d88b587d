package out

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/exporter"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// fullSnapshot is a forecast of 30 values with its interval and the
// accuracy of 30 horizons: 30 × 3 values + 30 replicas + 30 × 2 accuracy +
// desired + observed + generated + model info = 184 series.
func fullSnapshot(workload string, at time.Time) forecast.Snapshot {
	s := forecast.Snapshot{Workload: workload, Model: "holt_winters", GeneratedAt: at, StepSeconds: 60, HorizonSeconds: 1800,
		LeadTimeSeconds: 300, ObservedValue: 812.5, ObservedAt: at}
	for i := range 30 {
		v := 800 + float64(i)*1.7
		s.Values = append(s.Values, v)
		s.Lower = append(s.Lower, v*0.95)
		s.Upper = append(s.Upper, v*1.05)
		s.DesiredReplicas = append(s.DesiredReplicas, 5+i/10)
		s.Accuracy = append(s.Accuracy, forecast.HorizonAccuracy{HorizonSeconds: float64(i * 60), ErrorRatio: 0.05, BiasRatio: -0.01, Samples: 120})
	}
	return s
}

// sentSeries returns how many series of s are remote-written at the
// horizons h.
func sentSeries(s forecast.Snapshot, h exporter.Horizons) int {
	n, meta := 0, exporter.Metrics()
	exporter.EachSeries(s, s.GeneratedAt, h, func(id exporter.MetricID, _ float64, _ ...string) {
		if meta[id].RemoteWrite {
			n++
		}
	})
	return n
}

// BenchmarkSenderTick remote-writes one tick of 1,000 workloads × 30
// horizons to an endpoint that reads and acknowledges every request:
// samples/s, bytes per sample on the wire (snappy-compressed 1.0 and 2.0),
// and allocations per tick. With every horizon published that is 184,000
// samples a tick; with the key horizons (0s, the 5m lead time, 29m),
// 3 × 6 + 4 = 22 series a workload, 22,000.
func BenchmarkSenderTick(b *testing.B) {
	for _, bc := range []struct {
		msg      string
		horizons exporter.Horizons
	}{{MessageV1, exporter.HorizonsAll}, {MessageV2, exporter.HorizonsAll}, {MessageV1, exporter.HorizonsKey}, {MessageV2, exporter.HorizonsKey}} {
		msg, fullSeries := bc.msg, sentSeries(fullSnapshot("w", time.Unix(0, 0)), bc.horizons)
		b.Run(fmt.Sprintf("%s/horizons=%s", msg, bc.horizons), func(b *testing.B) {
			var received atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				received.Add(n)
				w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", "2000")
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			cfg := DefaultConfig()
			cfg.URL, cfg.ProtobufMessage = &config.URL{URL: u}, msg
			cfg.QueueConfig.BatchSendDeadline = model.Duration(time.Millisecond)
			reg := prometheus.NewRegistry()
			s := NewSender(SenderOptions{Registerer: reg, Horizons: bc.horizons})
			if err := s.Apply([]Config{cfg}, map[string]string{"replica": "a"}); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); s.Run(ctx) }()
			defer func() { cancel(); <-done }()

			snaps := make([]forecast.Snapshot, 1000)
			for i := range snaps {
				snaps[i] = fullSnapshot(fmt.Sprintf("workload-%04d", i), time.Unix(0, 0))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				at := time.Unix(int64(i)*30, 0)
				for j := range snaps {
					snaps[j].GeneratedAt = at
					s.Published(snaps[j])
				}
				want := float64((i + 1) * len(snaps) * fullSeries)
				for testutil.Gather(b, reg).Value(b, "kedastral_remote_write_samples_sent_total", nil) < want {
					time.Sleep(time.Millisecond)
				}
			}
			b.StopTimer()
			samples := float64(b.N * len(snaps) * fullSeries)
			b.ReportMetric(samples/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(float64(received.Load())/samples, "bytes/sample")
		})
	}
}
