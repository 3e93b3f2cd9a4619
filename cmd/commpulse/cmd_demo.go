// The demo runs on the embedded stack (cmd_stack.go) and shares its build
// tag: the image, built with -tags nodemo, has no demo.

//go:build !nodemo

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"commpulse/internal/synth"
	"commpulse/pipeline/analyze"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/kafkaconn"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/report"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "demo", summary: "run the whole pipeline on embedded Kafka and ClickHouse with generated traffic", run: runDemo})
}

type demoFlags struct {
	stackFlags
	org       synth.Config // seed, teams, days, count
	rate      float64
	once      bool
	privacy   publish.Policy
	analyze   bool
	scenarios string
}

func (f *demoFlags) bind(fs *flag.FlagSet) {
	f.stackFlags.bind(fs, "demo")
	fs.Int64Var(&f.org.Seed, "seed", 1, "seed of the synthetic organisation")
	fs.IntVar(&f.org.Teams, "teams", 12, "teams in the synthetic organisation")
	fs.IntVar(&f.org.Days, "days", 28, "days of traffic to generate, ending today (analyze needs about 3 weeks of history)")
	fs.IntVar(&f.org.Limit, "count", 0, "stop after this many events (0: all of --days)")
	fs.Float64Var(&f.rate, "rate", 20000, "events per second to produce (0: as fast as possible)")
	fs.BoolVar(&f.once, "once", false, "exit after the summary instead of serving until Ctrl-C")
	f.privacy = publish.DefaultPolicy()
	f.privacy.RegisterFlags(fs)
	fs.BoolVar(&f.analyze, "analyze", true, "after ingest, analyze the closed windows (team stats, network, anomalies)")
	fs.StringVar(&f.scenarios, "scenarios", "drop:team-3:-4d:3d,silo:team-5:-3d",
		"planted scenarios (see 'commpulse generate -h'); a start of -Nd means N days before today")
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	var f demoFlags
	f.bind(fs)
	log, err := f.parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if f.org.Days < 1 || f.org.Teams < 1 {
		return usageError{errors.New("days and teams must be >= 1")}
	}
	org, err := demoOrg(f, time.Now().UTC().Truncate(24*time.Hour))
	if err != nil {
		return err
	}

	s, err := startStack(ctx, "demo", f.stackFlags, stdout, log)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, it := range org.Truth().Items {
		s.say("planted:    %s in %s from %s to %s", it.Kind, it.Team, it.Start.Format("2006-01-02"), it.End.Format("2006-01-02"))
	}
	err = s.serve(ctx, s.ingestConfig(), nil, func(gctx context.Context, g *errgroup.Group, in *ingest.Ingest) {
		produced := make(chan synth.Stats, 1)
		g.Go(func() error {
			st, err := produceToKafka(gctx, kafkaconn.Brokers(s.brokers...), org, synth.ProduceOptions{Rate: f.rate})
			if err != nil && gctx.Err() == nil {
				return fmt.Errorf("generate: %w", err)
			}
			produced <- st
			return nil
		})
		g.Go(func() error {
			// With --once, errStackDone cancels gctx: ingest drains, commits
			// and leaves the group exactly as on Ctrl-C.
			return demoProgress(gctx, stdout, in, produced, s.srv.Addr(), f)
		})
	})
	s.say("demo stopped")
	return err
}

// demoOrg is the synthetic organisation of the demo's flags: f.org.Days
// days of traffic ending before today.
func demoOrg(f demoFlags, today time.Time) (*synth.Org, error) {
	scen, err := synth.ParseScenarios(relativeDays(f.scenarios, today))
	if err != nil {
		return nil, usageError{fmt.Errorf("scenarios: %w", err)}
	}
	oc := f.org
	oc.Start = today.AddDate(0, 0, -oc.Days)
	oc.MalformedRate, oc.NotOptedInRate, oc.Scenarios = 0.005, 0.01, scen
	org, err := synth.New(oc)
	if err != nil {
		return nil, usageError{err}
	}
	return org, nil
}

// demoProgress prints progress every two seconds until the generated traffic
// is all handled, then the summary.
func demoProgress(ctx context.Context, w io.Writer, in *ingest.Ingest, produced <-chan synth.Stats, chAddr string, f demoFlags) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var (
		stats   *synth.Stats
		last    int64
		lastAt  = time.Now()
		started = time.Now()
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case st := <-produced:
			stats = &st
			fmt.Fprintf(w, "generated:  %s\n", st)
		case <-t.C:
		}
		c := in.Counts()
		handled := c.Handled()
		rate := float64(handled-last) / time.Since(lastAt).Seconds()
		last, lastAt = handled, time.Now()
		fmt.Fprintf(w, "progress:   %s (%.0f events/s)\n", countsLine(c), rate)
		if stats != nil && handled >= int64(stats.Events) {
			fmt.Fprintf(w, "all %d generated events handled in %s\n", stats.Events, time.Since(started).Round(time.Millisecond))
			if f.analyze {
				if err := demoAnalyze(ctx, w, chAddr, f.privacy); err != nil {
					return err
				}
			}
			if err := printSummary(ctx, w, chAddr, f.analyze); err != nil {
				return err
			}
			if f.analyze {
				if err := demoReport(ctx, w, chAddr, f); err != nil {
					return err
				}
			}
			if f.once {
				return errStackDone
			}
			fmt.Fprintln(w, "serving /metrics; press Ctrl-C to stop")
			<-ctx.Done()
			return nil
		}
	}
}

// printSummary prints what was stored and, per team, the published day
// figures of the period: the summary passes the publication layer like
// every other team-level output (it reads team_stats_k, never messages).
func printSummary(ctx context.Context, w io.Writer, chAddr string, analyzed bool) error {
	st, err := store.Open(store.Config{Addr: []string{chAddr}})
	if err != nil {
		return err
	}
	defer st.Close()
	rows, scored, err := st.MessageTotals(ctx)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	fmt.Fprintf(w, "summary: %d messages in ClickHouse (%d with a sentiment score), no text stored\n", rows, scored)
	if !analyzed {
		fmt.Fprintln(w, "(no team figures: they are published by analyze, which --analyze=false skipped)")
		return nil
	}
	teams, err := st.TeamDaySummaries(ctx)
	if err != nil {
		return fmt.Errorf("summary by team: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "team\tdays published\tmessages\tmean compound\tnegative share\n")
	for _, t := range teams {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%+.3f\t%.3f\n", t.Team, t.Days, t.Messages, t.MeanCompound, t.NegativeShare)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d teams shown: published team-days only (at least k senders, with noise; docs/privacy.md)\n\n", len(teams))
	return nil
}

// demoReport writes report.html (package report) into the data dir: the
// generated days up to yesterday, read from the published views.
func demoReport(ctx context.Context, w io.Writer, chAddr string, f demoFlags) error {
	st, err := store.Open(store.Config{Addr: []string{chAddr}})
	if err != nil {
		return err
	}
	defer st.Close()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	cfg := report.Config{From: today.AddDate(0, 0, -min(f.org.Days, report.MaxDays)), To: today.AddDate(0, 0, -1), Out: filepath.Join(f.dataDir, "report.html")}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	sum, err := report.Write(ctx, cfg, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "report:     %s (%d bytes, %d teams, %d charts; open it in a browser)\n\n", sum.Path, sum.Bytes, sum.Teams, len(sum.Charts))
	return nil
}

// relativeDays rewrites "-Nd" scenario starts into dates N days before today.
func relativeDays(spec string, today time.Time) string {
	parts := strings.Split(spec, ",")
	for i, p := range parts {
		fields := strings.Split(p, ":")
		for j, fl := range fields {
			if n, ok := strings.CutPrefix(fl, "-"); ok && strings.HasSuffix(n, "d") {
				if d, err := strconv.Atoi(strings.TrimSuffix(n, "d")); err == nil {
					fields[j] = today.AddDate(0, 0, -d).Format("2006-01-02")
				}
			}
		}
		parts[i] = strings.Join(fields, ":")
	}
	return strings.Join(parts, ",")
}

// demoAnalyze runs one analyzer pass over every closed window and prints
// the anomalies and silo figures it stored.
func demoAnalyze(ctx context.Context, w io.Writer, chAddr string, privacy publish.Policy) error {
	st, err := store.Open(store.Config{Addr: []string{chAddr}})
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := analyze.Defaults()
	cfg.Privacy = privacy
	a, err := analyze.New(cfg, st, nil, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	t0 := time.Now()
	fmt.Fprintln(w, "analyze:    team stats, network and anomaly detection over every closed window...")
	n, err := a.Step(ctx)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fmt.Fprintf(w, "analyze:    %d windows in %s\n\n", n, time.Since(t0).Round(time.Millisecond))
	found, err := st.DayAnomalies(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "day\tteam\tmetric\tdirection\tseverity\tvalue\texpected")
	for _, a := range found {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%v\n", a.Day.Format("2006-01-02"), a.Team, a.Metric, a.Direction, a.Severity, a.Value, a.Expected)
	}
	tw.Flush()
	for _, a := range found {
		fmt.Fprintf(w, "  - %s\n", a.Explanation)
	}
	fmt.Fprintf(w, "%d daily anomalies (warning or critical); all are also in ClickHouse table anomalies\n\n", len(found))
	return nil
}
