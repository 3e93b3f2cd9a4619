package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"commpulse/anomaly"
	"commpulse/anomaly/nab"
)

func init() {
	register(command{
		name:    "anomaly-score",
		summary: "score a timestamp,value CSV on stdin; writes timestamp,value,anomaly_score",
		run:     runAnomalyScore,
	})
}

func runAnomalyScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("anomaly-score", stderr)
	seasonal := fs.Bool("seasonal", false, "use the hour-of-week seasonal baseline (hourly team series)")
	explain := fs.Bool("explain", false, "also write expected,low,high,direction,detector columns")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := anomaly.DefaultConfig()
	if *seasonal {
		cfg = anomaly.SeasonalConfig()
	}
	return scoreCSV(ctx, os.Stdin, stdout, cfg, *explain)
}

// scoreCSV streams rows from r to w: each output row is written (and
// flushed) before the next input row is read, so a row's score can only
// depend on earlier rows. The input header, if any, is replaced by ours.
func scoreCSV(ctx context.Context, r io.Reader, w io.Writer, cfg anomaly.Config, explain bool) error {
	d, err := anomaly.New(cfg)
	if err != nil {
		return err
	}
	br := bufio.NewReader(r)
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cw := csv.NewWriter(w)
	// Rows scored before a bad input row are still written.
	defer cw.Flush()
	header := []string{"timestamp", "value", "anomaly_score"}
	if explain {
		header = append(header, "expected", "low", "high", "direction", "detector")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	out := make([]string, 0, len(header))
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for line := 1; ; line++ {
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		if len(rec) < 2 {
			return fmt.Errorf("stdin line %d: want timestamp,value, got %d fields", line, len(rec))
		}
		if line == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "timestamp") {
			continue
		}
		ts, err := nab.ParseTime(rec[0])
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return fmt.Errorf("stdin line %d: value: %w", line, err)
		}
		e := d.Observe(ts, v)
		out = append(out[:0], rec[0], rec[1], strconv.FormatFloat(e.Score, 'f', -1, 64))
		if explain {
			out = append(out, f(e.Expected), f(e.Low), f(e.High), e.Direction.String(), e.Detector)
		}
		if err := cw.Write(out); err != nil {
			return err
		}
		// Flush only when no more input is buffered: interactive use sees
		// each score at once, bulk use is not slowed by a syscall per row.
		if br.Buffered() == 0 {
			cw.Flush()
		}
	}
	cw.Flush()
	return cw.Error()
}
