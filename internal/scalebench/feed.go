package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"
)

// Shape of the load fed to the servers.
const (
	// metric is the load's metric; workload w-00042 reads
	// scale_load{workload="w-00042"}.
	metric = "scale_load"
	// historyStep is the time between two samples of the history loaded
	// before a run, the workloads' step.
	historyStep = time.Minute
	// maxBatch is the most samples in one remote-write request.
	maxBatch = 10000
	// senders is how many requests of the history are in flight at once.
	senders = 2
)

// workloadName returns the name of workload i.
func workloadName(i int) string { return fmt.Sprintf("w-%05d", i) }

// load returns the load of workload i at t: a daily cycle of ±40 % around
// a base of 100 to 590, its phase and base set by i, with a ±5 % ripple.
func load(i int, t time.Time) float64 {
	x := float64(t.Unix())
	base := 100 + float64(i%50)*10
	daily := 0.4 * math.Sin(2*math.Pi*x/86400+float64(i%24)*math.Pi/12)
	ripple := 0.05 * math.Sin(x*0.37+float64(i))
	return base * (1 + daily + ripple)
}

// feeder remote-writes the load of n workloads to a server.
type feeder struct {
	n      int
	api    *remoteapi.API
	labels [][]prompb.Label
}

func newFeeder(url string, n int) (*feeder, error) {
	api, err := remoteapi.NewAPI(url, remoteapi.WithAPIPath(""), remoteapi.WithAPIHTTPClient(&http.Client{Timeout: time.Minute}))
	if err != nil {
		return nil, err
	}
	f := &feeder{n: n, api: api, labels: make([][]prompb.Label, n)}
	for i := range f.labels {
		f.labels[i] = []prompb.Label{{Name: "__name__", Value: metric}, {Name: "workload", Value: workloadName(i)}}
	}
	return f, nil
}

// history sends, oldest first, a sample a minute of every series from
// from to to. It sends in waves of senders requests at once, each of a
// disjoint part of the series over the same minutes, so that every series
// arrives in time order and a wave spans a few minutes at most, well within
// the hour a TSDB's head still accepts once it has compacted what is older.
func (f *feeder) history(ctx context.Context, from, to time.Time) error {
	wave := make([][]prompb.TimeSeries, senders)
	flush := func() error {
		var wg sync.WaitGroup
		errs := make([]error, senders)
		for k, b := range wave {
			if len(b) > 0 {
				wg.Go(func() { errs[k] = f.send(ctx, b) })
			}
		}
		wg.Wait()
		for k := range wave {
			wave[k] = nil
		}
		return errors.Join(errs...)
	}
	for t := from; !t.After(to); t = t.Add(historyStep) {
		for i := range f.n {
			wave[i%senders] = append(wave[i%senders], f.sample(i, t))
		}
		if len(wave[0]) >= maxBatch/senders {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// live sends a sample of every series at the time of sending, every
// interval, until ctx is done, and returns the first error.
func (f *feeder) live(ctx context.Context, interval time.Duration) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		now := time.Now().Truncate(time.Millisecond)
		batch := make([]prompb.TimeSeries, 0, maxBatch)
		for i := range f.n {
			batch = append(batch, f.sample(i, now))
			if len(batch) == maxBatch || i == f.n-1 {
				if err := f.send(ctx, batch); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				batch = batch[:0]
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (f *feeder) sample(i int, t time.Time) prompb.TimeSeries {
	return prompb.TimeSeries{
		Labels:  f.labels[i],
		Samples: []prompb.Sample{{Timestamp: t.UnixMilli(), Value: load(i, t)}},
	}
}

func (f *feeder) send(ctx context.Context, batch []prompb.TimeSeries) error {
	if _, err := f.api.Write(ctx, remoteapi.WriteV1MessageType, &prompb.WriteRequest{Timeseries: batch}); err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	return nil
}
