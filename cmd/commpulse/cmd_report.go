package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"commpulse/pipeline/report"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "report", summary: "write one self-contained HTML report of the published team figures of a period (--from, --to, --out)", run: runReport})
}

// reportFlags are the flags of `commpulse report`: the ClickHouse
// connection (as the analyst user: --ch-user commpulse_analyst) and the
// report's own (package report).
type reportFlags struct {
	ch  store.Flags
	cfg report.Config
}

func (f *reportFlags) bind(fs *flag.FlagSet) {
	f.ch = store.DefaultFlags()
	f.ch.RegisterFlags(fs)
	f.cfg = report.Defaults()
	f.cfg.RegisterFlags(fs)
}

// validate checks both configs (bad values are usage errors).
func (f *reportFlags) validate() error {
	if err := f.cfg.Validate(); err != nil {
		return usageError{err}
	}
	_, err := chConfig(&f.ch)
	return err
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	var f reportFlags
	f.bind(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commpulse report [--from DAY] [--to DAY] [--out FILE] [ClickHouse flags]\n\n"+
			"Reads only the published views, as the analyst user may (--ch-user commpulse_analyst). See docs/report.md.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	st, err := store.Open(f.ch.Config)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := report.Write(ctx, f.cfg, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s (%d bytes, %d teams, %d charts, %s to %s)\n", sum.Path, sum.Bytes, sum.Teams, len(sum.Charts),
		f.cfg.From.Format("2006-01-02"), f.cfg.To.Format("2006-01-02"))
	return nil
}
