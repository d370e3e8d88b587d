// Package remote speaks to Prometheus: it reads load history through the
// Prometheus HTTP API (pull mode).
package remote

import (
	"context"
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
// of the backoff; the whole call gives up at the timeout.
func (c *Client) QueryRange(ctx context.Context, query string, r v1.Range) (model.Value, v1.Warnings, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		v, warnings, _, err := c.api.QueryRange(ctx, query, r, v1.WithTimeout(c.timeout))
		if err == nil {
			return v, warnings, nil
		}
		if attempt == len(c.backoff) || !retryable(err) {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, err
		case <-time.After(c.backoff[attempt]):
		}
	}
}

// retryable reports whether err may pass on a second try: the server could
// not be reached, or answered with a 5xx that is not a query error.
func retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		return apiErr.Type == v1.ErrServer
	}
	return true
}

// reason names err for kedastral_errors_total; "" means not to count it (the
// caller gave up, for example at shutdown).
func reason(err error) string {
	var apiErr *v1.Error
	switch {
	case errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return forecast.ReasonTimeout
	case errors.As(err, &apiErr):
		switch apiErr.Type {
		case v1.ErrBadData:
			return forecast.ReasonBadQuery
		case v1.ErrTimeout:
			return forecast.ReasonTimeout
		case v1.ErrCanceled:
			return forecast.ReasonCanceled
		case v1.ErrExec:
			return forecast.ReasonQueryError
		case v1.ErrServer:
			return forecast.ReasonServerError
		case v1.ErrClient:
			return forecast.ReasonClientError
		default:
			return forecast.ReasonBadResponse
		}
	default:
		return forecast.ReasonUnavailable
	}
}

// Source returns the history source of one workload's query.
func (c *Client) Source(query string, logger *slog.Logger) forecast.Source {
	return &Source{client: c, query: query, logger: logger.With("component", "source")}
}

// truncate cuts q to n bytes for a log line.
func truncate(q string, n int) string {
	if len(q) <= n {
		return q
	}
	return q[:n] + "…"
}
