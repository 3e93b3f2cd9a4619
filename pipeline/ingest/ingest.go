// Package ingest is the streaming runtime of `commpulse ingest`:
//
//	fetch (kafka-go group reader) -> batch -> decode, privacy gate, score
//	(parallel) -> DLQ + ClickHouse insert (retried) -> commit offsets
//
// Three goroutines form a pipeline joined by small bounded channels, so that
// Kafka fetching, scoring and ClickHouse writes overlap, and so that a slow
// or absent ClickHouse stops fetching instead of growing memory: the sink
// retries its batch forever, the batcher blocks on the full batch channel,
// the fetcher blocks on the full message channel, and kafka-go stops
// fetching when its own queue is full.
//
// Offsets are committed only after ClickHouse acknowledged a batch (and the
// DLQ acknowledged its rejects), so a crash anywhere redelivers, never
// loses. Redeliveries are collapsed in ClickHouse by event_id.
//
// The files follow the jobs: ingest.go (the worker and its lifecycle:
// starting, running, stopping), batch.go (cutting and processing batches:
// decode, gate, score), sink.go (DLQ and ClickHouse writes, retried),
// commit.go (offsets), erase.go (the directory and consent tables and the
// erasures they trigger), reader.go and watchdog.go (the group reader and
// the stall watchdog that rebuilds it), table.go (following a compacted
// topic), kafka.go (topics, offsets, lag). core_test.go tests the pipeline
// against fakes, without servers; the other tests run on real ones.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"commpulse/internal/backoff"
	"commpulse/nlp"
	"commpulse/pipeline/event"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

// Scorer scores one message text. *nlp.Analyzer implements it.
type Scorer interface {
	Score(text string) nlp.Score
}

// Sink is where accepted rows go. *store.Store implements it.
type Sink interface {
	InsertMessages(ctx context.Context, rows []store.Message) error
	ErasePersons(ctx context.Context, persons []string) error
	Erased(ctx context.Context, persons []string) (map[string]bool, error)
	Ping(ctx context.Context) error
}

// Ingest is one ingest worker. Run it once.
type Ingest struct {
	cfg    Config
	sink   Sink
	scorer Scorer
	gate   *privacy.Gate
	m      *metrics.Ingest
	log    *slog.Logger
	// dlqKey hashes the record keys and event ids of DLQ records: the
	// configured Pseudonymizer, or a random per-process one.
	dlqKey *privacy.Pseudonymizer

	tablesReady atomic.Bool
	kafkaOK     atomic.Bool
	sinkOK      atomic.Bool

	eraseMu sync.Mutex
	erase   map[string]struct{} // opted out, not yet erased

	consumed, written, dropped, deadLettered atomic.Int64

	// reader is the events consumer, rebuilt by the stall watchdog
	// (stalls) when an assigned partition stops delivering; fetchBlocked
	// is the time (ns) the fetch goroutine waited for the pipeline.
	reader       *groupReader
	stalls       *stallWatch
	fetchBlocked atomic.Int64
	dlq          *kafka.Writer

	// tables follows the directory and consent topics from starting to
	// stopping; tablesCtx ends when a follower fails or stopTables is called.
	tables     *errgroup.Group
	tablesCtx  context.Context
	stopTables context.CancelFunc
	// dirProgress and consentProgress are how far the followers applied
	// their topics (awaitTables); tableClient lists the topics' ends.
	dirProgress, consentProgress *tableProgress
	tableClient                  *kafka.Client

	// now is the clock; tests may replace it.
	now func() time.Time
}

// New validates cfg and returns a worker. Metrics are registered on reg.
func New(cfg Config, sink Sink, scorer Scorer, reg prometheus.Registerer) (*Ingest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest config: %w", err)
	}
	if sink == nil || scorer == nil {
		return nil, errors.New("ingest: sink and scorer are required")
	}
	in := &Ingest{
		cfg: cfg, sink: sink, scorer: scorer, gate: privacy.NewGate(),
		m: metrics.NewIngest(reg), log: cfg.Logger, erase: map[string]struct{}{}, now: time.Now,
		dlqKey: cfg.Pseudonymizer,
	}
	if in.dlqKey == nil {
		var err error
		if in.dlqKey, err = privacy.NewRandomPseudonymizer(); err != nil {
			return nil, fmt.Errorf("ingest: DLQ key: %w", err)
		}
		in.log.Info("no pseudonym key configured: DLQ record keys are hashed with a random per-process key and cannot be linked across restarts")
	}
	for _, r := range event.Reasons {
		in.m.DLQ.WithLabelValues(string(r))
	}
	for _, r := range privacy.DropReasons {
		in.m.Dropped.WithLabelValues(string(r))
	}
	in.m.SinkRows.WithLabelValues("messages")
	in.m.SinkErrors.WithLabelValues("messages")
	for _, st := range []nlp.Status{nlp.NoText, nlp.NotEnglish, nlp.NoSignal} {
		in.m.Unscored.WithLabelValues(st.String())
	}
	return in, nil
}

// Counts are running totals of one worker, for progress displays. The
// Prometheus metrics carry the same numbers for monitoring.
type Counts struct {
	Consumed     int64 // records fetched
	Written      int64 // rows acknowledged by ClickHouse
	Dropped      int64 // valid events not processed (consent)
	DeadLettered int64 // malformed events written to the DLQ
}

// Handled is the number of records finished with, one way or another.
func (c Counts) Handled() int64 { return c.Written + c.Dropped + c.DeadLettered }

// Counts returns the running totals.
func (in *Ingest) Counts() Counts {
	return Counts{in.consumed.Load(), in.written.Load(), in.dropped.Load(), in.deadLettered.Load()}
}

// Gate exposes the privacy state (for tests and the demo summary).
func (in *Ingest) Gate() *privacy.Gate { return in.gate }

// Ready returns nil when the worker is caught up on the directory and
// consent tables and both Kafka and ClickHouse answer; otherwise the reason.
func (in *Ingest) Ready() error {
	switch {
	case !in.tablesReady.Load():
		return errors.New("loading directory and consent")
	case !in.kafkaOK.Load():
		return errors.New("kafka unreachable")
	case !in.sinkOK.Load():
		return errors.New("clickhouse unreachable")
	}
	return nil
}

func (in *Ingest) setReady() {
	v := 0.0
	if in.Ready() == nil {
		v = 1
	}
	in.m.Ready.Set(v)
}

// Run is the worker's whole life, in the three phases of dskit's
// services.BasicService: starting (topics, the privacy tables, pending
// erasures, the Kafka reader and DLQ writer), running (consume until ctx is
// cancelled, then drain: the batch in progress is written and committed
// within ShutdownTimeout), and stopping (leave the group, close the
// writers). It returns nil after a clean drain, and nil when ctx ends
// before the worker started.
func (in *Ingest) Run(ctx context.Context) error {
	if err := in.starting(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	err := in.running(ctx)
	in.stopping()
	return err
}

// starting prepares everything running needs. Nothing is consumed before
// the consent table is complete, or an opted-out person's events would slip
// through.
func (in *Ingest) starting(ctx context.Context) error {
	cfg := in.cfg
	if cfg.CreateTopics {
		// Kafka may come up after us (compose, Kubernetes): retry.
		for attempt := 0; ; attempt++ {
			err := ensureTopics(ctx, cfg)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d := backoff.New(time.Second, 15*time.Second).Delay(attempt)
			in.log.Warn("kafka not reachable to create topics, retrying", "in", d, "err", err)
			if !backoff.Sleep(ctx, d) {
				return ctx.Err()
			}
		}
	}
	in.sinkOK.Store(in.sink.Ping(ctx) == nil)

	var tctx context.Context
	in.dirProgress, in.consentProgress = newTableProgress(cfg.DirectoryTopic), newTableProgress(cfg.ConsentTopic)
	in.tableClient = cfg.Client()
	tctx, in.stopTables = context.WithCancel(ctx)
	in.tables, in.tablesCtx = errgroup.WithContext(tctx)
	dirReady, consentReady := make(chan struct{}), make(chan struct{})
	in.tables.Go(func() error {
		return followTable(in.tablesCtx, cfg, cfg.DirectoryTopic, in.log, in.applyDirectory, dirReady, in.dirProgress)
	})
	in.tables.Go(func() error {
		return followTable(in.tablesCtx, cfg, cfg.ConsentTopic, in.log, in.applyConsent, consentReady, in.consentProgress)
	})
	start := time.Now()
	for _, ch := range []chan struct{}{dirReady, consentReady} {
		select {
		case <-ch:
		case <-in.tablesCtx.Done():
			err := in.tables.Wait()
			in.stopTables()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("load directory and consent: %w", err)
		}
	}
	people, out := in.gate.Sizes()
	in.log.Info("directory and consent loaded", "people", people, "opted_out", out, "took", time.Since(start).Round(time.Millisecond))
	in.tablesReady.Store(true)
	in.kafkaOK.Store(true)
	in.setReady()
	if err := in.reapplyErasures(ctx); err != nil {
		in.log.Warn("re-applying erasures failed, will retry with the next batch", "err", err)
	}

	in.reader = newGroupReader(clientIDPrefix, closeReaderWait, in.log, func(clientID string) *kafka.Reader {
		return cfg.eventsReader(clientID, in.log)
	})
	in.stalls = newStallWatch(cfg.StallTimeout)
	in.dlq = cfg.Writer(cfg.DLQTopic)
	in.dlq.BatchTimeout = 5 * time.Millisecond
	// Without CreateTopics the operator owns the topics: the broker must
	// not create a DLQ without retention behind their back.
	in.dlq.AllowAutoTopicCreation = cfg.CreateTopics
	return nil
}

// running consumes and drains (see serve), alongside two watchers: a failed
// directory or consent follower stops ingest (judging events by a stale
// consent table is not acceptable), and the lag poller feeds the health
// state and the stall watchdog.
func (in *Ingest) running(ctx context.Context) error {
	watchTables := func(gctx context.Context) error {
		select {
		case <-in.tablesCtx.Done():
			if ctx.Err() == nil {
				return fmt.Errorf("follow directory and consent: %w", in.tables.Wait())
			}
		case <-gctx.Done():
		}
		return nil
	}
	pollLag := func(gctx context.Context) error {
		cl := in.cfg.Client()
		t := time.NewTicker(in.cfg.LagInterval)
		defer t.Stop()
		for {
			ends, committed, err := in.pollLag(gctx, cl)
			in.kafkaOK.Store(err == nil)
			if err == nil {
				in.watch(gctx, cl, ends, committed)
			}
			if !in.sinkOK.Load() {
				in.sinkOK.Store(in.sink.Ping(gctx) == nil)
			}
			in.setReady()
			select {
			case <-ctx.Done():
				return nil
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
	return in.serve(ctx, in.reader, in.dlq, watchTables, pollLag)
}

// fetchBuffer caps the records buffered between fetch and batcher.
const fetchBuffer = 10_000

// source is where records come from and where their offsets go back:
// *groupReader implements it.
type source interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	committer
}

// serve is the pipeline: fetch -> batch and process -> write and commit,
// three goroutines joined by bounded channels, plus the extra goroutines
// given (all stop when the first fails). When ctx ends, fetching stops and
// the rest drains on a context that outlives ctx by ShutdownTimeout, so the
// batch in progress is written and committed; past the timeout it is
// abandoned uncommitted, to be redelivered.
func (in *Ingest) serve(ctx context.Context, src source, dlq dlqWriter, extra ...func(context.Context) error) error {
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopTimer := context.AfterFunc(ctx, func() {
		time.AfterFunc(in.cfg.ShutdownTimeout, cancelDrain)
	})
	defer stopTimer()

	// The fetch buffer decouples fetching from batching; it need not hold
	// a whole batch (the batcher keeps up with it between batches).
	msgs := make(chan kafka.Message, min(in.cfg.BatchRows, fetchBuffer))
	batches := make(chan *batch, 1)
	g, gctx := errgroup.WithContext(drainCtx)
	g.Go(func() error {
		defer close(msgs)
		return in.fetchLoop(ctx, gctx, src, msgs)
	})
	g.Go(func() error {
		defer close(batches)
		return in.batchLoop(gctx, msgs, batches)
	})
	g.Go(func() error { return in.sinkLoop(gctx, batches, src, dlq) })
	for _, f := range extra {
		g.Go(func() error { return f(gctx) })
	}
	err := g.Wait()
	if drainCtx.Err() != nil && err == nil {
		in.log.Warn("shutdown timeout reached before the last batch was written; it will be redelivered")
	}
	return err
}

// fetchLoop fetches until ctx ends. The time it waits for a full pipeline
// is backpressure, which the stall watchdog does not count as a stall.
func (in *Ingest) fetchLoop(ctx, gctx context.Context, src source, msgs chan<- kafka.Message) error {
	for {
		m, err := src.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch from %s: %w", in.cfg.EventsTopic, err)
		}
		in.m.Consumed.Inc()
		in.consumed.Add(1)
		select {
		case msgs <- m:
			continue
		default:
		}
		blockedAt := time.Now()
		select {
		case msgs <- m:
		case <-gctx.Done():
			return nil
		}
		in.fetchBlocked.Add(int64(time.Since(blockedAt)))
	}
}

// stopping leaves the group (kafka-go sends LeaveGroup on Close, so the
// partitions are reassigned at once instead of after the session timeout),
// closes the DLQ writer and stops the table followers.
func (in *Ingest) stopping() {
	if err := in.reader.Close(); err != nil {
		in.log.Warn("close reader", "err", err)
	}
	if err := in.dlq.Close(); err != nil {
		in.log.Warn("close dlq writer", "err", err)
	}
	in.stopTables()
	_ = in.tables.Wait()
	in.tablesReady.Store(false)
	in.setReady()
}
