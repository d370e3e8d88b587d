package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// keptQuery is the forecaster's workload query: it selects the series of
// the kept case, and none of the dropped case.
const keptQuery = `sum(rate(bench_requests_total[5m]))`

// benchCase is one kind of series sent to both servers.
type benchCase struct {
	name   string
	metric string
}

// cases are what is sent, in order: series the forecaster keeps, then
// series it drops. Prometheus stores both.
func cases() []benchCase {
	return []benchCase{
		{name: "kept", metric: "bench_requests_total"},
		{name: "dropped", metric: "bench_request_duration_seconds_count"},
	}
}

// result is what one server did with one case, summed over its phases.
type result struct {
	samples int
	wall    time.Duration
	// cpu is the CPU time the server used, in seconds.
	cpu float64
}

// measurement is the figures of a run; servers are indexed as started,
// Prometheus first.
type measurement struct {
	servers []string
	cases   []benchCase
	// results is indexed by case, then server.
	results [][]result
	// baseline is each server's stats, settled, before the first case.
	baseline []stats
	// after is each server's stats, settled, after each case.
	after [][]stats
	// collected is false when some settle saw no garbage collection.
	collected bool
	// sizes are the compressed request sizes, for the report.
	minBody, maxBody, bodies, bodyBytes int
}

// measure sends every case to every server. Each case is sent in
// o.repeats phases per server, each phase a slice of the rounds; the
// servers take turns, the first of a phase alternating, so that the noise of
// the machine falls on both.
func measure(ctx context.Context, o options, sh shape, servers []*server, logger *slog.Logger) (*measurement, error) {
	m := &measurement{cases: cases(), collected: true}
	for _, s := range servers {
		m.servers = append(m.servers, s.Name)
	}
	var err error
	if m.baseline, err = m.settle(ctx, servers); err != nil {
		return nil, err
	}
	client := newSenderClient(o.shards)
	defer client.CloseIdleConnections()
	turn := 0
	for _, c := range m.cases {
		lss := seriesLabels(c.metric, o.series)
		res := make([]result, len(servers))
		for r := range o.repeats {
			p, err := buildPayload(lss, sh, r*o.rounds/o.repeats, (r+1)*o.rounds/o.repeats)
			if err != nil {
				return nil, err
			}
			m.count(p)
			for k := range servers {
				i := (k + turn) % len(servers)
				ph, err := phase(ctx, servers[i], client, p)
				if err != nil {
					return nil, fmt.Errorf("%s case, phase %d: %w", c.name, r+1, err)
				}
				logger.Info("Phase done", "case", c.name, "phase", r+1, "server", servers[i].Name,
					"samples", ph.samples, "wall", ph.wall.Round(time.Millisecond), "cpu_seconds", ph.cpu)
				res[i].samples += ph.samples
				res[i].wall += ph.wall
				res[i].cpu += ph.cpu
			}
			turn++
		}
		m.results = append(m.results, res)
		after, err := m.settle(ctx, servers)
		if err != nil {
			return nil, err
		}
		m.after = append(m.after, after)
	}
	return m, nil
}

// phase sends p to s and returns what it took: wall time, and CPU time from
// the server's process_cpu_seconds_total.
func phase(ctx context.Context, s *server, client *http.Client, p payload) (result, error) {
	before, err := s.stats(ctx)
	if err != nil {
		return result{}, err
	}
	began := time.Now()
	if err := send(ctx, client, s.URL+"/api/v1/write", p); err != nil {
		return result{}, err
	}
	wall := time.Since(began)
	after, err := s.stats(ctx)
	if err != nil {
		return result{}, err
	}
	return result{samples: p.samples, wall: wall, cpu: after.cpu - before.cpu}, nil
}

// settle returns the settled stats of every server.
func (m *measurement) settle(ctx context.Context, servers []*server) ([]stats, error) {
	out := make([]stats, len(servers))
	for i, s := range servers {
		st, collected, err := s.settle(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = st
		m.collected = m.collected && collected
	}
	return out, nil
}

// count records the request sizes of p.
func (m *measurement) count(p payload) {
	for _, shard := range p.shards {
		for _, body := range shard {
			if m.bodies == 0 || len(body) < m.minBody {
				m.minBody = len(body)
			}
			m.maxBody = max(m.maxBody, len(body))
			m.bodies++
			m.bodyBytes += len(body)
		}
	}
}
