// up runs on the embedded stack (cmd_stack.go) and shares its build tag:
// the image, built with -tags nodemo, has no up.

//go:build !nodemo

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/store"
)

func init() {
	register(command{name: "up", summary: "embedded Kafka and ClickHouse with ingest, analyze and /metrics, no generated traffic, until Ctrl-C: where imports of your own data go", run: runUp})
}

// upFlags are the flags of `commpulse up`: the stack's, analyze's and the
// pseudonym key's.
type upFlags struct {
	stackFlags
	analyze analyze.Config
	keyFile string
}

func (f *upFlags) bind(fs *flag.FlagSet) {
	f.stackFlags.bind(fs, "up")
	f.analyze = analyze.Defaults()
	f.analyze.RegisterFlags(fs)
	fs.StringVar(&f.keyFile, "pseudonym-key-file", "", "secret key (>= 32 bytes) of the person ids: ingest re-keys with it, and the import command printed at start uses it (empty: DATA-DIR/"+upKeyName+", created on first start)")
}

// The key files up creates in its data dir: the pseudonym key, and the
// noise key of the publication layer. The noise key must outlive the
// process: a window released again after a restart under a new key would
// carry independent noise at the same generation, and averaging the two
// releases would halve the noise the budget promises.
const (
	upKeyName      = "pseudonym.key"
	upNoiseKeyName = "noise.key"
)

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("up", stderr)
	var f upFlags
	f.bind(fs)
	log, err := f.parse(fs, args, stderr)
	if err != nil {
		return err
	}
	acfg, err := analyzeConfig(f.analyze)
	if err != nil {
		return err
	}
	acfg.Logger = log
	keyFile, created, err := upKeyFile(f.dataDir, f.keyFile, upKeyName)
	if err != nil {
		return err
	}
	ps, err := loadPseudonymizer(keyFile)
	if err != nil {
		return err
	}
	if acfg.Privacy.Key == nil { // no --noise-key-file
		noiseFile, _, err := upKeyFile(f.dataDir, "", upNoiseKeyName)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(noiseFile)
		if err != nil {
			return fmt.Errorf("noise key: %w", err)
		}
		// Trimmed as --noise-key-file is: the same file, the same key.
		acfg.Privacy.Key = []byte(strings.TrimSpace(string(b)))
	}

	s, err := startStack(ctx, "up", f.stackFlags, stdout, log)
	if err != nil {
		return err
	}
	defer s.Close()
	reg := metrics.NewRegistry()
	inCfg := s.ingestConfig()
	inCfg.Pseudonymizer = ps
	err = s.serve(ctx, inCfg, reg, func(gctx context.Context, g *errgroup.Group, in *ingest.Ingest) {
		how := "kept: the same key gives the same ids"
		if created {
			how = "created; keep it: the same key gives the same ids"
		}
		s.say("key:        %s (%s; ingest re-keys with it)", keyFile, how)
		s.say("sql:        curl http://%s/ --data-binary 'SELECT count() FROM %s.messages FINAL'", s.srv.HTTPAddr(), s.ch.Database)
		s.say("analyze:    every %s while ingest is idle", acfg.Tick)
		s.say("")
		s.say("ready: nothing is generated. Import your own data in another terminal, e.g. a Slack export")
		s.say("(your company's mail domain for %s; 'import mail' and 'import graph' take the same flags):", upDomainHint)
		s.say("  commpulse import slack --brokers %s --pseudonym-key-file %s --domain %s %s",
			strings.Join(s.brokers, ","), shellQuote(keyFile), upDomainHint, upExportHint)
		s.say("Ctrl-C stops: ingest drains and commits first.")
		g.Go(func() error { return upAnalyze(gctx, s, acfg, reg, in, log) })
		g.Go(func() error { return upProgress(gctx, s, in) })
	})
	s.say("up stopped")
	return err
}

// The placeholders of the import command up prints.
const (
	upDomainHint = "your-company.com"
	upExportHint = "export.zip"
)

// upKeyFile returns a key file: the one given, or the data dir's file
// name, created on first start with 32 random bytes written as 64 hex
// digits (mode 0600; text, so that a key file read with surrounding space
// trimmed, as --noise-key-file is, keeps every byte).
func upKeyFile(dataDir, given, name string) (path string, created bool, err error) {
	// Absolute: the import command printed with it runs elsewhere.
	if given != "" {
		path, err = filepath.Abs(given)
		return path, false, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", false, fmt.Errorf("data dir: %w", err)
	}
	if path, err = filepath.Abs(filepath.Join(dataDir, name)); err != nil {
		return "", false, err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return path, false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	_, err = fh.WriteString(hex.EncodeToString(key))
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	return path, true, nil
}

// upAnalyze runs the analyzer on the stack: a pass whenever ingest is
// idle (analyzeWhenIdle).
func upAnalyze(ctx context.Context, s *embeddedStack, cfg analyze.Config, reg prometheus.Registerer, in *ingest.Ingest, log *slog.Logger) error {
	st, err := store.Open(s.ch)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := analyze.New(cfg, st, nil, reg)
	if err != nil {
		return err
	}
	analyzeWhenIdle(ctx, cfg.Tick, in.Counts, a.Step, func(n int, err error) {
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("analyze pass failed; retrying on the next tick", "err", err)
		case n > 0:
			s.say("analyze:    %d windows done", n)
		}
	})
	return nil
}

// analyzeWhenIdle calls step (an analyzer pass) at every tick at which
// ingest is idle: it took nothing since the previous tick and has nothing
// in flight; report receives each pass's result. It returns when ctx ends.
// A window is closed by the clock, and an import of old messages lands in
// windows closed long ago: a pass in the middle of an import would publish
// them half full, and a done window is not revisited (docs/analyze.md).
func analyzeWhenIdle(ctx context.Context, tick time.Duration, counts func() ingest.Counts, step func(context.Context) (int, error), report func(int, error)) {
	t := time.NewTicker(tick)
	defer t.Stop()
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil {
			return // both were ready and select took the tick: no pass after the end
		}
		c := counts()
		idle := c.Consumed == last && c.Handled() >= c.Consumed
		last = c.Consumed
		if idle {
			n, err := step(ctx)
			report(n, err)
		}
	}
}

// upProgress prints ingest's totals whenever they changed, every two
// seconds at most.
func upProgress(ctx context.Context, s *embeddedStack, in *ingest.Ingest) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var last ingest.Counts
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if c := in.Counts(); c != last {
			s.say("ingest:     %s (since start)", countsLine(c))
			last = c
		}
	}
}

// shellQuote quotes p for a POSIX shell when it needs it.
func shellQuote(p string) string {
	if p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,@+-") == "" {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
