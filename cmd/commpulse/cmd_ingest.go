package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"commpulse/internal/backoff"
	"commpulse/nlp"
	"commpulse/pipeline/health"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "ingest", summary: "consume events from Kafka, score them, write them to ClickHouse", run: runIngest})
}

// ingestFlags are the flags of `commpulse ingest`: ingest's and
// ClickHouse's own, and the command's.
type ingestFlags struct {
	cfg     ingest.Config
	ch      store.Flags
	log     logFlags
	keyFile string
	ingestServe
}

func (f *ingestFlags) bind(fs *flag.FlagSet) {
	f.cfg = ingest.Defaults()
	f.cfg.RegisterFlags(fs)
	f.ch = store.DefaultFlags()
	f.ch.RegisterFlags(fs)
	f.log.bind(fs)
	fs.StringVar(&f.httpAddr, "http-addr", ":9100", "address of /metrics, /healthz and /readyz (127.0.0.1:9100 for loopback only)")
	fs.BoolVar(&f.migrate, "migrate", true, "apply ClickHouse migrations at start")
	fs.StringVar(&f.keyFile, "pseudonym-key-file", "", "file with a secret key (>= 32 bytes): person ids are re-keyed with HMAC-SHA256 before storage, and DLQ keys hashed with it")
}

// config returns the ingest config of the flags, with the pseudonymizer of
// --pseudonym-key-file and log.
func (f *ingestFlags) config(log *slog.Logger) (ingest.Config, error) {
	cfg := f.cfg
	var err error
	if cfg.Pseudonymizer, err = loadPseudonymizer(f.keyFile); err != nil {
		return cfg, err
	}
	cfg.Logger = log
	return cfg, nil
}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ingest", stderr)
	var f ingestFlags
	f.bind(fs)
	log, err := parseWithLogger(fs, args, &f.log, stderr)
	if err != nil {
		return err
	}
	chCfg, err := chConfig(&f.ch)
	if err != nil {
		return err
	}
	cfg, err := f.config(log)
	if err != nil {
		return err
	}
	return serveIngest(ctx, cfg, chCfg, f.ingestServe, log, nil)
}

// ingestServe is how serveIngest runs, besides the configs.
type ingestServe struct {
	httpAddr string               // of /metrics, /healthz, /readyz
	migrate  bool                 // apply the migrations at start
	reg      *prometheus.Registry // of /metrics; nil: a new one
}

// serveIngest runs ingest with its HTTP endpoint until ctx ends. onStart, if
// set, receives the worker once it runs (the embedded stack of demo and up
// uses it for their progress and tasks).
func serveIngest(ctx context.Context, cfg ingest.Config, chCfg store.Config, f ingestServe, log *slog.Logger, onStart func(*ingest.Ingest, string)) error {
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
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
	reg := f.reg
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	in, err := ingest.New(cfg, st, nlp.New(), reg)
	if err != nil {
		return usageError{err}
	}
	srv, err := health.Listen(f.httpAddr, reg, in.Ready, log)
	if err != nil {
		return err
	}
	log.Info("ingest starting", "brokers", cfg.Brokers, "topic", cfg.EventsTopic, "group", cfg.Group,
		"clickhouse", chCfg.Addr, "database", chCfg.Database, "http", srv.Addr(), "pid", os.Getpid())
	if onStart != nil {
		onStart(in, srv.Addr())
	}
	g, gctx := errgroup.WithContext(ctx)
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return srv.Serve(httpCtx) })
	g.Go(func() error {
		defer stopHTTP() // keep /metrics up until the drain is over
		return in.Run(gctx)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("ingest stopped cleanly")
	return nil
}

// migrateBackoff paces migrateWithRetry: 30 attempts reach about two and a
// half minutes, for a ClickHouse that starts after us.
var migrateBackoff = backoff.New(time.Second, 8*time.Second)

// migrateWithRetry waits for ClickHouse at start (compose brings services up
// in parallel) and applies the migrations.
func migrateWithRetry(ctx context.Context, st *store.Store, log *slog.Logger) error {
	for attempt := 1; ; attempt++ {
		applied, err := st.Migrate(ctx)
		if err == nil {
			if len(applied) > 0 {
				log.Info("applied migrations", "versions", applied)
			}
			return nil
		}
		if attempt >= 30 || ctx.Err() != nil {
			return fmt.Errorf("migrate (attempt %d): %w", attempt, err)
		}
		log.Warn("clickhouse not ready for migrations, retrying", "attempt", attempt, "err", err)
		if !migrateBackoff.Wait(ctx, attempt-1) {
			return ctx.Err()
		}
	}
}
