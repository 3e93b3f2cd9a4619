package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/health"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "analyze", summary: "turn closed windows of messages into team stats, networks and anomalies", run: runAnalyze})
}

// analyzeFlags are the flags of `commpulse analyze`: analyze's, the
// alerts', ClickHouse's and the command's.
type analyzeFlags struct {
	cfg      analyze.Config
	alerts   analyze.AlertsConfig
	ch       store.Flags
	log      logFlags
	httpAddr string
	migrate  bool
	once     bool
}

func (f *analyzeFlags) bind(fs *flag.FlagSet) {
	f.cfg = analyze.Defaults()
	f.cfg.RegisterFlags(fs)
	f.alerts = analyze.DefaultAlertsConfig()
	f.alerts.RegisterFlags(fs)
	f.ch = store.DefaultFlags()
	f.ch.RegisterFlags(fs)
	f.log.bind(fs)
	fs.StringVar(&f.httpAddr, "http-addr", ":9101", "address of /metrics, /healthz and /readyz (empty: none)")
	fs.BoolVar(&f.migrate, "migrate", true, "apply ClickHouse migrations at start")
	fs.BoolVar(&f.once, "once", false, "process the closed windows, then exit")
}

// config returns the validated analyze config of the flags.
func (f *analyzeFlags) config() (analyze.Config, error) { return analyzeConfig(f.cfg) }

// analyzeConfig validates an analyze config bound to flags (analyze's and
// up's).
func analyzeConfig(cfg analyze.Config) (analyze.Config, error) {
	// The config reads a zero as "the default": a flag of 0 is refused
	// instead.
	for name, d := range map[string]time.Duration{"lateness-hour": cfg.LatenessHour, "lateness-day": cfg.LatenessDay, "tick": cfg.Tick} {
		if d <= 0 {
			return cfg, usageError{fmt.Errorf("%s %s: must be > 0", name, d)}
		}
	}
	if n := cfg.Network.BroadcastMaxRecipients; n <= 0 {
		return cfg, usageError{fmt.Errorf("broadcast-max-recipients %d: must be > 0", n)}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", stderr)
	var f analyzeFlags
	f.bind(fs)
	log, err := parseWithLogger(fs, args, &f.log, stderr)
	if err != nil {
		return err
	}
	chCfg, err := chConfig(&f.ch)
	if err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	cfg.Logger = log
	st, err := store.Open(chCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if f.migrate {
		if err := migrateWithRetry(ctx, st, log); err != nil {
			return err
		}
	}
	if err := f.alerts.Validate(); err != nil {
		return usageError{err}
	}
	var alerts analyze.Alerter
	if !f.alerts.Disabled {
		ka := f.alerts.Alerter()
		defer ka.Close()
		alerts = ka
	}
	reg := metrics.NewRegistry()
	// A sharded analyzer's progress and replacing writes are its shard's.
	a, err := analyze.New(cfg, st.ForAnalyzeShard(store.AnalyzeShard{Shard: cfg.Shard, Shards: cfg.Shards}), alerts, reg)
	if err != nil {
		return usageError{err}
	}
	if f.once {
		t0 := time.Now()
		n, err := a.Step(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "analyzed %d windows in %s\n", n, time.Since(t0).Round(time.Millisecond))
		return nil
	}
	log.Info("analyze starting", "clickhouse", chCfg.Addr, "database", chCfg.Database, "shard", cfg.Shard, "shards", cfg.Shards, "k", cfg.Privacy.K, "epsilon_per_person_day", cfg.Privacy.PerPersonDay(),
		"alerts", !f.alerts.Disabled, "pid", os.Getpid())
	g, gctx := errgroup.WithContext(ctx)
	if f.httpAddr != "" {
		srv, err := health.Listen(f.httpAddr, reg, a.Ready, log)
		if err != nil {
			return err
		}
		log.Info("serving /metrics", "http", srv.Addr())
		g.Go(func() error { return srv.Serve(gctx) })
	}
	g.Go(func() error { return a.Run(gctx) })
	return g.Wait()
}
