// Command benchmarks writes docs/benchmarks.md: it backtests every bundled
// trace with the backtest command's defaults, scores the forecasts against
// the naive ones and the predictive policy against reactive scaling at equal
// cost, and runs the models' Go benchmarks. `make benchmarks` runs it.
package main

import (
	"bytes"
	"context"
	_ "embed"

	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/backtest"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/trace"
)

// traces returns the bundled traces, in the order of the report.
// docTemplate is docs/benchmarks.md with the figures left out.
//
//go:embed benchmarks.md.tmpl
var docTemplate string

func traces() []string {
	return []string{"nyc_taxi_30m", "aws_elb_requests_5m", "aws_asg_cpu_5m", "twitter_aapl_5m", "nasa_http_1m"}
}

// headrooms returns the sweep's headrooms.
func headrooms() []float64 {
	return []float64{0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5, 1.7, 2}
}

// referenceHeadrooms are the headrooms of the reactive policy the summary
// compares at: the forecaster's default, and a higher service level.
func referenceHeadrooms() []float64 { return []float64{1.2, 1.5} }

func main() {
	dir := flag.String("traces", "data/traces", "directory of the bundled traces")
	out := flag.String("out", "docs/benchmarks.md", "file to write")
	bench := flag.Bool("go-bench", true, "also run the models' Go benchmarks")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), *dir, *out, *bench, logger); err != nil {
		logger.Error("Benchmarks failed", "err", err)
		os.Exit(1)
	}
}

func options() backtest.Options {
	w := config.DefaultWorkload()
	w.Window = model.Duration(15 * 24 * time.Hour)
	w.Capacity.TargetPerPod, w.Capacity.MinReplicas, w.Capacity.MaxReplicas = 0, 1, 100000
	w.AccuracyWindow = 0
	return backtest.Options{Workload: w, TrainFraction: 0.7, HPA: backtest.DefaultHPA(), Headrooms: headrooms()}
}

func run(ctx context.Context, dir, out string, bench bool, logger *slog.Logger) error {
	var defaults, summary, sections bytes.Buffer
	fmt.Fprintf(&defaults, "| trace | reactive short | predictive short | short ratio "+
		"| reactive replica-hours | predictive replica-hours | cost ratio | floor decided |\n")
	fmt.Fprintf(&defaults, "|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&summary, "| trace | horizon | Kedastral WAPE | best naive WAPE | Kedastral / naive "+
		"| reactive short, h=1.2 | predictive short at that cost | ratio | reactive short, h=1.5 | predictive short at that cost | ratio |\n")
	fmt.Fprintf(&summary, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, name := range traces() {
		history, err := load(filepath.Join(dir, name+".csv"))
		if err != nil {
			return err
		}
		logger.Info("Backtesting", "trace", name)
		res, err := backtest.Run(ctx, history, options())
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		writeDefaultsRow(&defaults, name, res)
		writeSummaryRow(&summary, name, res)
		if err := res.WriteMarkdown(&sections, name); err != nil {
			return err
		}
	}
	taxi, err := taxiLongHorizon(ctx, dir)
	if err != nil {
		return err
	}
	var benchOut string
	if bench {
		logger.Info("Running the Go benchmarks")
		if benchOut, err = goBench(); err != nil {
			return err
		}
	}
	var doc bytes.Buffer
	if err := writeDoc(&doc, defaults.String(), summary.String(), taxi, sections.String(), benchOut); err != nil {
		return err
	}
	return os.WriteFile(out, doc.Bytes(), 0o644)
}

func load(path string) (forecast.Series, error) {
	points, err := trace.ReadFile(path)
	if err != nil {
		return forecast.Series{}, err
	}
	return backtest.FromPoints(points)
}

// writeDefaultsRow compares the predictive and the reactive policies as
// they run at the defaults: the share of time each was short, the
// replica-hours each spent, and the ratios; and how often the reactive
// floor set the plan.
func writeDefaultsRow(w io.Writer, name string, res *backtest.Result) {
	p, r := res.Policies.Predictive, res.Policies.Reactive
	ratio := func(a, b float64) string {
		if b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", a/b)
	}
	fmt.Fprintf(w, "| %s | %.2f %% | %.2f %% | %s | %.1f | %.1f | %s | %.1f %% |\n", name,
		100*r.UnderProvisionedRatio, 100*p.UnderProvisionedRatio, ratio(p.UnderProvisionedRatio, r.UnderProvisionedRatio),
		r.ReplicaHours, p.ReplicaHours, ratio(p.ReplicaHours, r.ReplicaHours), 100*res.Policies.FloorDecidedRatio)
}

// writeSummaryRow compares at the reactive policy's cost at each reference
// headroom: the best of the predictive policies' under-provisioning (on the
// forecast, on the upper bound or on auto) interpolated at the replica-hours
// reactive scaling spends there.
func writeSummaryRow(w io.Writer, name string, res *backtest.Result) {
	f := res.Forecast
	naiveName, naive := f.Baselines.Best()
	row := fmt.Sprintf("| %s | %s | %.4f | %.4f (%s) | %.3f |", name, f.Horizon, f.WAPE, naive, naiveName, f.WAPE/naive)
	for _, h := range referenceHeadrooms() {
		cells := []string{"n/a", "n/a", "n/a"}
		for _, p := range res.Sweep {
			if p.Headroom != h {
				continue
			}
			reactive := p.Reactive.UnderProvisionedRatio
			cells[0] = fmt.Sprintf("%.2f %%", 100*reactive)
			best, basis := -1.0, ""
			for _, c := range []struct {
				v     *float64
				basis string
			}{{p.PredictiveAtReactiveCost, "forecast"}, {p.PredictiveUpperAtReactiveCost, "upper"}, {p.PredictiveAutoAtReactiveCost, "auto"}} {
				if c.v != nil && (best < 0 || *c.v < best) {
					best, basis = *c.v, c.basis
				}
			}
			if best >= 0 {
				cells[1] = fmt.Sprintf("%.2f %% (%s)", 100*best, basis)
				if reactive > 0 {
					cells[2] = fmt.Sprintf("%.2f", best/reactive)
				}
			}
		}
		row += " " + strings.Join(cells, " | ") + " |"
	}
	fmt.Fprintln(w, row)
}

// taxiLongHorizon scores the taxi forecasts 2.5 hours ahead, the horizon of
// the published reference.
func taxiLongHorizon(ctx context.Context, dir string) (string, error) {
	history, err := load(filepath.Join(dir, "nyc_taxi_30m.csv"))
	if err != nil {
		return "", err
	}
	opts := options()
	opts.Headrooms = nil
	opts.EvalHorizon = 150 * time.Minute
	// auto judges its models at the lead time: here the horizon scored.
	opts.Workload.Capacity.LeadTime = model.Duration(150 * time.Minute)
	var b strings.Builder
	fmt.Fprintf(&b, "| model | WAPE 2h30m ahead | MASE | bias |\n|---|---|---|---|\n")
	for _, m := range forecast.ModelNames() {
		opts.Workload.Model = m
		res, err := backtest.Run(ctx, history, opts)
		if err != nil {
			return "", fmt.Errorf("taxi at 2h30m, %s: %w", m, err)
		}
		f := res.Forecast
		fmt.Fprintf(&b, "| `%s` | %.4f | %.3f | %+.4f |\n", m, f.WAPE, f.MASE, f.Bias)
		if m == forecast.ModelNames()[len(forecast.ModelNames())-1] {
			fmt.Fprintf(&b, "| last value | %.4f | | |\n", *f.Baselines.LastValue)
			fmt.Fprintf(&b, "| same time yesterday | %.4f | | |\n", *f.Baselines.SameTimeYesterday)
			fmt.Fprintf(&b, "| same time last week | %.4f | | |\n", *f.Baselines.SameTimeLastWeek)
		}
	}
	return b.String(), nil
}

// goBench runs the models' benchmarks and returns their result lines.
func goBench() (string, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "HoltWintersFit|ModelPredict|TickWorkloads|Plan$|TunerPlan",
		"-benchtime", "20x", "-benchmem", "./forecast", "./internal/engine", "./capacity")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go test -bench: %w\n%s", err, out.String())
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "cpu:") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n"), nil
}

// writeDoc renders docs/benchmarks.md from its template.
func writeDoc(w io.Writer, defaults, summary, taxi, sections, bench string) error {
	t, err := template.New("benchmarks").Parse(docTemplate)
	if err != nil {
		return fmt.Errorf("parse the template: %w", err)
	}
	return t.Execute(w, map[string]any{
		"Date": time.Now().UTC().Format("2006-01-02"), "Go": runtime.Version(), "OS": runtime.GOOS,
		"Arch": runtime.GOARCH, "CPUs": runtime.NumCPU(), "Defaults": defaults, "Summary": summary,
		"Taxi": taxi, "Sections": sections, "Bench": bench,
	})
}
