package exporter

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

// The chart is drawn in a fixed SVG viewBox, scaled to the page's width by
// CSS. The plot area is [plotLeft, plotRight] × [plotTop, plotBottom]; the
// margins hold the tick labels of the load (left), replica (right) and time
// (bottom) axes.
const (
	chartWidth  = 720
	chartHeight = 250
	plotLeft    = 60.0
	plotRight   = 660.0
	plotTop     = 20.0
	plotBottom  = 220.0
	// axisLimit bounds the load axis: finite values beyond ±axisLimit are
	// clamped so that the axis arithmetic cannot overflow to ±Inf.
	axisLimit = 1e300
	// maxStepSeconds bounds the time step, for the same reason.
	maxStepSeconds = 1e9
)

// chartView holds an SVG chart's geometry, every coordinate formatted and
// finite. An empty path is not drawn.
type chartView struct {
	Width, Height            int
	Left, Right, Top, Bottom float64
	// LeftLabelX and RightLabelX anchor the tick labels of the load and
	// replica axes, TimeLabelY those of the time axis, AxisTitleY the axes'
	// titles.
	LeftLabelX, RightLabelX float64
	TimeLabelY, AxisTitleY  float64
	// The SVG paths: lines, the closed interval band, the replica step line.
	Observed, Forecast, Band, Replicas string
	// NowX is where the vertical "now" marker stands.
	NowX                               string
	LoadTicks, ReplicaTicks, TimeTicks []tick
}

// tick is an axis tick: its position along the axis and its label.
type tick struct {
	Pos   string
	Label string
}

// newChart lays out s on the chart: the load axis on the left, the replica
// axis on the right, time from the first observed point to the end of the
// forecast.
func newChart(s forecast.Snapshot) chartView {
	ta := newTimeAxis(s)
	load := newAxis(s.Recent, s.Values, s.Lower, s.Upper)
	c := chartView{
		Width: chartWidth, Height: chartHeight,
		Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom,
		LeftLabelX: plotLeft - 6, RightLabelX: plotRight + 6, TimeLabelY: plotBottom + 18, AxisTitleY: plotTop - 8,
		NowX:      coord(ta.x(0)),
		LoadTicks: load.ticks(formatNumber),
		TimeTicks: ta.ticks(),
	}
	observed := make([]point, len(s.Recent))
	for i, v := range s.Recent {
		observed[i] = point{ta.recentX(i), load.y(v)}
	}
	var fc []point
	if n := len(observed); n > 0 {
		fc = append(fc, observed[n-1]) // the forecast continues the observed line
	}
	for i, v := range s.Values {
		fc = append(fc, point{ta.forecastX(i), load.y(v)})
	}
	c.Observed, c.Forecast = linePath(observed), linePath(fc)
	c.Band = bandPath(s.Lower, s.Upper, ta.forecastX, load.y)
	c.ReplicaTicks, c.Replicas = replicaPlan(s.DesiredReplicas, ta.forecastX)
	return c
}

// replicaPlan returns the ticks of the replica axis and the step line of
// replicas: replicas[i] holds from x(i) to x(i+1).
func replicaPlan(replicas []int, x func(int) float64) ([]tick, string) {
	if len(replicas) == 0 {
		return nil, ""
	}
	vs := make([]float64, len(replicas))
	for i, r := range replicas {
		vs[i] = float64(r)
	}
	a := newAxis(vs)
	a.integers()
	ticks := a.ticks(func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) })
	return ticks, stepPath(vs, x, a.y)
}

// timeAxis maps time, in seconds from the snapshot's GeneratedAt ("now"),
// to x: from Recent's first point (or now) at plotLeft to the end of the
// forecast and replica plan, now + len·step, at plotRight.
type timeAxis struct {
	t0, t1 float64
	step   float64
	// recentEnd is when Recent's last point was observed; nRecent counts
	// its points.
	recentEnd float64
	nRecent   int
}

func newTimeAxis(s forecast.Snapshot) timeAxis {
	ta := timeAxis{step: s.StepSeconds, nRecent: len(s.Recent)}
	if !(ta.step > 0 && ta.step <= maxStepSeconds) {
		ta.step = 1 // no usable step: index units keep the shape
	}
	if !s.ObservedAt.IsZero() {
		// Recent ends on the step of the grid at or before ObservedAt.
		ta.recentEnd = s.ObservedAt.Truncate(time.Duration(ta.step * float64(time.Second))).Sub(s.GeneratedAt).Seconds()
	}
	ta.t1 = float64(max(len(s.Values), len(s.DesiredReplicas), 1)) * ta.step
	if ta.nRecent > 0 {
		ta.t0 = min(0, ta.recentAt(0))
		ta.t1 = max(ta.t1, ta.recentEnd)
	}
	return ta
}

func (ta timeAxis) x(t float64) float64 {
	return plotLeft + (t-ta.t0)/(ta.t1-ta.t0)*(plotRight-plotLeft)
}

// recentAt returns when Recent[i] was observed.
func (ta timeAxis) recentAt(i int) float64 {
	return ta.recentEnd - float64(ta.nRecent-1-i)*ta.step
}

func (ta timeAxis) recentX(i int) float64 { return ta.x(ta.recentAt(i)) }

// forecastX returns the x of Values[i] and DesiredReplicas[i].
func (ta timeAxis) forecastX(i int) float64 { return ta.x(float64(i) * ta.step) }

// ticks labels the start, now and end of the time axis.
func (ta timeAxis) ticks() []tick {
	var ts []tick
	if ta.t0 < 0 {
		ts = append(ts, tick{coord(ta.x(ta.t0)), "−" + formatSpan(-ta.t0)})
	}
	ts = append(ts, tick{coord(ta.x(0)), "now"})
	if ta.t1 > 0 {
		ts = append(ts, tick{coord(ta.x(ta.t1)), "+" + formatSpan(ta.t1)})
	}
	return ts
}

// axis maps values in [lo, hi] to y in [plotBottom, plotTop], in steps of
// step for its ticks.
type axis struct {
	lo, hi, step float64
}

// newAxis returns an axis from 0 (or below, for negative values) to a round
// number at or above the largest finite value of the series, with about four
// intervals between ticks of 1, 2 or 5 × 10^k.
func newAxis(series ...[]float64) axis {
	lo, hi := 0.0, 0.0
	for _, vs := range series {
		for _, v := range vs {
			if isFinite(v) {
				v = clamp(v, -axisLimit, axisLimit)
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, f := range []float64{1, 2, 5} {
		if raw <= f*mag {
			step = f * mag
			break
		}
	}
	return axis{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step, step: step}
}

// integers makes the ticks whole numbers.
func (a *axis) integers() {
	a.step = max(1, math.Ceil(a.step))
	a.lo, a.hi = math.Floor(a.lo/a.step)*a.step, math.Ceil(a.hi/a.step)*a.step
}

// y maps v to its y coordinate: NaN (not drawn) for a non-finite v, a value
// off the axis clamped to its end.
func (a axis) y(v float64) float64 {
	if !isFinite(v) {
		return math.NaN()
	}
	v = clamp(v, a.lo, a.hi)
	return plotBottom - (v-a.lo)/(a.hi-a.lo)*(plotBottom-plotTop)
}

func (a axis) ticks(label func(float64) string) []tick {
	var ts []tick
	for i := 0; i <= 20; i++ {
		v := a.lo + float64(i)*a.step
		if v > a.hi+a.step/2 {
			break
		}
		ts = append(ts, tick{coord(a.y(v)), label(v)})
	}
	return ts
}

// point is a point of the chart; one with a non-finite coordinate is a gap.
type point struct{ x, y float64 }

func (p point) ok() bool { return isFinite(p.x) && isFinite(p.y) }

func (p point) String() string { return coord(p.x) + " " + coord(p.y) }

// linePath returns the SVG path through pts, broken at gaps.
func linePath(pts []point) string {
	var b strings.Builder
	pen := false
	for _, p := range pts {
		if !p.ok() {
			pen = false
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if pen {
			b.WriteByte('L')
		} else {
			b.WriteByte('M')
		}
		b.WriteString(p.String())
		pen = true
	}
	return b.String()
}

// bandPath returns the closed SVG path between upper and lower: one
// sub-path for each run of points where both bounds are finite.
func bandPath(lower, upper []float64, x func(int) float64, y func(float64) float64) string {
	var runs []string
	n := min(len(lower), len(upper))
	for i := 0; i < n; {
		var top, bottom []point
		for ; i < n; i++ {
			u, l := point{x(i), y(upper[i])}, point{x(i), y(lower[i])}
			if !u.ok() || !l.ok() {
				break
			}
			top, bottom = append(top, u), append(bottom, l)
		}
		if len(top) > 0 {
			slices.Reverse(bottom)
			runs = append(runs, linePath(append(top, bottom...))+" Z")
		}
		i++ // past the gap
	}
	return strings.Join(runs, " ")
}

// stepPath returns the SVG step line of vs: vs[i] holds from x(i) to x(i+1).
func stepPath(vs []float64, x func(int) float64, y func(float64) float64) string {
	if len(vs) == 0 {
		return ""
	}
	b := []string{"M" + point{x(0), y(vs[0])}.String()}
	for i := 1; i < len(vs); i++ {
		if vs[i] != vs[i-1] {
			b = append(b, "H"+coord(x(i)), "V"+coord(y(vs[i])))
		}
	}
	b = append(b, "H"+coord(x(len(vs))))
	return strings.Join(b, " ")
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// coord formats a (finite) coordinate to a tenth of a unit.
func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
