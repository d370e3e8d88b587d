package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
