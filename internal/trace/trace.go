// Package trace reads workload traces, CSV files of `timestamp,value` rows,
// and turns them into the counter a service would expose.
package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Point is one observation: the load V at time T.
type Point struct {
	T time.Time
	V float64
}

// header is the first row every trace starts with.
const header = "timestamp,value"

// Read parses a trace: a header row `timestamp,value`, then one row per
// observation with a unix time in seconds (fractions allowed) and a finite
// value, timestamps strictly increasing. Spaces around fields and a UTF-8
// byte order mark are ignored. A missing row is a missing observation: look
// points up by time, not by index. Errors name the line.
func Read(r io.Reader) ([]Point, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	row, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, errors.New("line 1: empty trace, want a header " + header)
	case err != nil:
		return nil, fmt.Errorf("line 1: %w", err)
	case strings.TrimSpace(strings.TrimPrefix(row[0], "\ufeff")) != "timestamp" || strings.TrimSpace(row[1]) != "value":
		return nil, fmt.Errorf("line 1: header %q, want %s", strings.Join(row, ","), header)
	}
	var points []Point
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return points, nil
		}
		if err != nil {
			// A *csv.ParseError names its line itself.
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		p, err := parseRow(row)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if n := len(points); n > 0 && !p.T.After(points[n-1].T) {
			return nil, fmt.Errorf("line %d: timestamp %s is not after the previous one, %s",
				line, strings.TrimSpace(row[0]), formatUnix(points[n-1].T))
		}
		points = append(points, p)
	}
}

func parseRow(row []string) (Point, error) {
	ts, err := strconv.ParseFloat(strings.TrimSpace(row[0]), 64)
	// Unix seconds of year 1 to 9999 at most: time.Unix stays exact and sortable.
	if err != nil || math.IsNaN(ts) || math.Abs(ts) > 253402300799 {
		return Point{}, fmt.Errorf("timestamp %q is not a unix time in seconds", row[0])
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Point{}, fmt.Errorf("value %q is not a finite number", row[1])
	}
	sec, frac := math.Modf(ts)
	return Point{T: time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), V: v}, nil
}

// ReadFile reads the trace at path.
func ReadFile(path string) ([]Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	defer f.Close()
	points, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("read trace %s: %w", path, err)
	}
	return points, nil
}

// formatUnix returns t in unix seconds, with as many decimals as it needs:
// "1700000000", "1700000000.5", "-1.25".
func formatUnix(t time.Time) string {
	sec, ns := t.Unix(), int64(t.Nanosecond())
	sign := ""
	if sec < 0 {
		sign = "-"
		if ns > 0 { // t.Unix() floors: -1.25 s is -2 s + 0.75 s
			sec, ns = sec+1, 1e9-ns
		}
		sec = -sec
	}
	s := sign + strconv.FormatInt(sec, 10)
	if ns > 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s
}
