package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Ramp is a rise of the load from the base to the peak and back, at the
// same time every day.
type Ramp struct {
	// Start is the time of day (UTC) the rise begins.
	Start time.Duration
	// Rise, Hold and Fall are how long the load rises, stays at the peak
	// and falls back.
	Rise, Hold, Fall time.Duration
}

// end returns the time of day the fall ends.
func (r Ramp) end() time.Duration { return r.Start + r.Rise + r.Hold + r.Fall }

// Cycle is a synthetic daily load: a base, ramps to a peak at fixed times
// of day, and noise that differs from one day to the next. A forecaster
// given a day of it learns the ramps from the day before, as it would a
// service's morning peak.
type Cycle struct {
	// Base and Peak are the load between and at the top of the ramps.
	Base, Peak float64
	// Ramps are the day's ramps, in order.
	Ramps []Ramp
	// Noise is the relative amplitude of the noise: each value is
	// multiplied by a factor drawn uniformly from [1−Noise, 1+Noise].
	Noise float64
	// Seed makes the noise of one run differ from another's.
	Seed uint64
}

// Smooth returns the load at t without noise. A ramp whose Start is a day
// or more (one that began before midnight and runs past it) is matched a
// day later too.
func (c Cycle) Smooth(t time.Time) float64 {
	tod := t.UTC().Sub(t.UTC().Truncate(24 * time.Hour))
	for _, r := range c.Ramps {
		for _, at := range []time.Duration{tod, tod + 24*time.Hour} {
			if f, ok := r.share(at); ok {
				return c.Base + f*(c.Peak-c.Base)
			}
		}
	}
	return c.Base
}

// share returns how far from the base to the peak the ramp is at time of
// day tod, and whether tod is within the ramp.
func (r Ramp) share(tod time.Duration) (float64, bool) {
	switch {
	case tod < r.Start || tod >= r.end():
		return 0, false
	case tod < r.Start+r.Rise:
		return float64(tod-r.Start) / float64(r.Rise), true
	case tod < r.Start+r.Rise+r.Hold:
		return 1, true
	default:
		return 1 - float64(tod-r.Start-r.Rise-r.Hold)/float64(r.Fall), true
	}
}

// At returns the load at t: Smooth(t) times the noise factor of t's second.
func (c Cycle) At(t time.Time) float64 {
	u := float64(splitmix(c.Seed^uint64(t.Unix()))>>11) / (1 << 53) // uniform in [0, 1)
	return c.Smooth(t) * (1 + c.Noise*(2*u-1))
}

// splitmix is the SplitMix64 finaliser: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Samples returns the load from from (inclusive) to to (exclusive), one
// sample every step.
func (c Cycle) Samples(from, to time.Time, step time.Duration) []prompb.Sample {
	var out []prompb.Sample
	for t := from; t.Before(to); t = t.Add(step) {
		out = append(out, prompb.Sample{Timestamp: t.UnixMilli(), Value: c.At(t)})
	}
	return out
}

// Write sends samples of one series, labels sorted by name, to a
// remote-write 1.0 receiver in requests of at most batch samples, oldest
// first.
func Write(ctx context.Context, client *http.Client, url string, labels []prompb.Label, samples []prompb.Sample, batch int) error {
	for len(samples) > 0 {
		n := min(batch, len(samples))
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{Labels: labels, Samples: samples[:n]}}}
		if err := post(ctx, client, url, req); err != nil {
			return err
		}
		samples = samples[n:]
	}
	return nil
}

// post sends one remote-write 1.0 request and checks it was accepted.
func post(ctx context.Context, client *http.Client, url string, wr *prompb.WriteRequest) error {
	raw, err := wr.Marshal()
	if err != nil {
		return fmt.Errorf("marshal write request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		return fmt.Errorf("remote write to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("remote write to %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("remote write to %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// Needed returns the replicas a load needs at perPod a replica.
func Needed(load, perPod float64) int { return int(math.Ceil(load / perPod)) }
