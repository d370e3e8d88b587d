// Command storagebench measures what the forecaster's embedded storage (push
// mode) costs per stored series. It opens the storage as the forecaster does
// (in.OpenStorage, with its retention and block sizes) in a temporary
// directory, appends -series series of -days of samples -interval apart in
// requests of -batch samples, as the remote-write receiver would, waits for
// the head to be compacted into blocks, and prints in Markdown: the bytes on
// disk of the blocks, the write-ahead log and the head chunks, per sample and
// per series-day; the growth of the heap and of the anonymous resident
// memory per series; the time of a workload's range query over the stored
// history; and the time to open the storage again (the write-ahead log
// replay of a restart).
//
//	go run ./internal/storagebench -series 100 -days 2
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/remote/in"
)

// headSpan is the span of samples past which the TSDB compacts its head: one
// and a half of its 2h block range.
const headSpan = 3 * time.Hour

// options are the command line.
type options struct {
	series    int
	days      float64
	interval  time.Duration
	batch     int
	retention time.Duration
	values    string
	jitter    time.Duration
	window    time.Duration
	dir       string
}

func main() {
	var o options
	flag.IntVar(&o.series, "series", 100, "series stored")
	flag.Float64Var(&o.days, "days", 2, "days of samples of each series")
	flag.DurationVar(&o.interval, "interval", 15*time.Second, "time between two samples of a series (the scrape interval)")
	flag.IntVar(&o.batch, "batch", 2000, "samples per commit, as in one remote-write request")
	flag.DurationVar(&o.retention, "retention", in.DefaultRetention, "retention the storage is opened with (it sets the largest block)")
	flag.StringVar(&o.values, "values", "counter", "sample values: counter (integer counts, as http_requests_total) or gauge (noisy floats)")
	flag.DurationVar(&o.jitter, "jitter", 0, "random delay added to each timestamp, up to this; 0 is Prometheus's aligned scrapes")
	flag.DurationVar(&o.window, "window", 24*time.Hour, "history read by the timed range query, at a 1m step")
	flag.StringVar(&o.dir, "dir", "", "directory of the storage; empty is a temporary directory, removed at the end")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "storagebench:", err)
		os.Exit(1)
	}
}

// check refuses options that cannot run.
func (o options) check() error {
	switch {
	case o.series <= 0, o.days <= 0, o.interval <= 0, o.batch <= 0, o.retention <= 0, o.window <= 0:
		return errors.New("series, days, interval, batch, retention and window must be positive")
	case o.values != "counter" && o.values != "gauge":
		return fmt.Errorf("-values=%q: counter or gauge", o.values)
	case o.jitter < 0 || o.jitter >= o.interval:
		return errors.New("jitter must be from 0 to less than the interval")
	case time.Duration(o.days*float64(24*time.Hour)) <= 2*headSpan:
		return fmt.Errorf("days must span more than %s, for blocks to be written", 2*headSpan)
	}
	return nil
}

// result is what one run measured.
type result struct {
	samples       int
	appendTime    time.Duration
	walPerSample  float64 // bytes of write-ahead log per sample, before any compaction
	walSamples    int
	walPeak       int64 // largest write-ahead log seen before a compaction
	heapEmpty     uint64
	rssEmpty      uint64
	disk          diskUsage
	heapPerSeries float64
	rssPerSeries  float64 // anonymous resident memory
	rssKnown      bool
	headSeries    float64
	queryOne      time.Duration
	queryAll      time.Duration
	queryPoints   int
	reopen        time.Duration
}

func run(o options, out io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "storagebench-")
		if err != nil {
			return fmt.Errorf("make a temporary directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	res, err := measure(context.Background(), o, dir)
	if err != nil {
		return err
	}
	return report(out, o, res)
}

// measure appends the samples, waits for compaction and takes the figures.
func measure(ctx context.Context, o options, dir string) (result, error) {
	var res result
	reg := prometheus.NewRegistry()
	st, err := in.OpenStorage(in.StorageOptions{Path: dir, Retention: o.retention, Registerer: reg})
	if err != nil {
		return res, err
	}
	// The empty storage's own memory (its series map's stripes, ...) is
	// not per series.
	heap0, rss0, rssOK := memory()
	res.heapEmpty, res.rssEmpty = heap0, rss0
	defer func() {
		if st != nil {
			_ = st.Close()
		}
	}()
	gen := newGenerator(o)
	end := time.Now().Add(-time.Minute).Truncate(o.interval)
	start := end.Add(-time.Duration(o.days * float64(24*time.Hour))).Truncate(o.interval)
	began := time.Now()
	firstPhase := start.Add(2 * time.Hour)
	walMeasured := false
	app := st.Appendable().AppenderV2(ctx)
	pending := 0
	commit := func() error {
		if pending == 0 {
			return nil
		}
		pending = 0
		err := app.Commit()
		app = st.Appendable().AppenderV2(ctx)
		return err
	}
	for t := start; !t.After(end); t = t.Add(o.interval) {
		if t.Sub(start) > headSpan && t.Sub(start)%(2*time.Hour) == 0 {
			// Let the head compact, as it does every two hours in real
			// time: the write-ahead log is truncated at that pace.
			if err := commit(); err != nil {
				return res, fmt.Errorf("commit: %w", err)
			}
			wal, err := dirSize(filepath.Join(dir, "wal"))
			if err != nil {
				return res, err
			}
			res.walPeak = max(res.walPeak, wal)
			if err := waitHead(reg, time.Minute); err != nil {
				return res, err
			}
		}
		if !walMeasured && !t.Before(firstPhase) {
			// Two hours in, nothing is compacted yet: the write-ahead log
			// holds every sample appended so far.
			if err := commit(); err != nil {
				return res, fmt.Errorf("commit: %w", err)
			}
			wal, err := dirSize(filepath.Join(dir, "wal"))
			if err != nil {
				return res, err
			}
			res.walPerSample, res.walSamples, walMeasured = float64(wal)/float64(res.samples), res.samples, true
		}
		for i := range o.series {
			ts, v := gen.next(i, t)
			ref, err := app.Append(gen.refs[i], gen.labels[i], 0, ts, v, nil, nil, storage.AOptions{})
			if err != nil {
				return res, fmt.Errorf("append: %w", err)
			}
			gen.refs[i] = ref
			res.samples++
			if pending++; pending >= o.batch {
				if err := commit(); err != nil {
					return res, fmt.Errorf("commit: %w", err)
				}
			}
		}
	}
	if err := commit(); err != nil {
		return res, fmt.Errorf("commit: %w", err)
	}
	if err := app.Rollback(); err != nil {
		return res, fmt.Errorf("rollback an empty appender: %w", err)
	}
	res.appendTime = time.Since(began)
	if err := waitCompacted(reg, 3*time.Minute); err != nil {
		return res, err
	}
	heap1, rss1, rssOK1 := memory()
	res.heapPerSeries = float64(int64(heap1)-int64(heap0)) / float64(o.series)
	res.rssPerSeries, res.rssKnown = float64(int64(rss1)-int64(rss0))/float64(o.series), rssOK && rssOK1
	res.headSeries = gauge(reg, "prometheus_tsdb_head_series")

	window := min(o.window, end.Sub(start)-time.Hour)
	one := st.Source(`sum(rate(bench_requests_total{path="/api/v1/resource/0"}[5m]))`, slog.New(slog.DiscardHandler))
	all := st.Source(`sum(rate(bench_requests_total[5m]))`, slog.New(slog.DiscardHandler))
	if res.queryOne, res.queryPoints, err = timeQuery(ctx, one, end.Add(-window), end); err != nil {
		return res, err
	}
	if res.queryAll, _, err = timeQuery(ctx, all, end.Add(-window), end); err != nil {
		return res, err
	}

	if err := st.Close(); err != nil {
		return res, err
	}
	st = nil
	// Measured closed: what a restart finds, head chunks flushed.
	if res.disk, err = usage(dir); err != nil {
		return res, err
	}
	began = time.Now()
	again, err := in.OpenStorage(in.StorageOptions{Path: dir, Retention: o.retention, Registerer: prometheus.NewRegistry()})
	if err != nil {
		return res, fmt.Errorf("open again: %w", err)
	}
	res.reopen = time.Since(began)
	return res, again.Close()
}

// timeQuery runs a workload's range query over [start, end] at a 1m step, as
// a tick does, three times, and returns the fastest and the points read.
func timeQuery(ctx context.Context, src forecast.Source, start, end time.Time) (time.Duration, int, error) {
	best := time.Duration(math.MaxInt64)
	points := 0
	for range 3 {
		began := time.Now()
		s, err := src.Range(ctx, start, end, time.Minute)
		if err != nil {
			return 0, 0, fmt.Errorf("range query: %w", err)
		}
		best = min(best, time.Since(began))
		points = 0
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				points++
			}
		}
	}
	return best, points, nil
}

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

// waitHead waits until the head spans no more than headSpan and no block is
// being written.
func waitHead(reg *prometheus.Registry, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		span := time.Duration(gauge(reg, "prometheus_tsdb_head_max_time")-gauge(reg, "prometheus_tsdb_head_min_time")) * time.Millisecond
		if span <= headSpan && gauge(reg, "prometheus_tsdb_compaction_populating_block") == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the head was not compacted within %s", limit)
}

// waitCompacted waits until the head spans no more than headSpan, no block
// is being written, and the blocks and compactions have not changed for
// three seconds.
func waitCompacted(reg *prometheus.Registry, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last [2]float64
	stableSince := time.Now()
	for time.Now().Before(deadline) {
		span := time.Duration(gauge(reg, "prometheus_tsdb_head_max_time")-gauge(reg, "prometheus_tsdb_head_min_time")) * time.Millisecond
		now := [2]float64{gauge(reg, "prometheus_tsdb_blocks_loaded"), gauge(reg, "prometheus_tsdb_compactions_total")}
		if now != last || span > headSpan || gauge(reg, "prometheus_tsdb_compaction_populating_block") != 0 {
			last, stableSince = now, time.Now()
		} else if time.Since(stableSince) >= 3*time.Second {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("the head was not compacted within %s", limit)
}

// gauge returns the value of the unlabelled gauge or counter name in reg,
// NaN when absent.
func gauge(reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	if err != nil {
		return math.NaN()
	}
	for _, f := range families {
		if f.GetName() != name || len(f.GetMetric()) == 0 {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		}
	}
	return math.NaN()
}

// diskUsage is the storage directory's content by kind, in bytes.
type diskUsage struct {
	blocks       int64
	index        int64 // the blocks' index files, part of blocks
	blockCount   int
	blockSamples int64
	blockSpan    time.Duration // summed over blocks
	wal          int64
	headChunks   int64
	other        int64
}

func (d diskUsage) total() int64 { return d.blocks + d.wal + d.headChunks + d.other }

// blockMeta is the part of a block's meta.json read here.
type blockMeta struct {
	MinTime int64 `json:"minTime"`
	MaxTime int64 `json:"maxTime"`
	Stats   struct {
		NumSamples int64 `json:"numSamples"`
	} `json:"stats"`
}

// usage measures the storage directory.
func usage(dir string) (diskUsage, error) {
	var d diskUsage
	entries, err := os.ReadDir(dir)
	if err != nil {
		return d, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		size, err := dirSize(path)
		if err != nil {
			return d, err
		}
		raw, metaErr := os.ReadFile(filepath.Join(path, "meta.json"))
		switch {
		case e.Name() == "wal":
			d.wal += size
		case e.Name() == "chunks_head":
			d.headChunks += size
		case e.IsDir() && metaErr == nil:
			var m blockMeta
			if err := json.Unmarshal(raw, &m); err != nil {
				return d, fmt.Errorf("parse %s/meta.json: %w", path, err)
			}
			index, err := dirSize(filepath.Join(path, "index"))
			if err != nil {
				return d, err
			}
			d.blocks += size
			d.index += index
			d.blockCount++
			d.blockSamples += m.Stats.NumSamples
			d.blockSpan += time.Duration(m.MaxTime-m.MinTime) * time.Millisecond
		default:
			d.other += size
		}
	}
	return d, nil
}

// dirSize returns the bytes of the regular files under path (or of path);
// files removed while it walks are not counted.
func dirSize(path string) (int64, error) {
	var total int64
	err := filepath.WalkDir(path, func(_ string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			// Removed meanwhile: a write-ahead log checkpoint replaced.
			return nil
		}
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", path, err)
	}
	return total, nil
}

// memory returns the Go heap in use after a collection, and the process's
// anonymous resident memory (RssAnon: without the pages of the mmapped block
// and head chunk files, which the kernel can drop) where /proc tells it.
func memory() (heap, rss uint64, rssOK bool) {
	// A collection, and the freed memory handed back to the system, so
	// that RssAnon is the live memory and not the append bursts' leftovers.
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ms.HeapInuse, 0, false
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return ms.HeapInuse, kb * 1024, true
			}
		}
	}
	return ms.HeapInuse, 0, false
}

// report prints the figures as Markdown.
func report(w io.Writer, o options, r result) error {
	d := r.disk
	perDay := float64(24*time.Hour) / float64(o.interval)
	blockSeriesDays := float64(o.series) * d.blockSpan.Hours() / 24
	rss := "n/a"
	if r.rssKnown {
		rss = fmt.Sprintf("%.0f B", r.rssPerSeries)
	}
	lines := []string{
		fmt.Sprintf("storagebench: %d series × %g days, one sample every %s (%s values, jitter %s), retention %s, %s",
			o.series, o.days, o.interval, o.values, o.jitter, o.retention, runtime.Version()),
		"",
		"| figure | value |",
		"|---|--:|",
		fmt.Sprintf("| samples appended | %d (%.0f per series-day) |", r.samples, perDay),
		fmt.Sprintf("| append time | %.2f s (%.0f samples/s) |", r.appendTime.Seconds(), float64(r.samples)/r.appendTime.Seconds()),
		fmt.Sprintf("| blocks on disk | %d blocks, %s, %d samples, %.1f series-days |", d.blockCount, mib(d.blocks), d.blockSamples, blockSeriesDays),
		fmt.Sprintf("| blocks: bytes per sample | %.3f (index %.0f %%) |", float64(d.blocks)/float64(d.blockSamples), 100*float64(d.index)/float64(d.blocks)),
		fmt.Sprintf("| blocks: bytes per series-day | %.0f |", float64(d.blocks)/blockSeriesDays),
		fmt.Sprintf("| write-ahead log at the end (checkpoint included) | %s |", mib(d.wal)),
		fmt.Sprintf("| write-ahead log, largest before a head compaction | %s |", mib(r.walPeak)),
		fmt.Sprintf("| write-ahead log per sample (first 2h, %d samples) | %.2f B |", r.walSamples, r.walPerSample),
		fmt.Sprintf("| head chunks (chunks_head) at the end | %s |", mib(d.headChunks)),
		fmt.Sprintf("| other files | %d B |", d.other),
		fmt.Sprintf("| total on disk, storage closed | %s |", mib(d.total())),
		fmt.Sprintf("| head series | %.0f |", r.headSeries),
		fmt.Sprintf("| this process with the storage open and empty: heap, RssAnon | %s, %s |", mib(int64(r.heapEmpty)), mib(int64(r.rssEmpty))),
		fmt.Sprintf("| heap growth per series (head of ≤ 3h, settled) | %.0f B |", r.heapPerSeries),
		fmt.Sprintf("| anonymous RSS (RssAnon) growth per series | %s |", rss),
		fmt.Sprintf("| range query, 1 series, %d points at 1m | %.1f ms |", r.queryPoints, float64(r.queryOne.Microseconds())/1000),
		fmt.Sprintf("| range query, sum of all %d series, %d points at 1m | %.1f ms |", o.series, r.queryPoints, float64(r.queryAll.Microseconds())/1000),
		fmt.Sprintf("| open again (WAL replay, blocks loaded) | %.2f s |", r.reopen.Seconds()),
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// mib formats bytes as MiB with the exact count.
func mib(b int64) string { return fmt.Sprintf("%.2f MiB (%d B)", float64(b)/(1<<20), b) }
