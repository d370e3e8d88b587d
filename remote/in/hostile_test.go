package in

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestReceiverRequiresHeaders: a write without the remote-write content
// type or without snappy encoding (as a browser's form post would be,
// sent cross-site without a preflight) is refused with 415, before the
// body is read.
func TestReceiverRequiresHeaders(t *testing.T) {
	rc, _, _ := testReceiver(t)
	body := testutil.WriteBodyV1(t, series1([]string{"__name__", "http_requests_total", "job", "api"}, prompb.Sample{Timestamp: ms(1), Value: 1}))
	for _, tc := range []struct {
		name, contentType, encoding, want string
	}{
		{"neither", "", "", "no Content-Type"},
		{"no encoding", contentTypeV1, "", `unsupported content encoding ""`},
		{"form post", "application/x-www-form-urlencoded", "", "unsupported content type"},
		{"text/plain", "text/plain", "snappy", "unsupported content type"},
		// A megabyte of header is quoted to 200 characters.
		{"huge encoding", contentTypeV1, strings.Repeat("z", 1<<20), `"` + strings.Repeat("z", 200) + `…(+1048376 bytes)"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			rec := send(rc, req)
			if rec.Code != http.StatusUnsupportedMediaType || !strings.Contains(rec.Body.String(), tc.want) || rec.Body.Len() > 1024 {
				t.Errorf("status %d, %d bytes %.300q; want 415 with %.300q, under 1 KiB", rec.Code, rec.Body.Len(), rec.Body.String(), tc.want)
			}
		})
	}
}

// TestReceiverBoundsErrors: 20 series of a selected metric, each with a
// label value of 1 MB and a sample a day ahead, are refused in one 400
// whose answer names each series to 200 characters and is cut to
// maxErrorAnswer (4,096) characters in all; the log stays small too.
// Before, the answer quoted every label set whole: 20 MB.
func TestReceiverBoundsErrors(t *testing.T) {
	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs bytes.Buffer
	rc := NewReceiver(st.Appendable(), ReceiverOptions{MaxBodyBytes: 64 << 20,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return testNow }})
	if err := rc.SetQueries([]string{`sum(rate(http_requests_total{job="api"}[5m]))`}); err != nil {
		t.Fatal(err)
	}
	var series []prompb.TimeSeries
	for i := range 20 {
		series = append(series, series1([]string{"__name__", "http_requests_total", "job", "api", "pod", strings.Repeat(string(rune('a'+i)), 1<<20)},
			prompb.Sample{Timestamp: testNow.Add(24 * time.Hour).UnixMilli(), Value: 1}))
	}
	rec := send(rc, testutil.WriteRequestV1(t, writeURL, series...))
	// 4,096 characters, "…(+N bytes)" and a newline.
	if rec.Code != http.StatusBadRequest || rec.Body.Len() > 4096+64 {
		t.Errorf("status %d, %d bytes of answer; want 400 of at most 4160 bytes", rec.Code, rec.Body.Len())
	}
	if logs.Len() > 16<<10 {
		t.Errorf("%d bytes logged for one request, want at most 16 KiB", logs.Len())
	}
}

// TestReceiverNotWritable: while Writable says the storage cannot take
// writes, a request is answered 503 with Retry-After and nothing is
// stored; once it can, the same request is stored.
func TestReceiverNotWritable(t *testing.T) {
	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	full := errors.New("3 bytes free, under 128 MiB")
	var mu sync.Mutex
	reg := prometheus.NewRegistry()
	rc := NewReceiver(st.Appendable(), ReceiverOptions{Registerer: reg, Now: func() time.Time { return testNow },
		Writable: func() error { mu.Lock(); defer mu.Unlock(); return full }})
	if err := rc.SetQueries([]string{`sum(rate(http_requests_total{job="api"}[5m]))`}); err != nil {
		t.Fatal(err)
	}
	req := func() *http.Request {
		return testutil.WriteRequestV1(t, writeURL, series1([]string{"__name__", "http_requests_total", "job", "api"}, prompb.Sample{Timestamp: ms(1), Value: 1}))
	}
	rec := send(rc, req())
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" || !strings.Contains(rec.Body.String(), "3 bytes free") {
		t.Errorf("disk full: %d, Retry-After %q, %q; want 503, 30, the reason", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	if got := stored(t, st, labels.MustNewMatcher(labels.MatchEqual, "job", "api")); len(got) != 0 {
		t.Errorf("stored %v while not writable", got)
	}
	mu.Lock()
	full = nil
	mu.Unlock()
	if rec := send(rc, req()); rec.Code != http.StatusNoContent {
		t.Errorf("writable again: %d %q, want 204", rec.Code, rec.Body.String())
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_receiver_requests_total", prometheus.Labels{"code": "503"}); got != 1 {
		t.Errorf("requests{code=503} = %v, want 1", got)
	}
}

// holdingAppendable is an appendable whose appenders wait, at Commit,
// until release is closed, after saying they hold a request.
type holdingAppendable struct {
	storage.AppendableV2
	holding chan struct{}
	release chan struct{}
}

func (h holdingAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return holdingAppender{AppenderV2: h.AppendableV2.AppenderV2(ctx), h: h}
}

type holdingAppender struct {
	storage.AppenderV2
	h holdingAppendable
}

func (a holdingAppender) Commit() error {
	a.h.holding <- struct{}{}
	<-a.h.release
	return a.AppenderV2.Commit()
}

// TestReceiverMaxConcurrent: with MaxConcurrent 1, a request arriving
// while another is being written is answered 429 with Retry-After at once
// and counted; the one held is then stored.
func TestReceiverMaxConcurrent(t *testing.T) {
	st, err := OpenStorage(StorageOptions{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app := holdingAppendable{AppendableV2: st.Appendable(), holding: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	rc := NewReceiver(app, ReceiverOptions{Registerer: reg, MaxConcurrent: 1, Now: func() time.Time { return testNow }})
	if err := rc.SetQueries([]string{`sum(rate(http_requests_total{job="api"}[5m]))`}); err != nil {
		t.Fatal(err)
	}
	req := func(v float64) *http.Request {
		return testutil.WriteRequestV1(t, writeURL, series1([]string{"__name__", "http_requests_total", "job", "api"}, prompb.Sample{Timestamp: ms(int(v)), Value: v}))
	}
	first := make(chan int)
	go func() { first <- send(rc, req(1)).Code }()
	<-app.holding
	rec := send(rc, req(2))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "--receiver.max-concurrent-requests") {
		t.Errorf("second request: %d, Retry-After %q, %q; want 429 naming the flag", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	close(app.release)
	if code := <-first; code != http.StatusNoContent {
		t.Errorf("first request: %d, want 204", code)
	}
	if got := testutil.Gather(t, reg).Value(t, "kedastral_receiver_requests_total", prometheus.Labels{"code": "429"}); got != 1 {
		t.Errorf("requests{code=429} = %v, want 1", got)
	}
}
