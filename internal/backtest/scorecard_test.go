package backtest

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/trace"
)

// TestScorecardMatchesPolicies replays five days of the AWS autoscaling
// group's CPU trace (no step missing) through the engine, whose online
// scorecard judges the plan and the reactive count as each step arrives,
// and compares its sums over the test part with the backtest's own batch
// scores of the predictive and reactive policies, with the HPA's tolerance
// and stabilisation off (the scorecard has no HPA): replica-seconds / 3600
// are the replica-hours, short seconds / scored seconds the share of steps
// short-handed. Lead times of one step and of 12 minutes (3 steps).
func TestScorecardMatchesPolicies(t *testing.T) {
	points, err := trace.ReadFile(filepath.Join(prometheustest.ModuleRoot(t), "data", "traces", "aws_asg_cpu_5m.csv"))
	if err != nil {
		t.Fatal(err)
	}
	history, err := FromPoints(points)
	if err != nil {
		t.Fatal(err)
	}
	history.Values = history.Values[:5*288]
	for _, lead := range []time.Duration{5 * time.Minute, 12 * time.Minute} {
		t.Run(model.Duration(lead).String(), func(t *testing.T) {
			opts := defaultOptions()
			opts.HPA = HPA{}
			opts.Workload.Capacity.LeadTime = model.Duration(lead)
			res, err := Run(context.Background(), history, opts)
			if err != nil {
				t.Fatal(err)
			}
			sc, p := res.Scorecard, res.Policies
			step := res.Trace.StepSeconds
			if want := float64(res.Trace.TestPoints) * step; sc.Predictive.ScoredSeconds != want || sc.Reactive.ScoredSeconds != want {
				t.Errorf("scored %v and %v s, want %d test steps × %v s = %v", sc.Predictive.ScoredSeconds, sc.Reactive.ScoredSeconds, res.Trace.TestPoints, step, want)
			}
			for _, c := range []struct {
				name                   string
				replicaSeconds, short  float64
				replicaHours, underPct float64
			}{
				{"predictive", sc.Predictive.ReplicaSeconds, sc.Predictive.ShortSeconds, p.Predictive.ReplicaHours, p.Predictive.UnderProvisionedRatio},
				{"reactive", sc.Reactive.ReplicaSeconds, sc.Reactive.ShortSeconds, p.Reactive.ReplicaHours, p.Reactive.UnderProvisionedRatio},
			} {
				if math.Abs(c.replicaSeconds/3600-c.replicaHours) > 1e-9*c.replicaHours {
					t.Errorf("%s: scorecard %v replica-seconds = %v replica-hours, backtest %v", c.name, c.replicaSeconds, c.replicaSeconds/3600, c.replicaHours)
				}
				if scored := sc.Predictive.ScoredSeconds; math.Abs(c.short/scored-c.underPct) > 1e-12 {
					t.Errorf("%s: scorecard short %v of %v s = %v, backtest under-provisioned %v", c.name, c.short, scored, c.short/scored, c.underPct)
				}
			}
			if sc.Reactive.ShortSeconds == 0 || sc.Predictive.ReplicaSeconds == sc.Reactive.ReplicaSeconds {
				t.Errorf("scorecard %+v: want a reactive policy short at times, and the two policies apart", sc)
			}
			t.Logf("short: predictive %.2f %%, reactive %.2f %%; replica-hours %.1f and %.1f",
				100*p.Predictive.UnderProvisionedRatio, 100*p.Reactive.UnderProvisionedRatio, p.Predictive.ReplicaHours, p.Reactive.ReplicaHours)
		})
	}
}
