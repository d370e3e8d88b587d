package in

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// ErrNotWritable is the error of Storage.Writable: the storage should not
// take writes now, and a sender should retry later.
var ErrNotWritable = errors.New("storage not writable")

// freeBytes returns the bytes free for an unprivileged user on the file
// system of path.
func freeBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), nil //nolint:gosec // Bsize is a block size, never negative
}

// Writable returns nil when the storage may take writes, and an error
// wrapping ErrNotWritable when the file system of its path has less than
// StorageOptions.MinFreeBytes free: a write-ahead log that runs out of
// space fails the writes (500) and starves compaction, so the receiver
// answers 503 first and the sender keeps its samples until there is room.
// A file system that cannot be asked is taken as writable.
func (s *Storage) Writable() error {
	if s.minFree == 0 {
		return nil
	}
	free, err := freeBytes(s.path)
	if err != nil || free >= s.minFree {
		return nil
	}
	return fmt.Errorf("%w: %d bytes free on the file system of %s, under the %d of --storage.min-free-space; free some or grow the volume",
		ErrNotWritable, free, s.path, s.minFree)
}

// registerFreeBytes registers kedastral_storage_free_bytes, the space free
// on the file system of path.
func registerFreeBytes(reg prometheus.Registerer, path string) error {
	err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kedastral_storage_free_bytes",
		Help: "Bytes free on the file system of the embedded storage; under --storage.min-free-space, remote writes are answered 503.",
	}, func() float64 {
		free, err := freeBytes(path)
		if err != nil {
			return math.NaN()
		}
		return float64(free)
	}))
	if err != nil {
		return fmt.Errorf("register kedastral_storage_free_bytes: %w", err)
	}
	return nil
}
