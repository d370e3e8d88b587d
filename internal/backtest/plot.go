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
	n := len(tl)
	buckets := min(n, plotBuckets)
	bucketOf := func(i int) int { return i * buckets / n }
	nan := func() []float64 {
		v := make([]float64, buckets)
		for i := range v {
			v[i] = math.NaN()
		}
		return v
	}
	observed, forecastV, lower, upper := nan(), nan(), nan(), nan()
	pred, react, oracle := nan(), nan(), nan()
	byTime := make(map[int64]ScoredPoint, len(res.Points))
	for _, p := range res.Points {
		byTime[p.T.Unix()] = p
	}
	top := 0.0
	keepMax := func(dst []float64, b int, v float64) {
		if !math.IsNaN(v) && !(dst[b] >= v) {
			dst[b] = v
			top = math.Max(top, v)
		}
	}
	for i, t := range tl {
		b := bucketOf(i)
		keepMax(observed, b, t.Actual)
		keepMax(pred, b, t.Predictive)
		keepMax(react, b, t.Reactive)
		keepMax(oracle, b, t.Oracle)
		if p, ok := byTime[t.T.Unix()]; ok {
			keepMax(forecastV, b, p.Forecast)
			keepMax(upper, b, p.Upper)
			if !math.IsNaN(p.Lower) && !(lower[b] <= p.Lower) {
				lower[b] = p.Lower
			}
		}
	}
	if top <= 0 {
		top = 1
	}
	top *= 1.05
	x := func(b int) float64 {
		return plotLeft + (float64(b)+0.5)*float64(plotBuckets)/float64(buckets)
	}
	y := func(v float64) float64 {
		return plotTop + (1-v/top)*float64(plotHeight-plotTop-plotBottom)
	}

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", plotLeft, xmlEscape(fmt.Sprintf(
		"Test part from %s: load, forecast %s ahead (%s model) with interval, and ready capacity per policy",
		day0(tl[0].T), res.Forecast.Horizon, res.Settings.Model)))
	// Axes, with five load ticks and six time ticks.
	for k := 0; k <= 5; k++ {
		v := top / 1.05 * float64(k) / 5
		fmt.Fprintf(bw, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			plotLeft, plotWidth-plotRight, y(v), y(v), plotLeft-6, y(v)+4, shortNumber(v))
	}
	for k := 0; k <= 5; k++ {
		i := min(n-1, k*(n-1)/5)
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x(bucketOf(i)), plotHeight-plotBottom+18, tl[i].T.UTC().Format("Jan 2 15:04"))
	}
	// The interval band: upper bounds left to right, lower bounds back.
	var band []string
	for b := range buckets {
		if !math.IsNaN(upper[b]) {
			band = append(band, fmt.Sprintf("%.1f,%.1f", x(b), y(upper[b])))
		}
	}
	for b := buckets - 1; b >= 0; b-- {
		if !math.IsNaN(lower[b]) {
			band = append(band, fmt.Sprintf("%.1f,%.1f", x(b), y(lower[b])))
		}
	}
	if len(band) > 2 {
		fmt.Fprintf(bw, `<polygon points="%s" fill="#9ecae1" fill-opacity="0.5" stroke="none"/>`+"\n", strings.Join(band, " "))
	}
	series := []plotSeries{
		{"observed load", "#000000", "", observed},
		{"forecast", "#3182bd", "", forecastV},
		{"predictive capacity", "#31a354", "", pred},
		{"reactive capacity", "#e6550d", "", react},
		{"oracle capacity", "#888888", "4 3", oracle},
	}
	for _, s := range series {
		writePolylines(bw, s, x, y)
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
