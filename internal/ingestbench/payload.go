package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// shape is what is sent in a case: how many series, in how many shards, how
// many samples a request holds, and the time between two samples of a
// series.
type shape struct {
	series   int
	shards   int
	batch    int
	interval time.Duration
	// start is the timestamp of the first round.
	start time.Time
}

// payload is the requests of some rounds of a case, remote-write 1.0 bodies
// compressed with snappy, per shard in the order they are sent.
type payload struct {
	shards  [][][]byte
	samples int
}

// seriesLabels returns the label sets of the series of the metric name,
// sorted by label name, as Prometheus sends an HTTP server's request counter:
// 50 instances, 4 methods, 5 codes and as many paths as needed.
func seriesLabels(name string, n int) [][]prompb.Label {
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	codes := []string{"200", "201", "304", "404", "500"}
	out := make([][]prompb.Label, n)
	for i := range out {
		rest := i / 50
		out[i] = []prompb.Label{
			{Name: "__name__", Value: name},
			{Name: "code", Value: codes[rest/len(methods)%len(codes)]},
			{Name: "instance", Value: fmt.Sprintf("10.0.%d.%d:8080", i%50/10, i%10)},
			{Name: "job", Value: "api"},
			{Name: "method", Value: methods[rest%len(methods)]},
			{Name: "path", Value: "/api/v1/resource/" + strconv.Itoa(rest/(len(methods)*len(codes)))},
		}
	}
	return out
}

// buildPayload encodes the rounds [from, to) of the series lss. Series i
// goes to shard i mod shards, as Prometheus shards by series, so each series
// is sent in order by one sender; a shard's samples are cut into requests of
// shape.batch samples, one time series entry per sample, as Prometheus's
// queue manager does.
func buildPayload(lss [][]prompb.Label, sh shape, from, to int) (payload, error) {
	p := payload{shards: make([][][]byte, sh.shards)}
	pending := make([][]prompb.TimeSeries, sh.shards)
	flush := func(s int) error {
		raw, err := (&prompb.WriteRequest{Timeseries: pending[s]}).Marshal()
		if err != nil {
			return fmt.Errorf("encode a request: %w", err)
		}
		p.shards[s] = append(p.shards[s], snappy.Encode(nil, raw))
		pending[s] = pending[s][:0]
		return nil
	}
	for r := from; r < to; r++ {
		ts := sh.start.Add(time.Duration(r) * sh.interval).UnixMilli()
		for i, ls := range lss {
			s := i % sh.shards
			// A counter that grows by a few requests per round.
			v := float64(r * (1 + i%7))
			pending[s] = append(pending[s], prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Timestamp: ts, Value: v}}})
			p.samples++
			if len(pending[s]) == sh.batch {
				if err := flush(s); err != nil {
					return payload{}, err
				}
			}
		}
	}
	for s := range pending {
		if len(pending[s]) > 0 {
			if err := flush(s); err != nil {
				return payload{}, err
			}
		}
	}
	return p, nil
}

// send posts the payload to url: one sender per shard, all at once, each
// sending its requests in order and waiting for each answer. Any answer but
// a 2xx stops every sender and is returned as an error.
func send(ctx context.Context, client *http.Client, url string, p payload) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(p.shards))
	var wg sync.WaitGroup
	for _, requests := range p.shards {
		wg.Go(func() {
			for _, body := range requests {
				if err := post(ctx, client, url, body); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// post sends one remote-write 1.0 request, as Prometheus does.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("User-Agent", "kedastral-ingestbench")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post to %s: status %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
