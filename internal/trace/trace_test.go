package trace

import (
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
		{
			name: "byte order mark and CRLF",
			csv:  "\ufefftimestamp,value\r\n1700000000,42\r\n",
			want: []Point{{time.Unix(1700000000, 0).UTC(), 42}},
		},
		{name: "header only", csv: "timestamp,value\n", want: nil},
		{name: "blank lines only", csv: "\n\n", wantErr: "line 1: empty trace"},
		{name: "empty", csv: "", wantErr: "line 1: empty trace"},
		{name: "no header", csv: "1700000000,42\n", wantErr: `line 1: header "1700000000,42", want timestamp,value`},
		{name: "three fields", csv: "timestamp,value\n1,2,3\n", wantErr: "record on line 2: wrong number of fields"},
		{name: "one field", csv: "timestamp,value\n1700000000\n", wantErr: "record on line 2: wrong number of fields"},
		{name: "empty value", csv: "timestamp,value\n1700000000,\n", wantErr: `line 2: value "" is not a finite number`},
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
