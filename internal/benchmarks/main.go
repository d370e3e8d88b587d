// Command benchmarks writes docs/benchmarks.md: it backtests every bundled
// trace with the backtest command's defaults, scores the forecasts against
// the naive ones and the predictive policy against reactive scaling at equal
// cost, and runs the models' Go benchmarks. `make benchmarks` runs it.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/backtest"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/trace"
)

// traces returns the bundled traces, in the order of the report.
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
	writeDoc(&doc, defaults.String(), summary.String(), taxi, sections.String(), benchOut)
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

func writeDoc(w io.Writer, defaults, summary, taxi, sections, bench string) {
	fmt.Fprintf(w, `# Benchmarks: forecasts and scaling on real traffic

Generated by `+"`make benchmarks`"+` on %s (%s, %s/%s, %d CPUs). Do not edit by hand: run it
again. The backtest command ([backtest.md](backtest.md)) gives the same figures one trace at
a time.

Every bundled trace ([data/traces](../data/traces)) is replayed through the forecaster's own
engine, one tick per step, with the backtest command's defaults: model `+"`auto`"+`, a 15-day
window, a 5-minute lead time (pods ready after one step on the 5- and 30-minute traces, after
five on the 1-minute one), a target per pod of the training part's mean / 10, no replica
bound that binds, and the HPA's default tolerance (10 %%) and 5-minute scale-down
stabilisation between the plan and the pods for both the predictive and the reactive policy.
The first 70 %% of each trace's time span is history only; the rest is scored.

## At the defaults

The predictive policy as the forecaster runs by default (headroom 1.2, the reactive floor on,
`+"`plan_on: auto`"+` within a cost budget of 8 %%) beside the reactive policy (an HPA on the
observed load at the same headroom): the share of the scored time each was short of capacity
(load above ready replicas × target per pod), the replica-hours each spent, and predictive /
reactive for both. The goals ([tuning.md](tuning.md#2-never-worse-than-reactive)): a short ratio
of at most 1 at a cost ratio of at most 1.10 on every trace, and of at most 0.5 on the seasonal
ones (nyc_taxi, aws_asg_cpu). The last column is the share of ticks where the reactive floor,
not the forecast, set the replicas.

%s
## At equal cost

Forecasts are scored one lead time ahead (at least one step): WAPE = Σ|forecast − actual| /
Σ|actual|, beside the best of the three naive forecasts (last value, same time yesterday,
same time last week) scored on the same points. The scaling columns compare the policies at
equal cost: the share of the scored time each was short of capacity, at the replica-hours
the reactive policy spends with headroom 1.2 (the forecaster's default) and 1.5. The
predictive figure is the best of planning on the forecast, on the upper bound of its 80 %%
prediction interval and on auto (named in brackets), the floor on, interpolated along its
headroom sweep at that cost; the ratio is predictive / reactive, below 1 when the predictive
policy is short less often for the same pods.

%s
## NYC taxi, 2.5 hours ahead

The published reference on this series (Cui, Ahmad & Hawkins 2016, full year, 2.5 h ahead)
is LSTM 0.088, HTM 0.081, same time last week 0.088. Scored here on the last 30 %% only
(28 November to 31 January: Thanksgiving, Christmas, New Year and a blizzard), with `+"`auto`"+`
judging its models 2.5 h ahead:

%s
## Per trace

%s`, time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		defaults, summary, taxi, sections)
	if bench != "" {
		fmt.Fprintf(w, `## Cost

`+"`go test -bench`"+` of the models (a week of one-minute history, 10 080 points, forecasting 30
minutes), of a round of 1 000 workloads ticking from memory with `+"`auto`"+` (first-round-s: the
first round, when every model fits and auto chooses), of the capacity planner, and of a
tuner's tick with `+"`plan_on: auto`"+` (22 choices followed side by side):

`+"```"+`
%s
`+"```"+`
`, bench)
	}
}
