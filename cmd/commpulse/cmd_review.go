package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"commpulse/pipeline/health"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/review"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "review", summary: "human review of anomalies: 'review list|set|report|serve' (states, dismissals, precision per metric, the token-guarded API)", run: runReview})
}

const reviewUsage = `usage: commpulse review <subcommand> [flags]

  list [--state S] [--from D] [--to D] [--limit N] [--json]   anomalies with their review state, newest first
  set KEY STATE [--reason R]                                   move an anomaly to acknowledged, confirmed or dismissed
  report [--from D] [--to D] [--json]                          counts per state and the reviewers' precision, per metric
  serve --review-token-file F [--addr A]                       the HTTP API (bearer token on every route)

States: new, acknowledged, confirmed, dismissed. Reasons (dismissed only): false_positive,
expected, duplicate, other. Connect as the reviewer user (--ch-user commpulse_reviewer).
See docs/analyze.md#review.`

func runReview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, reviewUsage)
		return usageError{errors.New("review: a subcommand is needed (list, set, report or serve)")}
	}
	switch args[0] {
	case "list":
		return runReviewList(ctx, args[1:], stdout, stderr)
	case "set":
		return runReviewSet(ctx, args[1:], stdout, stderr)
	case "report":
		return runReviewReport(ctx, args[1:], stdout, stderr)
	case "serve":
		return runReviewServe(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stderr, reviewUsage)
		return nil
	}
	fmt.Fprintln(stderr, reviewUsage)
	return usageError{fmt.Errorf("review: unknown subcommand %q (list, set, report or serve)", args[0])}
}

// reviewStore opens the store the ClickHouse flags describe.
func reviewStore(ch *store.Flags) (*store.Store, error) {
	cfg, err := chConfig(ch)
	if err != nil {
		return nil, err
	}
	return store.Open(cfg)
}

// periodFlags are --from and --to.
type periodFlags struct{ from, to string }

func (p *periodFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&p.from, "from", "", "first window start (2026-11-02 or RFC 3339; default: all stored)")
	fs.StringVar(&p.to, "to", "", "end of the period, exclusive (default: none)")
}

func (p periodFlags) times() (from, to time.Time, err error) {
	if p.from != "" {
		if from, err = review.ParseTime(p.from); err != nil {
			return from, to, usageError{fmt.Errorf("from: %w", err)}
		}
	}
	if p.to != "" {
		if to, err = review.ParseTime(p.to); err != nil {
			return from, to, usageError{fmt.Errorf("to: %w", err)}
		}
	}
	return from, to, nil
}

func runReviewList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review list", stderr)
	ch := store.DefaultFlags()
	ch.RegisterFlags(fs)
	var (
		period    periodFlags
		state     string
		limit     int
		jsonLines bool
	)
	period.bind(fs)
	fs.StringVar(&state, "state", "", "only anomalies in this state: new, acknowledged, confirmed, dismissed")
	fs.IntVar(&limit, "limit", review.DefaultListLimit, "at most this many (0: all)")
	fs.BoolVar(&jsonLines, "json", false, "one JSON object per anomaly (as the API's list)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f := store.ReviewFilter{Limit: limit}
	var err error
	if f.From, f.To, err = period.times(); err != nil {
		return err
	}
	if state != "" {
		if f.State, err = review.ParseState(state); err != nil {
			return usageError{err}
		}
	}
	if limit < 0 {
		return usageError{fmt.Errorf("limit %d: must be >= 0", limit)}
	}
	st, err := reviewStore(&ch)
	if err != nil {
		return err
	}
	defer st.Close()
	ras, err := review.NewService(st, nil, nil).List(ctx, f)
	if err != nil {
		return err
	}
	if jsonLines {
		enc := json.NewEncoder(stdout)
		for _, ra := range ras {
			if err := enc.Encode(review.NewItem(ra)); err != nil {
				return fmt.Errorf("review list: write: %w", err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSTATE\tREASON\tSEVERITY\tSCORE\tEXPLANATION")
	for _, ra := range ras {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\n", ra.Key(), ra.Review.State, orDash(string(ra.Review.Reason)),
			ra.Severity, ra.Score, ra.Explanation)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("review list: write: %w", err)
	}
	fmt.Fprintf(stderr, "%d anomalies\n", len(ras))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runReviewSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review set", stderr)
	ch := store.DefaultFlags()
	ch.RegisterFlags(fs)
	var reason string
	fs.StringVar(&reason, "reason", "", "why an anomaly is dismissed: false_positive, expected, duplicate, other (dismissed only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: commpulse review set KEY STATE [--reason R] [flags]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args, os.LookupEnv)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{fmt.Errorf("want KEY STATE, got %d arguments %q", len(pos), pos)}
	}
	key := pos[0]
	to, err := review.ParseState(pos[1])
	if err != nil {
		return usageError{err}
	}
	r, err := review.ParseReason(reason)
	if err != nil {
		return usageError{err}
	}
	st, err := reviewStore(&ch)
	if err != nil {
		return err
	}
	defer st.Close()
	ra, err := review.NewService(st, nil, nil).Set(ctx, key, to, r, review.CLIReviewer)
	var te *review.TransitionError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("%s is %s: it may move to %v, not to %s", key, te.From, review.Next(te.From), te.To)
	case errors.Is(err, review.ErrBadState), errors.Is(err, review.ErrBadReason):
		return usageError{err}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "%s: %s", ra.Key(), ra.Review.State)
	if ra.Review.Reason != review.NoReason {
		fmt.Fprintf(stdout, " (%s)", ra.Review.Reason)
	}
	fmt.Fprintln(stdout)
	return nil
}

func runReviewReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review report", stderr)
	ch := store.DefaultFlags()
	ch.RegisterFlags(fs)
	var (
		period periodFlags
		asJSON bool
	)
	period.bind(fs)
	fs.BoolVar(&asJSON, "json", false, "the report as JSON (as the API's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	from, to, err := period.times()
	if err != nil {
		return err
	}
	st, err := reviewStore(&ch)
	if err != nil {
		return err
	}
	defer st.Close()
	ms, err := review.NewService(st, nil, nil).Report(ctx, from, to)
	if err != nil {
		return err
	}
	rep := review.NewReport(ms, from, to)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeReviewReport(stdout, rep)
	return nil
}

// writeReviewReport prints the report as a table, one row per metric and
// one for all.
func writeReviewReport(w io.Writer, rep review.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var hdr []string
	for _, r := range review.Reasons {
		hdr = append(hdr, "dismissed "+string(r))
	}
	fmt.Fprintf(tw, "metric\tanomalies\tnew\tacknowledged\tconfirmed\t%s\tprecision\t\n", strings.Join(hdr, "\t"))
	for _, m := range append(rep.Metrics, rep.Total) {
		var ds []string
		for _, r := range review.Reasons {
			ds = append(ds, fmt.Sprint(m.DismissedBy[r]))
		}
		p := "-"
		if m.Precision != nil {
			p = fmt.Sprintf("%.3f", *m.Precision)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t\n", m.Metric, m.Anomalies, m.New, m.Acknowledged, m.Confirmed, strings.Join(ds, "\t"), p)
	}
	tw.Flush()
	fmt.Fprintln(w, "precision = confirmed / (confirmed + dismissed false_positive); '-': nothing judged yet")
}

func runReviewServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review serve", stderr)
	ch := store.DefaultFlags()
	ch.RegisterFlags(fs)
	api := review.DefaultServerConfig()
	api.RegisterFlags(fs)
	var (
		lf       logFlags
		httpAddr string
	)
	lf.bind(fs)
	fs.StringVar(&httpAddr, "http-addr", ":9102", "address of /metrics, /healthz and /readyz, no token (empty: none)")
	log, err := parseWithLogger(fs, args, &lf, stderr)
	if err != nil {
		return err
	}
	if err := api.Validate(); err != nil {
		return usageError{err}
	}
	st, err := reviewStore(&ch)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := metrics.NewRegistry()
	m := metrics.NewReview(reg)
	h := review.NewHandler(review.NewService(st, nil, m), api.Tokens(), m, log)
	srv, err := review.Listen(api, h, log)
	if err != nil {
		return err
	}
	log.Info("review API serving", "addr", srv.Addr(), "tls", srv.TLS(), "tokens", api.Tokens().Len(),
		"clickhouse", ch.Addr, "database", ch.Database, "user", ch.Username, "pid", os.Getpid())
	g, gctx := errgroup.WithContext(ctx)
	if httpAddr != "" {
		hs, err := health.Listen(httpAddr, reg, func() error {
			pctx, cancel := context.WithTimeout(gctx, 2*time.Second)
			defer cancel()
			return st.Ping(pctx)
		}, log)
		if err != nil {
			return err
		}
		log.Info("serving /metrics", "http", hs.Addr())
		g.Go(func() error { return hs.Serve(gctx) })
	}
	g.Go(func() error { return srv.Serve(gctx) })
	err = g.Wait()
	log.Info("review API stopped")
	return err
}
