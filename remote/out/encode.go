package out

import (
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	promvalue "github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/HatiCode/kedastral/exporter"
)

// series turns items into remote-write 1.0 series, one sample each. The
// labels and samples of a batch share two backing arrays.
func (q *queue) series(items []item) []prompb.TimeSeries {
	n, width := 0, 0
	for _, it := range items {
		n += it.samples
		width = max(width, it.external.Len()+3)
	}
	out := make([]prompb.TimeSeries, 0, n)
	arena := make([]prompb.Label, 0, n*width)
	samples := make([]prompb.Sample, 0, n)
	for _, it := range items {
		ts := it.snap.GeneratedAt.UnixMilli()
		stale := !it.staleAt.IsZero()
		if stale {
			ts = it.staleAt.UnixMilli()
		}
		exporter.EachSeries(it.snap, it.snap.GeneratedAt, q.horizons, func(id exporter.MetricID, v float64, labelValues ...string) {
			m := q.meta[id]
			if !m.RemoteWrite {
				return
			}
			first := len(arena)
			arena = append(arena, prompb.Label{Name: model.MetricNameLabel, Value: m.Name})
			for i, name := range m.LabelNames {
				arena = append(arena, prompb.Label{Name: name, Value: labelValues[i]})
			}
			it.external.Range(func(l labels.Label) { arena = append(arena, prompb.Label{Name: l.Name, Value: l.Value}) })
			ls := arena[first:len(arena):len(arena)]
			slices.SortFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
			if stale {
				v = math.Float64frombits(promvalue.StaleNaN)
			}
			samples = append(samples, prompb.Sample{Timestamp: ts, Value: v})
			out = append(out, prompb.TimeSeries{Labels: ls, Samples: samples[len(samples)-1 : len(samples) : len(samples)]})
		})
	}
	return out
}

// toV2 re-encodes 1.0 series as a remote-write 2.0 request.
func toV2(series []prompb.TimeSeries) *writev2.Request {
	st := writev2.NewSymbolTable()
	out := make([]writev2.TimeSeries, len(series))
	var b labels.ScratchBuilder
	for i, ts := range series {
		lset := ts.ToLabels(&b, nil)
		kind := writev2.Metadata_METRIC_TYPE_GAUGE
		if strings.HasSuffix(lset.Get(model.MetricNameLabel), "_total") {
			kind = writev2.Metadata_METRIC_TYPE_COUNTER // the scorecard's
		}
		out[i] = writev2.TimeSeries{
			LabelsRefs: st.SymbolizeLabels(lset, nil),
			Samples:    []writev2.Sample{{Timestamp: ts.Samples[0].Timestamp, Value: ts.Samples[0].Value}},
			Metadata:   writev2.Metadata{Type: kind},
		}
	}
	return &writev2.Request{Symbols: st.Symbols(), Timeseries: out}
}
