package trace

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Counter returns the running total of points: the counter a service would
// expose if each point's value were the requests it served since the point
// before. Counter(points)[i] = V[0] + ... + V[i].
func Counter(points []Point) []float64 {
	total := make([]float64, len(points))
	sum := 0.0
	for i, p := range points {
		sum += p.V
		total[i] = sum
	}
	return total
}

// WriteOpenMetricsCounter writes points as the OpenMetrics counter family
// name (its samples are name_total) with labels: each point's running total
// (see Counter) stamped at its time plus shift, then the closing # EOF line.
// This is the input of `promtool tsdb create-blocks-from openmetrics`. A
// counter never falls, so a negative value is an error, as is a total that
// overflows.
func WriteOpenMetricsCounter(w io.Writer, name string, labels map[string]string, points []Point, shift time.Duration) error {
	series, err := seriesText(name+"_total", labels)
	if err != nil {
		return err
	}
	totals := Counter(points)
	for i, p := range points {
		switch {
		case p.V < 0:
			return fmt.Errorf("point %d at %s: negative value %v in a counter", i, formatUnix(p.T), p.V)
		case math.IsInf(totals[i], 0):
			return fmt.Errorf("point %d at %s: the running total overflows", i, formatUnix(p.T))
		}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# TYPE %s counter\n", name)
	for i, total := range totals {
		fmt.Fprintf(bw, "%s %s %s\n", series, strconv.FormatFloat(total, 'g', -1, 64), formatUnix(points[i].T.Add(shift)))
	}
	fmt.Fprintln(bw, "# EOF")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write openmetrics: %w", err)
	}
	return nil
}

// seriesText returns name{label="value",...} with the labels sorted by name
// and their values escaped.
func seriesText(name string, labels map[string]string) (string, error) {
	if !model.LegacyValidation.IsValidMetricName(name) {
		return "", fmt.Errorf("invalid metric name %q", name)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if !model.LegacyValidation.IsValidLabelName(k) {
			return "", fmt.Errorf("invalid label name %q", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	escape := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + `="` + escape.Replace(labels[k]) + `"`
	}
	return name + "{" + strings.Join(pairs, ",") + "}", nil
}

// formatUnix returns t in unix seconds, with as many decimals as it needs:
// "1700000000", "1700000000.5", "-1.25".
func formatUnix(t time.Time) string {
	sec, ns := t.Unix(), int64(t.Nanosecond())
	sign := ""
	if sec < 0 {
		sign = "-"
		if ns > 0 { // t.Unix() floors: -1.25 s is -2 s + 0.75 s
			sec, ns = sec+1, 1e9-ns
		}
		sec = -sec
	}
	s := sign + strconv.FormatInt(sec, 10)
	if ns > 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s
}
