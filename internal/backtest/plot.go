package backtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

// Plot size and margins, in SVG user units.
const (
	plotWidth   = 1200
	plotHeight  = 520
	plotLeft    = 70
	plotRight   = 20
	plotTop     = 40
	plotBottom  = 50
	plotBuckets = plotWidth - plotLeft - plotRight
)

// plotSeries is one line of the plot.
type plotSeries struct {
	name, color, dash string
	values            []float64
}

// WritePlot writes an SVG of the test part: the observed load, the forecast
// made one evaluation horizon earlier with its interval as a band, and the
// capacity (ready replicas × target per pod) of each policy. Longer test
// parts are drawn one pixel column per group of steps, each line at the
// group's highest value so that no peak is lost.
func (res *Result) WritePlot(w io.Writer) error {
	tl := res.Timeline
	if len(tl) == 0 {
		return fmt.Errorf("nothing to plot: the test part is empty")
	}
	d := newPlotData(res)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", plotLeft, xmlEscape(fmt.Sprintf(
		"Test part from %s: load, forecast %s ahead (%s model) with interval, and ready capacity per policy",
		day0(tl[0].T), res.Forecast.Horizon, res.Settings.Model)))
	d.writeAxes(bw, tl)
	d.writeBand(bw)
	series := []plotSeries{
		{"observed load", "#000000", "", d.observed},
		{"forecast", "#3182bd", "", d.forecast},
		{"predictive capacity", "#31a354", "", d.predictive},
		{"reactive capacity", "#e6550d", "", d.reactive},
		{"oracle capacity", "#888888", "4 3", d.oracle},
	}
	for _, s := range series {
		writePolylines(bw, s, d.x, d.y)
	}
	// Legend.
	for k, s := range append(series[:1:1], append([]plotSeries{{"interval", "#9ecae1", "", nil}}, series[1:]...)...) {
		lx := plotLeft + 10 + k*175
		fmt.Fprintf(bw, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3" stroke-dasharray="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			lx, lx+20, plotHeight-14, plotHeight-14, s.color, s.dash, lx+25, plotHeight-10, xmlEscape(s.name))
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// plotData is the test part grouped into the plot's pixel columns: each
// line at the highest value of its group (the lower bound at the lowest),
// NaN where a group has none.
type plotData struct {
	n, buckets                       int
	observed, forecast, lower, upper []float64
	predictive, reactive, oracle     []float64
	top                              float64
}

// newPlotData groups the timeline and the scored forecasts of res.
func newPlotData(res *Result) *plotData {
	tl := res.Timeline
	d := &plotData{n: len(tl), buckets: min(len(tl), plotBuckets)}
	for _, v := range []*[]float64{&d.observed, &d.forecast, &d.lower, &d.upper, &d.predictive, &d.reactive, &d.oracle} {
		*v = make([]float64, d.buckets)
		for i := range *v {
			(*v)[i] = math.NaN()
		}
	}
	byTime := make(map[int64]ScoredPoint, len(res.Points))
	for _, p := range res.Points {
		byTime[p.T.Unix()] = p
	}
	keepMax := func(dst []float64, b int, v float64) {
		if !math.IsNaN(v) && !(dst[b] >= v) {
			dst[b] = v
			d.top = math.Max(d.top, v)
		}
	}
	for i, t := range tl {
		b := d.bucketOf(i)
		keepMax(d.observed, b, t.Actual)
		keepMax(d.predictive, b, t.Predictive)
		keepMax(d.reactive, b, t.Reactive)
		keepMax(d.oracle, b, t.Oracle)
		if p, ok := byTime[t.T.Unix()]; ok {
			keepMax(d.forecast, b, p.Forecast)
			keepMax(d.upper, b, p.Upper)
			if !math.IsNaN(p.Lower) && !(d.lower[b] <= p.Lower) {
				d.lower[b] = p.Lower
			}
		}
	}
	if d.top <= 0 {
		d.top = 1
	}
	d.top *= 1.05
	return d
}

// bucketOf returns the column of step i.
func (d *plotData) bucketOf(i int) int { return i * d.buckets / d.n }

// x returns the horizontal position of column b.
func (d *plotData) x(b int) float64 {
	return plotLeft + (float64(b)+0.5)*float64(plotBuckets)/float64(d.buckets)
}

// y returns the vertical position of the value v.
func (d *plotData) y(v float64) float64 {
	return plotTop + (1-v/d.top)*float64(plotHeight-plotTop-plotBottom)
}

// writeAxes draws five load ticks with their grid lines and six time ticks.
func (d *plotData) writeAxes(w io.Writer, tl []TimelinePoint) {
	for k := 0; k <= 5; k++ {
		v := d.top / 1.05 * float64(k) / 5
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			plotLeft, plotWidth-plotRight, d.y(v), d.y(v), plotLeft-6, d.y(v)+4, shortNumber(v))
	}
	for k := 0; k <= 5; k++ {
		i := min(d.n-1, k*(d.n-1)/5)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			d.x(d.bucketOf(i)), plotHeight-plotBottom+18, tl[i].T.UTC().Format("Jan 2 15:04"))
	}
}

// writeBand draws the interval band: upper bounds left to right, lower
// bounds back.
func (d *plotData) writeBand(w io.Writer) {
	var band []string
	for b := range d.buckets {
		if !math.IsNaN(d.upper[b]) {
			band = append(band, fmt.Sprintf("%.1f,%.1f", d.x(b), d.y(d.upper[b])))
		}
	}
	for b := d.buckets - 1; b >= 0; b-- {
		if !math.IsNaN(d.lower[b]) {
			band = append(band, fmt.Sprintf("%.1f,%.1f", d.x(b), d.y(d.lower[b])))
		}
	}
	if len(band) > 2 {
		fmt.Fprintf(w, `<polygon points="%s" fill="#9ecae1" fill-opacity="0.5" stroke="none"/>`+"\n", strings.Join(band, " "))
	}
}

// writePolylines draws s as polylines broken where it has no value.
func writePolylines(w io.Writer, s plotSeries, x func(int) float64, y func(float64) float64) {
	var pts []string
	flush := func() {
		if len(pts) > 1 {
			fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.2" stroke-dasharray="%s"/>`+"\n",
				strings.Join(pts, " "), s.color, s.dash)
		}
		pts = pts[:0]
	}
	for b, v := range s.values {
		if math.IsNaN(v) {
			flush()
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(b), y(v)))
	}
	flush()
}

func shortNumber(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
