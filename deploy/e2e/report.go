package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is what docs/e2e.md shows of a run.
type Report struct {
	// Run is the recording, and Results its analysis.
	Run     Run
	Results []RampResult
	// Setup lists, one line each, what ran and how it was set.
	Setup []string
	// Killed says what each Deployment did after the forecaster was killed.
	Killed []string
	// Chart lists, one line each, what the API server accepted of the chart.
	Chart []string
	// Times lists, one line each, how long building and running took.
	Times []string
}

// WriteReport writes dir/e2e.md, the plot it shows, dir/e2e.svg, and the
// recording, dir/e2e.csv.
func WriteReport(dir string, r Report) error {
	if err := os.WriteFile(filepath.Join(dir, "e2e.csv"), []byte(r.Run.CSV()), 0o644); err != nil { //nolint:gosec // documentation, world-readable
		return fmt.Errorf("write recording: %w", err)
	}
	svg, err := os.Create(filepath.Join(dir, "e2e.svg"))
	if err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	if err := WritePlot(svg, r.Run); err != nil {
		_ = svg.Close()
		return err
	}
	if err := svg.Close(); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	var b strings.Builder
	r.markdown(&b)
	if err := os.WriteFile(filepath.Join(dir, "e2e.md"), []byte(b.String()), 0o644); err != nil { //nolint:gosec // documentation, world-readable
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// CSV returns the recording: seconds since the start, the load, the
// replicas it needs, and each Deployment's replicas.
func (run Run) CSV() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seconds,load,needed,%s\n", strings.Join(run.Deployments, ","))
	for _, s := range run.Samples {
		fmt.Fprintf(&b, "%.0f,%.1f,%d", s.T.Sub(run.Start).Seconds(), s.Load, Needed(s.Load, run.PerPod))
		for _, r := range s.Replicas {
			fmt.Fprintf(&b, ",%d", r)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// markdown writes the report.
func (r Report) markdown(w io.Writer) {
	fmt.Fprintf(w, "# End to end: KEDA and the HPA on a real control plane\n\n")
	fmt.Fprintf(w, "Written by `make e2e` (deploy/e2e) from its run of %s; do not edit by hand.\n\n", r.Run.Start.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "The test is [deploy/e2e](../deploy/e2e); [scripts/e2e-build.sh](../scripts/e2e-build.sh) builds the control plane. "+
		"It asserts behaviour, not timings: both predictive Deployments had the peak's replicas before the load needed them, and before the reactive one had them; "+
		"after the forecaster was killed they never fell below the fewest replicas, and the predictive one ended where the scaler's cached plan said; "+
		"every object of the chart under every `ci/` values file was accepted and stored. The figures below are this run's measurements; [e2e.csv](e2e.csv) is its recording, a reading a second.\n\n")
	list(w, "## What ran", r.Setup)
	fmt.Fprintf(w, "## The ramps\n\n![load and replicas](e2e.svg)\n\n")
	fmt.Fprintf(w, "The load needs ceil(load / %g) replicas. *Lead* is how long before the load first needed the ramp's peak replicas the Deployment had them (negative: late; *never*: the HPA, within its 10 %% tolerance of the need, stopped one short, as *most replicas* shows). *Short-handed* is how long, from one lead time before the ramp to its end, the Deployment had fewer replicas than the load needed: as the HPA set them, and as they would be ready if a pod took the lead time (%.0f s) to start.\n\n",
		r.Run.PerPod, r.Run.Lead.Seconds())
	fmt.Fprintf(w, "| ramp | peak replicas | Deployment | lead | most replicas | short-handed (set) | short-handed (pods start in %.0f s) |\n|---|---|---|---|---|---|---|\n", r.Run.Lead.Seconds())
	for i, res := range r.Results {
		for d, name := range r.Run.Deployments {
			lead := "never"
			if res.Had[d] {
				lead = fmt.Sprintf("%+.0f s", res.Lead[d].Seconds())
			}
			fmt.Fprintf(w, "| %d (%s) | %d | %s | %s | %d | %.0f s | %.0f s |\n", i+1, res.NeededAt.Sub(r.Run.Start).Round(time.Second),
				res.Need, name, lead, res.Most[d], res.Short[d].Seconds(), res.ShortStarting[d].Seconds())
		}
	}
	fmt.Fprintln(w)
	list(w, "## The forecaster killed", r.Killed)
	list(w, "## The chart on the real API server", r.Chart)
	list(w, "## Times", r.Times)
}

// list writes a section of bullet points.
func list(w io.Writer, heading string, lines []string) {
	fmt.Fprintf(w, "%s\n\n", heading)
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", l)
	}
	fmt.Fprintln(w)
}

// Plot size and margins, in SVG user units.
const (
	svgWidth, svgHeight = 1000, 420
	svgLeft, svgRight   = 50, 190
	svgTop, svgBottom   = 20, 40
)

// style returns the colour and dash of Deployment d's line.
func style(d int) (color, dash string) {
	styles := [...][2]string{{"#1f77b4", ""}, {"#2ca02c", "6 3"}, {"#d62728", ""}, {"#9467bd", "2 2"}}
	s := styles[d%len(styles)]
	return s[0], s[1]
}

// WritePlot writes an SVG of the run: the replicas the load needed as a
// grey area, each Deployment's replicas as a step line, the ramps' starts
// and the forecaster's kill as vertical marks.
func WritePlot(w io.Writer, run Run) error {
	if len(run.Samples) < 2 {
		return fmt.Errorf("nothing to plot: %d samples", len(run.Samples))
	}
	p := newPlot(run)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	p.axes(bw)
	p.needed(bw)
	for d, name := range run.Deployments {
		color, dash := style(d)
		p.steps(bw, d, color, dash)
		y := svgTop + 20 + 18*d
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			svgWidth-svgRight+10, y, svgWidth-svgRight+30, y, color, dash, svgWidth-svgRight+35, y+4, name)
	}
	y := svgTop + 20 + 18*len(run.Deployments)
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="20" height="10" fill="#ccc"/><text x="%d" y="%d">needed by the load</text>`+"\n",
		svgWidth-svgRight+10, y-5, svgWidth-svgRight+35, y+4)
	fmt.Fprintln(bw, "</svg>")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	return nil
}
