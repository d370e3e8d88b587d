package exporter

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
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
	// LeadTime is the lead time the plan applied, "(measured)" when a
	// lead_time_query measured it.
	LeadTime string
	// Scorecard is the last day of the scorecard; nil before one.
	Scorecard *scorecardView
	Age       string
	Interval  string
	Chart     chartView
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
			LeadTime:    leadTime(s),
			Scorecard:   newScorecardView(s.Scorecard),
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

// scorecardView is the last day of a scorecard, in words.
type scorecardView struct {
	Scored   string
	Policies []policyView
}

// policyView is one column of the scorecard table.
type policyView struct{ Name, Short, Hours string }

// newScorecardView formats the last day of c: the share of its judged time
// each policy was short-handed and its replica-hours; nil when c is nil or
// judged nothing yet.
func newScorecardView(c *forecast.Scorecard) *scorecardView {
	if c == nil || c.LastDay.Predictive.ScoredSeconds == 0 {
		return nil
	}
	d := c.LastDay
	v := &scorecardView{Scored: model.Duration(time.Duration(d.Predictive.ScoredSeconds) * time.Second).String()}
	for _, p := range []struct {
		name string
		s    *forecast.PolicyScore
	}{{"predictive", &d.Predictive}, {"reactive", &d.Reactive}, {"actual", d.Actual}} {
		if p.s == nil || p.s.ScoredSeconds == 0 {
			continue
		}
		v.Policies = append(v.Policies, policyView{
			Name:  p.name,
			Short: fmt.Sprintf("%s %% (%s)", formatNumber(100*p.s.ShortSeconds/p.s.ScoredSeconds), model.Duration(time.Duration(p.s.ShortSeconds)*time.Second)),
			Hours: formatNumber(p.s.ReplicaSeconds / 3600),
		})
	}
	return v
}

// leadTime formats the lead time a snapshot's plan applied.
func leadTime(s forecast.Snapshot) string {
	d := model.Duration(time.Duration(s.LeadTimeSeconds * float64(time.Second))).String()
	if s.LeadTimeMeasuredSeconds > 0 {
		d += " (measured)"
	}
	return d
}

// decision says in words what set a snapshot's desired replicas: in shadow
// mode the reactive count, beside what set the plan.
func decision(s forecast.Snapshot) string {
	by := planDecision(s)
	if len(s.PlannedReplicas) > 0 {
		return fmt.Sprintf("shadow mode: the reactive count; the plan asks for %d, %s", s.PlannedReplicas[0], by)
	}
	return by
}

// planDecision says in words what set the plan's first count.
func planDecision(s forecast.Snapshot) string {
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
	case capacity.DecidedBySchedule:
		by = "at the bounds of a schedule window"
	default:
		return ""
	}
	if s.ReactiveFloor > 0 {
		by += fmt.Sprintf("; reactive floor %d", s.ReactiveFloor)
	}
	return by
}

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
