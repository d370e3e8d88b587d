package read

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/config"

	"github.com/HatiCode/kedastral/internal/prometheustest"
)

func newTestClient(t *testing.T, url string, timeout time.Duration) (*Client, *prometheus.CounterVec) {
	t.Helper()
	errs := newErrors()
	c, err := NewClient(ClientOptions{
		URL:     url,
		HTTP:    config.DefaultHTTPClientConfig,
		Timeout: timeout,
		Backoff: []time.Duration{10 * time.Millisecond, 30 * time.Millisecond},
		Errors:  errs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, errs
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// matrixBody is a Prometheus range-query answer holding one series per entry
// of series, each a list of [unix seconds, "value"] pairs.
func matrixBody(series ...string) string {
	var results []string
	for i, values := range series {
		results = append(results, fmt.Sprintf(`{"metric":{"pod":"p%d"},"values":[%s]}`, i, values))
	}
	return `{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(results, ",") + `]}}`
}

// TestRangeAcceptance is the Prometheus source's acceptance case: a
// fake server returning a 10-point range vector gives 10 rows with increasing
// timestamps and numeric values.
func TestRangeAcceptance(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	var points []string
	for i := range 10 {
		points = append(points, fmt.Sprintf(`[%d,"%d.5"]`, start.Unix()+int64(i)*60, 100+i))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			t.Errorf("path %s, want /api/v1/query_range", r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, matrixBody(strings.Join(points, ",")))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, 5*time.Second)

	s, err := c.Source("sum(rate(http_requests_total[1m]))", discard()).Range(context.Background(), start, start.Add(9*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Values) != 10 {
		t.Fatalf("got %d rows, want 10", len(s.Values))
	}
	for i, v := range s.Values {
		// Row i is at start + i minutes with value 100 + i + 0.5.
		if want := float64(100+i) + 0.5; v != want {
			t.Errorf("row %d = %v, want %v", i, v, want)
		}
		if i > 0 && !s.Time(i).After(s.Time(i-1)) {
			t.Errorf("timestamp %d (%v) is not after %v", i, s.Time(i), s.Time(i-1))
		}
	}
	if !s.Time(0).Equal(start) {
		t.Errorf("first timestamp %v, want %v", s.Time(0), start)
	}
}

// TestRangeFake covers what only a fake server can show: retried 5xx,
// garbage, a hung server.
func TestRangeFake(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	ok := matrixBody(`[1700000000,"1"],[1700000060,"2"]`)
	tests := []struct {
		name       string
		answers    []int // status of each attempt; the last repeats
		body       string
		hang       bool
		wantErr    bool
		wantReason string
		wantCalls  int64
	}{
		{name: "503 twice then success is retried", answers: []int{503, 503, 200}, body: ok, wantCalls: 3},
		{name: "500 forever gives up after 2 retries", answers: []int{500}, body: ok, wantErr: true, wantReason: "server_error", wantCalls: 3},
		{name: "garbage body", answers: []int{200}, body: "<html>proxy error</html>", wantErr: true, wantReason: "bad_response", wantCalls: 1},
		{name: "401 is not retried", answers: []int{401}, body: "Unauthorized", wantErr: true, wantReason: "client_error", wantCalls: 1},
		{
			name: "Prometheus query timeout (503 with a JSON body) is not retried", answers: []int{503},
			body:    `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`,
			wantErr: true, wantReason: "timeout", wantCalls: 1,
		},
		{name: "vector instead of matrix", answers: []int{200}, body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, wantErr: true, wantReason: "bad_response", wantCalls: 1},
		{name: "hung server times out", answers: []int{200}, hang: true, wantErr: true, wantReason: "timeout", wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if tc.hang {
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				w.WriteHeader(tc.answers[min(int(n), len(tc.answers))-1])
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			defer close(release)
			c, errs := newTestClient(t, srv.URL, 300*time.Millisecond)

			s, err := c.Source("up", discard()).Range(context.Background(), start, start.Add(time.Minute), time.Minute)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if !tc.wantErr && (len(s.Values) != 2 || s.Values[0] != 1 || s.Values[1] != 2) {
				t.Errorf("values %v, want [1 2]", s.Values)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("server called %d times, want %d", got, tc.wantCalls)
			}
			if tc.wantReason != "" {
				if got := testutil.ToFloat64(errs.WithLabelValues("source", tc.wantReason)); got != 1 {
					t.Errorf("kedastral_errors_total{reason=%q} = %v, want 1", tc.wantReason, got)
				}
			}
		})
	}
}

// TestRangeRealPrometheus runs the source against a real Prometheus: sums,
// NaN and Inf, gaps, empty results and query errors as Prometheus itself
// produces them.
func TestRangeRealPrometheus(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{})
	// Whole seconds, so that "time() % 3" picks the same steps on every run.
	end := time.Now().Truncate(time.Second)
	start := end.Add(-29 * time.Second)
	nan := math.NaN()
	tests := []struct {
		name       string
		query      string
		want       func(i int, t time.Time) float64
		wantErr    error
		wantReason string
	}{
		{
			name:  "constant",
			query: "vector(42)",
			want:  func(int, time.Time) float64 { return 42 },
		},
		{
			// Two series, 1 and 2, summed: 3 at every step.
			name:  "several series are summed",
			query: `label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(2), "pod", "b", "", "")`,
			want:  func(int, time.Time) float64 { return 3 },
		},
		{
			// One series is 0/0 = NaN everywhere and is dropped: the other's 1 remains.
			name:       "NaN samples are dropped and counted",
			query:      `label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(0) / 0, "pod", "b", "", "")`,
			want:       func(int, time.Time) float64 { return 1 },
			wantReason: "non_finite",
		},
		{
			// 1/0 = +Inf at every step: nothing finite is left.
			name:       "Inf samples are dropped and counted",
			query:      "vector(1) / 0",
			want:       func(int, time.Time) float64 { return nan },
			wantReason: "non_finite",
		},
		{
			// Steps whose unix time is a multiple of 3 have no value.
			name:  "gaps stay NaN",
			query: "vector(5) and on() (vector(time()) % 3 > 0)",
			want: func(_ int, t time.Time) float64 {
				if t.Unix()%3 == 0 {
					return nan
				}
				return 5
			},
		},
		{
			name:       "empty result",
			query:      "vector(1) > 2",
			wantErr:    ErrEmptyResult,
			wantReason: "empty_result",
		},
		{
			name:       "syntax error is not retried",
			query:      "sum(",
			wantReason: "bad_query",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, errs := newTestClient(t, prom.URL, 10*time.Second)
			s, err := c.Source(tc.query, discard()).Range(context.Background(), start, end, time.Second)
			if tc.want == nil {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if len(s.Values) != 30 {
					t.Fatalf("got %d values, want 30", len(s.Values))
				}
				for i, v := range s.Values {
					want := tc.want(i, s.Time(i))
					if v != want && !(math.IsNaN(v) && math.IsNaN(want)) {
						t.Errorf("value %d at %v = %v, want %v", i, s.Time(i).Unix(), v, want)
					}
				}
			}
			if tc.wantReason != "" {
				if got := testutil.ToFloat64(errs.WithLabelValues("source", tc.wantReason)); got != 1 {
					t.Errorf("kedastral_errors_total{reason=%q} = %v, want 1", tc.wantReason, got)
				}
			}
		})
	}

	t.Run("query timeout in Prometheus", func(t *testing.T) {
		slow := prometheustest.Start(t, prometheustest.Options{Args: []string{"--query.timeout=1ms"}})
		c, errs := newTestClient(t, slow.URL, 10*time.Second)
		// 30 steps of a day-long subquery at 1 s: 2.6 million evaluations, far over 1 ms.
		_, err := c.Source("sum(count_over_time(vector(1)[1d:1s]))", discard()).Range(context.Background(), start, end, time.Second)
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("err = %v, want Prometheus's query timeout", err)
		}
		if got := testutil.ToFloat64(errs.WithLabelValues("source", "timeout")); got != 1 {
			t.Errorf("kedastral_errors_total{reason=\"timeout\"} = %v, want 1", got)
		}
	})

	t.Run("unreachable server is retried, then counted", func(t *testing.T) {
		addr := prometheustest.FreeAddr(t) // nothing listens there
		c, errs := newTestClient(t, "http://"+addr, 5*time.Second)
		_, err := c.Source("up", discard()).Range(context.Background(), start, end, time.Second)
		if err == nil {
			t.Fatal("no error from an unreachable server")
		}
		if got := testutil.ToFloat64(errs.WithLabelValues("source", "unavailable")); got != 1 {
			t.Errorf("kedastral_errors_total{reason=\"unavailable\"} = %v, want 1", got)
		}
	})
}

// TestRangeInPieces reads 25,000 one-second steps, more than the 11,000
// Prometheus returns per query: three queries (11,000 + 11,000 + 3,000)
// whose joined values must be time() at every step, with none missing or
// doubled at the joins.
func TestRangeInPieces(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{})
	end := time.Now().Truncate(time.Second)
	start := end.Add(-24999 * time.Second)
	c, _ := newTestClient(t, prom.URL, 30*time.Second)
	s, err := c.Source("vector(time())", discard()).Range(context.Background(), start, end, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Values) != 25000 {
		t.Fatalf("got %d values, want 25000", len(s.Values))
	}
	for i, v := range s.Values {
		if want := float64(s.Time(i).Unix()); v != want {
			t.Fatalf("value %d = %v, want %v", i, v, want)
		}
	}
}

// newErrors returns a kedastral_errors_total counter of the sources' own,
// as the engine registers it.
func newErrors() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kedastral_errors_total"}, []string{"component", "reason"})
}
