package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
)

// errStaleData is returned by a tick whose newest load is older than the
// stale-after limit: a forecast from it would be stale on arrival.
var errStaleData = errors.New("newest load data is too old")

// Deps is what every Engine shares.
type Deps struct {
	Store   *Store
	Metrics *Metrics
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StaleAfter is the age past which data or a forecast is not trusted.
	StaleAfter time.Duration
	// Adapter labels kedastral_adapter_collect_seconds, e.g. "prometheus".
	Adapter string
	// Recaller, when set, gives the first tick the plan served before a
	// restart; nil starts from the reactive floor.
	Recaller Recaller
	// Fits, when set, bounds the model fits running at once across the
	// engines; nil does not.
	Fits *forecast.FitLimiter
	// RefitOrigin, when set, puts the refit boundaries of every workload at
	// RefitOrigin + k·refit_interval (a replay refits an interval after its
	// first forecast); zero spreads them by a stable phase per workload
	// name (forecast.RefitPhase).
	RefitOrigin time.Time
	// FinalData says the source's points never change once read (a
	// replay): the scorecard judges the newest at once, not once it is
	// past the span read again.
	FinalData bool
	// GridOrigin places the grid the history is kept on at GridOrigin +
	// k·step (a replayed trace's own grid); zero means the multiples of the
	// step, as a Prometheus source evaluates anywhere.
	GridOrigin time.Time
	// LeadTime, when set, runs the workload's lead_time_query: the plan
	// then uses the start-up time it measures (see leadTime).
	LeadTime forecast.Source
	// Replicas, when set, runs the workload's replicas_query: the
	// scorecard then judges what actually ran too.
	Replicas forecast.Source
}

// Engine forecasts one workload: each tick reads the history, predicts,
// plans replicas and publishes a Snapshot in the Store.
type Engine struct {
	cfg    config.Workload
	source forecast.Source
	model  forecast.Model
	// modelOpts are the model's options; their refit schedule is also the
	// history's full reads'.
	modelOpts forecast.ModelOptions
	// history is the load history kept between ticks.
	history history
	// alwaysFull reads the whole window at every tick (tests compare).
	alwaysFull bool
	// active is the model that made the last forecast (auto chooses).
	active  string
	tracker *forecast.Tracker
	seeded  bool
	// recalled is set once the plan served before a restart was looked for.
	recalled bool
	// tuner plans the replicas and, with plan_on auto, chooses what on.
	tuner *capacity.Tuner
	// schedules raise or cap the replica bounds in their windows.
	schedules *capacity.Schedules
	// lead is the lead time, measured when the workload has a query.
	lead leadTime
	// scorecard judges the plan and the reactive count as the load arrives,
	// and the replicas that ran when replicas is set.
	scorecard *capacity.Scorecard
	replicas  runningReplicas
	deps      Deps
	logger    *slog.Logger
	// Per-workload children of the shared metric vectors.
	collectSeconds prometheus.Observer
	predictSeconds prometheus.Observer
}

// New returns the engine of the workload cfg, which must be valid.
func New(cfg config.Workload, source forecast.Source, deps Deps) (*Engine, error) {
	opts := forecast.ModelOptions{
		RefitInterval: time.Duration(cfg.RefitInterval),
		RefitPhase:    refitPhase(cfg, deps.RefitOrigin),
		EvalHorizon:   time.Duration(cfg.Capacity.LeadTime),
		Fits:          deps.Fits,
		// The next tick reads again from rereadSteps before the newest point, that one included.
		Settle: (rereadSteps(time.Duration(cfg.Step)) + 1) * time.Duration(cfg.Step),
	}
	m, err := forecast.NewModel(cfg.Model, opts)
	if err != nil {
		return nil, err
	}
	schedules, err := capacity.ParseSchedules(cfg.Schedules, cfg.Capacity.MinReplicas, cfg.Capacity.MaxReplicas)
	if err != nil {
		return nil, err
	}
	if cfg.Metric == "" {
		cfg.Metric = cfg.Query
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Engine{
		cfg:            cfg,
		source:         source,
		model:          m,
		modelOpts:      opts,
		tracker:        forecast.NewTracker(time.Duration(cfg.Step), time.Duration(cfg.AccuracyWindow)),
		tuner:          capacity.NewTuner(cfg.Capacity),
		schedules:      schedules,
		lead:           leadTime{source: deps.LeadTime, measured: math.NaN()},
		scorecard:      capacity.NewScorecard(time.Duration(cfg.Step), deps.GridOrigin),
		replicas:       runningReplicas{source: deps.Replicas},
		deps:           deps,
		logger:         deps.Logger.With("component", "engine", "workload", cfg.Name),
		collectSeconds: deps.Metrics.collectSeconds.WithLabelValues(deps.Adapter),
		predictSeconds: deps.Metrics.predictSeconds.WithLabelValues(m.Name()),
	}, nil
}

// Run ticks at once, then every Interval, until ctx is done. After the
// first tick the ticks keep to the workload's own phase in the interval (a
// stable offset from its name), so that the ticks of many workloads spread
// over the interval rather than all fall at once. A tick never outlasts the
// interval, so ticks do not pile up.
func (e *Engine) Run(ctx context.Context) {
	interval := time.Duration(e.cfg.Interval)
	e.runTick(ctx, interval)
	phase := time.NewTimer(forecast.RefitPhase(e.cfg.Name, interval))
	select {
	case <-ctx.Done():
		phase.Stop()
		return
	case <-phase.C:
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		e.runTick(ctx, interval)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// runTick runs one tick bounded by the interval and logs its failure.
func (e *Engine) runTick(ctx context.Context, interval time.Duration) {
	tickCtx, cancel := context.WithTimeout(ctx, interval)
	defer cancel()
	if err := e.Tick(tickCtx); err != nil && ctx.Err() == nil {
		e.logger.Warn("Forecast failed, the previous snapshot stays", "err", err)
	}
}

// Tick makes and publishes one forecast.
func (e *Engine) Tick(ctx context.Context) error {
	began := time.Now()
	err := e.tick(ctx)
	result := "success"
	if err != nil {
		result = "error"
	}
	e.deps.Metrics.tickSeconds.WithLabelValues(result).Observe(time.Since(began).Seconds())
	return err
}

func (e *Engine) tick(ctx context.Context) error {
	now := e.deps.Now()
	step := time.Duration(e.cfg.Step)
	history, obs, err := e.collect(ctx, now, step)
	if err != nil {
		return err
	}
	e.tracker.Observe(history)
	// The model forecasts from the newest point; skip the steps between it and now.
	ahead := int(now.Sub(history.End()) / step)
	values, err := e.predict(history, ahead+e.cfg.Steps())
	e.history.seen = true
	if err != nil {
		return err
	}
	values = values[ahead:]
	if !e.seeded {
		e.seeded = true
		e.tracker.Seed(e.model, history, e.cfg.Steps())
	}
	lower, upper := e.tracker.Interval(values, e.cfg.LowerQuantile, e.cfg.UpperQuantile)
	e.tracker.Remember(history.Time(len(history.Values)-1+ahead), values)
	plan, windows, lead, err := e.plan(ctx, now, history, capacity.Input{Values: values, Upper: upper, Step: step, Observed: obs.value})
	if err != nil {
		return err
	}
	desired, planned := e.served(plan, obs.value, windows, now, step)
	card := e.score(ctx, plan, obs.value, windows, now, lead)
	e.deps.Store.Put(forecast.Snapshot{
		Workload:                e.cfg.Name,
		Metric:                  e.cfg.Metric,
		Model:                   e.active,
		ConfiguredModel:         e.cfg.Model,
		GeneratedAt:             now,
		StepSeconds:             step.Seconds(),
		HorizonSeconds:          time.Duration(e.cfg.Horizon).Seconds(),
		LeadTimeSeconds:         lead.Seconds(),
		LeadTimeMeasuredSeconds: e.lead.seconds(),
		Values:                  values,
		Lower:                   lower,
		Upper:                   upper,
		LowerQuantile:           e.cfg.LowerQuantile,
		UpperQuantile:           e.cfg.UpperQuantile,
		Accuracy:                e.tracker.Accuracy(),
		DesiredReplicas:         desired,
		Mode:                    e.cfg.Mode,
		PlannedReplicas:         planned,
		ActiveSchedules:         openWindows(windows, now),
		Scorecard:               card,
		ForecastReplicas:        plan.Forecast,
		ReactiveFloor:           plan.Floor,
		DecidedBy:               string(plan.DecidedBy),
		PlanBasis:               string(plan.Basis),
		PlanHeadroom:            plan.Headroom,
		ObservedValue:           obs.value,
		ObservedAt:              obs.at,
		Recent:                  recent(history, 2*e.cfg.Steps(), time.Hour),
	})
	e.logger.Debug("Forecast published", "desired_replicas", plan.Desired[0], "decided_by", plan.DecidedBy, "observed", obs.value)
	return nil
}

// plan makes the replica plan of the forecast in: with the lead time in
// use, the tuner's choice, the rate limits from the last plan, held to the
// bounds of the schedule windows, which it also returns.
func (e *Engine) plan(ctx context.Context, now time.Time, history forecast.Series, in capacity.Input) (capacity.Plan, []capacity.Window, time.Duration, error) {
	in.Prev = e.previous(ctx, now)
	lead := e.inUse(ctx, now)
	e.tuner.SetLeadTime(lead)
	began := time.Now()
	e.tuner.Observe(history.End(), history.At)
	plan, err := e.tuner.Plan(now, in)
	e.deps.Metrics.planSeconds.Observe(time.Since(began).Seconds())
	if err != nil {
		e.countError(ComponentCapacity, ReasonPlan)
		return capacity.Plan{}, nil, 0, fmt.Errorf("plan replicas: %w", err)
	}
	windows := e.schedules.Windows(now, now.Add(time.Duration(len(plan.Desired)-1)*in.Step))
	e.keepToSchedules(&plan, windows, now, in.Step)
	return plan, windows, lead, nil
}

// served returns the counts the scaler is to serve and, in shadow mode, the
// plan published beside them: in active mode the plan itself; in shadow
// mode the reactive count of the load observed now, at every step, as a
// reactive autoscaler would hold it until the load changes, within the
// bounds of the schedule windows in force at each.
func (e *Engine) served(plan capacity.Plan, observed float64, windows []capacity.Window, now time.Time, step time.Duration) (desired, planned []int) {
	if e.cfg.Mode != config.ModeShadow {
		return plan.Desired, nil
	}
	reactive := e.cfg.Capacity.Reactive(observed)
	desired = make([]int, len(plan.Desired))
	for i := range desired {
		desired[i] = e.withinSchedules(reactive, windows, now.Add(time.Duration(i)*step))
	}
	return desired, plan.Desired
}

// previous returns the count the rate limits start from: the forecast's
// own part of the last plan published, or, on the first tick after a
// restart, the plan served before it (when the Recaller has one from within
// a horizon), or -1: none, the planner then starts from the reactive floor.
func (e *Engine) previous(ctx context.Context, now time.Time) int {
	if last, ok := e.deps.Store.Get(e.cfg.Name); ok && len(last.DesiredReplicas) > 0 {
		return last.ForecastReplicas
	}
	if e.recalled || e.deps.Recaller == nil {
		return -1
	}
	e.recalled = true
	n, ok, err := e.deps.Recaller.Recall(ctx, e.cfg.Name, now.Add(-time.Duration(e.cfg.Horizon)), now)
	switch {
	case err != nil:
		e.logger.Warn("Cannot read back the plan served before the restart; starting from the reactive floor", "err", err)
	case ok:
		e.logger.Info("Starting from the plan served before the restart", "desired_replicas", n)
		return n
	}
	return -1
}

// recent returns a copy of the newest points of history: n of them, or more
// to span at least span, and never more than history holds.
func recent(history forecast.Series, n int, span time.Duration) []float64 {
	if k := int(span / history.Step); k > n {
		n = k
	}
	n = min(n+1, len(history.Values))
	return slices.Clone(history.Values[len(history.Values)-n:])
}

// predict runs the model and checks what it returns.
func (e *Engine) predict(history forecast.Series, n int) ([]float64, error) {
	began := time.Now()
	values, err := e.model.Predict(history, n)
	e.predictSeconds.Observe(time.Since(began).Seconds())
	if err == nil && (len(values) != n || slices.ContainsFunc(values, notFinite)) {
		err = fmt.Errorf("model %s returned %d values, want %d finite ones", e.model.Name(), len(values), n)
	}
	if err != nil {
		e.countError(ComponentModel, ReasonPredict)
		return nil, fmt.Errorf("predict: %w", err)
	}
	if active := forecast.ActiveName(e.model); active != e.active {
		attrs := []any{"model", active}
		if a, ok := e.model.(*forecast.Auto); ok && e.active != "" {
			attrs = append(attrs, "previous", e.active, "scores", fmt.Sprint(a.Scores()))
		}
		e.logger.Info("Forecasting model chosen", attrs...)
		e.active = active
	}
	return values, nil
}

func (e *Engine) countError(component, reason string) {
	e.deps.Metrics.Errors.WithLabelValues(component, reason).Inc()
}

// refitPhase returns the phase of the workload's refit boundaries: that of
// origin when set, else the stable phase of its name.
func refitPhase(cfg config.Workload, origin time.Time) time.Duration {
	interval := time.Duration(cfg.RefitInterval)
	if origin.IsZero() || interval <= 0 {
		return forecast.RefitPhase(cfg.Name, interval)
	}
	phase := time.Duration(origin.UnixNano() % int64(interval))
	if phase < 0 {
		phase += interval
	}
	return phase
}

// notFinite reports whether v is NaN or ±Inf.
func notFinite(v float64) bool {
	return math.IsNaN(v) || math.IsInf(v, 0)
}
