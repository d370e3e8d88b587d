package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

const (
	// scrapeInterval is the time between two samples of a series, as sent by
	// a Prometheus that scrapes every 15 s.
	scrapeInterval = 15 * time.Second
	// maxSamplesPerSend bounds the samples of one request, as Prometheus's
	// queue_config.max_samples_per_send does by default.
	maxSamplesPerSend = 2000
	// cpuPerRequest is the CPU time, in seconds, that the demo's
	// process_cpu_seconds_total charges for each request of the trace.
	cpuPerRequest = 0.004
)

// series is one series the demo writes: its labels, sorted by name, and
// its value at a wall time.
type series struct {
	labels []prompb.Label
	value  func(t time.Time) float64
}

// demoSeries returns what a scrape of the replayed application would bring:
// its request counter, which the query selects, and two series that it does
// not select, which the receiver drops.
func demoSeries(r *replay) []series {
	labels := func(name string) []prompb.Label {
		return []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: targetJob}}
	}
	return []series{
		{labels: labels(metricName + "_total"), value: r.total},
		{labels: labels("process_cpu_seconds_total"), value: func(t time.Time) float64 { return cpuPerRequest * r.total(t) }},
		{labels: labels("up"), value: func(time.Time) float64 { return 1 }},
	}
}

// pusher writes its series at every tick of a grid of scrapeInterval, in
// time order.
type pusher struct {
	w      *writer
	series []series
	// perRequest is the ticks of one request: its samples, those of every
	// series, are at most maxSamplesPerSend.
	perRequest int
	// next is the next tick to send.
	next time.Time
}

// newPusher returns a pusher whose first tick is the first of the grid after
// now - history: it sends the ticks in (now - history, now] first.
func newPusher(w *writer, ss []series, now time.Time, history time.Duration) *pusher {
	return &pusher{
		w:          w,
		series:     ss,
		perRequest: max(1, maxSamplesPerSend/len(ss)),
		next:       now.Add(-history).Truncate(scrapeInterval).Add(scrapeInterval),
	}
}

// sendUntil sends the ticks from p.next up to end, in requests of
// p.perRequest ticks, and returns how many it sent. p.next moves past each
// request the receiver acknowledges, so that a failed one is sent again.
func (p *pusher) sendUntil(ctx context.Context, end time.Time) (int, error) {
	sent := 0
	for !p.next.After(end) {
		n := min(p.perRequest, int(end.Sub(p.next)/scrapeInterval)+1)
		if err := p.w.write(ctx, p.request(p.next, n)); err != nil {
			return sent, fmt.Errorf("send the samples from %s: %w", p.next.UTC().Format(time.RFC3339), err)
		}
		p.next = p.next.Add(time.Duration(n) * scrapeInterval)
		sent += n
	}
	return sent, nil
}

// request returns the remote-write request of n ticks from first: each
// series with its n samples.
func (p *pusher) request(first time.Time, n int) *prompb.WriteRequest {
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, len(p.series))}
	for i, s := range p.series {
		samples := make([]prompb.Sample, n)
		for k := range samples {
			t := first.Add(time.Duration(k) * scrapeInterval)
			samples[k] = prompb.Sample{Timestamp: t.UnixMilli(), Value: s.value(t)}
		}
		req.Timeseries[i] = prompb.TimeSeries{Labels: s.labels, Samples: samples}
	}
	return req
}

// backfill sends the history, up to now, and prints how long it took.
func backfill(ctx context.Context, p *pusher, history time.Duration, w io.Writer, logger *slog.Logger) error {
	logger.Info("Backfilling the forecaster by remote write", "history", durationText(history),
		"from", p.next.UTC(), "url", p.w.url)
	began := time.Now()
	ticks, err := p.sendUntil(ctx, began)
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	took := time.Since(began)
	fmt.Fprintf(w, "Backfilled %s of history by remote write in %.1f s: %s samples of %s_total, "+
		"and %s of %d series the query does not select, which the receiver drops.\n",
		durationText(history), took.Seconds(), thousands(ticks), metricName,
		thousands(ticks*(len(p.series)-1)), len(p.series)-1)
	logger.Info("Backfill done", "samples", ticks*len(p.series), "duration", took)
	return nil
}

// startStream streams the samples in the background from where the
// backfill ended (see stream); a refused request sends its error to failed.
// The returned function stops the stream and waits for it.
func startStream(ctx context.Context, p *pusher, failed chan<- error, logger *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := stream(ctx, p, time.Now, logger); err != nil {
			failed <- err
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// stream sends every tick once its time has come, until ctx ends. A request
// that fails is sent again with the next tick's; one that the receiver
// refuses ends the stream with its error.
func stream(ctx context.Context, p *pusher, now func() time.Time, logger *slog.Logger) error {
	for {
		if _, err := p.sendUntil(ctx, now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if _, refused := errors.AsType[*refusedError](err); refused {
				return fmt.Errorf("stream: %w", err)
			}
			logger.Warn("Remote write failed, the samples go with the next ones", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(max(0, p.next.Sub(now()))):
		}
	}
}
