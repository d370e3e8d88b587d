package backtest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/capacity"
	"github.com/HatiCode/kedastral/forecast"
)

// noisyDaily is days of a one-minute load with a daily cycle between 500
// and 1500 and ±40 % of noise from a fixed xorshift sequence: a web
// service's traffic as it looks a minute at a time, where a mean forecast
// times the headroom is below the load about as often as not.
func noisyDaily(days int) forecast.Series {
	values := make([]float64, days*24*60)
	x := uint64(88172645463325252)
	for i := range values {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		noise := float64(x%1000)/1000*0.8 - 0.4 // [-0.4, 0.4)
		day := 1000 + 500*math.Sin(2*math.Pi*float64(i)/(24*60))
		values[i] = day * (1 + noise)
	}
	return forecast.Series{Start: t0, Step: time.Minute, Values: values}
}

// TestDefaultsNeverShortMoreThanReactive replays four days of the noisy
// load at the defaults (reactive floor on, plan_on auto) with pods ready
// five minutes after they are asked for and the HPA's 5-minute scale-down
// hold, against the plan Kedastral made by default before the floor (on the
// forecast, no floor): that plan was short more often than reactive
// scaling, the default is not.
func TestDefaultsNeverShortMoreThanReactive(t *testing.T) {
	history := noisyDaily(4)
	opts := defaultOptions()
	opts.Workload.Model = forecast.ModelHoltWinters
	opts.Workload.Window = model.Duration(24 * time.Hour)
	opts.Workload.Capacity.TargetPerPod = 100
	opts.TrainFraction = 0.5

	before := opts
	before.Workload.Capacity.ReactiveFloor, before.Workload.Capacity.PlanOn = false, capacity.BasisForecast
	old, err := Run(context.Background(), history, before)
	if err != nil {
		t.Fatal(err)
	}
	if p, r := old.Policies.Predictive, old.Policies.Reactive; !(p.UnderProvisionedRatio > r.UnderProvisionedRatio) {
		t.Fatalf("without the floor: predictive short %.4f, reactive %.4f; the trace should make it shorter than reactive",
			p.UnderProvisionedRatio, r.UnderProvisionedRatio)
	}

	res, err := Run(context.Background(), history, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, r := res.Policies.Predictive, res.Policies.Reactive
	if p.UnderProvisionedRatio > r.UnderProvisionedRatio {
		t.Errorf("at the defaults: predictive short %.4f of the time, more than reactive's %.4f", p.UnderProvisionedRatio, r.UnderProvisionedRatio)
	}
	t.Logf("short: before %.4f, now %.4f, reactive %.4f; replica-hours: before %.1f, now %.1f, reactive %.1f",
		old.Policies.Predictive.UnderProvisionedRatio, p.UnderProvisionedRatio, r.UnderProvisionedRatio,
		old.Policies.Predictive.ReplicaHours, p.ReplicaHours, r.ReplicaHours)
}
