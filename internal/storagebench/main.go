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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

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
