package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

const (
	// writePath is the forecaster's remote-write receiver.
	writePath = "/api/v1/write"
	// writeTimeout bounds one request.
	writeTimeout = 30 * time.Second
	// minBackoff and maxBackoff bound the wait before a retry, which doubles
	// from one to the other.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// writeAttempts is how many times a request is sent before giving up:
	// about 20 s of retries.
	writeAttempts = 10
	// maxErrorBody bounds how much of an error answer is quoted.
	maxErrorBody = 512
)

// writer sends remote-write 1.0 requests, as Prometheus does: a
// snappy-compressed prompb.WriteRequest, retried after a connection error
// or a 5xx or 429 answer.
type writer struct {
	url        string
	client     *http.Client
	minBackoff time.Duration
	maxBackoff time.Duration
	attempts   int
	logger     *slog.Logger
}

// newWriter returns a writer to the receiver at url.
func newWriter(url string, logger *slog.Logger) *writer {
	return &writer{
		url:        url,
		client:     &http.Client{Timeout: writeTimeout},
		minBackoff: minBackoff,
		maxBackoff: maxBackoff,
		attempts:   writeAttempts,
		logger:     logger.With("component", "remote_write"),
	}
}

// refusedError is a 4xx answer of the receiver: the same request would be
// refused again.
type refusedError struct {
	status string
	body   string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("the receiver refused the samples with %s: %s", e.status, e.body)
}

// write sends req, retrying connection errors and 5xx and 429 answers with a
// doubling backoff up to w.attempts times in all. A 4xx answer fails at once,
// with a *refusedError.
func (w *writer) write(ctx context.Context, req *prompb.WriteRequest) error {
	raw, err := req.Marshal()
	if err != nil {
		return fmt.Errorf("encode the remote-write request: %w", err)
	}
	body := snappy.Encode(nil, raw)
	backoff := w.minBackoff
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body)
		if _, refused := errors.AsType[*refusedError](err); err == nil || refused || ctx.Err() != nil {
			return err
		}
		if attempt >= w.attempts {
			return fmt.Errorf("remote write to %s: gave up after %d attempts: %w", w.url, attempt, err)
		}
		w.logger.Debug("Remote write failed, retrying", "attempt", attempt, "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, w.maxBackoff)
	}
}

// post sends one compressed request.
func (w *writer) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("remote write to %s: %w", w.url, err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "kedastral-demo")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, resp.Body)
	text := strings.TrimSpace(string(msg))
	switch code := resp.StatusCode; {
	case code/100 == 2:
		return nil
	case code/100 == 4 && code != http.StatusTooManyRequests:
		return &refusedError{status: resp.Status, body: text}
	default:
		return fmt.Errorf("the receiver answered %s: %s", resp.Status, text)
	}
}
