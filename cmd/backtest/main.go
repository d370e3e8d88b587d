// Command backtest replays a load history through the forecaster's own
// forecast and capacity code and compares the predictive plan with a
// reactive HPA-style policy and a perfect-foresight oracle, on a simulated
// cluster whose pods take the lead time to become ready.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	// The time zones of schedules, also on images without a zoneinfo.
	_ "time/tzdata"

	"github.com/alecthomas/kingpin/v2"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/backtest"
	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/trace"
	"github.com/HatiCode/kedastral/internal/workloadflag"
	"github.com/HatiCode/kedastral/remote/read"
)

func main() {
	os.Exit(runBacktest(os.Args[1:], os.Stdout, os.Stderr))
}

// flags holds the parsed command line.
type flags struct {
	trace       string
	promURL     string
	promTimeout model.Duration
	query       string
	start, end  string
	// startTime and endTime are start and end parsed.
	startTime, endTime time.Time
	step               model.Duration
	trainFraction      float64
	evalHorizon        model.Duration
	hpa                backtest.HPA
	hpaStab            model.Duration
	sweep              string
	format             string
	title              string
	forecastsOut       string
	plot               string
	scheduleFile       string
	workload           config.Workload
	log                promslog.Config
}

func addFlags(app *kingpin.Application) *flags {
	f := &flags{workload: config.DefaultWorkload()}
	w := &f.workload
	// Defaults for a replay: history for a weekly season, a target per pod
	// chosen from the trace, and bounds that do not bind.
	w.Window = model.Duration(15 * 24 * time.Hour)
	w.Capacity.TargetPerPod, w.Capacity.MinReplicas, w.Capacity.MaxReplicas = 0, 1, 100000
	w.AccuracyWindow = 0

	app.Flag("trace", "CSV file of timestamp,value rows to replay (unix seconds).").PlaceHolder("<file.csv>").StringVar(&f.trace)
	app.Flag("prometheus.url", "Replay a range read from this Prometheus instead of a trace (with --query, --start, --end, --step).").
		PlaceHolder("<url>").StringVar(&f.promURL)
	app.Flag("prometheus.timeout", "Time limit of each range query.").Default("2m").SetValue(&f.promTimeout)
	app.Flag("query", "PromQL of the load, with --prometheus.url; several series are summed.").StringVar(&f.query)
	app.Flag("start", "Start of the range, RFC 3339 or unix seconds.").StringVar(&f.start)
	app.Flag("end", "End of the range, RFC 3339 or unix seconds.").StringVar(&f.end)
	app.Flag("step", "Step of the range read with --prometheus.url; a trace's step is the smallest time between two of its rows.").Default("1m").SetValue(&f.step)

	workloadflag.Model(app.Flag, w)
	workloadflag.Capacity(app.Flag, &w.Capacity)
	app.GetFlag("window").Help("History read at each forecast, clipped to the trace's start; 15d by default: two weeks for a weekly season and a day for auto to choose.")
	app.GetFlag("target-per-pod").Help("Load one pod serves at its target utilisation; 0 (the default) takes the mean of the training part / 10, since traces come in any unit.")
	app.GetFlag("lead-time").Help("Time a new pod takes to be ready: the replicas wanted now serve the load at now+lead-time. Simulated pods are ready this long (rounded up to whole steps, at least one) after they are asked for; scale-downs are immediate.")
	app.GetFlag("min-replicas").Help("Fewest replicas ever planned, for every policy; 1 by default for a replay.")
	app.GetFlag("max-replicas").Help("Most replicas ever planned, for every policy; high by default so that no policy is capped (the oracle is never short unless this binds).")
	app.GetFlag("accuracy-window").Help("How far back forecasts are compared with what then happened (accuracy and intervals); 0 is 60 steps.")

	app.Flag("train-fraction", "Share of the time span before the scored test part.").Default("0.7").Float64Var(&f.trainFraction)
	app.Flag("eval-horizon", "How far ahead forecasts are scored; 0 is the lead time (at least one step).").Default("0s").SetValue(&f.evalHorizon)
	d := backtest.DefaultHPA()
	app.Flag("hpa.tolerance", "HPA tolerance: desired counts within this ratio of the current one are ignored (predictive and reactive).").
		Default(strconv.FormatFloat(d.Tolerance, 'g', -1, 64)).Float64Var(&f.hpa.Tolerance)
	app.Flag("hpa.scale-down-stabilization", "HPA scale-down stabilisation window (predictive and reactive).").
		Default(model.Duration(d.ScaleDownStabilization).String()).SetValue(&f.hpaStab)
	app.Flag("sweep-headroom", "Comma-separated headrooms: score predictive and reactive at each, and compare them at equal replica-hours.").
		PlaceHolder("1,1.1,1.2").StringVar(&f.sweep)
	app.Flag("format", "Output: table, json or markdown.").Default("table").EnumVar(&f.format, "table", "json", "markdown")
	app.Flag("title", "Title of the markdown section; the trace's file name by default.").StringVar(&f.title)
	app.Flag("forecasts-out", "Write timestamp,actual,forecast of every scored point to this CSV file.").PlaceHolder("<file.csv>").StringVar(&f.forecastsOut)
	app.Flag("plot", "Write an SVG plot of the test part to this file.").PlaceHolder("<file.svg>").StringVar(&f.plot)
	app.Flag("schedule-file", "YAML list of schedules (as under a workload's schedules: key) whose windows raise or cap the replica bounds of every policy.").
		PlaceHolder("<file.yaml>").StringVar(&f.scheduleFile)
	promslogflag.AddFlags(app, &f.log)
	cli.SetEnvars(app)
	return f
}

// runBacktest is the whole program; it returns the exit code.
func runBacktest(args []string, stdout, stderr io.Writer) int {
	app := cli.NewApp("backtest", "Kedastral backtest: replays a load history through the forecaster's forecast and capacity code, "+
		"scores the forecasts against naive ones, and compares the predictive plan with reactive HPA-style scaling, "+
		"a perfect-foresight oracle and the same planner given a perfect forecast, on a simulated cluster whose pods "+
		"take the lead time to become ready. Exit status: 0 done, 1 a failure (unreadable or too short history), "+
		"2 a bad command line.", stderr)
	f := addFlags(app)
	if !cli.Parse(app, args, stderr) {
		return 2
	}
	f.log.Writer = stderr
	logger := promslog.New(&f.log)
	opts, err := f.options()
	if err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		return 2
	}
	opts.Logger = logger
	opts.Verbose = f.log.Level.String() == "debug"

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	history, err := f.history(ctx, logger)
	if err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		return 1
	}
	res, err := backtest.Run(ctx, history, opts)
	if err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		return exitCode(err)
	}
	if err := f.write(res, stdout); err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		return 1
	}
	return 0
}

// exitCode returns 2 for an error of the command line, 1 for any other.
func exitCode(err error) int {
	if errors.Is(err, backtest.ErrInvalidOptions) {
		return 2
	}
	return 1
}

// options checks the flags and turns them into backtest options.
func (f *flags) options() (backtest.Options, error) {
	switch {
	case f.trace == "" && f.promURL == "":
		return backtest.Options{}, errors.New("--trace or --prometheus.url is required")
	case f.trace != "" && f.promURL != "":
		return backtest.Options{}, errors.New("--trace and --prometheus.url cannot be used together")
	}
	f.hpa.ScaleDownStabilization = time.Duration(f.hpaStab)
	if f.scheduleFile != "" {
		data, err := os.ReadFile(f.scheduleFile)
		if err != nil {
			return backtest.Options{}, fmt.Errorf("--schedule-file: %w", err)
		}
		if f.workload.Schedules, err = config.LoadSchedules(data); err != nil {
			return backtest.Options{}, fmt.Errorf("--schedule-file: %w", err)
		}
		c := f.workload.Capacity
		if _, err := capacity.ParseSchedules(f.workload.Schedules, c.MinReplicas, c.MaxReplicas); err != nil {
			return backtest.Options{}, fmt.Errorf("--schedule-file: %w", err)
		}
	}
	opts := backtest.Options{
		Workload:      f.workload,
		TrainFraction: f.trainFraction,
		EvalHorizon:   time.Duration(f.evalHorizon),
		HPA:           f.hpa,
	}
	if f.sweep != "" {
		for _, s := range strings.Split(f.sweep, ",") {
			h, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || !(h > 0) || math.IsInf(h, 0) {
				return backtest.Options{}, fmt.Errorf("--sweep-headroom: %q is not a positive number", s)
			}
			opts.Headrooms = append(opts.Headrooms, h)
		}
	}
	if f.promURL != "" {
		if err := f.promRange(); err != nil {
			return backtest.Options{}, err
		}
		// The trace's step is known only once it is read; Run checks then.
		if err := opts.Check(time.Duration(f.step)); err != nil {
			return backtest.Options{}, err
		}
	}
	return opts, nil
}

// promRange checks the flags of the Prometheus input and parses its times.
func (f *flags) promRange() error {
	if f.query == "" || f.start == "" || f.end == "" {
		return errors.New("--prometheus.url needs --query, --start and --end")
	}
	var err error
	if f.startTime, err = parseTime(f.start); err != nil {
		return fmt.Errorf("--start: %w", err)
	}
	if f.endTime, err = parseTime(f.end); err != nil {
		return fmt.Errorf("--end: %w", err)
	}
	switch {
	case f.step <= 0:
		return fmt.Errorf("--step must be positive, not %s", f.step)
	case !f.endTime.After(f.startTime):
		return fmt.Errorf("--end %s must be after --start %s", f.endTime.Format(time.RFC3339), f.startTime.Format(time.RFC3339))
	}
	return nil
}

// history reads the trace file or the Prometheus range.
func (f *flags) history(ctx context.Context, logger *slog.Logger) (forecast.Series, error) {
	if f.trace != "" {
		points, err := trace.ReadFile(f.trace)
		if err != nil {
			return forecast.Series{}, err
		}
		s, err := backtest.FromPoints(points)
		if err != nil {
			return forecast.Series{}, fmt.Errorf("read trace %s: %w", f.trace, err)
		}
		return s, nil
	}
	client, err := read.NewClient(read.ClientOptions{
		URL: f.promURL, HTTP: promconfig.DefaultHTTPClientConfig, Timeout: time.Duration(f.promTimeout),
	})
	if err != nil {
		return forecast.Series{}, err
	}
	step := time.Duration(f.step)
	logger.Info("Reading the range from Prometheus", "start", f.startTime, "end", f.endTime, "step", step)
	// The source reads ranges of over 11,000 steps in pieces.
	s, err := client.Source(f.query, logger.With("component", "source")).Range(ctx, f.startTime, f.endTime, step)
	if err != nil {
		return forecast.Series{}, fmt.Errorf("read the range from %s: %w", f.promURL, err)
	}
	return s, nil
}

// parseTime reads RFC 3339 or unix seconds.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor unix seconds", s)
	}
	return time.Unix(0, int64(sec*1e9)).UTC(), nil
}

// write prints the result and writes the optional files.
func (f *flags) write(res *backtest.Result, stdout io.Writer) error {
	if f.forecastsOut != "" {
		if err := writeFile(f.forecastsOut, res.WriteForecastsCSV); err != nil {
			return err
		}
	}
	if f.plot != "" {
		if err := writeFile(f.plot, res.WritePlot); err != nil {
			return err
		}
	}
	switch f.format {
	case "json":
		return res.WriteJSON(stdout)
	case "markdown":
		title := f.title
		if title == "" {
			title = strings.TrimSuffix(filepath.Base(f.trace), filepath.Ext(f.trace))
		}
		return res.WriteMarkdown(stdout, title)
	default:
		return res.WriteTable(stdout)
	}
}

func writeFile(path string, write func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(file); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
