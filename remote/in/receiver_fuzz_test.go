package in

import (
	"net/http"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// FuzzReceiver sends arbitrary bodies, as 1.0 or 2.0, snappy-compressed as
// they come or compressed here (so that the protobuf decoder sees them too).
// Whatever arrives, the answer is 204 or 400 with a message: never a panic,
// never a 5xx that would make a sender retry a body that cannot succeed.
func FuzzReceiver(f *testing.F) {
	syms := writev2.NewSymbolTable()
	// Series no query selects, with a valid and an invalid histogram: the
	// dropped series are checked before they are dropped.
	droppedHists := spec{labels: otherLabels, hists: []hist{{t: ms(2), h: goodHist}, {t: ms(1), h: badCountHist}}, exemplars: 1}
	// The 2.0 series are symbolised before the table is read.
	droppedHists2 := droppedHists.v2(&syms)
	unordered2 := series2(&syms, apiLabels, writev2.Sample{Timestamp: ms(2), Value: 1}, writev2.Sample{Timestamp: ms(1), Value: 2})
	for _, seed := range [][]byte{
		testutil.WriteBodyV1(f, droppedHists.v1()),
		testutil.WriteBodyV2(f, syms.Symbols(), droppedHists2),
		testutil.WriteBodyV1(f, series1(apiLabels, prompb.Sample{Timestamp: ms(1), Value: 1}), series1(otherLabels, prompb.Sample{Timestamp: ms(1), Value: 2})),
		testutil.WriteBodyV1(f, series1([]string{"job", "api", "__name__", "x"}, prompb.Sample{Timestamp: ms(1), Value: 1})),
		testutil.WriteBodyV2(f, syms.Symbols(), unordered2),
		testutil.WriteBodyV2(f, syms.Symbols(), writev2.TimeSeries{LabelsRefs: []uint32{0, 99}}),
		[]byte("garbage"),
	} {
		f.Add(seed, false, false)
		f.Add(seed, true, false)
		if raw, err := snappy.Decode(nil, seed); err == nil {
			f.Add(raw, false, true)
			f.Add(raw, true, true)
		}
	}
	st, err := OpenStorage(StorageOptions{Path: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	rc := NewReceiver(st.Appendable(), ReceiverOptions{})
	if err := rc.SetQueries([]string{`sum(rate(http_requests_total{job="api"}[5m]))`, `x`}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, v2, compress bool) {
		if compress {
			body = snappy.Encode(nil, body)
		}
		contentType := contentTypeV1
		if v2 {
			contentType = contentTypeV2
		}
		rec := post(rc, contentType, body)
		switch rec.Code {
		case http.StatusNoContent:
		case http.StatusBadRequest:
			if rec.Body.Len() == 0 {
				t.Error("400 without a message")
			}
		default:
			t.Errorf("status %d (%s), want 204 or 400", rec.Code, rec.Body)
		}
	})
}
