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
// map lookup; among those of a name, selectors with an equality matcher on
// another label are looked up by its value, so that ten thousand workloads
// reading app_load{workload="…"} cost a series one lookup more, not ten
// thousand matches.
type selectorIndex struct {
	byName map[string]*nameSelectors
	rest   [][]*labels.Matcher
}

// nameSelectors are the selectors of one metric name: byLabel[l][v] those
// whose first equality matcher other than on the name is l="v", rest the
// others.
type nameSelectors struct {
	byLabel map[string]map[string][][]*labels.Matcher
	rest    [][]*labels.Matcher
}

func newSelectorIndex(queries []string) (*selectorIndex, error) {
	sels, err := Selectors(queries)
	if err != nil {
		return nil, err
	}
	idx := &selectorIndex{byName: map[string]*nameSelectors{}}
	for _, sel := range sels {
		name, ok := metricName(sel)
		if !ok {
			idx.rest = append(idx.rest, sel)
			continue
		}
		ns := idx.byName[name]
		if ns == nil {
			ns = &nameSelectors{byLabel: map[string]map[string][][]*labels.Matcher{}}
			idx.byName[name] = ns
		}
		m := equality(sel)
		if m == nil {
			ns.rest = append(ns.rest, sel)
			continue
		}
		if ns.byLabel[m.Name] == nil {
			ns.byLabel[m.Name] = map[string][][]*labels.Matcher{}
		}
		ns.byLabel[m.Name][m.Value] = append(ns.byLabel[m.Name][m.Value], sel)
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

// equality returns the first equality matcher of sel on a label other
// than the name, nil when there is none.
func equality(sel []*labels.Matcher) *labels.Matcher {
	for _, m := range sel {
		if m.Name != model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m
		}
	}
	return nil
}

// keep reports whether some selector matches the series ls.
func (idx *selectorIndex) keep(ls []labels.Label) bool {
	if ns := idx.byName[value(ls, model.MetricNameLabel)]; ns != nil {
		for name, byValue := range ns.byLabel {
			if anyMatches(byValue[value(ls, name)], ls) {
				return true
			}
		}
		if anyMatches(ns.rest, ls) {
			return true
		}
	}
	return anyMatches(idx.rest, ls)
}

// anyMatches reports whether one of sels matches ls.
func anyMatches(sels [][]*labels.Matcher, ls []labels.Label) bool {
	for _, sel := range sels {
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
	return len(idx.rest) > 0 || idx.byName[string(name)] != nil
}
