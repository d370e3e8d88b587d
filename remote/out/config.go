package out

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Protobuf messages of remote write, for Config.ProtobufMessage.
const (
	MessageV1 = "prometheus.WriteRequest"
	MessageV2 = "io.prometheus.write.v2.Request"
)

// Config is an endpoint the forecasts are remote-written to,
// shaped like Prometheus's remote_write section.
type Config struct {
	// URL of the remote-write endpoint, such as
	// http://prometheus:9090/api/v1/write.
	URL *config.URL `yaml:"url"`
	// Name names the endpoint in metrics and logs; empty means a hash of
	// the URL.
	Name string `yaml:"name,omitempty"`
	// RemoteTimeout bounds one request.
	RemoteTimeout model.Duration `yaml:"remote_timeout,omitempty"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers,omitempty"`
	// ProtobufMessage is MessageV1 (the default) or MessageV2.
	ProtobufMessage string `yaml:"protobuf_message,omitempty"`
	// HTTPClientConfig holds authentication, TLS and proxy settings.
	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`
	// QueueConfig bounds the queue and paces the sending.
	QueueConfig QueueConfig `yaml:"queue_config,omitempty"`
}

// QueueConfig bounds the queue of one endpoint and paces its
// requests.
type QueueConfig struct {
	// Capacity is the most samples waiting to be sent; when a new forecast
	// would not fit, the oldest waiting ones are dropped and counted.
	Capacity int `yaml:"capacity,omitempty"`
	// MaxSamplesPerSend is the most samples in one request.
	MaxSamplesPerSend int `yaml:"max_samples_per_send,omitempty"`
	// BatchSendDeadline is how long a sample waits for others to share its
	// request.
	BatchSendDeadline model.Duration `yaml:"batch_send_deadline,omitempty"`
	// MinBackoff and MaxBackoff bound the exponential wait, with jitter,
	// between the attempts of a request that a retry may fix (5xx, 429,
	// network errors).
	MinBackoff model.Duration `yaml:"min_backoff,omitempty"`
	MaxBackoff model.Duration `yaml:"max_backoff,omitempty"`
	// RetryOnRateLimit retries 429 answers, after their Retry-After.
	RetryOnRateLimit bool `yaml:"retry_on_http_429,omitempty"`
}

// DefaultConfig returns the settings of an endpoint that sets
// none, such as one given by --remote-write.url.
func DefaultConfig() Config {
	return Config{
		RemoteTimeout:    model.Duration(30 * time.Second),
		ProtobufMessage:  MessageV1,
		HTTPClientConfig: config.DefaultHTTPClientConfig,
		QueueConfig: QueueConfig{
			Capacity:          500_000,
			MaxSamplesPerSend: 2000,
			BatchSendDeadline: model.Duration(5 * time.Second),
			MinBackoff:        model.Duration(30 * time.Millisecond),
			MaxBackoff:        model.Duration(5 * time.Second),
			RetryOnRateLimit:  true,
		},
	}
}

// UnmarshalYAML applies the defaults, then the YAML.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type plain Config
	return unmarshal((*plain)(c))
}

// reservedHeaders are set by the sender and may not be overridden.
var reservedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Length", "User-Agent",
	"X-Prometheus-Remote-Write-Version", "Authorization", "Host", "Retry-Attempt"}

// Validate reports the first setting of c that cannot work.
func (c Config) Validate() error {
	if c.URL == nil || (c.URL.Scheme != "http" && c.URL.Scheme != "https") || c.URL.Host == "" {
		u := ""
		if c.URL != nil {
			u = c.URL.Redacted()
		}
		return fmt.Errorf("remote_write url %q is not an http(s) URL with a host", u)
	}
	if c.ProtobufMessage != MessageV1 && c.ProtobufMessage != MessageV2 {
		return fmt.Errorf("remote_write protobuf_message %q must be %s or %s", c.ProtobufMessage, MessageV1, MessageV2)
	}
	if c.RemoteTimeout <= 0 {
		return errors.New("remote_write remote_timeout must be positive")
	}
	for name := range c.Headers {
		for _, r := range reservedHeaders {
			if http.CanonicalHeaderKey(name) == r {
				return fmt.Errorf("remote_write header %s is set by Kedastral and cannot be configured", r)
			}
		}
	}
	q := c.QueueConfig
	switch {
	case q.Capacity <= 0:
		return errors.New("remote_write queue_config capacity must be positive")
	case q.MaxSamplesPerSend <= 0:
		return errors.New("remote_write queue_config max_samples_per_send must be positive")
	case q.BatchSendDeadline <= 0:
		return errors.New("remote_write queue_config batch_send_deadline must be positive")
	case q.MinBackoff <= 0 || q.MaxBackoff < q.MinBackoff:
		return errors.New("remote_write queue_config needs 0 < min_backoff ≤ max_backoff")
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return fmt.Errorf("remote_write: %w", err)
	}
	return nil
}

// reservedLabels returns the labels of the forecast series themselves.
func reservedLabels() []string {
	return []string{model.MetricNameLabel, "workload", "horizon", "model"}
}

// ValidateExternalLabels refuses external labels that would clash with the
// forecast series' own or are not valid label names.
func ValidateExternalLabels(ls map[string]string) error {
	for name, value := range ls {
		if !model.UTF8Validation.IsValidLabelName(name) || strings.HasPrefix(name, "__") {
			return fmt.Errorf("external label %q is not a valid label name (names starting with __ are reserved)", name)
		}
		for _, r := range reservedLabels() {
			if name == r {
				return fmt.Errorf("external label %q is a label of the forecast series themselves", name)
			}
		}
		if value == "" {
			return fmt.Errorf("external label %q has an empty value", name)
		}
	}
	return nil
}
