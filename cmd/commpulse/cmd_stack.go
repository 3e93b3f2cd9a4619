// The embedded stack of demo and up: an in-process Kafka broker (kfake) and
// a ClickHouse engine (libchdb through purego, whose dynamic imports make
// the binary dynamically linked), with ingest and /metrics on them. The
// image is built with -tags nodemo, which leaves this file out with demo
// and up.

//go:build !nodemo

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"golang.org/x/sync/errgroup"

	"commpulse/internal/chlocal"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/store"
)

// stackFlags are the flags of the embedded stack.
type stackFlags struct {
	dataDir   string
	kafkaPort int
	chPort    int
	httpAddr  string
	ttlDays   int
	log       logFlags
}

// defaultDataDir is where the stack of command name keeps its data unless
// --data-dir says otherwise: demo and up each have their own, so that
// generated traffic never mixes with real data.
func defaultDataDir(name string) string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "commpulse", name)
	}
	return "commpulse-" + name + "-data"
}

func (f *stackFlags) bind(fs *flag.FlagSet, name string) {
	fs.StringVar(&f.dataDir, "data-dir", defaultDataDir(name), "where the embedded Kafka and ClickHouse keep their data (kept between runs)")
	fs.IntVar(&f.kafkaPort, "kafka-port", 9092, "port of the embedded Kafka broker (0: any free port)")
	fs.IntVar(&f.chPort, "ch-port", 9000, "port of the embedded ClickHouse native protocol (0: any free port)")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:9100", "address of /metrics, /healthz, /readyz")
	fs.IntVar(&f.ttlDays, "retention-days", store.DefaultTTLDays, "retention of person-level rows, in days, set when the tables are created (older messages are deleted)")
	f.log.bind(fs)
}

// parse parses the flags of a command on the stack (fs has f bound) and
// returns its logger. It refuses what the stack would read as a default
// or refuse only once started.
func (f *stackFlags) parse(fs *flag.FlagSet, args []string, stderr io.Writer) (*slog.Logger, error) {
	log, err := parseWithLogger(fs, args, &f.log, stderr)
	if err == nil && f.ttlDays < 1 {
		err = usageError{fmt.Errorf("retention-days %d: must be >= 1", f.ttlDays)}
	}
	return log, err
}

// embeddedStack is a running embedded Kafka broker and ClickHouse server.
type embeddedStack struct {
	name     string
	brokers  []string
	ch       store.Config
	srv      *chlocal.Server
	kc       *kfake.Cluster
	httpAddr string
	log      *slog.Logger
	out      io.Writer
}

// startStack starts Kafka and ClickHouse in f.dataDir (f parsed) and
// prints their addresses; Close stops them.
func startStack(ctx context.Context, name string, f stackFlags, stdout io.Writer, log *slog.Logger) (*embeddedStack, error) {
	// 0700: the broker's log under it holds the events, text included,
	// until their retention (stackEventsRetention) runs out.
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.Chmod(f.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &embeddedStack{name: name, httpAddr: f.httpAddr, log: log, out: stdout}
	s.say("commpulse %s: data in %s", name, f.dataDir)

	// Kafka: an in-process Kafka-protocol broker that keeps its log on disk.
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DataDir(filepath.Join(f.dataDir, "kafka"))}
	if f.kafkaPort != 0 {
		kopts = append(kopts, kfake.Ports(f.kafkaPort))
	}
	var err error
	if s.kc, err = kfake.NewCluster(kopts...); err != nil {
		return nil, fmt.Errorf("start embedded kafka (port %d busy? try --kafka-port 0): %w", f.kafkaPort, err)
	}
	s.brokers = s.kc.ListenAddrs()
	s.say("kafka:      %s (embedded kfake broker)", strings.Join(s.brokers, ","))

	// ClickHouse: a real server from libchdb.so, fetched on first use.
	// AutoRestart: the engine can abort on client faults its proxy cannot
	// hide, and the stack serves until Ctrl-C.
	s.srv, err = chlocal.Start(ctx, chlocal.Config{
		DataDir: filepath.Join(f.dataDir, "clickhouse"), TCPPort: f.chPort, Progress: stdout, AutoRestart: true,
	})
	if err != nil {
		s.kc.Close()
		return nil, fmt.Errorf("start embedded clickhouse: %w", err)
	}
	s.say("clickhouse: %s (native), http://%s (embedded server, ClickHouse %s)", s.srv.Addr(), s.srv.HTTPAddr(), chlocal.LibVersion)
	s.ch = store.Config{Addr: []string{s.srv.Addr()}, Database: store.DefaultDatabase, TTLDays: f.ttlDays}
	if err := s.ch.Validate(); err != nil {
		s.Close()
		return nil, usageError{err}
	}
	return s, nil
}

func (s *embeddedStack) say(format string, a ...any) { fmt.Fprintf(s.out, format+"\n", a...) }

// Close stops ClickHouse (cleanly, within 30 s) and Kafka.
func (s *embeddedStack) Close() {
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.srv.Stop(sctx); err != nil {
		s.log.Warn("stop clickhouse", "err", err)
	}
	s.kc.Close()
}

// ingestConfig is the configuration of the stack's ingest.
func (s *embeddedStack) ingestConfig() ingest.Config {
	cfg := ingest.Defaults()
	cfg.Brokers = s.brokers
	cfg.BatchInterval = 500 * time.Millisecond
	cfg.EventsRetention = stackEventsRetention
	cfg.Logger = s.log
	return cfg
}

// stackEventsRetention is the retention of the embedded broker's events
// topic: long enough for ingest to take a large import while the stack
// runs, short enough that the text of imported messages does not stay on
// disk for the broker's default week. The embedded broker trims hourly,
// while it runs.
const stackEventsRetention = 6 * time.Hour

// errStackDone, returned by a task of serve, ends the run as Ctrl-C does,
// without an error.
var errStackDone = errors.New("done")

// serve runs ingest on the stack, applying the migrations first, with its
// /metrics on reg (nil: ingest's own registry), until ctx ends or a task
// fails. Once ingest runs, tasks starts the command's work in g; when ctx
// ends, ingest drains, commits and leaves the group.
func (s *embeddedStack) serve(ctx context.Context, cfg ingest.Config, reg *prometheus.Registry, tasks func(ctx context.Context, g *errgroup.Group, in *ingest.Ingest)) error {
	g, gctx := errgroup.WithContext(ctx)
	started := make(chan *ingest.Ingest, 1)
	g.Go(func() error {
		return serveIngest(gctx, cfg, s.ch, ingestServe{httpAddr: s.httpAddr, migrate: true, reg: reg}, s.log, func(in *ingest.Ingest, addr string) {
			s.say("metrics:    http://%s/metrics  (also /healthz, /readyz)", addr)
			started <- in
		})
	})
	select {
	case in := <-started:
		tasks(gctx, g, in)
	case <-gctx.Done():
	}
	err := g.Wait()
	if errors.Is(err, errStackDone) {
		err = nil
	}
	return err
}

// countsLine is ingest's running totals, as progress lines print them.
func countsLine(c ingest.Counts) string {
	return fmt.Sprintf("consumed %d, written %d, dropped %d, dlq %d", c.Consumed, c.Written, c.Dropped, c.DeadLettered)
}
