package config

import (
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/remote/out"
)

func TestLoadRemoteWrite(t *testing.T) {
	cfg, err := Load([]byte(`
remote_write:
  - url: http://mimir:8080/api/v1/push
    name: mimir
    headers: {X-Scope-OrgID: team-a}
    basic_auth: {username: kedastral, password_file: secret}
    queue_config: {capacity: 1000}
  - url: https://prometheus:9090/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
external_labels: {replica: a, cluster: eu-1}
workloads:
  - name: w
    query: up
`), "/etc/kedastral")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RemoteWrite) != 2 {
		t.Fatalf("%d endpoints, want 2", len(cfg.RemoteWrite))
	}
	m := cfg.RemoteWrite[0]
	// Set fields are kept, the others take the defaults.
	if m.Name != "mimir" || m.Headers["X-Scope-OrgID"] != "team-a" || m.QueueConfig.Capacity != 1000 ||
		m.QueueConfig.MaxSamplesPerSend != 2000 || time.Duration(m.RemoteTimeout) != 30*time.Second ||
		m.ProtobufMessage != out.MessageV1 || !m.QueueConfig.RetryOnRateLimit {
		t.Errorf("first endpoint %+v", m)
	}
	// A relative password file is taken from the config file's directory.
	if got := m.HTTPClientConfig.BasicAuth.PasswordFile; got != "/etc/kedastral/secret" {
		t.Errorf("password file %q, want /etc/kedastral/secret", got)
	}
	if cfg.RemoteWrite[1].ProtobufMessage != out.MessageV2 {
		t.Errorf("second endpoint speaks %s", cfg.RemoteWrite[1].ProtobufMessage)
	}
	if cfg.ExternalLabels["replica"] != "a" || cfg.ExternalLabels["cluster"] != "eu-1" {
		t.Errorf("external labels %v", cfg.ExternalLabels)
	}
}

func TestRemoteWriteValidation(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no url", "remote_write: [{name: x}]", `remote_write 1: remote_write url "" is not an http(s) URL with a host`},
		{"not http", "remote_write: [{url: 'ftp://x/'}]", "is not an http(s) URL"},
		{"unknown message", "remote_write: [{url: 'http://x/', protobuf_message: v3}]", `protobuf_message "v3" must be`},
		{"reserved header", "remote_write: [{url: 'http://x/', headers: {content-type: text/plain}}]", "header Content-Type is set by Kedastral"},
		{"zero capacity", "remote_write: [{url: 'http://x/', queue_config: {capacity: -1}}]", "capacity must be positive"},
		{"backoff", "remote_write: [{url: 'http://x/', queue_config: {min_backoff: 10s, max_backoff: 1s}}]", "min_backoff ≤ max_backoff"},
		{"zero timeout", "remote_write: [{url: 'http://x/', remote_timeout: 0s}]", "remote_timeout must be positive"},
		{"reserved label", "external_labels: {horizon: x}", `external label "horizon" is a label of the forecast series`},
		{"dunder label", "external_labels: {__replica__: x}", "is not a valid label name"},
		{"empty value", "external_labels: {replica: ''}", "has an empty value"},
		{"unknown field", "remote_write: [{url: 'http://x/', queue: {}}]", "field queue not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte(tc.yaml+"\nworkloads: [{name: w, query: up}]\n"), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
