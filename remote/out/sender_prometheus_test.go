package out

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
	"github.com/HatiCode/kedastral/remote/read"
)

// kedaQuery is the query of the ScaledObject in docs/remote-write.md: the
// KEDA prometheus trigger reads it as an instant query and needs exactly one
// series.
const kedaQuery = `kedastral_forecast_desired_replicas{workload="checkout"}`

// flakyProxy forwards to a Prometheus, answering 500 itself to the first
// fail requests, and records the codes Prometheus answered.
type flakyProxy struct {
	mu    sync.Mutex
	fail  int
	codes map[int]int
	next  *httputil.ReverseProxy
}

func (p *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	fail := p.fail > 0
	p.fail--
	p.mu.Unlock()
	if fail {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	p.next.ServeHTTP(w, r)
}

// TestSenderIntoPrometheus sends forecasts through a proxy that fails the
// first requests to a real Prometheus, which is also restarted mid-run: every
// forecast arrives, none is refused as a duplicate or out of order, and the
// KEDA trigger's query reads the planned replicas.
func TestSenderIntoPrometheus(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	target, _ := url.Parse(prom.URL)
	proxy := &flakyProxy{fail: 3, codes: map[int]int{}, next: httputil.NewSingleHostReverseProxy(target)}
	proxy.next.ErrorLog = log.New(io.Discard, "", 0) // Prometheus is down on purpose below
	proxy.next.ModifyResponse = func(r *http.Response) error {
		proxy.mu.Lock()
		proxy.codes[r.StatusCode]++
		proxy.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	s, reg, stop := testSender(t, srv.URL+"/api/v1/write", func(c *Config) {
		c.QueueConfig.MaxBackoff = model.Duration(200 * time.Millisecond)
	}, map[string]string{"replica": "a"})
	client := newTestClient(t, prom.URL)

	// Three ticks 15 s apart, ending now, planning 4, 5 and 6 replicas.
	now := time.Now().Truncate(time.Second)
	for i := range 3 {
		s.Published(testSnapshot("checkout", now.Add(time.Duration(i-2)*15*time.Second), 4+i))
	}
	testutil.WaitFor(t, waitTimeout, "three ticks sent", func() bool {
		return testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_sent_total", nil) == 3*seriesPerSnapshot
	})
	for i, want := range []float64{4, 5, 6} {
		at := now.Add(time.Duration(i-2) * 15 * time.Second)
		v := client.instant(t, kedaQuery, at)
		if len(v) != 1 || float64(v[0].Value) != want {
			t.Errorf("%s at tick %d: %v, want one series of %v", kedaQuery, i, v, want)
		}
	}
	if v := client.instant(t, `kedastral_forecast_value{workload="checkout",horizon="1m"}`, now); len(v) != 1 || v[0].Value != 110 {
		t.Errorf("forecast value in 1m: %v, want 110", v)
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_retries_total", nil); got < 3 {
		t.Errorf("%v retries, want at least the 3 injected failures", got)
	}
	// A forecaster restarted now reads back the plan it served last: 6.
	if n, ok, err := client.Recall(context.Background(), "checkout", now.Add(-30*time.Minute), now); err != nil || !ok || n != 6 {
		t.Errorf("Recall = %d, %v, %v; want 6, true", n, ok, err)
	}
	// Nothing is recalled from before the window, nor for another workload.
	if n, ok, err := client.Recall(context.Background(), "checkout", now.Add(-40*time.Minute), now.Add(-35*time.Minute)); err != nil || ok {
		t.Errorf("Recall before the ticks = %d, %v, %v; want none", n, ok, err)
	}
	if n, ok, err := client.Recall(context.Background(), "cart", now.Add(-30*time.Minute), now); err != nil || ok {
		t.Errorf("Recall of another workload = %d, %v, %v; want none", n, ok, err)
	}

	// Prometheus goes away; a tick is queued and retried until it is back.
	prom.Stop()
	s.Published(testSnapshot("checkout", now.Add(15*time.Second), 7))
	testutil.WaitFor(t, waitTimeout, "a retry while Prometheus is down", func() bool {
		return testutil.Gather(t, reg).Value(t, "kedastral_remote_write_retries_total", nil) >= 4
	})
	prom.Restart()
	testutil.WaitFor(t, waitTimeout, "the tick sent after the restart", func() bool {
		return testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_sent_total", nil) == 4*seriesPerSnapshot
	})
	if v := client.instant(t, kedaQuery, now.Add(15*time.Second)); len(v) != 1 || v[0].Value != 7 {
		t.Errorf("after the restart: %v, want one series of 7", v)
	}
	stop()
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	// A 5xx (Prometheus still starting after the restart) is retried; a 4xx
	// would be a sample refused as a duplicate or out of order.
	for code, n := range proxy.codes {
		if code/100 == 4 {
			t.Errorf("Prometheus answered %d %d times: a sample was refused (duplicate or out of order)", code, n)
		}
	}
	if failed := testutil.Gather(t, reg).Value(t, "kedastral_remote_write_samples_failed_total", nil); failed != 0 {
		t.Errorf("%v samples failed", failed)
	}
}

// freshestQuery is docs/remote-write.md's query for an HA pair writing with
// a replica label into a Prometheus that does not deduplicate: the desired
// replicas of whichever replica forecast last.
const freshestQuery = `kedastral_forecast_desired_replicas{workload="checkout"}
  and on (replica)
  topk(1, kedastral_forecast_generated_timestamp_seconds{workload="checkout"})`

// TestSenderHAPair runs two replicas side by side, told apart by the replica
// external label; one stops. The plain query then has two series, which
// KEDA refuses; the documented query returns one, the live replica's.
func TestSenderHAPair(t *testing.T) {
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	client := newTestClient(t, prom.URL)
	a, _, stopA := testSender(t, prom.URL+"/api/v1/write", nil, map[string]string{"replica": "a"})
	b, _, stopB := testSender(t, prom.URL+"/api/v1/write", nil, map[string]string{"replica": "b"})
	now := time.Now().Truncate(time.Second)
	// Replica a made one forecast a minute ago (9 replicas) and stopped;
	// b forecast then (5) and 15 s ago (6).
	a.Published(testSnapshot("checkout", now.Add(-time.Minute), 9))
	b.Published(testSnapshot("checkout", now.Add(-time.Minute), 5))
	b.Published(testSnapshot("checkout", now.Add(-15*time.Second), 6))
	stopA()
	stopB()
	if v := client.instant(t, kedaQuery, now); len(v) != 2 {
		t.Errorf("%s: %v, want the 2 series of the pair", kedaQuery, v)
	}
	if v := client.instant(t, freshestQuery, now); len(v) != 1 || v[0].Value != 6 || v[0].Metric["replica"] != "b" {
		t.Errorf("freshest: %v, want b's 6", v)
	}
	// max() also gives one series, but the stopped replica's stale 9 wins
	// for the 5 minutes of the lookback.
	if v := client.instant(t, `max(`+kedaQuery+`)`, now); len(v) != 1 || v[0].Value != 9 {
		t.Errorf("max: %v, want 9", v)
	}
}

// testClient queries a real Prometheus: instant queries through the
// Prometheus API client, and the forecaster's recall of its last plan.
type testClient struct {
	api v1.API
	*read.Client
}

func newTestClient(t *testing.T, url string) testClient {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := read.NewClient(read.ClientOptions{URL: url, HTTP: config.DefaultHTTPClientConfig, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return testClient{api: v1.NewAPI(c), Client: rc}
}

// instant runs q at at and returns its vector; an error fails the test.
func (c testClient) instant(t *testing.T, q string, at time.Time) model.Vector {
	t.Helper()
	v, _, _, err := c.api.Query(context.Background(), q, at)
	if err != nil {
		t.Fatal(err)
	}
	return v.(model.Vector)
}
