package main

import (
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

func TestBuildPayload(t *testing.T) {
	lss := seriesLabels("bench_requests_total", 10)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sh := shape{series: 10, shards: 3, batch: 4, interval: 15 * time.Second, start: start}
	// Rounds 2 to 4: 3 rounds × 10 series = 30 samples. Shard 0 has series
	// 0, 3, 6, 9 (12 samples, 3 requests of 4); shards 1 and 2 have 3
	// series (9 samples, requests of 4, 4 and 1).
	p, err := buildPayload(lss, sh, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if p.samples != 30 {
		t.Errorf("samples = %d, want 30", p.samples)
	}
	wantRequests := []int{3, 3, 3}
	shardOf := map[string]int{}
	last := map[string]int64{}
	for s, requests := range p.shards {
		if len(requests) != wantRequests[s] {
			t.Errorf("shard %d has %d requests, want %d", s, len(requests), wantRequests[s])
		}
		for _, body := range requests {
			for _, ts := range decode(t, body).Timeseries {
				key := labelsKey(ts.Labels)
				if prev, ok := shardOf[key]; ok && prev != s {
					t.Errorf("series %s in shards %d and %d", key, prev, s)
				}
				shardOf[key] = s
				if len(ts.Samples) != 1 {
					t.Fatalf("%d samples in an entry, want 1", len(ts.Samples))
				}
				if ts.Samples[0].Timestamp <= last[key] {
					t.Errorf("series %s out of order", key)
				}
				last[key] = ts.Samples[0].Timestamp
			}
		}
	}
	if len(shardOf) != 10 {
		t.Errorf("%d series sent, want 10", len(shardOf))
	}
	// The last round, 4, is 4 × 15 s after the start.
	for key, ts := range last {
		if want := start.Add(time.Minute).UnixMilli(); ts != want {
			t.Errorf("series %s ends at %d, want %d", key, ts, want)
		}
	}
}

func decode(t *testing.T, body []byte) *prompb.WriteRequest {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	return &req
}

// labelsKey identifies a label set.
func labelsKey(ls []prompb.Label) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name + "=" + l.Value + ",")
	}
	return b.String()
}

func TestSeriesLabelsAreUniqueAndSorted(t *testing.T) {
	seen := map[string]bool{}
	for _, ls := range seriesLabels("m", 10000) {
		for i := 1; i < len(ls); i++ {
			if ls[i-1].Name >= ls[i].Name {
				t.Fatalf("labels not sorted: %v", ls)
			}
		}
		key := labelsKey(ls)
		if seen[key] {
			t.Fatalf("duplicate series %s", key)
		}
		seen[key] = true
	}
}
