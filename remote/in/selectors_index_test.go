package in

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestSelectorIndex: a series is kept exactly when one of the selectors
// matches it, whether the index finds that selector by name and label
// value, by name alone or among the nameless ones.
func TestSelectorIndex(t *testing.T) {
	idx, err := newSelectorIndex([]string{
		`sum(app_load{workload="a"})`,
		`app_load{workload="b", zone=~"eu.*"}`,
		`app_load{team!="x", workload!="c"}`, // no equality but the name
		`{__name__=~"node_.*", job="node"}`,  // no name
		`other{job="j"} + other{instance="i"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		series string
		want   bool
	}{
		{`{__name__="app_load", workload="a"}`, true},
		{`{__name__="app_load", workload="b", zone="eu-west"}`, true},
		// b's zone does not match; team="x" fails the third selector.
		{`{__name__="app_load", workload="b", zone="us-east", team="x"}`, false},
		// No indexed selector for c, and the third refuses workload c.
		{`{__name__="app_load", workload="c"}`, false},
		// The third selector: team is absent (""), workload is d.
		{`{__name__="app_load", workload="d"}`, true},
		{`{__name__="node_cpu", job="node"}`, true},
		{`{__name__="node_cpu", job="other"}`, false},
		{`{__name__="other", job="j"}`, true},
		{`{__name__="other", instance="i"}`, true},
		{`{__name__="other", job="k", instance="k"}`, false},
		{`{__name__="unknown", workload="a"}`, false},
	} {
		ls, err := labelsOf(tc.series)
		if err != nil {
			t.Fatal(err)
		}
		if got := idx.keep(ls); got != tc.want {
			t.Errorf("keep(%s) = %v, want %v", tc.series, got, tc.want)
		}
	}
}

// labelsOf parses a series written as {name="value", ...}, sorted.
func labelsOf(s string) ([]labels.Label, error) {
	ls, err := parser.NewParser(parserOptions()).ParseMetric(s)
	if err != nil {
		return nil, err
	}
	var out []labels.Label
	ls.Range(func(l labels.Label) { out = append(out, l) })
	return out, nil
}
