package trace

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteOpenMetricsCounter(t *testing.T) {
	points := []Point{
		{time.Unix(1000, 0), 5},
		{time.Unix(1060, 0), 7},
		{time.Unix(1180, 0), 0.5}, // a missing minute before it
	}
	labels := map[string]string{"job": "demo", "instance": `a"b\c` + "\n"}
	tests := []struct {
		name    string
		metric  string
		labels  map[string]string
		points  []Point
		shift   time.Duration
		want    string
		wantErr string
	}{
		{
			// Shifted by one hour: 1000 + 3600 = 4600, 1060 + 3600 = 4660,
			// 1180 + 3600 = 4780. Totals: 5, 5 + 7 = 12, 12 + 0.5 = 12.5.
			name: "shifted", metric: "demo_requests", labels: labels, points: points, shift: time.Hour,
			want: `# TYPE demo_requests counter
demo_requests_total{instance="a\"b\\c\n",job="demo"} 5 4600
demo_requests_total{instance="a\"b\\c\n",job="demo"} 12 4660
demo_requests_total{instance="a\"b\\c\n",job="demo"} 12.5 4780
# EOF
`,
		},
		{
			// Totals keep every digit: 1234567 + 0.25 = 1234567.25 is
			// 1.23456725e+06; half a second stays on the timestamp.
			name: "big totals, no labels", metric: "r", points: []Point{{time.Unix(1, 5e8), 1234567}, {time.Unix(2, 0), 0.25}},
			want: "# TYPE r counter\nr_total{} 1.234567e+06 1.5\nr_total{} 1.23456725e+06 2\n# EOF\n",
		},
		{name: "no points", metric: "r", want: "# TYPE r counter\n# EOF\n"},
		{name: "bad metric name", metric: "bad name", wantErr: `invalid metric name "bad name_total"`},
		{name: "bad label name", metric: "r", labels: map[string]string{"bad-label": "x"}, wantErr: `invalid label name "bad-label"`},
		{
			name: "negative value", metric: "r", points: []Point{{time.Unix(60, 0), 1}, {time.Unix(120, 0), -1}},
			wantErr: "point 1 at 120: negative value -1 in a counter",
		},
		{
			// 1e308 + 1e308 overflows a float64 (max 1.8e308).
			name: "overflow", metric: "r", points: []Point{{time.Unix(60, 0), 1e308}, {time.Unix(120, 0), 1e308}},
			wantErr: "point 1 at 120: the running total overflows",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteOpenMetricsCounter(&buf, tc.metric, tc.labels, tc.points, tc.shift)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), tc.want)
			}
		})
	}
}

func TestFormatUnix(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 500_000_000), "1700000000.5"},
		{time.Unix(0, 1), "0.000000001"},
		{time.Unix(0, 0), "0"},
		{time.Unix(-1, 0), "-1"},
		// -1.25 s is Unix() -2 and Nanosecond() 750000000: -2 + 0.75.
		{time.Unix(-2, 750_000_000), "-1.25"},
		{time.Unix(0, -500_000_000), "-0.5"},
		// The last second of year 9999, past int64 nanoseconds (year 2262).
		{time.Unix(253402300799, 0), "253402300799"},
	}
	for _, tc := range tests {
		if got := formatUnix(tc.t); got != tc.want {
			t.Errorf("formatUnix(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

// parseOpenMetrics reads back what WriteOpenMetricsCounter wrote as
// Prometheus's OpenMetrics parser does (promtool's backfill uses it): a
// sample line is series, value and timestamp, separated by single spaces,
// both numbers read by strconv.ParseFloat, the timestamp × 1000 truncated to
// milliseconds. It returns the series, timestamps (ms) and values.
func parseOpenMetrics(t *testing.T, text []byte) (series []string, ts []int64, values []float64) {
	t.Helper()
	lines := strings.Split(string(text), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "# TYPE ") || lines[len(lines)-2] != "# EOF" || lines[len(lines)-1] != "" {
		t.Fatalf("not a counter family ending in # EOF:\n%s", text)
	}
	for _, line := range lines[1 : len(lines)-2] {
		rest, tsText, ok1 := cutLast(line)
		name, valueText, ok2 := cutLast(rest)
		v, err1 := strconv.ParseFloat(valueText, 64)
		at, err2 := strconv.ParseFloat(tsText, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			t.Fatalf("bad sample line %q", line)
		}
		series, ts, values = append(series, name), append(ts, int64(at*1000)), append(values, v)
	}
	return series, ts, values
}

// cutLast cuts s around its last space.
func cutLast(s string) (before, after string, found bool) {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

func TestWriteOpenMetricsCounterParses(t *testing.T) {
	points := []Point{{time.Unix(1700000000, 0), 3}, {time.Unix(1700000060, 0), 1e6}, {time.Unix(1700000120, 250e6), 0.1}}
	var buf bytes.Buffer
	if err := WriteOpenMetricsCounter(&buf, "demo", map[string]string{"job": "x"}, points, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	series, ts, values := parseOpenMetrics(t, buf.Bytes())
	// Shifted by a day, 86400 s, in ms; totals 3, 3 + 1e6 = 1000003, 1000003.1.
	wantTS := []int64{1700086400000, 1700086460000, 1700086520250}
	wantValues := []float64{3, 1000003, 1000003.1}
	if len(ts) != len(wantTS) {
		t.Fatalf("%d samples, want %d", len(ts), len(wantTS))
	}
	for i := range ts {
		if series[i] != `demo_total{job="x"}` || ts[i] != wantTS[i] || math.Abs(values[i]-wantValues[i]) > 1e-9 {
			t.Errorf("sample %d: %s %v at %d, want %v at %d", i, series[i], values[i], ts[i], wantValues[i], wantTS[i])
		}
	}
}
