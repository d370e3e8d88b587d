package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/HatiCode/kedastral/internal/benchproc"
)

// report renders the measurements.
type report struct {
	env     benchproc.Env
	opts    options
	results []result
}

// elapsed is the time between the two reads of the steady state.
func (r result) elapsed() float64 { return r.end.at.Sub(r.start.at).Seconds() }

// ticksRun is the ticks of the steady state, failed ones included.
func (r result) ticksRun() float64 {
	return r.end.ticks - r.start.ticks + r.end.failed - r.start.failed
}

// cpuPerTick is the forecaster's CPU seconds per workload-tick.
func (r result) cpuPerTick() float64 { return (r.end.cpu - r.start.cpu) / r.ticksRun() }

// cores is the forecaster's average CPU use, in cores.
func (r result) cores() float64 { return (r.end.cpu - r.start.cpu) / r.elapsed() }

// quantile returns the q-quantile of the successful ticks of the steady
// state from their histogram, linearly within a bucket as PromQL's
// histogram_quantile does.
func (r result) quantile(q float64) float64 {
	if len(r.end.buckets) != len(r.start.buckets) || len(r.end.buckets) == 0 {
		return math.NaN()
	}
	total := r.end.buckets[len(r.end.buckets)-1].count - r.start.buckets[len(r.start.buckets)-1].count
	rank, lower, below := q*total, 0.0, 0.0
	for i, b := range r.end.buckets {
		count := b.count - r.start.buckets[i].count
		if count >= rank {
			if math.IsInf(b.le, 1) {
				return lower
			}
			return lower + (b.le-lower)*(rank-below)/math.Max(count-below, 1)
		}
		lower, below = b.le, count
	}
	return lower
}

func (rep report) write(w io.Writer) error {
	var b strings.Builder
	o, e := rep.opts, rep.env
	fmt.Fprintf(&b, "# Scale: thousands of workloads on one forecaster\n\n"+
		"Written by `make bench-scale` (`go run ./internal/scalebench`) on %s, on %s (%d CPUs, %s).\n"+
		"Prometheus: `%s`. Forecaster: `%s`.\n\n", e.Date, e.Platform, e.CPUs, e.CPUModel, e.Prometheus, e.Forecaster)
	fmt.Fprintf(&b, "## How it is measured\n\n"+
		"- Every workload reads its own series, `%s{workload=\"w-00042\"}`, with the defaults but: interval %s,\n"+
		"  window %s at one-minute steps, horizon 30m, model `auto`, lead time 3m; the forecasts are\n"+
		"  remote-written to a sink that acknowledges them; `--publish.horizons=key` (the default).\n"+
		"- Load: a daily cycle per workload. The window of history is remote-written first (push mode:\n"+
		"  into the forecaster's embedded storage, by a forecaster started for that and stopped; pull\n"+
		"  mode: into a Prometheus on the same machine, which the forecaster then queries); then a\n"+
		"  sample of every series every %s, as scrapes would, for the whole run.\n"+
		"- *Published*: from the start of the forecaster to `/-/ready`, every workload's first forecast.\n"+
		"  *Fitted*: until no model fit has waited for the fit limiter for an interval\n"+
		"  (`kedastral_model_fits_deferred_total` still): every workload has its own fit.\n"+
		"- Steady state: %s, one interval after every workload was fitted. CPU is\n"+
		"  `process_cpu_seconds_total` (the live load's receiving and two scrapes included), per\n"+
		"  workload-tick of `kedastral_tick_seconds`; *ticks run / due* compares the ticks counted with\n"+
		"  workloads × time / interval (a tick that overran its interval would drop one). Tick p50 and\n"+
		"  p95 come from that histogram's buckets (×4 apart), as `histogram_quantile` would give them.\n"+
		"- Memory: `process_resident_memory_bytes` and `go_memstats_heap_inuse_bytes` at the end; push\n"+
		"  mode holds the history of every series in its storage, pull mode only the workloads' state.\n"+
		"- `/metrics`: one GET in the text format at the end: bytes, series and wall time.\n\n",
		metric, o.interval, o.window, o.scrape, o.measure)
	for _, mode := range o.modes {
		fmt.Fprintf(&b, "## %s mode\n\n", mode)
		b.WriteString("| workloads | history load | published | fitted | CPU per workload-tick | cores used | ticks run / due | tick p50 | tick p95 | RSS | heap | `/metrics` | remote write |")
		if mode == modePull {
			b.WriteString(" Prometheus cores |")
		}
		b.WriteString("\n|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		if mode == modePull {
			b.WriteString("--:|")
		}
		b.WriteString("\n")
		for _, r := range rep.results {
			if r.mode != mode {
				continue
			}
			due := float64(r.n) * r.elapsed() / o.interval.Seconds()
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f ms | %.2f | %.3f | %.1f ms | %.1f ms | %s | %s | %s, %s series, %.2f s | %s samples/s |",
				benchproc.Thousands(float64(r.n)), seconds(r.load), seconds(r.ready), settledText(r.settled),
				r.cpuPerTick()*1000, r.cores(), r.ticksRun()/due, r.quantile(0.5)*1000, r.quantile(0.95)*1000,
				benchproc.MiB(r.end.rss), benchproc.MiB(r.end.heap), benchproc.MiB(float64(r.metricsBytes)),
				benchproc.Thousands(float64(r.metricsSeries)), r.metricsWall.Seconds(),
				benchproc.Thousands((r.end.sent-r.start.sent)/r.elapsed()))
			if mode == modePull {
				fmt.Fprintf(&b, " %.2f |", (r.end.promCPU-r.start.promCPU)/r.elapsed())
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		rep.perWorkload(&b, mode)
	}
	rep.shards(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// perWorkload writes the memory each workload adds: the growth from the
// fewest workloads to the most, divided by the workloads added.
func (rep report) perWorkload(b *strings.Builder, mode string) {
	var lo, hi *result
	for i := range rep.results {
		r := &rep.results[i]
		if r.mode != mode {
			continue
		}
		if lo == nil || r.n < lo.n {
			lo = r
		}
		if hi == nil || r.n > hi.n {
			hi = r
		}
	}
	if lo == nil || hi.n == lo.n {
		return
	}
	added := float64(hi.n - lo.n)
	fmt.Fprintf(b, "Each workload adds %s of RSS and %s of heap (from %s to %s workloads).\n\n",
		kib((hi.end.rss-lo.end.rss)/added), kib((hi.end.heap-lo.end.heap)/added),
		benchproc.Thousands(float64(lo.n)), benchproc.Thousands(float64(hi.n)))
}

// shards writes the arithmetic of 100,000 workloads across shards, from
// the largest run of each mode: a replica holds as many workloads as that
// run had, or fewer if they would take more than one core.
func (rep report) shards(b *strings.Builder) {
	const total = 100000
	b.WriteString("## 100,000 workloads\n\n")
	for _, mode := range rep.opts.modes {
		var big *result
		for i := range rep.results {
			if r := &rep.results[i]; r.mode == mode && (big == nil || r.n > big.n) {
				big = r
			}
		}
		if big == nil {
			continue
		}
		perCore := rep.opts.interval.Seconds() / big.cpuPerTick()
		perShard := min(big.n, int(perCore))
		shards := (total + perShard - 1) / perShard
		rate := (big.end.sent - big.start.sent) / big.elapsed() / float64(big.n)
		fmt.Fprintf(b, "- %s mode: one core ticks %s workloads at a %s interval (%.2f ms a workload-tick);\n"+
			"  at most %s a replica, as measured, 100,000 need `--shard.count=%d`: %.1f cores in all, and\n"+
			"  %s of memory a shard. They remote-write %s samples a second in all.\n",
			mode, benchproc.Thousands(perCore), rep.opts.interval, big.cpuPerTick()*1000,
			benchproc.Thousands(float64(perShard)), shards, big.cpuPerTick()*total/rep.opts.interval.Seconds(),
			benchproc.MiB(big.end.rss*float64(perShard)/float64(big.n)), benchproc.Thousands(rate*total))
	}
	b.WriteString("\nIn pull mode Prometheus answers every tick's range queries too (its cores above).\n")
}

// settledText is the time to the end of the fits of the first round, or
// that they had not ended by settleLimit.
func settledText(d time.Duration) string {
	if d == 0 {
		return "over " + settleLimit.String()
	}
	return seconds(d)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func kib(x float64) string { return fmt.Sprintf("%.1f KiB", x/1024) }
