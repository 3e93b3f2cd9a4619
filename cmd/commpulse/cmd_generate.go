package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/synth"
	"commpulse/pipeline/kafkaconn"
)

func init() {
	register(command{
		name:    "generate",
		summary: "produce a synthetic organisation's directory, consents and events to Kafka",
		run:     runGenerate,
	})
}

// generateFlags are the flags of `commpulse generate`: the Kafka
// connection's, the topics, and the generator's.
type generateFlags struct {
	kafka  kafkaconn.Config
	topics synth.Topics
	cfg    synth.Config
	start  string
	rate   float64
	scen   string
	truth  string
}

func (f *generateFlags) bind(fs *flag.FlagSet) {
	f.kafka = kafkaconn.Defaults()
	f.kafka.RegisterFlags(fs)
	f.topics = synth.DefaultTopics
	f.topics.RegisterFlags(fs)
	fs.StringVar(&f.topics.Events, "topic", f.topics.Events, "topic of communication events (alias of --events-topic)")
	fs.Int64Var(&f.cfg.Seed, "seed", 1, "random seed; the same flags give the same records")
	fs.IntVar(&f.cfg.Teams, "teams", 8, "number of teams (team-1 .. team-N)")
	fs.IntVar(&f.cfg.Days, "days", 28, "days of traffic to generate")
	fs.StringVar(&f.start, "start", synth.DefaultStart.Format("2006-01-02"), "first day generated (UTC date or RFC 3339)")
	fs.IntVar(&f.cfg.Limit, "count", 0, "stop after this many events (0 = all events of --days)")
	fs.Float64Var(&f.rate, "rate", 0, "events per second (0 = as fast as possible)")
	fs.Float64Var(&f.cfg.MalformedRate, "malformed-rate", 0, "share of events that break the contract (they must end in the DLQ)")
	fs.Float64Var(&f.cfg.NotOptedInRate, "not-opted-in-rate", 0, "share of events with consent=false (they must be dropped)")
	fs.StringVar(&f.scen, "scenarios", "", synth.ScenarioSpecHelp)
	fs.StringVar(&f.truth, "truth", "", "write the ground truth of the planted scenarios as JSON to this file")
}

// config returns the generator Config of the flags.
func (f *generateFlags) config() (synth.Config, error) {
	cfg := f.cfg
	var err error
	if cfg.Scenarios, err = synth.ParseScenarios(f.scen); err != nil {
		return cfg, usageError{err}
	}
	if cfg.Start, err = parseDay(f.start); err != nil {
		return cfg, usageError{fmt.Errorf("start: %w", err)}
	}
	if f.rate < 0 {
		return cfg, usageError{errors.New("rate must be >= 0")}
	}
	if cfg.Days < 1 || cfg.Teams < 1 || cfg.Limit < 0 {
		return cfg, usageError{fmt.Errorf("teams (%d) and days (%d) must be >= 1, count (%d) >= 0", cfg.Teams, cfg.Days, cfg.Limit)}
	}
	if err := cfg.Defaults().Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f generateFlags
	fs := newFlagSet("generate", stderr)
	f.bind(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	org, err := synth.New(cfg)
	if err != nil {
		return usageError{err}
	}
	if f.truth != "" {
		if err := writeTruth(f.truth, org.Truth()); err != nil {
			return err
		}
	}
	if err := f.kafka.Validate(); err != nil {
		return usageError{err}
	}
	opts := synth.ProduceOptions{
		Topics:        f.topics,
		Rate:          f.rate,
		ProgressEvery: 3 * time.Second,
		Progress: func(s synth.Stats) {
			fmt.Fprintf(stderr, "generate: %d events sent, %.0f events/s\n", s.Events, s.EventRate())
		},
	}
	st, err := produceToKafka(ctx, f.kafka, org, opts)
	if err != nil {
		return fmt.Errorf("produce to %v: %w (sent so far: %s)", f.kafka.Brokers, err, st)
	}
	fmt.Fprintf(stdout, "generate: %s\n", st)
	return nil
}

func writeTruth(path string, t synth.Truth) error {
	b, err := synth.MarshalTruth(t)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// produceToKafka writes org (directory, consents, then events) to Kafka with
// a writer of conn tuned for bulk loads. It is shared by generate and demo.
//
// kafka-go's synchronous WriteMessages waits for its batches to be
// acknowledged, so throughput comes from large calls (synth.Produce writes
// chunks of 5000) split into batches of bulkBatch with the writer's short
// BatchTimeout (kafkaconn.Config.Writer).
func produceToKafka(ctx context.Context, conn kafkaconn.Config, org *synth.Org, opts synth.ProduceOptions) (synth.Stats, error) {
	w := conn.Writer("")
	w.BatchSize = bulkBatch
	st, err := synth.Produce(ctx, kafkaRecordWriter{w}, org, opts)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close kafka writer: %w", cerr)
	}
	return st, err
}

// bulkBatch is the writer batch of bulk loads (generate, demo, import).
const bulkBatch = 1000

// kafkaRecordWriter adapts a *kafka.Writer to synth.Writer.
type kafkaRecordWriter struct{ w *kafka.Writer }

func (k kafkaRecordWriter) WriteRecords(ctx context.Context, recs []synth.Record) error {
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Topic: r.Topic, Key: r.Key, Value: r.Value}
	}
	return k.w.WriteMessages(ctx, msgs...)
}
