package in

import (
	"errors"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestWritable: the storage says it is not writable exactly when the free
// space of its file system is under MinFreeBytes (the temporary folder of
// a test machine has more than 1 byte free, and less than 2^62).
func TestWritable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		minFree  uint64
		writable bool
	}{
		{"no minimum", 0, true},
		{"1 byte", 1, true},
		{"2^62 bytes", 1 << 62, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			st, err := OpenStorage(StorageOptions{Path: t.TempDir(), MinFreeBytes: tc.minFree, Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			err = st.Writable()
			if (err == nil) != tc.writable || (err != nil && !errors.Is(err, ErrNotWritable)) {
				t.Errorf("Writable() = %v, want writable %v", err, tc.writable)
			}
			free := testutil.Gather(t, reg).Value(t, "kedastral_storage_free_bytes", nil)
			if !(free > 0 && free < math.MaxFloat64) {
				t.Errorf("kedastral_storage_free_bytes = %v, want the free bytes", free)
			}
		})
	}
}
