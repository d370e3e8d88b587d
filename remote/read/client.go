// Package read reads from Prometheus: a workload's load history by a
// PromQL range query through the Prometheus HTTP API (pull mode) or any
// other range querier such as the embedded engine of package in; the
// plans a forecaster published, read back after a restart; and a backfill
// of raw series by remote read. It also names the reasons source errors
// are counted under.
package read

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"

	"github.com/HatiCode/kedastral/forecast"
)

// Connection limits of the original specification.
const (
	dialTimeout = 2 * time.Second
	// maxQueryLog is how much of a PromQL expression goes into a log line.
	maxQueryLog = 200
)

// ClientOptions configures a Client.
type ClientOptions struct {
	// URL of the Prometheus server.
	URL string
	// HTTP holds authentication, TLS and proxy settings.
	HTTP config.HTTPClientConfig
	// Timeout bounds a whole query, retries included.
	Timeout time.Duration
	// Backoff lists the waits before each retry; its length is the number of
	// retries. Nil means the default: 100 ms, then 300 ms.
	Backoff []time.Duration
	// Errors counts failures as kedastral_errors_total{component="source",reason}.
	Errors *prometheus.CounterVec
}

// Client runs range queries against the Prometheus HTTP API with a timeout
// and retries. It is safe for concurrent use.
type Client struct {
	api     v1.API
	timeout time.Duration
	backoff []time.Duration
	errors  *prometheus.CounterVec
}

// NewClient returns a Client for the Prometheus at opts.URL.
func NewClient(opts ClientOptions) (*Client, error) {
	dialer := &net.Dialer{Timeout: dialTimeout}
	httpClient, err := config.NewClientFromConfig(opts.HTTP, "prometheus",
		config.WithDialContextFunc(dialer.DialContext),
		config.WithUserAgent("kedastral/"+version.Version))
	if err != nil {
		return nil, fmt.Errorf("prometheus http client: %w", err)
	}
	apiClient, err := api.NewClient(api.Config{Address: opts.URL, Client: httpClient})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", opts.URL, err)
	}
	backoff := opts.Backoff
	if backoff == nil {
		backoff = []time.Duration{100 * time.Millisecond, 300 * time.Millisecond}
	}
	return &Client{api: v1.NewAPI(apiClient), timeout: opts.Timeout, backoff: backoff, errors: opts.Errors}, nil
}

// QueryRange runs query over r. Failures that a retry can fix (the server
// unreachable, a 5xx that is not a query error) are retried after each wait
// of the backoff; the whole call gives up at the timeout. A failure is a
// *QueryError saying why.
func (c *Client) QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, v1.Warnings, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		v, warnings, _, err := c.api.QueryRange(ctx, query, r, v1.WithTimeout(c.timeout))
		if err == nil {
			return v, warnings, nil
		}
		qe := classify(err)
		switch ctx.Err() {
		case context.DeadlineExceeded:
			qe.Reason, qe.retry = ReasonTimeout, false
		case context.Canceled: // the caller gave up, for example at shutdown
			qe.Reason, qe.retry = "", false
		}
		if !qe.retry || attempt == len(c.backoff) {
			return nil, nil, qe
		}
		select {
		case <-ctx.Done():
			return nil, nil, qe
		case <-time.After(c.backoff[attempt]):
		}
	}
}

// QueryError is a failed query and the reason it is counted under in
// kedastral_errors_total.
type QueryError struct {
	// Reason is one of the Reason* names; "" when the caller gave up.
	Reason string
	retry  bool
	err    error
}

// NewQueryError returns a failure of a query that a retry does not fix,
// counted under reason.
func NewQueryError(reason string, err error) *QueryError {
	return &QueryError{Reason: reason, err: err}
}

func (e *QueryError) Error() string { return e.err.Error() }

// Unwrap returns the error of the Prometheus client.
func (e *QueryError) Unwrap() error { return e.err }

// classify names err and says whether a retry may help: the server could not
// be reached (a connect timeout included), or answered with a 5xx that is not
// a query error.
func classify(err error) *QueryError {
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) {
		return &QueryError{Reason: ReasonUnavailable, retry: true, err: err}
	}
	typ := apiErr.Type
	if typ == v1.ErrServer || typ == v1.ErrClient {
		// Prometheus answers a query timeout with 503 and a cancelled query
		// with 499; the client only decodes the JSON of 400 and 422 answers.
		var body struct {
			ErrorType v1.ErrorType `json:"errorType"`
			Error     string       `json:"error"`
		}
		if json.Unmarshal([]byte(apiErr.Detail), &body) == nil && body.ErrorType != "" {
			typ = body.ErrorType
			err = fmt.Errorf("%w: %s", err, body.Error)
		}
	}
	reasons := map[v1.ErrorType]string{
		v1.ErrBadData:  ReasonBadQuery,
		v1.ErrTimeout:  ReasonTimeout,
		v1.ErrCanceled: ReasonCanceled,
		v1.ErrExec:     ReasonQueryError,
		v1.ErrServer:   ReasonServerError,
		v1.ErrClient:   ReasonClientError,
	}
	reason, ok := reasons[typ]
	if !ok {
		reason = ReasonBadResponse
	}
	return &QueryError{Reason: reason, retry: typ == v1.ErrServer, err: err}
}

// Source returns the history source of one workload's query.
func (c *Client) Source(query string, logger *slog.Logger) forecast.Source {
	return NewSource(c, query, c.errors, logger)
}

// ShortQuery cuts a PromQL expression to 200 bytes for a log line or an
// error message.
func ShortQuery(q string) string {
	if len(q) <= maxQueryLog {
		return q
	}
	return q[:maxQueryLog] + "…"
}
