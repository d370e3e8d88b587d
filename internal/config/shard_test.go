package config

import (
	"fmt"
	"testing"
)

func TestShardOf(t *testing.T) {
	// 64-bit FNV-1a of "checkout" is 0x42fbb229c28a2459 = 4826647318084854873
	// (computed once by hand and pinned: a change of hash would move
	// workloads between running shards); mod 2 = 1, mod 3 = 0.
	for _, tc := range []struct {
		name  string
		count int
		want  int
	}{
		{"checkout", 1, 0},
		{"checkout", 2, 1},
		{"checkout", 3, 0},
	} {
		if got := ShardOf(tc.name, tc.count); got != tc.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tc.name, tc.count, got, tc.want)
		}
	}
}

// TestShardPartitions: for 1 to 8 shards, every workload of 200 is forecast
// by exactly one shard, and no shard is left with much more than its share.
func TestShardPartitions(t *testing.T) {
	workloads := make([]Workload, 200)
	for i := range workloads {
		workloads[i] = Workload{Name: fmt.Sprintf("workload-%d", i)}
	}
	for count := 1; count <= 8; count++ {
		seen := map[string]int{}
		for index := range count {
			got, err := Shard(workloads, count, index)
			if err != nil {
				t.Fatal(err)
			}
			// 200/count on average; a fair hash stays well under twice that.
			if len(got) > 2*len(workloads)/count {
				t.Errorf("%d shards: shard %d has %d workloads, more than twice its share %d", count, index, len(got), len(workloads)/count)
			}
			for _, w := range got {
				seen[w.Name]++
			}
		}
		for _, w := range workloads {
			if seen[w.Name] != 1 {
				t.Errorf("%d shards: %s forecast by %d shards, want exactly 1", count, w.Name, seen[w.Name])
			}
		}
	}
}

func TestShardRefusesBadIndex(t *testing.T) {
	for _, tc := range [][2]int{{0, 0}, {2, 2}, {2, -1}, {-1, 0}} {
		if _, err := Shard(nil, tc[0], tc[1]); err == nil {
			t.Errorf("Shard(count %d, index %d) accepted", tc[0], tc[1])
		}
	}
}
