package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"commpulse/anomaly"
	"commpulse/anomaly/nab"
)

func init() {
	register(command{
		name:    "nab",
		summary: "score the anomaly detector on the Numenta Anomaly Benchmark (all three profiles)",
		run:     runNAB,
	})
}

func runNAB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("nab", stderr)
	dir := fs.String("data", "../shared/eval/nab", "NAB directory holding data/ and labels/combined_windows.json")
	detectors := fs.String("detectors", "", "comma-separated subset of detectors ("+strings.Join(anomaly.AllDetectors, ",")+
		"); empty: the default set ("+strings.Join(anomaly.DefaultConfig().Detectors, ",")+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := anomaly.DefaultConfig()
	if *detectors != "" {
		cfg.Detectors = strings.Split(*detectors, ",")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	corpus, err := nab.Load(*dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := time.Now()
	res, err := nab.Evaluate(corpus, cfg)
	if err != nil {
		return err
	}
	rows := 0
	for _, s := range corpus {
		rows += len(s.Values)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "profile\tscore\tthreshold\tdetected\tfalse_pos\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.1f\t%.4f\t%d/%d\t%d\t\n", r.Profile.Name, r.Normalized, r.Threshold, r.Detected, r.Windows, r.FP)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d series, %d rows, detection %s\n", len(corpus), rows, time.Since(start).Round(time.Millisecond))
	return nil
}
