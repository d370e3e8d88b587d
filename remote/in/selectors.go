package in

import (
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/HatiCode/kedastral/remote/read"
)

// Selectors returns the series selectors of every query: the label matchers
// of each vector selector, as Prometheus's parser reads them. A series that
// none of them matches plays no part in any of the queries.
func Selectors(queries []string) ([][]*labels.Matcher, error) {
	p := parser.NewParser(parserOptions())
	var out [][]*labels.Matcher
	for _, q := range queries {
		expr, err := p.ParseExpr(q)
		if err != nil {
			return nil, fmt.Errorf("parse query %q: %w", read.ShortQuery(q), err)
		}
		out = append(out, parser.ExtractSelectors(expr)...)
	}
	return out, nil
}

// parserOptions are those of the configuration check and of the embedded
// engine, so a query means the same everywhere.
func parserOptions() parser.Options {
	return parser.Options{EnableExperimentalFunctions: true}
}

// selectorIndex finds quickly whether a series is selected: selectors with a
// metric name are looked up by it, so a series of another metric costs one
// map lookup.
type selectorIndex struct {
	byName map[string][][]*labels.Matcher
	rest   [][]*labels.Matcher
}

func newSelectorIndex(queries []string) (*selectorIndex, error) {
	sels, err := Selectors(queries)
	if err != nil {
		return nil, err
	}
	idx := &selectorIndex{byName: map[string][][]*labels.Matcher{}}
	for _, sel := range sels {
		if name, ok := metricName(sel); ok {
			idx.byName[name] = append(idx.byName[name], sel)
		} else {
			idx.rest = append(idx.rest, sel)
		}
	}
	return idx, nil
}

// metricName returns the name an equality matcher on __name__ requires.
func metricName(sel []*labels.Matcher) (string, bool) {
	for _, m := range sel {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value, true
		}
	}
	return "", false
}

// keep reports whether some selector matches the series ls.
func (idx *selectorIndex) keep(ls []labels.Label) bool {
	for _, sel := range idx.byName[value(ls, model.MetricNameLabel)] {
		if matches(sel, ls) {
			return true
		}
	}
	for _, sel := range idx.rest {
		if matches(sel, ls) {
			return true
		}
	}
	return false
}

// matches reports whether every matcher of sel accepts ls; an absent label
// has the empty value, as in PromQL.
func matches(sel []*labels.Matcher, ls []labels.Label) bool {
	for _, m := range sel {
		if !m.Matches(value(ls, m.Name)) {
			return false
		}
	}
	return true
}

// value returns the value of the label name, "" when absent.
func value(ls []labels.Label, name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// mayKeep reports whether some selector may select a series of the metric
// name: false means none can, whatever its other labels.
func (idx *selectorIndex) mayKeep(name []byte) bool {
	return len(idx.rest) > 0 || len(idx.byName[string(name)]) > 0
}
