package backtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/trace"
)

// FuzzRun feeds arbitrary traces through the whole backtest: whatever the
// file holds, it must end in a result or an error, never a panic, and a
// result holds only finite, non-negative scores.
func FuzzRun(f *testing.F) {
	var b bytes.Buffer
	b.WriteString("timestamp,value\n")
	for i := range 400 {
		fmt.Fprintf(&b, "%d,%g\n", 1700000000+300*i, 100+50*math.Sin(float64(i)/10))
	}
	f.Add(b.Bytes())
	f.Add([]byte("timestamp,value\n0,1\n60,0\n120,1e300\n240,-5\n300,0\n360,2\n420,3\n480,0\n540,1\n600,9\n660,1\n720,1\n780,1\n840,0\n900,7\n"))
	f.Add([]byte("timestamp,value\n0,0\n1,0\n2,0\n3,0\n4,0\n5,0\n6,0\n7,0\n8,0\n9,0\n10,0\n11,0\n12,0\n13,0\n14,0\n15,0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := trace.Read(bytes.NewReader(data))
		if err != nil || len(points) > 2000 {
			return
		}
		history, err := FromPoints(points)
		if err != nil || len(history.Values) > 5000 {
			return
		}
		w := config.DefaultWorkload()
		w.Window = model.Duration(100 * history.Step)
		w.Capacity.TargetPerPod, w.Capacity.MinReplicas, w.Capacity.MaxReplicas = 0, 1, 1000
		w.AccuracyWindow = 0
		w.Capacity.LeadTime = model.Duration(history.Step)
		opts := Options{Workload: w, TrainFraction: 0.5, HPA: HPA{Tolerance: 0.1, ScaleDownStabilization: 5 * time.Minute}, Headrooms: []float64{1, 2}}
		res, err := Run(context.Background(), history, opts)
		if err != nil {
			return
		}
		if err := res.WriteJSON(io.Discard); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
		f := res.Forecast
		for _, v := range []float64{f.WAPE, f.MASE, math.Abs(f.Bias)} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("forecast score %+v is not finite", f)
			}
		}
		for _, p := range []PolicyScore{res.Policies.Predictive, res.Policies.Reactive, res.Policies.Oracle} {
			if math.IsNaN(p.ReplicaHours) || p.ReplicaHours < 0 || !(p.UnderProvisionedRatio >= 0 && p.UnderProvisionedRatio <= 1) {
				t.Fatalf("policy score %+v is not a cost and a share", p)
			}
		}
	})
}
