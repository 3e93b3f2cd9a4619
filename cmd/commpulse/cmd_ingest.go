package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"commpulse/internal/backoff"
	"commpulse/nlp"
	"commpulse/pipeline/event"
	"commpulse/pipeline/health"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "ingest", summary: "consume events from Kafka, score them, write them to ClickHouse", run: runIngest})
}

// ingestFlags are the flags of `commpulse ingest`, shared with `demo`.
type ingestFlags struct {
	kafka      kafkaFlags
	topics     struct{ events, directory, consent, dlq, group string }
	ch         clickhouseFlags
	log        logFlags
	httpAddr   string
	migrate    bool
	batchRows  int
	batchBytes int
	batchIvl   time.Duration
	workers    int
	inserts    int
	maxBytes   int
	shutdown   time.Duration
	create     bool
	keyFile    string
	pattern    pseudonymPattern
	dlqRetain  time.Duration
	stall      time.Duration
}

// pseudonymPattern is the --pseudonym-pattern value: compiled (and
// anchored) when it is set, so a bad pattern fails at start naming the flag
// or the COMMPULSE_ variable.
type pseudonymPattern struct {
	src string
	re  *regexp.Regexp
}

func (p *pseudonymPattern) String() string { return p.src }
func (p *pseudonymPattern) Set(v string) error {
	re, err := event.ParsePseudonymPattern(v)
	if err != nil {
		return err
	}
	p.src, p.re = v, re
	return nil
}

func (f *ingestFlags) bind(fs *flag.FlagSet) {
	d := ingest.Defaults()
	f.kafka.bind(fs)
	fs.StringVar(&f.topics.events, "events-topic", d.EventsTopic, "topic of communication events")
	fs.StringVar(&f.topics.directory, "directory-topic", d.DirectoryTopic, "compacted topic person -> team")
	fs.StringVar(&f.topics.consent, "consent-topic", d.ConsentTopic, "compacted topic person -> consent")
	fs.StringVar(&f.topics.dlq, "dlq-topic", d.DLQTopic, "dead-letter topic for malformed events")
	fs.StringVar(&f.topics.group, "group", d.Group, "consumer group id")
	f.ch.bind(fs)
	f.log.bind(fs)
	fs.StringVar(&f.httpAddr, "http-addr", ":9100", "address of /metrics, /healthz and /readyz (127.0.0.1:9100 for loopback only)")
	fs.BoolVar(&f.migrate, "migrate", true, "apply ClickHouse migrations at start")
	fs.IntVar(&f.batchRows, "batch-rows", d.BatchRows, "rows per ClickHouse batch (flushed earlier by --batch-bytes or --batch-interval)")
	fs.IntVar(&f.batchBytes, "batch-bytes", d.BatchBytes, "bytes of Kafka records per ClickHouse batch (bounds the memory of batches of long e-mails)")
	fs.DurationVar(&f.batchIvl, "batch-interval", d.BatchInterval, "maximum age of a batch before it is written")
	fs.IntVar(&f.workers, "workers", d.Workers, "goroutines that decode and score a batch")
	fs.IntVar(&f.inserts, "inserts", d.Inserts, "batches written to ClickHouse at once (offsets are still committed in order)")
	fs.IntVar(&f.maxBytes, "max-event-bytes", d.Limits.MaxBytes, "events larger than this go to the DLQ (reason oversize)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", d.ShutdownTimeout, "time allowed on SIGTERM to flush, commit and leave the group")
	fs.BoolVar(&f.create, "create-topics", d.CreateTopics, "create missing topics at start")
	fs.StringVar(&f.keyFile, "pseudonym-key-file", "", "file with a secret key (>= 32 bytes): person ids are re-keyed with HMAC-SHA256 before storage, and DLQ keys hashed with it")
	f.pattern = pseudonymPattern{src: event.DefaultPseudonymPattern, re: d.Limits.Pseudonym}
	fs.Var(&f.pattern, "pseudonym-pattern", "regexp (RE2, anchored) every sender and recipient id must match; others go to the DLQ (not_pseudonym or pii_id)")
	fs.DurationVar(&f.dlqRetain, "dlq-retention", d.DLQRetention, "retention.ms of the DLQ topic when ingest creates it")
	fs.DurationVar(&f.stall, "stall-timeout", d.StallTimeout, "rebuild the Kafka reader (leave and rejoin the group) when an assigned events partition with records waiting delivers none for this long")
}

func (f *ingestFlags) config(log *slog.Logger) (ingest.Config, error) {
	cfg := ingest.Defaults()
	var err error
	if cfg.TLS, cfg.SASL, err = f.kafka.security(); err != nil {
		return cfg, err
	}
	if cfg.Pseudonymizer, err = loadPseudonymizer(f.keyFile); err != nil {
		return cfg, err
	}
	cfg.Brokers = f.kafka.brokers
	cfg.Group = f.topics.group
	cfg.EventsTopic, cfg.DirectoryTopic, cfg.ConsentTopic, cfg.DLQTopic = f.topics.events, f.topics.directory, f.topics.consent, f.topics.dlq
	cfg.BatchRows, cfg.BatchBytes, cfg.BatchInterval, cfg.Workers, cfg.Inserts = f.batchRows, f.batchBytes, f.batchIvl, f.workers, f.inserts
	cfg.Limits.MaxBytes = f.maxBytes
	cfg.Limits.Pseudonym = f.pattern.re
	cfg.DLQRetention = f.dlqRetain
	cfg.StallTimeout = f.stall
	cfg.ShutdownTimeout = f.shutdown
	cfg.CreateTopics = f.create
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
	chCfg, err := f.ch.config()
	if err != nil {
		return err
	}
	return serveIngest(ctx, f, chCfg, log, nil)
}

// serveIngest runs ingest with its HTTP endpoint until ctx ends. onReady, if
// set, receives the worker once it runs (the demo uses it for its summary).
func serveIngest(ctx context.Context, f ingestFlags, chCfg store.Config, log *slog.Logger, onStart func(*ingest.Ingest, string)) error {
	cfg, err := f.config(log)
	if err != nil {
		return err
	}
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
