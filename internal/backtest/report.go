package backtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the result as indented JSON.
func (res *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// WriteTable writes the result as aligned text for people: the trace and
// settings, the forecast's accuracy beside the naive forecasts', the
// policies, and the headroom sweep. Sections are separated by a line with
// no cell, so that each aligns its own columns.
func (res *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	f, s := res.Forecast, res.Settings
	fmt.Fprintf(tw, "trace\t%s .. %s, %d steps of %s (%d missing); scored from %s (%d steps)\n",
		day0(res.Trace.Start), day0(res.Trace.End), res.Trace.Points, secs(res.Trace.StepSeconds),
		res.Trace.Missing, day0(res.Trace.TestStart), res.Trace.TestPoints)
	fmt.Fprintf(tw, "settings\tmodel %s, target/pod %.4g, headroom %g, lead time %s (pods ready %s after they are asked for), replicas %d..%d, window %s, %s\n",
		s.Model, s.TargetPerPod, s.Headroom, secs(s.LeadTimeSeconds), plural(s.StartupSteps, "step"), s.MinReplicas, s.MaxReplicas, secs(s.WindowSeconds), s.planning())
	fmt.Fprintf(tw, "\nforecast %s ahead\tWAPE\tMASE\tbias\tinterval coverage\tpoints\n", f.Horizon)
	fmt.Fprintf(tw, "kedastral (%s)\t%.4f\t%.3f\t%+.4f\t%s\t%d\n", models(f.Models), f.WAPE, f.MASE, f.Bias, coverage(f), f.Points)
	for _, b := range f.Baselines.named() {
		fmt.Fprintf(tw, "%s\t%.4f\t\t\t\t\n", b.name, *b.v)
	}
	fmt.Fprintf(tw, "\npolicy\treplica-hours\tunder-provisioned\tunserved\tscale events\n")
	for _, p := range res.Policies.named() {
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f%%\t%.3f%%\t%d\n", p.name, p.score.ReplicaHours,
			100*p.score.UnderProvisionedRatio, 100*p.score.UnservedRatio, p.score.ScaleEvents)
	}
	if s.ReactiveFloor {
		fmt.Fprintf(tw, "reactive floor set the plan\t%.1f%% of the steps\t\t\t\n", 100*res.Policies.FloorDecidedRatio)
	}
	if len(res.Sweep) > 0 {
		// "forecast", "upper" and "auto" are the predictive policy planning
		// on each basis.
		fmt.Fprintf(tw, "\nheadroom\treactive replica-h\tunder\tforecast replica-h\tunder\treactive under at same cost\t"+
			"upper replica-h\tunder\tauto replica-h\tunder\tat reactive's cost: forecast under\tupper under\tauto under\n")
		for _, p := range res.Sweep {
			fmt.Fprintf(tw, "%g\t%.1f\t%.2f%%\t%.1f\t%.2f%%\t%s\t%.1f\t%.2f%%\t%.1f\t%.2f%%\t%s\t%s\t%s\n", p.Headroom,
				p.Reactive.ReplicaHours, 100*p.Reactive.UnderProvisionedRatio,
				p.Predictive.ReplicaHours, 100*p.Predictive.UnderProvisionedRatio, percent(p.ReactiveAtEqualCost),
				p.PredictiveUpper.ReplicaHours, 100*p.PredictiveUpper.UnderProvisionedRatio,
				p.PredictiveAuto.ReplicaHours, 100*p.PredictiveAuto.UnderProvisionedRatio,
				percent(p.PredictiveAtReactiveCost), percent(p.PredictiveUpperAtReactiveCost), percent(p.PredictiveAutoAtReactiveCost))
		}
	}
	fmt.Fprintf(tw, "\nreplayed in %.1f s\n", res.ElapsedSeconds)
	return tw.Flush()
}

// WriteMarkdown writes the result as a Markdown section titled title, as
// docs/benchmarks.md shows it.
func (res *Result) WriteMarkdown(w io.Writer, title string) error {
	var b strings.Builder
	f, s := res.Forecast, res.Settings
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "%d steps of %s from %s (%d missing), scored from %s (%d steps). Model `%s` (%s); "+
		"target per pod %.4g, lead time %s (pods ready %s after they are asked for), replicas %d..%d, window %s, %s. "+
		"Replayed in %.1f s.\n\n",
		res.Trace.Points, secs(res.Trace.StepSeconds), day0(res.Trace.Start), res.Trace.Missing, day0(res.Trace.TestStart),
		res.Trace.TestPoints, s.Model, models(f.Models), s.TargetPerPod, secs(s.LeadTimeSeconds), plural(s.StartupSteps, "step"),
		s.MinReplicas, s.MaxReplicas, secs(s.WindowSeconds), s.planning(), res.ElapsedSeconds)
	fmt.Fprintf(&b, "| forecast %s ahead | WAPE | MASE | bias | interval coverage |\n|---|---|---|---|---|\n", f.Horizon)
	fmt.Fprintf(&b, "| **Kedastral** | **%.4f** | %.3f | %+.4f | %s |\n", f.WAPE, f.MASE, f.Bias, coverage(f))
	for _, n := range f.Baselines.named() {
		fmt.Fprintf(&b, "| %s | %.4f | | | |\n", n.name, *n.v)
	}
	fmt.Fprintf(&b, "\n| policy at headroom %g | replica-hours | under-provisioned | unserved | scale events |\n|---|---|---|---|---|\n", s.Headroom)
	for _, p := range res.Policies.named() {
		fmt.Fprintf(&b, "| %s | %.1f | %.2f %% | %.3f %% | %d |\n", p.name, p.score.ReplicaHours,
			100*p.score.UnderProvisionedRatio, 100*p.score.UnservedRatio, p.score.ScaleEvents)
	}
	if s.ReactiveFloor {
		fmt.Fprintf(&b, "\nThe reactive floor set the predictive plan at %.1f %% of the scored steps.\n", 100*res.Policies.FloorDecidedRatio)
	}
	if len(res.Sweep) > 0 {
		fmt.Fprintf(&b, "\nSweep: each policy at several headrooms, the predictive one planning on the forecast, on the "+
			"upper bound and on auto (all with the floor as configured); the last three columns interpolate each "+
			"predictive policy's under-provisioning at the replica-hours the reactive one spends at that headroom.\n\n")
		fmt.Fprintf(&b, "| headroom | reactive replica-hours | reactive under-provisioned | on forecast: replica-hours | under-provisioned "+
			"| on upper bound: replica-hours | under-provisioned | auto: replica-hours | under-provisioned "+
			"| on forecast at reactive's cost | on upper bound at reactive's cost | auto at reactive's cost |\n"+
			"|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range res.Sweep {
			fmt.Fprintf(&b, "| %g | %.1f | %.2f %% | %.1f | %.2f %% | %.1f | %.2f %% | %.1f | %.2f %% | %s | %s | %s |\n", p.Headroom,
				p.Reactive.ReplicaHours, 100*p.Reactive.UnderProvisionedRatio,
				p.Predictive.ReplicaHours, 100*p.Predictive.UnderProvisionedRatio,
				p.PredictiveUpper.ReplicaHours, 100*p.PredictiveUpper.UnderProvisionedRatio,
				p.PredictiveAuto.ReplicaHours, 100*p.PredictiveAuto.UnderProvisionedRatio,
				percent(p.PredictiveAtReactiveCost), percent(p.PredictiveUpperAtReactiveCost), percent(p.PredictiveAutoAtReactiveCost))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteForecastsCSV writes timestamp,actual,forecast for every scored point:
// the load at timestamp (unix seconds) and the forecast of it made one
// evaluation horizon earlier.
func (res *Result) WriteForecastsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"timestamp", "actual", "forecast"}); err != nil {
		return err
	}
	for _, p := range res.Points {
		row := []string{strconv.FormatInt(p.T.Unix(), 10), ftoa(p.Actual), ftoa(p.Forecast)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// planning describes how the predictive plan is made: its basis, budget and
// floor.
func (s Settings) planning() string {
	out := "plan on " + s.PlanOn
	if s.PlanOn == "auto" {
		out += fmt.Sprintf(" (cost budget %g %%)", s.CostBudgetPercent)
	}
	if s.ReactiveFloor {
		return out + ", reactive floor on"
	}
	return out + ", reactive floor off"
}

// plural returns n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func day0(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).String()
}

func coverage(f ForecastScore) string {
	if f.Coverage == nil {
		return "none"
	}
	return fmt.Sprintf("%.1f%% of %d", 100**f.Coverage, f.IntervalPoints)
}

func percent(v *float64) string {
	if v == nil {
		return "out of range"
	}
	return fmt.Sprintf("%.2f%%", 100**v)
}

// models lists the models that made the forecasts, most used first.
func models(counts map[string]int) string {
	type mc struct {
		name string
		n    int
	}
	var list []mc
	total := 0
	for name, n := range counts {
		list = append(list, mc{name, n})
		total += n
	}
	if total == 0 {
		return "no forecast"
	}
	slices.SortFunc(list, func(a, b mc) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.name, b.name)
	})
	parts := make([]string, len(list))
	for i, m := range list {
		parts[i] = fmt.Sprintf("%s %.0f%%", m.name, 100*float64(m.n)/float64(total))
	}
	return strings.Join(parts, ", ")
}

// namedScore is a policy's score with the name a table shows it by.
type namedScore struct {
	name  string
	score PolicyScore
}

// named returns the policies in the order tables show them.
func (p Policies) named() []namedScore {
	return []namedScore{
		{"predictive", p.Predictive},
		{"reactive", p.Reactive},
		{"oracle", p.Oracle},
		{"perfect forecast", p.PerfectForecast},
	}
}

// namedWAPE is a naive forecast's WAPE with its name.
type namedWAPE struct {
	name string
	v    *float64
}

// named returns the naive forecasts that were scored, in the order tables
// show them.
func (n NaiveScores) named() []namedWAPE {
	var out []namedWAPE
	for _, c := range []namedWAPE{
		{"last value", n.LastValue}, {"same time yesterday", n.SameTimeYesterday}, {"same time last week", n.SameTimeLastWeek},
	} {
		if c.v != nil {
			out = append(out, c)
		}
	}
	return out
}
