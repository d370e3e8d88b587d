package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeTimeout bounds one Scrape.
const scrapeTimeout = 10 * time.Second

// Families are metric families by name: what a registry gathered or a
// /metrics page exposed. Its readers fail the test when the family or the
// series they read is missing, so that a renamed metric or label fails the
// test rather than reading as 0.
type Families map[string]*dto.MetricFamily

// Gather gathers g's metrics, failing the test on an error.
func Gather(tb testing.TB, g prometheus.Gatherer) Families {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatalf("gather the metrics: %v", err)
		return nil
	}
	f := make(Families, len(mfs))
	for _, mf := range mfs {
		f[mf.GetName()] = mf
	}
	return f
}

// ParseText parses a /metrics body in the Prometheus text format, failing
// the test when it does not parse.
func ParseText(tb testing.TB, text []byte) Families {
	tb.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		tb.Fatalf("parse the metrics: %v", err)
		return nil
	}
	return mfs
}

// Scrape GETs url, a /metrics address, and decodes the answer in the format
// its Content-Type names (text by default), failing the test unless it
// answers 200 with metrics that decode.
func Scrape(tb testing.TB, url string) Families {
	tb.Helper()
	client := &http.Client{Timeout: scrapeTimeout}
	resp, err := client.Get(url)
	if err != nil {
		tb.Fatalf("scrape %s: %v", url, err)
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		tb.Fatalf("scrape %s: %s: %s", url, resp.Status, body)
		return nil
	}
	f := Families{}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	for {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			return f
		}
		if err != nil {
			tb.Fatalf("scrape %s: decode the metrics: %v", url, err)
			return nil
		}
		f[mf.GetName()] = mf
	}
}

// Family returns the family name, failing the test when there is none.
func (f Families) Family(tb testing.TB, name string) *dto.MetricFamily {
	tb.Helper()
	mf, ok := f[name]
	if !ok {
		tb.Fatalf("no metric family %s among the %d read%s", name, len(f), f.alike(name))
	}
	return mf
}

// Value returns the value of the one series of the counter, gauge or
// untyped family name whose labels include labels (nil selects every
// series). It fails the test when the family is missing, when no series
// or more than one matches, and when the family is of another type.
func (f Families) Value(tb testing.TB, name string, labels prometheus.Labels) float64 {
	tb.Helper()
	mf, m := f.series(tb, name, labels)
	if m == nil {
		if mf != nil {
			tb.Fatalf("no series %s: the family has %s", seriesName(name, labels), describeSeries(mf.GetMetric()))
		}
		return 0
	}
	return value(tb, mf, m)
}

// Find is Value for a series that may be absent, as when a test checks that
// it is: ok is false when no series matches. It still fails the test when
// the family itself is missing (so that a renamed metric does not pass for
// an absent series), when more than one series matches and when the family
// is not a counter, gauge or untyped. (A test that waits for a family to
// appear reads f[name] first.)
func (f Families) Find(tb testing.TB, name string, labels prometheus.Labels) (v float64, ok bool) {
	tb.Helper()
	mf, m := f.series(tb, name, labels)
	if m == nil {
		return 0, false
	}
	return value(tb, mf, m), true
}

// Count returns the number of observations of the one series of the
// histogram or summary family name whose labels include labels, failing
// the test as Value does.
func (f Families) Count(tb testing.TB, name string, labels prometheus.Labels) uint64 {
	tb.Helper()
	mf, m := f.series(tb, name, labels)
	if m == nil {
		if mf != nil {
			tb.Fatalf("no series %s: the family has %s", seriesName(name, labels), describeSeries(mf.GetMetric()))
		}
		return 0
	}
	switch mf.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return m.GetHistogram().GetSampleCount()
	case dto.MetricType_SUMMARY:
		return m.GetSummary().GetSampleCount()
	default:
		tb.Fatalf("%s is a %s, not a histogram or summary: read it with Value", name, mf.GetType())
		return 0
	}
}

// series returns the family name and its one series whose labels include
// labels, or a nil series when none does. It fails the test when the family
// is missing or more than one series matches.
func (f Families) series(tb testing.TB, name string, labels prometheus.Labels) (*dto.MetricFamily, *dto.Metric) {
	tb.Helper()
	mf := f.Family(tb, name)
	var found []*dto.Metric
	for _, m := range mf.GetMetric() {
		if hasLabels(m, labels) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return mf, nil
	case 1:
		return mf, found[0]
	default:
		tb.Fatalf("%d series match %s, want one: %s", len(found), seriesName(name, labels), describeSeries(found))
		return mf, nil
	}
}

// Values returns the values of the series of the counter, gauge or untyped
// family name by the value of their label label ("" for the series without
// it), summing the series of one value. It fails the test when the family
// is missing or of another type; a family of no series gives an empty map.
func (f Families) Values(tb testing.TB, name, label string) map[string]float64 {
	tb.Helper()
	mf := f.Family(tb, name)
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		out[key] += value(tb, mf, m)
	}
	return out
}

// value returns the value of m, a series of mf, failing the test unless mf
// is a counter, a gauge or untyped.
func value(tb testing.TB, mf *dto.MetricFamily, m *dto.Metric) float64 {
	tb.Helper()
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue()
	default:
		tb.Fatalf("%s is a %s, not a counter, gauge or untyped: read it with Family", mf.GetName(), mf.GetType())
		return 0
	}
}

// hasLabels reports whether m has every label of want.
func hasLabels(m *dto.Metric, want prometheus.Labels) bool {
	for name, v := range want {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == name && l.GetValue() == v }) {
			return false
		}
	}
	return true
}

// seriesName writes name and labels as a selector: name{a="1", b="2"}, or
// name alone without labels.
func seriesName(name string, labels prometheus.Labels) string {
	if len(labels) == 0 {
		return name
	}
	return name + labelSet(labels).String()
}

func labelSet(labels prometheus.Labels) model.LabelSet {
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// describeSeries lists the label sets of ms, at most ten.
func describeSeries(ms []*dto.Metric) string {
	if len(ms) == 0 {
		return "no series"
	}
	var sets []string
	for _, m := range ms[:min(len(ms), 10)] {
		ls := model.LabelSet{}
		for _, l := range m.GetLabel() {
			ls[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
		}
		sets = append(sets, ls.String())
	}
	more := ""
	if len(ms) > 10 {
		more = fmt.Sprintf(" and %d more", len(ms)-10)
	}
	return fmt.Sprintf("%d series: %s%s", len(ms), strings.Join(sets, " "), more)
}

// alike names the families that share name's first two words (kedastral_
// remote_...), to point at a renamed one.
func (f Families) alike(name string) string {
	words := strings.SplitN(name, "_", 3)
	prefix := strings.Join(words[:min(2, len(words))], "_")
	var names []string
	for n := range f {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return fmt.Sprintf("; those named %s*: %s", prefix, strings.Join(names, ", "))
}
