package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// generator makes the series' labels and samples, deterministically.
type generator struct {
	opts   options
	rng    *rand.Rand
	labels []labels.Labels
	refs   []storage.SeriesRef
	value  []float64
	base   []float64
}

// newGenerator returns the series: six labels each, like
// bench_requests_total{code, instance, job, method, path}, each with its own
// rate, following a daily cycle.
func newGenerator(o options) *generator {
	g := &generator{
		opts:   o,
		rng:    rand.New(rand.NewPCG(1, 2)),
		labels: make([]labels.Labels, o.series),
		refs:   make([]storage.SeriesRef, o.series),
		value:  make([]float64, o.series),
		base:   make([]float64, o.series),
	}
	for i := range o.series {
		g.labels[i] = labels.FromStrings(
			"__name__", "bench_requests_total",
			"code", "200",
			"instance", fmt.Sprintf("10.0.%d.%d:8080", i/256, i%256),
			"job", "api",
			"method", "GET",
			"path", "/api/v1/resource/"+strconv.Itoa(i),
		)
		g.base[i] = float64(1 + i%50) // requests per second
	}
	return g
}

// next returns the timestamp (milliseconds) and value of series i's sample
// at t.
func (g *generator) next(i int, t time.Time) (int64, float64) {
	ts := t
	if g.opts.jitter > 0 {
		ts = ts.Add(time.Duration(g.rng.Int64N(int64(g.opts.jitter))))
	}
	day := 2 * math.Pi * float64(t.Unix()%86400) / 86400
	rate := g.base[i] * (1 + 0.5*math.Sin(day+float64(i)))
	switch g.opts.values {
	case "gauge":
		g.value[i] = rate + g.rng.NormFloat64()*0.1*g.base[i]
	default:
		mean := rate * g.opts.interval.Seconds()
		g.value[i] += math.Max(0, math.Round(mean+g.rng.NormFloat64()*math.Sqrt(mean)))
	}
	return ts.UnixMilli(), g.value[i]
}
