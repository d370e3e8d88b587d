package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/engine"
)

// Days in steps, for the naive baselines.
const (
	day  = 24 * time.Hour
	week = 7 * day
)

// Options configures a backtest.
type Options struct {
	// Workload holds the forecast and capacity settings, as the forecaster
	// reads them; Name, Query, Step and Interval are set by the backtest.
	// A Capacity.TargetPerPod of 0 means the mean of the training part / 10.
	Workload config.Workload
	// TrainFraction is the share of the time span before the scored part.
	TrainFraction float64
	// EvalHorizon is how far ahead forecasts are scored; 0 means the lead
	// time. It is rounded up to whole steps, at least one.
	EvalHorizon time.Duration
	// HPA is the Horizontal Pod Autoscaler behaviour between a desired
	// replica count and the replicas asked for, for the predictive and the
	// reactive policies.
	HPA HPA
	// Headrooms, when set, are the headrooms of a sweep: both the predictive
	// and the reactive policies are scored at each.
	Headrooms []float64
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Verbose passes the engine's own logs (model choices, gaps) to Logger.
	Verbose bool
}

// HPA is how the Horizontal Pod Autoscaler turns a desired replica count
// into the count it asks for: changes within Tolerance of the current count
// are ignored, scale-ups apply at once, and scale-downs wait for the highest
// desired count of the last ScaleDownStabilization to come down. Kubernetes'
// defaults are 0.1 and 5 minutes.
type HPA struct {
	Tolerance              float64
	ScaleDownStabilization time.Duration
}

// DefaultHPA returns Kubernetes' default HPA behaviour.
func DefaultHPA() HPA {
	return HPA{Tolerance: 0.1, ScaleDownStabilization: 5 * time.Minute}
}

// Result is what a backtest measured.
type Result struct {
	Trace    TraceSummary  `json:"trace"`
	Settings Settings      `json:"settings"`
	Forecast ForecastScore `json:"forecast"`
	Policies Policies      `json:"policies"`
	// Sweep holds the policies at each headroom of Options.Headrooms.
	Sweep []SweepPoint `json:"sweep,omitempty"`
	// ElapsedSeconds is how long the replay took.
	ElapsedSeconds float64 `json:"elapsedSeconds"`

	// Points are the scored forecasts, in time order.
	Points []ScoredPoint `json:"-"`
	// Timeline is the test part, step by step, for plots.
	Timeline []TimelinePoint `json:"-"`
}

// TraceSummary describes the replayed history.
type TraceSummary struct {
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	StepSeconds float64   `json:"stepSeconds"`
	Points      int       `json:"points"`
	Missing     int       `json:"missing"`
	TestStart   time.Time `json:"testStart"`
	TestPoints  int       `json:"testPoints"`
}

// Settings are the settings the backtest ran with, defaults resolved.
type Settings struct {
	Model                  string  `json:"model"`
	TargetPerPod           float64 `json:"targetPerPod"`
	Headroom               float64 `json:"headroom"`
	LeadTimeSeconds        float64 `json:"leadTimeSeconds"`
	StartupSteps           int     `json:"startupSteps"`
	MinReplicas            int     `json:"minReplicas"`
	MaxReplicas            int     `json:"maxReplicas"`
	WindowSeconds          float64 `json:"windowSeconds"`
	TrainFraction          float64 `json:"trainFraction"`
	ReactiveFloor          bool    `json:"reactiveFloor"`
	PlanOn                 string  `json:"planOn"`
	CostBudgetPercent      float64 `json:"costBudgetPercent"`
	HPATolerance           float64 `json:"hpaTolerance"`
	ScaleDownStabilization float64 `json:"scaleDownStabilizationSeconds"`
}

// ForecastScore is the accuracy of the forecasts made Horizon ahead over the
// test part, with the naive forecasts scored on the same points.
type ForecastScore struct {
	Horizon        string  `json:"horizon"`
	HorizonSeconds float64 `json:"horizonSeconds"`
	Points         int     `json:"points"`
	// WAPE is Σ|forecast − actual| / Σ|actual|.
	WAPE float64 `json:"wape"`
	// MASE is the mean absolute error over the in-sample mean absolute
	// error of the one-step naive forecast on the training part.
	MASE float64 `json:"mase"`
	// Bias is Σ(forecast − actual) / Σ|actual|: negative runs low.
	Bias float64 `json:"bias"`
	// Coverage is the share of actuals inside the prediction interval, over
	// the IntervalPoints points that had one.
	Coverage       *float64 `json:"coverage,omitempty"`
	IntervalPoints int      `json:"intervalPoints"`
	// Baselines are the naive forecasts' WAPE on the same points.
	Baselines NaiveScores `json:"baselines"`
	// Models counts the ticks made by each model (auto changes its choice).
	Models map[string]int `json:"models"`
	// FailedTicks counts ticks that published no forecast (gaps in the data
	// longer than allowed).
	FailedTicks int `json:"failedTicks"`
}

// NaiveScores are the WAPE of the three naive forecasts; nil when the trace
// is too short for one.
type NaiveScores struct {
	LastValue         *float64 `json:"lastValue"`
	SameTimeYesterday *float64 `json:"sameTimeYesterday,omitempty"`
	SameTimeLastWeek  *float64 `json:"sameTimeLastWeek,omitempty"`
}

// Best returns the name and WAPE of the best naive forecast.
func (n NaiveScores) Best() (string, float64) {
	name, best := "", math.Inf(1)
	for _, c := range n.named() {
		if *c.v < best {
			name, best = c.name, *c.v
		}
	}
	return name, best
}

// Policies are the scaling policies scored on the test part.
type Policies struct {
	// Predictive asks for the engine's plan, DesiredReplicas[0].
	Predictive PolicyScore `json:"predictive"`
	// Reactive is an HPA on the observed load.
	Reactive PolicyScore `json:"reactive"`
	// Oracle asks, with perfect foresight, for what the load of the steps
	// its pods would serve needs: never short while max-replicas allows.
	Oracle PolicyScore `json:"oracle"`
	// PerfectForecast is the predictive policy given the true load as its
	// forecast: the same planner and HPA, no forecast error.
	PerfectForecast PolicyScore `json:"perfectForecast"`
	// FloorDecidedRatio is the share of the scored steps whose engine tick
	// had its desired replicas set by the reactive floor.
	FloorDecidedRatio float64 `json:"floorDecidedRatio"`
}

// PolicyScore is what a policy cost and how well it served the load.
type PolicyScore struct {
	// ReplicaHours is Σ ready replicas × step.
	ReplicaHours float64 `json:"replicaHours"`
	// UnderProvisionedRatio is the share of scored time when the load was
	// above the capacity of the ready replicas (ready × target per pod).
	UnderProvisionedRatio float64 `json:"underProvisionedRatio"`
	// UnservedRatio is Σ max(0, load − capacity) / Σ load.
	UnservedRatio float64 `json:"unservedRatio"`
	// ScaleEvents counts the changes of the replicas asked for.
	ScaleEvents int `json:"scaleEvents"`
}

// SweepPoint is both policies at one headroom, the predictive one planning
// on the forecast, on the upper bound of its interval, and on auto (the
// tuner's choice within the cost budget).
type SweepPoint struct {
	Headroom        float64     `json:"headroom"`
	Predictive      PolicyScore `json:"predictive"`
	PredictiveUpper PolicyScore `json:"predictiveUpper"`
	PredictiveAuto  PolicyScore `json:"predictiveAuto"`
	Reactive        PolicyScore `json:"reactive"`
	// ReactiveAtEqualCost is the reactive policy's under-provisioned ratio
	// at the predictive policy's replica-hours, interpolated along the
	// reactive sweep; nil outside its range.
	ReactiveAtEqualCost *float64 `json:"reactiveUnderProvisionedAtEqualCost,omitempty"`
	// PredictiveAtReactiveCost and PredictiveUpperAtReactiveCost are the
	// predictive policies' under-provisioned ratios at the reactive
	// policy's replica-hours, interpolated along their sweeps.
	PredictiveAtReactiveCost      *float64 `json:"predictiveUnderProvisionedAtReactiveCost,omitempty"`
	PredictiveUpperAtReactiveCost *float64 `json:"predictiveUpperUnderProvisionedAtReactiveCost,omitempty"`
	PredictiveAutoAtReactiveCost  *float64 `json:"predictiveAutoUnderProvisionedAtReactiveCost,omitempty"`
}

// ScoredPoint is one forecast scored: the load at T, and the forecast of it
// made one evaluation horizon earlier, with its interval (NaN when none).
type ScoredPoint struct {
	T                time.Time
	Actual, Forecast float64
	Lower, Upper     float64
}

// TimelinePoint is one step of the test part: the load and the capacity
// (ready replicas × target per pod) of each policy.
type TimelinePoint struct {
	T                            time.Time
	Actual                       float64
	Predictive, Reactive, Oracle float64
}

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
		Trace:    r.summary(),
		Settings: r.settings(),
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

// ErrInvalidOptions is wrapped by the errors of Run and Options.Check that
// come from the options rather than from the history.
var ErrInvalidOptions = errors.New("invalid options")

// shape is what the options make of a history's step.
type shape struct {
	cfg     config.Workload
	startup int // steps a pod takes to be ready, at least 1
	evalK   int // evaluation horizon in steps, at least 1
	prewarm int // pre-warm window in whole steps
}

// Check reports whether o can replay a history of the given step: every
// error but those of the history itself (too short, no load to choose a
// target per pod from). Run checks the same.
func (o Options) Check(step time.Duration) error {
	_, err := o.shape(step)
	return err
}

// shape resolves the workload configuration the engine runs for a history
// of the given step, and checks the options. Errors wrap ErrInvalidOptions.
func (o Options) shape(step time.Duration) (shape, error) {
	invalid := func(format string, args ...any) (shape, error) {
		return shape{}, fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case step <= 0:
		return invalid("history step must be positive, not %s", step)
	case !(o.TrainFraction > 0 && o.TrainFraction < 1):
		return invalid("train fraction must be between 0 and 1 (exclusive), not %g", o.TrainFraction)
	case !(o.HPA.Tolerance >= 0) || o.HPA.ScaleDownStabilization < 0:
		return invalid("HPA tolerance and scale-down stabilization must not be negative")
	case o.EvalHorizon < 0:
		return invalid("evaluation horizon must not be negative, not %s", o.EvalHorizon)
	}
	for _, h := range o.Headrooms {
		if !(h > 0) || math.IsInf(h, 0) {
			return invalid("sweep headroom %g is not a positive number", h)
		}
	}
	cfg := o.Workload
	cfg.Name, cfg.Query = "backtest", "backtest"
	cfg.Step, cfg.Interval = model.Duration(step), model.Duration(step)
	if cfg.AccuracyWindow == 0 {
		// Sixty judged forecasts per horizon: enough for the interval's
		// quantiles at any step.
		cfg.AccuracyWindow = model.Duration(60 * step)
	}
	lead := time.Duration(cfg.Capacity.LeadTime)
	sh := shape{startup: max(1, ceilSteps(lead, step)), prewarm: int(time.Duration(cfg.Capacity.PrewarmWindow) / step)}
	evalH := o.EvalHorizon
	if evalH == 0 {
		evalH = lead
	}
	sh.evalK = max(1, ceilSteps(evalH, step))
	// The horizon covers the evaluation horizon and the planner's look-ahead.
	need := max(sh.evalK, sh.startup+sh.prewarm) + 1
	cfg.Horizon = model.Duration(time.Duration(max(need, ceilSteps(time.Duration(cfg.Horizon), step))) * step)
	// A target per pod of 0 is chosen from the history later; any positive
	// one checks the rest.
	check := cfg
	if check.Capacity.TargetPerPod == 0 {
		check.Capacity.TargetPerPod = 1
	}
	if err := check.Validate(); err != nil {
		return shape{}, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	sh.cfg = cfg
	return sh, nil
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

func ceilSteps(d, step time.Duration) int {
	return int((d + step - 1) / step)
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
	})
	if err != nil {
		return err
	}
	n := len(r.history.Values)
	r.ticks = make([]tick, n-r.warm)
	progress := time.Now()
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
		t.ok = true
		t.values, t.lowerValues, t.upperValues = s.Values, s.Lower, s.Upper
		t.desired, t.observed = s.DesiredReplicas[0], s.ObservedValue
		t.floorDecided = s.DecidedBy == string(capacity.DecidedByFloor)
		t.forecast, t.lower, t.upper = s.Values[r.evalK], math.NaN(), math.NaN()
		if s.Lower != nil {
			t.lower, t.upper = s.Lower[r.evalK], s.Upper[r.evalK]
		}
		r.models[s.Model]++
		if time.Since(progress) > 10*time.Second {
			progress = time.Now()
			r.opts.Logger.Info("Replaying", "done", fmt.Sprintf("%.0f%%", 100*float64(i-r.warm)/float64(n-r.warm)))
		}
	}
	return nil
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

// scoreForecast scores, at every test step T with a load, the forecast of
// it made evalK steps earlier, and the naive forecasts on the same points:
// the load at the forecast's origin, a day before T and a week before T.
// A point is scored only when all of them exist.
func (r *run) scoreForecast() (ForecastScore, []ScoredPoint) {
	dayK, weekK := lagSteps(day, r.step), lagSteps(week, r.step)
	var points []ScoredPoint
	var absErr, sumErr, absActual float64
	var naive [3]float64
	var inside, withInterval int
	for T := r.test; T < len(r.history.Values); T++ {
		o := T - r.evalK
		t := r.ticks[o-r.warm]
		actual := r.history.Values[T]
		last := valueAt(r.history, o)
		yesterday, lastWeek := valueAt(r.history, T-dayK), valueAt(r.history, T-weekK)
		if !t.ok || !allKnown(actual, last) ||
			(dayK > 0 && T-dayK >= 0 && !known(yesterday)) || (weekK > 0 && T-weekK >= 0 && !known(lastWeek)) {
			continue
		}
		points = append(points, ScoredPoint{T: r.history.Time(T), Actual: actual, Forecast: t.forecast, Lower: t.lower, Upper: t.upper})
		absErr += math.Abs(t.forecast - actual)
		sumErr += t.forecast - actual
		absActual += math.Abs(actual)
		naive[0] += math.Abs(last - actual)
		naive[1] += math.Abs(yesterday - actual)
		naive[2] += math.Abs(lastWeek - actual)
		if known(t.lower) {
			withInterval++
			if actual >= t.lower && actual <= t.upper {
				inside++
			}
		}
	}
	score := ForecastScore{
		Horizon:        model.Duration(time.Duration(r.evalK) * r.step).String(),
		HorizonSeconds: (time.Duration(r.evalK) * r.step).Seconds(),
		Points:         len(points),
		IntervalPoints: withInterval,
		Models:         r.models,
		FailedTicks:    r.failed,
	}
	if len(points) == 0 || absActual == 0 {
		return score, points
	}
	score.WAPE, score.Bias = absErr/absActual, sumErr/absActual
	if scale := r.naiveMAE(); scale > 0 {
		score.MASE = absErr / float64(len(points)) / scale
	}
	ratio := func(v float64) *float64 { v /= absActual; return &v }
	score.Baselines.LastValue = ratio(naive[0])
	if dayK > 0 && r.test-dayK >= 0 {
		score.Baselines.SameTimeYesterday = ratio(naive[1])
	}
	if weekK > 0 && r.test-weekK >= 0 {
		score.Baselines.SameTimeLastWeek = ratio(naive[2])
	}
	if withInterval > 0 {
		c := float64(inside) / float64(withInterval)
		score.Coverage = &c
	}
	return score, points
}

// lagSteps returns lag in steps, or 0 when step does not divide it.
func lagSteps(lag, step time.Duration) int {
	if lag%step != 0 {
		return 0
	}
	return int(lag / step)
}

// naiveMAE returns the mean absolute error of the one-step naive forecast
// over the training part: the scale of MASE.
func (r *run) naiveMAE() float64 {
	sum, n := 0.0, 0
	for i := 1; i < r.test; i++ {
		a, b := r.history.Values[i-1], r.history.Values[i]
		if allKnown(a, b) {
			sum += math.Abs(b - a)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// sweep scores both policies at each headroom, the predictive one on each
// basis, and each policy's under-provisioning at the others' cost.
func (r *run) sweep(headrooms []float64) ([]SweepPoint, error) {
	out := make([]SweepPoint, 0, len(headrooms))
	for _, h := range headrooms {
		p, _, err := r.policies(h, capacity.BasisForecast, false)
		if err != nil {
			return nil, err
		}
		u, _, err := r.policies(h, capacity.BasisUpper, false)
		if err != nil {
			return nil, err
		}
		a, _, err := r.policies(h, capacity.BasisAuto, false)
		if err != nil {
			return nil, err
		}
		out = append(out, SweepPoint{Headroom: h, Predictive: p.Predictive, PredictiveUpper: u.Predictive,
			PredictiveAuto: a.Predictive, Reactive: p.Reactive})
	}
	curve := func(get func(SweepPoint) PolicyScore) []PolicyScore {
		c := make([]PolicyScore, len(out))
		for i, p := range out {
			c[i] = get(p)
		}
		slices.SortFunc(c, func(a, b PolicyScore) int { return cmpFloat(a.ReplicaHours, b.ReplicaHours) })
		return c
	}
	reactive := curve(func(p SweepPoint) PolicyScore { return p.Reactive })
	predictive := curve(func(p SweepPoint) PolicyScore { return p.Predictive })
	upper := curve(func(p SweepPoint) PolicyScore { return p.PredictiveUpper })
	auto := curve(func(p SweepPoint) PolicyScore { return p.PredictiveAuto })
	for i := range out {
		out[i].ReactiveAtEqualCost = interpolate(reactive, out[i].Predictive.ReplicaHours)
		out[i].PredictiveAtReactiveCost = interpolate(predictive, out[i].Reactive.ReplicaHours)
		out[i].PredictiveUpperAtReactiveCost = interpolate(upper, out[i].Reactive.ReplicaHours)
		out[i].PredictiveAutoAtReactiveCost = interpolate(auto, out[i].Reactive.ReplicaHours)
	}
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// interpolate returns the under-provisioned ratio of the sorted scores at
// replica-hours x, linearly between the two around it; nil outside them.
func interpolate(sorted []PolicyScore, x float64) *float64 {
	for i := 1; i < len(sorted); i++ {
		a, b := sorted[i-1], sorted[i]
		if x < a.ReplicaHours || x > b.ReplicaHours {
			continue
		}
		v := a.UnderProvisionedRatio
		if b.ReplicaHours > a.ReplicaHours {
			v += (x - a.ReplicaHours) / (b.ReplicaHours - a.ReplicaHours) * (b.UnderProvisionedRatio - a.UnderProvisionedRatio)
		}
		return &v
	}
	return nil
}
