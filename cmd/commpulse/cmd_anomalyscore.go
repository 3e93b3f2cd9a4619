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
	"time"

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
	profile := fs.String("profile", "nab", "detectors: nab (anomaly.DefaultConfig, measured on NAB), seasonal (anomaly.SeasonalConfig: "+
		"the NAB profile with the hour-of-week baseline), team (the analyzer's team detectors: anomaly.TeamProfile)")
	seasonal := fs.Bool("seasonal", false, "same as --profile seasonal")
	granularity := fs.String("granularity", "auto", "team profile: hour, day, or auto (from the first two timestamps: a step of 12 h or more is daily)")
	direction := fs.String("direction", "both", "team profile: drift direction watched, up, down or both")
	explain := fs.Bool("explain", false, "also write expected,low,high,direction,detector columns")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *seasonal {
		if *profile != "nab" && *profile != "seasonal" {
			return usageError{fmt.Errorf("--seasonal is --profile seasonal, not %s", *profile)}
		}
		*profile = "seasonal"
	}
	obs, err := newObserver(*profile, *granularity, *direction)
	if err != nil {
		return usageError{err}
	}
	return scoreCSVWith(ctx, os.Stdin, stdout, obs, *explain)
}

// verdict is one scored row, whatever the profile.
type verdict struct {
	score, expected, low, high float64
	direction                  anomaly.Direction
	detector                   string
}

type observer func(t time.Time, v float64) verdict

func levelObserver(d *anomaly.Detector) observer {
	return func(t time.Time, v float64) verdict {
		e := d.Observe(t, v)
		return verdict{e.Score, e.Expected, e.Low, e.High, e.Direction, e.Detector}
	}
}

// newObserver returns the scorer of a profile.
func newObserver(profile, granularity, direction string) (observer, error) {
	if profile != "team" && (granularity != "auto" || direction != "both") {
		return nil, errors.New("--granularity and --direction apply to --profile team only")
	}
	switch profile {
	case "nab", "seasonal":
		cfg := anomaly.DefaultConfig()
		if profile == "seasonal" {
			cfg = anomaly.SeasonalConfig()
		}
		d, err := anomaly.New(cfg)
		if err != nil {
			return nil, err
		}
		return levelObserver(d), nil
	case "team":
		cfg := anomaly.TeamProfile()
		switch granularity {
		case "auto":
		case "hour":
			cfg.Granularity = anomaly.GranularityHour
		case "day":
			cfg.Granularity = anomaly.GranularityDay
		default:
			return nil, fmt.Errorf("--granularity %q: want auto, hour or day", granularity)
		}
		switch direction {
		case "both":
		case "up":
			cfg.Direction = anomaly.Up
		case "down":
			cfg.Direction = anomaly.Down
		default:
			return nil, fmt.Errorf("--direction %q: want up, down or both", direction)
		}
		d, err := anomaly.NewTeam(cfg)
		if err != nil {
			return nil, err
		}
		return func(t time.Time, v float64) verdict {
			e := d.Observe(t, v)
			return verdict{e.Score, e.Expected, e.Low, e.High, e.Direction, e.Detector}
		}, nil
	}
	return nil, fmt.Errorf("--profile %q: want nab, seasonal or team", profile)
}

// scoreCSV streams rows from r to w: each output row is written (and
// flushed) before the next input row is read, so a row's score can only
// depend on earlier rows. The input header, if any, is replaced by ours.
func scoreCSV(ctx context.Context, r io.Reader, w io.Writer, cfg anomaly.Config, explain bool) error {
	d, err := anomaly.New(cfg)
	if err != nil {
		return err
	}
	return scoreCSVWith(ctx, r, w, levelObserver(d), explain)
}

// scoreCSVWith is scoreCSV with any profile's scorer.
func scoreCSVWith(ctx context.Context, r io.Reader, w io.Writer, observe observer, explain bool) error {
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
		e := observe(ts, v)
		out = append(out[:0], rec[0], rec[1], strconv.FormatFloat(e.score, 'f', -1, 64))
		if explain {
			out = append(out, f(e.expected), f(e.low), f(e.high), e.direction.String(), e.detector)
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
