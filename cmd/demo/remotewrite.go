package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"
)

const (
	// writePath is the forecaster's remote-write receiver.
	writePath = "/api/v1/write"
	// writeTimeout bounds one request.
	writeTimeout = 30 * time.Second
	// minBackoff and maxBackoff bound the wait before a retry, which about
	// doubles from one to the other.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// writeAttempts is how many times a request is sent before giving up:
	// about 20 s of retries.
	writeAttempts = 10
	// maxErrorBody bounds how much of an error answer is quoted.
	maxErrorBody = 512
	// userAgent is the User-Agent of the demo's requests.
	userAgent = "kedastral-demo"
)

// retryPolicy says how a writer retries a request.
type retryPolicy struct {
	// minBackoff and maxBackoff bound the wait before a retry.
	minBackoff, maxBackoff time.Duration
	// attempts is how many times a request is sent before giving up: at
	// least 2, for client_golang reads no retry as retrying forever.
	attempts int
}

// defaultRetry is the writer's retry policy.
func defaultRetry() retryPolicy {
	return retryPolicy{minBackoff: minBackoff, maxBackoff: maxBackoff, attempts: writeAttempts}
}

// writer sends remote-write 1.0 requests, as Prometheus does, with
// client_golang's remote-write client: a snappy-compressed
// prompb.WriteRequest, retried after a connection error or a 5xx or 429
// answer.
type writer struct {
	url    string
	api    *remoteapi.API
	logger *slog.Logger
}

// newWriter returns a writer to the receiver at url that retries as retry
// says.
func newWriter(url string, retry retryPolicy, logger *slog.Logger) (*writer, error) {
	if retry.attempts < 2 {
		return nil, fmt.Errorf("remote write to %s: %d attempts, want at least 2", url, retry.attempts)
	}
	client := &http.Client{Timeout: writeTimeout, Transport: answerTransport{next: http.DefaultTransport}}
	api, err := remoteapi.NewAPI(url,
		remoteapi.WithAPIPath(""),
		remoteapi.WithAPIHTTPClient(client),
		remoteapi.WithAPIBackoff(remoteapi.BackoffConfig{Min: retry.minBackoff, Max: retry.maxBackoff, MaxRetries: retry.attempts - 1}))
	if err != nil {
		return nil, fmt.Errorf("remote write to %s: %w", url, err)
	}
	return &writer{url: url, api: api, logger: logger.With("component", "remote_write")}, nil
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
// growing backoff up to the policy's attempts in all. A 4xx answer fails at
// once, with a *refusedError.
func (w *writer) write(ctx context.Context, req *prompb.WriteRequest) error {
	last := &answer{}
	attempts := 1
	_, err := w.api.Write(context.WithValue(ctx, answerKey{}, last), remoteapi.WriteV1MessageType, req,
		remoteapi.WithWriteRetryCallback(func(err error) {
			w.logger.Debug("Remote write failed, retrying", "attempt", attempts, "err", err)
			attempts++
		}))
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case last.code/100 == 4 && last.code != http.StatusTooManyRequests:
		return &refusedError{status: last.status, body: last.body}
	case last.err == nil && (last.code == 0 || last.code/100 == 2):
		// Not an answer of the receiver: the request could not be encoded,
		// or the answer not read.
		return fmt.Errorf("remote write to %s: %w", w.url, err)
	default:
		return fmt.Errorf("remote write to %s: gave up after %d attempts: %w", w.url, attempts, last.error())
	}
}

// answer is the receiver's last answer to a write: its status and the start
// of its body, or the error of the connection.
type answer struct {
	code   int
	status string
	body   string
	err    error
}

// error says what went wrong with the answer.
func (a *answer) error() error {
	if a.err != nil {
		return a.err
	}
	return fmt.Errorf("the receiver answered %s: %s", a.status, a.body)
}

// answerKey keys the *answer of a write in its requests' context.
type answerKey struct{}

// answerTransport sets the demo's User-Agent and keeps every answer in the
// *answer of the request's context, if any: client_golang's client says
// neither the status nor the body of the answer that made it give up in a
// way a program can read.
type answerTransport struct {
	next http.RoundTripper
}

func (t answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", userAgent)
	resp, err := t.next.RoundTrip(r)
	last, _ := r.Context().Value(answerKey{}).(*answer)
	if last == nil {
		return resp, err
	}
	if err != nil {
		*last = answer{err: err}
		return resp, err
	}
	*last = answer{code: resp.StatusCode, status: resp.Status}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		last.body = strings.TrimSpace(string(msg))
		resp.Body = io.NopCloser(bytes.NewReader(msg))
	}
	return resp, nil
}
