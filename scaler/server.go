package scaler

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/HatiCode/kedastral/internal/clip"
)

// MetricName is the one metric the scaler serves; its target is 1, so the
// value is the replica count.
const MetricName = "desired_replicas"

// Reasons of kedastral_scaler_fallbacks_total{reason}: why an answer was
// not the fresh plan's desired replicas.
const (
	// fallbackStale: the plan is older than staleAfter; the answer is its
	// count for now.
	fallbackStale = "stale"
	// fallbackExpired: the plan's horizon has run out; the answer is
	// defaultMin.
	fallbackExpired = "expired"
	// fallbackMissing: there is no plan; the answer is defaultMin.
	fallbackMissing = "missing"
)

// Metrics are the scaler's own series.
type Metrics struct {
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	fallbacks *prometheus.CounterVec
	// staleDeprecated is kedastral_scaler_snapshot_stale_total, the old
	// name of fallbacks, kept for one release.
	staleDeprecated *prometheus.CounterVec
	returned        *prometheus.GaugeVec
	streams         prometheus.Gauge
	streamsRefused  prometheus.Counter
	SourceErrors    *prometheus.CounterVec
	CacheAge        *prometheus.GaugeVec
	refused         prometheus.Counter
}

// NewMetrics registers the scaler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kedastral_scaler_requests_total",
			Help: "gRPC calls answered, by method and status code.",
		}, []string{"method", "status"}),
		durations: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kedastral_scaler_request_duration_seconds",
			Help:    "Time to answer a unary gRPC call (not StreamIsActive, which lasts as long as KEDA holds it), by method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
			// Native buckets too, for a Prometheus that scrapes them.
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxBucketNumber: 100,
		}, []string{"method"}),
		fallbacks: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kedastral_scaler_fallbacks_total",
			Help: "Answers not made from a fresh plan, by reason: stale (older than stale-after: its count for now), expired (past its horizon: defaultMin), missing (no plan: defaultMin).",
		}, []string{"reason"}),
		staleDeprecated: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kedastral_scaler_snapshot_stale_total",
			Help: "Deprecated: the same count as kedastral_scaler_fallbacks_total, under its old name; to be removed in the next release.",
		}, []string{"reason"}),
		returned: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kedastral_scaler_returned_replicas",
			Help: "Replicas last returned to KEDA for the workload.",
		}, []string{"workload"}),
		SourceErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "kedastral_scaler_source_errors_total",
			Help: "Failed reads of a forecast, by source and reason.",
		}, []string{"source", "reason"}),
		CacheAge: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kedastral_scaler_forecast_age_seconds",
			Help: "Age of the cached forecast of the workload at its last refresh.",
		}, []string{"workload"}),
		streams: f.NewGauge(prometheus.GaugeOpts{
			Name: "kedastral_scaler_streams",
			Help: "StreamIsActive streams open now (KEDA's external-push trigger holds one per ScaledObject).",
		}),
		streamsRefused: f.NewCounter(prometheus.CounterOpts{
			Name: "kedastral_scaler_streams_refused_total",
			Help: "StreamIsActive calls refused (RESOURCE_EXHAUSTED) because --grpc.max-streams were open.",
		}),
		refused: f.NewCounter(prometheus.CounterOpts{
			Name: "kedastral_scaler_workloads_refused_total",
			Help: "Calls refused (RESOURCE_EXHAUSTED) because they named a new workload while the scaler tracked --max-workloads.",
		}),
	}
	for _, r := range []string{fallbackStale, fallbackExpired, fallbackMissing} {
		m.fallbacks.WithLabelValues(r)
		m.staleDeprecated.WithLabelValues(r)
	}
	return m
}

// Forget deletes kedastral_scaler_returned_replicas of a workload the
// scaler no longer tracks (the cache deletes its age).
func (m *Metrics) Forget(workload string) {
	m.returned.DeleteLabelValues(workload)
}

// Server is KEDA's externalscaler.ExternalScaler over a Cache.
type Server struct {
	externalscaler.UnimplementedExternalScalerServer
	cache    *Cache
	defaults Defaults
	metrics  *Metrics
	opts     ServerOptions
	now      func() time.Time
	// streams counts the StreamIsActive streams open.
	streams atomic.Int64
}

// ServerOptions configures a Server.
type ServerOptions struct {
	// Poll is how often StreamIsActive looks for a change of activity.
	Poll time.Duration
	// MaxStreams bounds the StreamIsActive streams open at once; a call
	// past it is refused with RESOURCE_EXHAUSTED. Zero means no bound.
	MaxStreams int
}

// NewServer returns a Server answering from cache.
func NewServer(cache *Cache, defaults Defaults, metrics *Metrics, opts ServerOptions) *Server {
	return &Server{cache: cache, defaults: defaults, metrics: metrics, now: time.Now, opts: opts}
}

// answer is the scaler's view of one workload now.
type answer struct {
	replicas int
	// fallback is why the answer is not the fresh plan's, "" when it is.
	fallback string
}

// active reports whether KEDA should keep the workload scaled up: exactly
// when the answer asks for replicas, so that an outage that answers
// defaultMin > 0 never scales a workload to zero.
func (a answer) active() bool { return a.replicas > 0 }

// decide returns what to answer for md: the fresh plan's desired replicas;
// a stale plan's count for now while its horizon lasts; otherwise the
// default (fallback then says why).
func (s *Server) decide(md Metadata) answer {
	p, ok := s.cache.Get(md.Workload)
	if !ok {
		return answer{replicas: md.DefaultMin, fallback: fallbackMissing}
	}
	now := s.now()
	if now.Sub(p.GeneratedAt) <= md.StaleAfter {
		return answer{replicas: p.Desired}
	}
	if n, ok := p.At(now); ok {
		return answer{replicas: n, fallback: fallbackStale}
	}
	return answer{replicas: md.DefaultMin, fallback: fallbackExpired}
}

// count records a fallback answer in kedastral_scaler_fallbacks_total.
func (s *Server) count(a answer) answer {
	if a.fallback != "" {
		s.metrics.fallbacks.WithLabelValues(a.fallback).Inc()
		s.metrics.staleDeprecated.WithLabelValues(a.fallback).Inc()
	}
	return a
}

func (s *Server) metadata(ref *externalscaler.ScaledObjectRef) (Metadata, error) {
	if ref == nil {
		return Metadata{}, status.Error(codes.InvalidArgument, "no scaled object reference")
	}
	md, err := ParseMetadata(ref.GetScalerMetadata(), s.defaults)
	if err != nil {
		return Metadata{}, status.Errorf(codes.InvalidArgument, "scaled object %s: %v", objectName(ref), err)
	}
	if err := s.cache.Track(md.Workload); err != nil {
		s.metrics.refused.Inc()
		return Metadata{}, status.Errorf(codes.ResourceExhausted, "scaled object %s: %v (--max-workloads); a workload nobody asks for is forgotten after the idle time", objectName(ref), err)
	}
	return md, nil
}

// objectName returns namespace/name of the object ref names, each cut to
// clip.Max characters: they come from the client.
func objectName(ref *externalscaler.ScaledObjectRef) string {
	return clip.String(ref.GetNamespace()) + "/" + clip.String(ref.GetName())
}

// IsActive reports whether the answer GetMetrics would give now is above
// zero.
func (s *Server) IsActive(_ context.Context, ref *externalscaler.ScaledObjectRef) (*externalscaler.IsActiveResponse, error) {
	md, err := s.metadata(ref)
	if err != nil {
		return nil, err
	}
	return &externalscaler.IsActiveResponse{Result: s.count(s.decide(md)).active()}, nil
}

// StreamIsActive sends the activity at once and then whenever it changes,
// for KEDA's external-push trigger.
func (s *Server) StreamIsActive(ref *externalscaler.ScaledObjectRef, stream grpc.ServerStreamingServer[externalscaler.IsActiveResponse]) error {
	md, err := s.metadata(ref)
	if err != nil {
		return err
	}
	if n := s.streams.Add(1); s.opts.MaxStreams > 0 && n > int64(s.opts.MaxStreams) {
		s.streams.Add(-1)
		s.metrics.streamsRefused.Inc()
		return status.Errorf(codes.ResourceExhausted, "scaled object %s: %d streams are open, the limit (--grpc.max-streams)", objectName(ref), s.opts.MaxStreams)
	}
	s.metrics.streams.Inc()
	defer func() {
		s.streams.Add(-1)
		s.metrics.streams.Dec()
	}()
	ticker := time.NewTicker(s.opts.Poll)
	defer ticker.Stop()
	last, first := false, true
	for {
		if a := s.decide(md); first || a.active() != last {
			active := s.count(a).active()
			if err := stream.Send(&externalscaler.IsActiveResponse{Result: active}); err != nil {
				return err
			}
			last, first = active, false
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-ticker.C:
		}
	}
}

// GetMetricSpec returns the one metric, desired_replicas, with target 1.
func (s *Server) GetMetricSpec(_ context.Context, ref *externalscaler.ScaledObjectRef) (*externalscaler.GetMetricSpecResponse, error) {
	if _, err := s.metadata(ref); err != nil {
		return nil, err
	}
	return metricSpec(), nil
}

func metricSpec() *externalscaler.GetMetricSpecResponse {
	return &externalscaler.GetMetricSpecResponse{MetricSpecs: []*externalscaler.MetricSpec{
		{MetricName: MetricName, TargetSize: 1, TargetSizeFloat: 1},
	}}
}

// GetMetrics returns the replicas to run now: desiredReplicas[0] of the
// fresh plan, a stale plan's count for now until its horizon, or the
// default. Both the int and the float fields are set.
func (s *Server) GetMetrics(_ context.Context, req *externalscaler.GetMetricsRequest) (*externalscaler.GetMetricsResponse, error) {
	md, err := s.metadata(req.GetScaledObjectRef())
	if err != nil {
		return nil, err
	}
	a := s.count(s.decide(md))
	s.metrics.returned.WithLabelValues(md.Workload).Set(float64(a.replicas))
	return &externalscaler.GetMetricsResponse{MetricValues: []*externalscaler.MetricValue{
		{MetricName: MetricName, MetricValue: int64(a.replicas), MetricValueFloat: float64(a.replicas)},
	}}, nil
}

// UnaryInterceptor counts unary calls in kedastral_scaler_requests_total
// and times them in kedastral_scaler_request_duration_seconds.
func (m *Metrics) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	method := methodName(info.FullMethod)
	m.durations.WithLabelValues(method).Observe(time.Since(start).Seconds())
	m.requests.WithLabelValues(method, status.Code(err).String()).Inc()
	return resp, err
}

// StreamInterceptor counts streams in kedastral_scaler_requests_total when
// they end.
func (m *Metrics) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	m.requests.WithLabelValues(methodName(info.FullMethod), status.Code(err).String()).Inc()
	return err
}

// methodName turns /externalscaler.ExternalScaler/GetMetrics into GetMetrics.
func methodName(full string) string {
	for i := len(full) - 1; i >= 0; i-- {
		if full[i] == '/' {
			return full[i+1:]
		}
	}
	return full
}
