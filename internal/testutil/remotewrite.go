package testutil

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// WriteRequestV1 returns a POST to url of a remote-write 1.0 request of
// series, exactly as client_golang's remote-write client
// (exp/api/remote) sends it: a snappy-compressed prompb.WriteRequest with
// Content-Type application/x-protobuf, Content-Encoding snappy and
// X-Prometheus-Remote-Write-Version 0.1.0. url is the whole address,
// /api/v1/write included.
func WriteRequestV1(tb testing.TB, url string, series ...prompb.TimeSeries) *http.Request {
	tb.Helper()
	return writeRequest(tb, url, remoteapi.WriteV1MessageType, &prompb.WriteRequest{Timeseries: series})
}

// WriteRequestV2 is WriteRequestV1 for remote write 2.0: a
// writev2.Request of symbols (the table the series' references index, as
// writev2.SymbolsTable.Symbols returns it) and series, with Content-Type
// application/x-protobuf;proto=io.prometheus.write.v2.Request and
// X-Prometheus-Remote-Write-Version 2.0.0.
func WriteRequestV2(tb testing.TB, url string, symbols []string, series ...writev2.TimeSeries) *http.Request {
	tb.Helper()
	return writeRequest(tb, url, remoteapi.WriteV2MessageType, &writev2.Request{Symbols: symbols, Timeseries: series})
}

// WriteBodyV1 returns the body of WriteRequestV1: the snappy-compressed
// request alone, for a test that sets its own headers.
func WriteBodyV1(tb testing.TB, series ...prompb.TimeSeries) []byte {
	tb.Helper()
	return readBody(tb, WriteRequestV1(tb, "http://localhost/", series...))
}

// WriteBodyV2 returns the body of WriteRequestV2.
func WriteBodyV2(tb testing.TB, symbols []string, series ...writev2.TimeSeries) []byte {
	tb.Helper()
	return readBody(tb, WriteRequestV2(tb, "http://localhost/", symbols, series...))
}

// PushV1 sends WriteRequestV1(tb, url, series...) with
// http.DefaultClient, once, and returns the answer's status code. It fails
// the test when the request cannot be sent.
func PushV1(tb testing.TB, url string, series ...prompb.TimeSeries) int {
	tb.Helper()
	resp, err := http.DefaultClient.Do(WriteRequestV1(tb, url, series...))
	if err != nil {
		tb.Fatalf("remote write to %s: %v", url, err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// writeRequest has client_golang's remote-write client encode msg and
// returns the request it would send to url: the client sends it to a
// transport that keeps it and answers 204.
func writeRequest(tb testing.TB, url string, msgType remoteapi.WriteMessageType, msg any) *http.Request {
	tb.Helper()
	keep := &keepTransport{}
	api, err := remoteapi.NewAPI(url, remoteapi.WithAPIPath(""), remoteapi.WithAPIHTTPClient(&http.Client{Transport: keep}))
	if err != nil {
		tb.Fatalf("remote-write client for %s: %v", url, err)
		return nil
	}
	if _, err := api.Write(context.Background(), msgType, msg); err != nil || keep.req == nil {
		tb.Fatalf("encode the remote-write request: %v", err)
		return nil
	}
	req, err := http.NewRequest(http.MethodPost, keep.req.URL.String(), bytes.NewReader(keep.body))
	if err != nil {
		tb.Fatalf("remote-write request to %s: %v", url, err)
		return nil
	}
	req.Header = keep.req.Header.Clone()
	return req
}

// keepTransport keeps the request sent through it, and its body, and
// answers it with 204 (and the 2.0 header saying that the samples were
// written, which the client wants of a 2.0 answer).
type keepTransport struct {
	req  *http.Request
	body []byte
}

func (t *keepTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	_ = r.Body.Close()
	t.req, t.body = r, body
	return &http.Response{
		StatusCode: http.StatusNoContent,
		Status:     "204 No Content",
		Header:     http.Header{"X-Prometheus-Remote-Write-Samples-Written": []string{"0"}},
		Body:       http.NoBody,
		Request:    r,
	}, nil
}

// readBody returns req's body.
func readBody(tb testing.TB, req *http.Request) []byte {
	tb.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		tb.Fatalf("read the remote-write body: %v", err)
	}
	return body
}
