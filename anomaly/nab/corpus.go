package nab

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Series is one NAB data file with its labelled windows.
type Series struct {
	Name    string // "category/file.csv", the key of combined_windows.json
	Times   []time.Time
	Values  []float64
	Windows []Window
}

// timeLayouts are the timestamp formats found in NAB data and label files.
var timeLayouts = []string{"2006-01-02 15:04:05.000000", "2006-01-02 15:04:05", time.RFC3339Nano}

// ParseTime parses a NAB (or RFC 3339) timestamp.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable timestamp %q", s)
}

// ReadCSV reads a "timestamp,value" file with a header row.
func ReadCSV(r io.Reader) ([]time.Time, []float64, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var ts []time.Time
	var vs []float64
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return ts, vs, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) < 2 {
			return nil, nil, fmt.Errorf("line %d: want timestamp,value, got %d fields", line, len(rec))
		}
		if line == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "timestamp") {
			continue
		}
		t, err := ParseTime(rec[0])
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: value: %w", line, err)
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
}

// Load reads every series listed in dir/labels/combined_windows.json from
// dir/data, sorted by name, and maps the label timestamps to row indices
// (first row at or after the window start, last row at or before its end;
// NAB's labels use exact row timestamps, so this is NAB's own mapping).
func Load(dir string) ([]Series, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("nab: labels: %w", err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("nab: labels: %w", err)
	}
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Series, 0, len(names))
	for _, name := range names {
		f, err := os.Open(filepath.Join(dir, "data", filepath.FromSlash(name)))
		if err != nil {
			return nil, fmt.Errorf("nab: %w", err)
		}
		ts, vs, err := ReadCSV(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("nab: %s: %w", name, err)
		}
		s := Series{Name: name, Times: ts, Values: vs}
		for _, lw := range labels[name] {
			start, err := ParseTime(lw[0])
			if err != nil {
				return nil, fmt.Errorf("nab: %s window: %w", name, err)
			}
			end, err := ParseTime(lw[1])
			if err != nil {
				return nil, fmt.Errorf("nab: %s window: %w", name, err)
			}
			l := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(start) })
			r := sort.Search(len(ts), func(i int) bool { return ts[i].After(end) }) - 1
			if l >= len(ts) || r < l {
				return nil, fmt.Errorf("nab: %s: window %v..%v holds no rows", name, lw[0], lw[1])
			}
			s.Windows = append(s.Windows, Window{Start: l, End: r})
		}
		sort.Slice(s.Windows, func(i, j int) bool { return s.Windows[i].Start < s.Windows[j].Start })
		out = append(out, s)
	}
	return out, nil
}
