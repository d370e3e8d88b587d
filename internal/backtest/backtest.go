package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/engine"
)

// tick is what one engine tick published.
type tick struct {
	ok bool
	// The forecast and its interval (nil until there is one): the planner
	// works from the forecast or a bound.
	values, lowerValues, upperValues []float64
	// The forecast, lower and upper bounds at the evaluation horizon.
	forecast, lower, upper float64
	// desired is the engine's plan for now, DesiredReplicas[0].
	desired int
	// observed is the newest load the engine saw, the reactive floor's.
	observed float64
	// floorDecided says the reactive floor set desired.
	floorDecided bool
}

// run holds the state of one backtest.
type run struct {
	opts    Options
	history forecast.Series
	cfg     config.Workload
	step    time.Duration
	startup int // steps a pod takes to be ready, at least 1
	evalK   int // evaluation horizon in steps
	warm    int // index of the first tick
	test    int // index of the first scored step
	ticks   []tick
	models  map[string]int
	failed  int
	// windows are the schedule windows open over the replay: every policy
	// keeps to their bounds, as the operator's own.
	windows []capacity.Window
	// scorecard is the engine's scorecard over the test part.
	scorecard forecast.ScorecardSums
}

// Run replays history (a regular grid; NaN where nothing was observed)
// through the forecaster's engine, one tick per step with the clock at that
// step, and scores the forecasts and the three policies on the part after
// TrainFraction of the span.
func Run(ctx context.Context, history forecast.Series, opts Options) (*Result, error) {
	began := time.Now()
	r, err := newRun(history, opts)
	if err != nil {
		return nil, err
	}
	if err := r.replay(ctx); err != nil {
		return nil, err
	}
	res := &Result{
		Trace:     r.summary(),
		Settings:  r.settings(),
		Scorecard: r.scorecard,
	}
	res.Forecast, res.Points = r.scoreForecast()
	h := r.cfg.Capacity.Headroom
	res.Policies, res.Timeline, err = r.policies(h, r.cfg.Capacity.PlanOn, true)
	if err != nil {
		return nil, err
	}
	if len(opts.Headrooms) > 0 {
		if res.Sweep, err = r.sweep(opts.Headrooms); err != nil {
			return nil, err
		}
	}
	res.ElapsedSeconds = time.Since(began).Seconds()
	// Every score must be a number JSON can carry: sums of loads near the
	// float64 limit could still overflow.
	if _, err := json.Marshal(res); err != nil {
		return nil, fmt.Errorf("a score is not a finite number (loads near the float64 limit?): %w", err)
	}
	return res, nil
}

func newRun(history forecast.Series, opts Options) (*run, error) {
	sh, err := opts.shape(history.Step)
	if err != nil {
		return nil, err
	}
	n := len(history.Values)
	r := &run{opts: opts, history: history, step: history.Step, models: map[string]int{},
		cfg: sh.cfg, startup: sh.startup, evalK: sh.evalK}
	if r.opts.Logger == nil {
		r.opts.Logger = slog.New(slog.DiscardHandler)
	}
	r.test = int(math.Ceil(opts.TrainFraction * float64(n-1)))
	// Tick from a little before the test part, so that every policy has
	// asked for replicas and pods have started by the time it is scored.
	// The first scored forecast was made evalK steps before the test part:
	// that tick must have run too.
	lead := max(r.startup+sh.prewarm, r.evalK)
	r.warm = r.test - lead - 5
	if r.warm < 1 || n-r.test < r.evalK+1 {
		return nil, fmt.Errorf("history of %d steps is too short to train on %g of it and score the rest: "+
			"want at least %d steps before the test part and %d in it",
			n, opts.TrainFraction, lead+6, r.evalK+1)
	}
	total := 0.0
	for _, v := range history.Values {
		if known(v) {
			total += math.Abs(v)
		}
	}
	if math.IsInf(total, 0) {
		return nil, errors.New("the load's values are too large: their sum is past the float64 limit")
	}
	schedules, err := capacity.ParseSchedules(r.cfg.Schedules, r.cfg.Capacity.MinReplicas, r.cfg.Capacity.MaxReplicas)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	r.windows = schedules.Windows(history.Time(r.warm), history.End())
	if r.cfg.Capacity.TargetPerPod == 0 {
		mean, count := 0.0, 0
		for _, v := range history.Values[:r.test] {
			if known(v) {
				mean += v
				count++
			}
		}
		if count == 0 || !(mean > 0) || math.IsInf(mean, 0) {
			return nil, errors.New("cannot choose a target per pod: the training part has no positive finite mean load; set --target-per-pod")
		}
		r.cfg.Capacity.TargetPerPod = mean / float64(count) / 10
	}
	return r, nil
}

// replay ticks the engine once per step from r.warm to the end.
func (r *run) replay(ctx context.Context) error {
	now := r.history.Time(r.warm)
	store := engine.NewStore()
	logger := slog.New(slog.DiscardHandler)
	if r.opts.Verbose {
		logger = r.opts.Logger
	}
	engine, err := engine.New(r.cfg, memorySource{r.history}, engine.Deps{
		Store:      store,
		Metrics:    engine.NewMetrics(prometheus.NewRegistry()),
		Logger:     logger,
		Now:        func() time.Time { return now },
		StaleAfter: 3 * r.step,
		Adapter:    "backtest",
		GridOrigin: r.history.Start,
		FinalData:  true,
		// Refits an interval after the first forecast, whatever the name.
		RefitOrigin: now,
	})
	if err != nil {
		return err
	}
	n := len(r.history.Values)
	r.ticks = make([]tick, n-r.warm)
	progress := time.Now()
	// The scorecard's sums before the test part, and at the end.
	var before, after forecast.ScorecardSums
	defer func() { r.scorecard = minus(after, before) }()
	for i := r.warm; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		now = r.history.Time(i)
		t := &r.ticks[i-r.warm]
		if err := engine.Tick(ctx); err != nil {
			r.failed++
			continue
		}
		s, ok := store.Get(r.cfg.Name)
		if !ok || !s.GeneratedAt.Equal(now) || len(s.Values) <= r.evalK {
			r.failed++
			continue
		}
		if s.Scorecard != nil {
			if i < r.test {
				before = s.Scorecard.Total
			}
			after = s.Scorecard.Total
		}
		r.record(t, s)
		if time.Since(progress) > 10*time.Second {
			progress = time.Now()
			r.opts.Logger.Info("Replaying", "done", fmt.Sprintf("%.0f%%", 100*float64(i-r.warm)/float64(n-r.warm)))
		}
	}
	return nil
}

// record keeps what the tick that published s needs to be scored.
func (r *run) record(t *tick, s forecast.Snapshot) {
	t.ok = true
	t.values, t.lowerValues, t.upperValues = s.Values, s.Lower, s.Upper
	t.desired, t.observed = s.DesiredReplicas[0], s.ObservedValue
	t.floorDecided = s.DecidedBy == string(capacity.DecidedByFloor)
	t.forecast, t.lower, t.upper = s.Values[r.evalK], math.NaN(), math.NaN()
	if s.Lower != nil {
		t.lower, t.upper = s.Lower[r.evalK], s.Upper[r.evalK]
	}
	r.models[s.Model]++
}

func (r *run) summary() TraceSummary {
	missing := 0
	for _, v := range r.history.Values {
		if !known(v) {
			missing++
		}
	}
	return TraceSummary{
		Start:       r.history.Start,
		End:         r.history.End(),
		StepSeconds: r.step.Seconds(),
		Points:      len(r.history.Values),
		Missing:     missing,
		TestStart:   r.history.Time(r.test),
		TestPoints:  len(r.history.Values) - r.test,
	}
}

func (r *run) settings() Settings {
	c := r.cfg.Capacity
	return Settings{
		Model:                  r.cfg.Model,
		TargetPerPod:           c.TargetPerPod,
		Headroom:               c.Headroom,
		LeadTimeSeconds:        time.Duration(c.LeadTime).Seconds(),
		StartupSteps:           r.startup,
		MinReplicas:            c.MinReplicas,
		MaxReplicas:            c.MaxReplicas,
		WindowSeconds:          time.Duration(r.cfg.Window).Seconds(),
		TrainFraction:          r.opts.TrainFraction,
		ReactiveFloor:          c.ReactiveFloor,
		PlanOn:                 string(c.PlanOn),
		CostBudgetPercent:      c.CostBudgetPercent,
		HPATolerance:           r.opts.HPA.Tolerance,
		ScaleDownStabilization: r.opts.HPA.ScaleDownStabilization.Seconds(),
	}
}

// minus returns a − b.
func minus(a, b forecast.ScorecardSums) forecast.ScorecardSums {
	diff := func(a, b forecast.PolicyScore) forecast.PolicyScore {
		return forecast.PolicyScore{
			ScoredSeconds:  a.ScoredSeconds - b.ScoredSeconds,
			ReplicaSeconds: a.ReplicaSeconds - b.ReplicaSeconds,
			ShortSeconds:   a.ShortSeconds - b.ShortSeconds,
		}
	}
	return forecast.ScorecardSums{Predictive: diff(a.Predictive, b.Predictive), Reactive: diff(a.Reactive, b.Reactive)}
}
