package out

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promvalue "github.com/prometheus/prometheus/model/value"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestSenderFallsBackOn415: a 2.0 request answered 415 Unsupported Media
// Type is sent again as 1.0, and the endpoint gets 1.0 from then on; a 1.0
// endpoint that answers 415 is refused for good, as any other 4xx.
func TestSenderFallsBackOn415(t *testing.T) {
	for _, tc := range []struct {
		name     string
		protocol string
		// wantVersions is the version header of each request for two
		// snapshots sent one after the other.
		wantVersions []string
		wantSent     float64
		wantFailed   float64
	}{
		// 2.0 refused, the same batch as 1.0, then the next snapshot as 1.0:
		// both snapshots arrive, 2 × 12 = 24 samples.
		{"2.0 falls back", MessageV2, []string{"2.0.0", "0.1.0", "0.1.0"}, 2 * seriesPerSnapshot, 0},
		// 1.0 refused: the first snapshot is lost (12 failed), the second
		// arrives (12 sent); nothing is sent twice.
		{"1.0 does not", MessageV1, []string{"0.1.0", "0.1.0"}, seriesPerSnapshot, seriesPerSnapshot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, srv := newRecorder(t, http.StatusUnsupportedMediaType)
			s, reg, stop := testSender(t, srv.URL, func(c *Config) { c.ProtobufMessage = tc.protocol }, nil)
			settled := func(n float64) func() bool {
				return func() bool {
					m := testutil.Gather(t, reg)
					return m.Value(t, "kedastral_remote_write_samples_sent_total", nil)+m.Value(t, "kedastral_remote_write_samples_failed_total", nil) == n
				}
			}
			s.Published(testSnapshot("checkout", time.Unix(1000, 0), 3))
			testutil.WaitFor(t, waitTimeout, "the first snapshot to be settled", settled(seriesPerSnapshot))
			s.Published(testSnapshot("checkout", time.Unix(1060, 0), 4))
			testutil.WaitFor(t, waitTimeout, "the second snapshot to be settled", settled(2*seriesPerSnapshot))
			stop()
			rec.mu.Lock()
			versions := slices.Clone(rec.versions)
			rec.mu.Unlock()
			if !slices.Equal(versions, tc.wantVersions) {
				t.Errorf("versions %v, want %v", versions, tc.wantVersions)
			}
			if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_sent_total", nil); got != tc.wantSent {
				t.Errorf("sent %v, want %v", got, tc.wantSent)
			}
			if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_failed_total", nil); got != tc.wantFailed {
				t.Errorf("failed %v, want %v", got, tc.wantFailed)
			}
			if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_retries_total", nil); got != 0 {
				t.Errorf("retries %v, want 0: a fallback is not a retry", got)
			}
		})
	}
}

// TestSenderSpecialValues: NaN, ±Inf, the extremes of float64 and the
// staleness marker reach the endpoint bit for bit, in both protocols. (A
// negative zero arrives as zero: protobuf leaves out a value equal to 0, as
// it does for Prometheus.)
func TestSenderSpecialValues(t *testing.T) {
	special := []float64{
		math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, math.SmallestNonzeroFloat64, -1.5e-300, 0,
	}
	for _, protocol := range []string{MessageV1, MessageV2} {
		t.Run(protocol, func(t *testing.T) {
			rec, srv := newRecorder(t)
			s, _, stop := testSender(t, srv.URL, func(c *Config) { c.ProtobufMessage = protocol }, nil)
			snap := testSnapshot("w", time.Unix(1000, 0), 2)
			snap.HorizonSeconds = float64(len(special)) * snap.StepSeconds
			snap.Values = special
			snap.DesiredReplicas = make([]int, len(special))
			s.Published(snap)
			s.Removed("w")
			stop()
			got := rec.samples()
			for i, v := range special {
				// Horizons a minute apart: "0s", "1m", "2m", …
				key := fmt.Sprintf(`{__name__="kedastral_forecast_value", horizon="%s", workload="w"}`, model.Duration(time.Duration(i)*time.Minute))
				samples := got[key]
				if len(samples) != 2 {
					t.Errorf("%s: %d samples, want the value and its staleness marker", key, len(samples))
					continue
				}
				if math.Float64bits(samples[0].Value) != math.Float64bits(v) {
					t.Errorf("%s = %x, want %x (%v)", key, math.Float64bits(samples[0].Value), math.Float64bits(v), v)
				}
				if math.Float64bits(samples[1].Value) != promvalue.StaleNaN {
					t.Errorf("%s marker = %x, want the staleness marker %x", key, math.Float64bits(samples[1].Value), promvalue.StaleNaN)
				}
			}
		})
	}
}
