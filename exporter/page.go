package exporter

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HatiCode/kedastral/capacity"
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

// PageLink is a link in the footer of the landing page.
type PageLink struct {
	// Address is the link's target, such as /metrics.
	Address string
	// Text is the link's text.
	Text string
	// Description, optional, is shown beside the link.
	Description string
}

// PageOptions configures the landing page.
type PageOptions struct {
	// Name is the page's title, such as "Kedastral forecaster".
	Name string
	// Version, optional, is shown beside the title.
	Version string
	// Links are shown in the footer, in order.
	Links []PageLink
	// Now is the clock for snapshot ages (nil means time.Now).
	Now func() time.Time
	// Logger logs pages that cannot be rendered (nil discards).
	Logger *slog.Logger
}

// page is the handler returned by NewPage.
type page struct {
	store Snapshots
	opts  PageOptions
	tmpl  *template.Template
	// api writes the JSON error answers, as on the rest of the API.
	api *API
}

// NewPage returns the landing page: every workload of store with a chart of
// its observed load, forecast, prediction interval and replica plan, drawn
// as inline SVG on the server, refreshed in place every 10 s. Mount it at "/"
// of a ServeMux: it answers 404 with a JSON error for every other path, and
// GET /?fragment=1 with the workloads' HTML alone (the refresh uses it).
func NewPage(store Snapshots, opts PageOptions) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// The template is a constant of this package, so Must only panics on a
	// programming error that every test would catch.
	tmpl := template.Must(template.New("root").Parse(pageTemplate))
	return &page{store: store, opts: opts, tmpl: tmpl, api: NewAPI(store, 0, opts.Now, opts.Logger)}
}

// ServeHTTP answers GET and HEAD of "/" with the page, 404 for other paths and
// 405 for other methods.
func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		p.api.writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("not found: %q", r.URL.Path)})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.api.writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed: use GET"})
		return
	}
	name := "page"
	if r.URL.Query().Get("fragment") != "" {
		name = "workloads"
	}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, p.view()); err != nil {
		p.opts.Logger.Error("Cannot render the landing page", "err", err)
		p.api.writeJSON(w, http.StatusInternalServerError, errorBody{Error: "cannot render the page"})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, &buf)
}

// pageView is what the template renders.
type pageView struct {
	Name      string
	Version   string
	Links     []PageLink
	Updated   string
	Workloads []workloadView
}

// workloadView is one workload's card; numbers are formatted already.
type workloadView struct {
	Name            string
	Metric          string
	Model           string
	ConfiguredModel string
	ReplicasNow     string
	// Decision says what set ReplicasNow, the reactive floor or the
	// forecast (on what), and the floor beside it.
	Decision   string
	Observed   string
	ObservedAt string
	Age        string
	Interval   string
	Chart      chartView
}

func (p *page) view() pageView {
	now := p.opts.Now()
	v := pageView{Name: p.opts.Name, Version: p.opts.Version, Links: p.opts.Links, Updated: now.UTC().Format("15:04:05 UTC")}
	for _, s := range p.store.List() {
		w := workloadView{
			Name:        s.Workload,
			Metric:      s.Metric,
			Model:       s.Model,
			ReplicasNow: "n/a",
			Observed:    formatNumber(s.ObservedValue),
			Age:         formatAge(s.Age(now)),
			Chart:       newChart(s),
		}
		if s.ConfiguredModel != s.Model {
			w.ConfiguredModel = s.ConfiguredModel
		}
		if len(s.DesiredReplicas) > 0 {
			w.ReplicasNow = strconv.Itoa(s.DesiredReplicas[0])
			w.Decision = decision(s)
		}
		if !s.ObservedAt.IsZero() {
			w.ObservedAt = s.ObservedAt.UTC().Format("15:04:05 UTC")
		}
		if w.Chart.Band != "" {
			w.Interval = "prediction interval"
			if lo, hi := s.LowerQuantile*100, s.UpperQuantile*100; hi > lo && lo >= 0 && hi <= 100 {
				w.Interval = fmt.Sprintf("p%s–p%s interval", formatNumber(lo), formatNumber(hi))
			}
		}
		v.Workloads = append(v.Workloads, w)
	}
	return v
}

// decision says in words what set a snapshot's desired replicas.
func decision(s forecast.Snapshot) string {
	basis := "forecast"
	if s.PlanBasis == string(capacity.BasisUpper) {
		basis = "upper bound"
	}
	if s.PlanHeadroom > 0 {
		basis += " × " + formatNumber(s.PlanHeadroom)
	}
	var by string
	switch capacity.Decision(s.DecidedBy) {
	case capacity.DecidedByFloor:
		return fmt.Sprintf("set by the reactive floor: the load now needs %d, the %s planned %d", s.ReactiveFloor, basis, s.ForecastReplicas)
	case capacity.DecidedByForecast:
		by = "set by the " + basis
	case capacity.DecidedByUpLimit:
		by = "the " + basis + ", held back by up_max_factor"
	case capacity.DecidedByDownLimit:
		by = "the " + basis + ", held up by down_max_percent"
	case capacity.DecidedByMin:
		by = "at min_replicas"
	case capacity.DecidedByMax:
		by = "at max_replicas"
	default:
		return ""
	}
	if s.ReactiveFloor > 0 {
		by += fmt.Sprintf("; reactive floor %d", s.ReactiveFloor)
	}
	return by
}

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
		ta.recentEnd = s.ObservedAt.Sub(s.GeneratedAt).Seconds()
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

// formatNumber formats v to three significant digits, with k, M, G or T
// above a thousand, and "n/a" when it is not finite.
func formatNumber(v float64) string {
	if !isFinite(v) {
		return "n/a"
	}
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if math.Abs(v) >= u.div && math.Abs(v) < 1e3*u.div {
			return strconv.FormatFloat(v/u.div, 'g', 3, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// formatSpan formats seconds as a short duration, such as 1h30m.
func formatSpan(seconds float64) string {
	if seconds >= float64(math.MaxInt64/int64(time.Second)) {
		return "∞"
	}
	s := time.Duration(seconds * float64(time.Second)).Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") || strings.HasSuffix(s, "h0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatAge formats how old a snapshot is, to the second.
func formatAge(d time.Duration) string {
	return max(d, 0).Round(time.Second).String()
}

// pageTemplate is the page ("page"), the workloads' fragment that the
// refresh replaces ("workloads") and one chart ("chart").
const pageTemplate = `{{define "page"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Name}}</title>
<style>
:root{--bg:#f4f5f7;--card:#fff;--fg:#1f2933;--muted:#616e7c;--grid:#e4e7eb;--observed:#1c64d9;--forecast:#d9480f;--band:#f59f00;--replicas:#2b8a3e;--now:#7b8794}
@media (prefers-color-scheme:dark){:root{--bg:#15181c;--card:#1f2329;--fg:#e6e8eb;--muted:#9aa5b1;--grid:#323840;--observed:#58a6ff;--forecast:#ff8a50;--band:#ffa94d;--replicas:#51cf66;--now:#8b949e}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header,main,footer{max-width:1240px;margin:0 auto;padding:0 16px}
header{display:flex;align-items:baseline;flex-wrap:wrap;gap:4px 12px;padding-top:20px;padding-bottom:14px}
h1{font-size:1.4rem;margin:0}
a{color:var(--observed)}
.version,.updated,.metric,.summary,.legend,footer{color:var(--muted);font-size:.85rem}
.updated{margin:12px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,500px),1fr));gap:16px}
.workload{background:var(--card);border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.1);padding:14px 18px;min-width:0}
.workload h2{display:inline;font-size:1.1rem;margin:0 8px 0 0}
.metric{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.summary{margin:4px 0 0}
.summary b{color:var(--fg);font-weight:600}
svg.chart{display:block;width:100%;height:auto;margin-top:8px}
.chart text{font-size:14px;fill:var(--muted)}
.chart .grid{stroke:var(--grid)}
.chart path{fill:none;stroke-width:2;stroke-linejoin:round}
.chart .observed{stroke:var(--observed)}
.chart .forecast{stroke:var(--forecast);stroke-dasharray:6 4}
.chart .band{fill:var(--band);fill-opacity:.25;stroke:none}
.chart .replicas{stroke:var(--replicas);stroke-width:1.5}
.chart .now{stroke:var(--now);stroke-dasharray:3 3}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:2px 18px;margin:4px 0 0;padding:0}
.legend i{display:inline-block;width:18px;border-top:2px solid;vertical-align:middle;margin-right:6px}
.legend .observed{border-color:var(--observed)}
.legend .forecast{border-top-style:dashed;border-color:var(--forecast)}
.legend .band{height:10px;border:0;background:var(--band);opacity:.4}
.legend .replicas{border-color:var(--replicas)}
.empty{background:var(--card);border-radius:10px;padding:40px 16px;text-align:center;color:var(--muted)}
footer{padding-bottom:24px}
footer ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 24px;margin:0;padding:0}
</style>
</head>
<body>
<header><h1>{{.Name}}</h1>{{with .Version}}<span class="version">{{.}}</span>{{end}}</header>
<main id="workloads">{{template "workloads" .}}</main>
{{with .Links}}<footer><ul>{{range .}}<li><a href="{{.Address}}">{{.Text}}</a>{{with .Description}} · {{.}}{{end}}</li>{{end}}</ul></footer>{{end}}
<script>
(function () {
  var box = document.getElementById("workloads"), busy = false;
  if (!box || !window.fetch) { return; }
  setInterval(function () {
    if (busy) { return; }
    busy = true;
    fetch("?fragment=1", {cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error(r.statusText); } return r.text(); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () {})
      .then(function () { busy = false; });
  }, 10000);
})();
</script>
</body>
</html>
{{end}}

{{define "workloads"}}{{with .Workloads}}<div class="cards">{{range .}}<section class="workload">
<h2>{{.Name}}</h2>{{with .Metric}}<span class="metric">{{.}}</span>{{end}}
<p class="summary">model <b>{{.Model}}</b>{{with .ConfiguredModel}} (configured {{.}}){{end}} · replicas now <b>{{.ReplicasNow}}</b>{{with .Decision}} <span class="decision">({{.}})</span>{{end}} · observed <b>{{.Observed}}</b>{{with .ObservedAt}} at {{.}}{{end}} · forecast {{.Age}} old · <a href="/forecast/current?workload={{.Name}}">JSON</a></p>
{{template "chart" .Chart}}
<ul class="legend"><li><i class="observed"></i>observed</li><li><i class="forecast"></i>forecast</li>{{with .Interval}}<li><i class="band"></i>{{.}}</li>{{end}}<li><i class="replicas"></i>replicas (right axis)</li></ul>
</section>
{{end}}</div>{{else}}<p class="empty">No workload has a forecast yet: waiting for the first forecast.</p>
{{end}}<p class="updated">Updated {{.Updated}}; refreshes every 10 s.</p>{{end}}

{{define "chart"}}<svg class="chart" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="observed load, forecast and replica plan">
<g class="grid">{{range .LoadTicks}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Pos}}" y2="{{.Pos}}"/>{{end}}</g>
<g text-anchor="end">{{range .LoadTicks}}<text x="{{$.LeftLabelX}}" y="{{.Pos}}" dy=".35em">{{.Label}}</text>{{end}}</g>
<g>{{range .ReplicaTicks}}<text x="{{$.RightLabelX}}" y="{{.Pos}}" dy=".35em">{{.Label}}</text>{{end}}</g>
<g text-anchor="middle">{{range .TimeTicks}}<text x="{{.Pos}}" y="{{$.TimeLabelY}}">{{.Label}}</text>{{end}}</g>
<text x="{{.Left}}" y="{{.AxisTitleY}}">load</text><text x="{{.Right}}" y="{{.AxisTitleY}}" text-anchor="end">replicas</text>
{{with .Band}}<path class="band" d="{{.}}"/>{{end}}
{{with .Observed}}<path class="observed" d="{{.}}"/>{{end}}
{{with .Forecast}}<path class="forecast" d="{{.}}"/>{{end}}
{{with .Replicas}}<path class="replicas" d="{{.}}"/>{{end}}
<line class="now" x1="{{.NowX}}" x2="{{.NowX}}" y1="{{.Top}}" y2="{{.Bottom}}"/>
</svg>{{end}}`
