//go:build ignore

// Package targets (in a checkout of github.com/prometheus/compliance, where
// scripts/compliance.sh copies this file as
// remotewrite/sender/targets/kedastral.go and drops the ignore tag above)
// gains RunKedastral, which runs the Kedastral forecaster as a remote-write
// sender. This file is not part of the kedastral module.
//
// The suite hands every target a scrape endpoint (Prometheus text format) and
// the URL of its mock receiver. The forecaster scrapes nothing: it reads its
// load with PromQL range queries and remote-writes its own forecast series
// (kedastral_forecast_*). The bridge is a tiny fake Prometheus query API,
// served here, that answers every range query with a constant series whose
// value is the first finite sample of the scrape endpoint (1 when there is
// none), so that the forecaster forecasts at once and sends to the receiver.
package targets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// KedastralBinaryEnv names the forecaster binary; default bin/forecaster
// under the suite's directory.
const KedastralBinaryEnv = "KEDASTRAL_FORECASTER_BINARY"

// RunKedastral starts the forecaster in pull mode against a fake Prometheus
// and remote-writes (2.0) its forecasts to opts.ReceiveEndpoint, until
// opts.Timeout, when it gets SIGINT and flushes its queue.
func RunKedastral(opts TargetOptions) error {
	binary := os.Getenv(KedastralBinaryEnv)
	if binary == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return err
		}
		binary = filepath.Join(cwd, "bin", "forecaster")
	}

	value := firstScrapedValue(opts.ScrapeTarget)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: fakePrometheus(value)}
	go srv.Serve(ln)
	defer srv.Close()

	cfg := fmt.Sprintf(`prometheus:
  url: http://%s
workloads:
  - name: compliance
    query: compliance_load
    interval: 30s  # one forecast at start-up; later requests are then retries
remote_write:
  - url: %q
    protobuf_message: io.prometheus.write.v2.Request
    remote_timeout: 5s
    queue_config:
      capacity: 500000
      max_samples_per_send: 2000
      batch_send_deadline: 1s
      min_backoff: 30ms
      max_backoff: 5s
      retry_on_http_429: true
`, ln.Addr().String(), opts.ReceiveEndpoint)
	configFileName, err := writeTempFile(cfg, "kedastral-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(configFileName)

	return runCommand(binary, opts.Timeout,
		"--config.file="+configFileName,
		"--web.listen-address=127.0.0.1:0",
		"--storage.path=data",
	)
}

// firstScrapedValue reads the scrape endpoint once and returns its first
// finite sample value, 1 when there is none.
func firstScrapedValue(target string) float64 {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(target)
	if err != nil {
		return 1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var field string
		if i := strings.LastIndex(line, "}"); i >= 0 {
			if f := strings.Fields(line[i+1:]); len(f) > 0 {
				field = f[0]
			}
		} else if f := strings.Fields(line); len(f) >= 2 {
			field = f[1]
		}
		v, err := strconv.ParseFloat(field, 64)
		if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v
		}
	}
	return 1
}

// fakePrometheus answers /api/v1/query_range with one constant series over
// the asked range (an empty matrix for the forecaster's own
// kedastral_* series), and /api/v1/query with one constant sample.
func fakePrometheus(value float64) http.Handler {
	mux := http.NewServeMux()
	sample := strconv.FormatFloat(value, 'f', -1, 64)
	write := func(w http.ResponseWriter, resultType string, result any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"status": "success",
			"data":   map[string]any{"resultType": resultType, "result": result},
		})
	}
	mux.HandleFunc("/api/v1/query_range", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if strings.Contains(r.Form.Get("query"), "kedastral_") {
			write(w, "matrix", []any{})
			return
		}
		start, e1 := parsePromTime(r.Form.Get("start"))
		end, e2 := parsePromTime(r.Form.Get("end"))
		step, e3 := strconv.ParseFloat(r.Form.Get("step"), 64)
		if e1 != nil || e2 != nil || e3 != nil || step <= 0 {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad range"}`, http.StatusBadRequest)
			return
		}
		var values [][2]any
		for t := start; t <= end+1e-9; t += step {
			values = append(values, [2]any{t, sample})
		}
		write(w, "matrix", []any{map[string]any{"metric": map[string]string{}, "values": values}})
	})
	mux.HandleFunc("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		now := float64(time.Now().UnixMilli()) / 1000
		write(w, "vector", []any{map[string]any{"metric": map[string]string{}, "value": [2]any{now, sample}}})
	})
	return mux
}

func parsePromTime(s string) (float64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return float64(t.UnixNano()) / 1e9, nil
}
