package config

import (
	"fmt"
	"hash/fnv"
)

// ShardOf returns the shard, in [0, count), that forecasts the workload
// name: the FNV-1a hash of the name modulo count. It depends on nothing but
// the name and count, so every replica of every shard agrees on it, across
// versions and restarts.
func ShardOf(name string, count int) int {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum64() % uint64(count))
}

// Shard returns the workloads that shard index of count forecasts. With
// count 1 every workload is kept.
func Shard(workloads []Workload, count, index int) ([]Workload, error) {
	if count < 1 || index < 0 || index >= count {
		return nil, fmt.Errorf("shard index %d of %d: the index must be in [0, count) and the count at least 1", index, count)
	}
	if count == 1 {
		return workloads, nil
	}
	out := make([]Workload, 0, len(workloads)/count+1)
	for _, w := range workloads {
		if ShardOf(w.Name, count) == index {
			out = append(out, w)
		}
	}
	return out, nil
}
