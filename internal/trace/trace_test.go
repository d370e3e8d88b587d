package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		want    []Point
		wantErr string
	}{
		{
			name: "two rows",
			csv:  "timestamp,value\n1700000000,42\n1700000060,43.5\n",
			want: []Point{{time.Unix(1700000000, 0).UTC(), 42}, {time.Unix(1700000060, 0).UTC(), 43.5}},
		},
		{
			name: "spaces, fractions and no final newline",
			csv:  "timestamp, value\n 1700000000.5 , 1e3",
			want: []Point{{time.Unix(1700000000, 500_000_000).UTC(), 1000}},
		},
		{name: "header only", csv: "timestamp,value\n", want: nil},
		{name: "empty", csv: "", wantErr: "line 1: empty trace"},
		{name: "no header", csv: "1700000000,42\n", wantErr: `line 1: header "1700000000,42", want timestamp,value`},
		{name: "three fields", csv: "timestamp,value\n1,2,3\n", wantErr: "record on line 2: wrong number of fields"},
		// Found by FuzzRead: a bare quote made the error path ask csv for the
		// position of a field it never read, which panicked.
		{name: "bare quote", csv: "timestamp,value\n0\"", wantErr: `parse error on line 2, column 2: bare " in non-quoted-field`},
		{name: "bad timestamp", csv: "timestamp,value\nnoon,2\n", wantErr: `line 2: timestamp "noon" is not a unix time in seconds`},
		{name: "NaN timestamp", csv: "timestamp,value\nNaN,2\n", wantErr: `line 2: timestamp "NaN" is not a unix time`},
		{name: "huge timestamp", csv: "timestamp,value\n1e300,2\n", wantErr: `line 2: timestamp "1e300" is not a unix time`},
		{name: "bad value", csv: "timestamp,value\n1,lots\n", wantErr: `line 2: value "lots" is not a finite number`},
		{name: "NaN value", csv: "timestamp,value\n1,NaN\n", wantErr: `line 2: value "NaN" is not a finite number`},
		{name: "Inf value", csv: "timestamp,value\n1,+Inf\n", wantErr: `line 2: value "+Inf" is not a finite number`},
		{name: "unsorted", csv: "timestamp,value\n20,1\n10,1\n", wantErr: "line 3: timestamp 10 is not after the previous one, 20"},
		{name: "duplicate", csv: "timestamp,value\n10,1\n10,2\n", wantErr: "line 3: timestamp 10 is not after the previous one, 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.csv))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReadBundledTrace reads the trace make demo uses, as SOURCES.md
// describes it: 82,070 minutes from 1995-07-01 to 1995-08-31.
func TestReadBundledTrace(t *testing.T) {
	points, err := ReadFile(filepath.Join("..", "..", "data", "traces", "nasa_http_1m.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 82070 {
		t.Errorf("%d points, want 82070", len(points))
	}
	if got, want := points[0].T, time.Date(1995, 7, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("first point at %v, want %v", got, want)
	}
}

func TestReadFileMissing(t *testing.T) {
	if _, err := ReadFile(filepath.Join(t.TempDir(), "absent.csv")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("err = %v, want a missing-file error", err)
	}
}

func TestWriteOpenMetricsCounter(t *testing.T) {
	points := []Point{
		{time.Unix(1000, 0), 5},
		{time.Unix(1060, 0), 7},
		{time.Unix(1180, 0), 0.5}, // a missing minute before it
	}
	var buf bytes.Buffer
	labels := map[string]string{"job": "demo", "instance": `a"b\c`}
	// Shifted by one hour: 1000 + 3600 = 4600. Totals: 5, 5 + 7 = 12, 12 + 0.5 = 12.5.
	if err := WriteOpenMetricsCounter(&buf, "demo_requests", labels, points, time.Hour); err != nil {
		t.Fatal(err)
	}
	want := `# TYPE demo_requests counter
demo_requests_total{instance="a\"b\\c",job="demo"} 5 4600
demo_requests_total{instance="a\"b\\c",job="demo"} 12 4660
demo_requests_total{instance="a\"b\\c",job="demo"} 12.5 4780
# EOF
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	for _, bad := range []struct {
		name   string
		labels map[string]string
	}{{"bad name", nil}, {"demo", map[string]string{"bad-label": "x"}}} {
		if err := WriteOpenMetricsCounter(&buf, bad.name, bad.labels, points, 0); err == nil {
			t.Errorf("name %q, labels %v: no error", bad.name, bad.labels)
		}
	}
}

// FuzzRead checks that Read never panics and that what it accepts holds its
// promises: finite values and strictly increasing times.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"timestamp,value\n1700000000,42\n1700000060,43.5\n",
		"timestamp,value\n",
		"",
		"1,2\n",
		"timestamp,value\n1,2,3\n",
		"timestamp,value\nnoon,2\n",
		"timestamp,value\n1,NaN\n",
		"timestamp,value\n20,1\n10,1\n",
		"timestamp,value\n10,1\n10,2\n",
		"timestamp,value\n\"1\n0\",1\n",
	} {
		f.Add([]byte(seed))
	}
	if data, err := os.ReadFile(filepath.Join("..", "..", "data", "traces", "nasa_http_1m.csv")); err == nil {
		f.Add(data[:2000])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		points, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i, p := range points {
			if p.V != p.V || p.V > 1.7976931348623157e308 || p.V < -1.7976931348623157e308 {
				t.Fatalf("point %d has value %v", i, p.V)
			}
			if i > 0 && !p.T.After(points[i-1].T) {
				t.Fatalf("point %d at %v is not after %v", i, p.T, points[i-1].T)
			}
		}
	})
}
