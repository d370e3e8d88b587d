package trace

import (
	"bufio"
	"fmt"
	"io"
	"slices"
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
// name (its samples are name_total) with labels, each point's running total
// (see Counter) stamped at its time plus shift, and the closing # EOF line.
func WriteOpenMetricsCounter(w io.Writer, name string, labels map[string]string, points []Point, shift time.Duration) error {
	if !model.LegacyValidation.IsValidMetricName(name) {
		return fmt.Errorf("invalid metric name %q", name)
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if !model.LegacyValidation.IsValidLabelName(k) {
			return fmt.Errorf("invalid label name %q", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + `="` + escape(labels[k]) + `"`
	}
	series := name + "_total{" + strings.Join(pairs, ",") + "}"

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# TYPE %s counter\n", name)
	for i, total := range Counter(points) {
		t := points[i].T.Add(shift)
		fmt.Fprintf(bw, "%s %g %s\n", series, total, formatUnix(t))
	}
	fmt.Fprintln(bw, "# EOF")
	return bw.Flush()
}

// escape escapes a label value for the text formats.
func escape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
