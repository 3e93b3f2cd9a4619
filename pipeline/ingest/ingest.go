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
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"commpulse/nlp"
	"commpulse/pipeline/event"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/security"
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
	dlqKey *security.Pseudonymizer

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

	// now is the clock; tests may replace it.
	now func() time.Time
}

// New validates cfg and returns a worker. Metrics are registered on reg.
func New(cfg Config, sink Sink, scorer Scorer, reg prometheus.Registerer) (*Ingest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest config: %w", err)
	}
	cfg = cfg.withDefaults()
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
		if in.dlqKey, err = security.NewRandomPseudonymizer(); err != nil {
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

// committer commits offsets; *groupReader implements it.
type committer interface {
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// batch is a set of fetched records and what became of them.
type batch struct {
	msgs  []kafka.Message
	rows  []store.Message
	dlq   []deadLetter
	drops map[privacy.DropReason]int
	gen   uint64 // gate generation the rows were admitted under
}

// deadLetter is a DLQ record and its reason (the metric label).
type deadLetter struct {
	msg    kafka.Message
	reason event.Reason
}

// Run consumes until ctx is cancelled, then drains: the batch in progress is
// written and committed (within ShutdownTimeout) and the group is left.
// It returns nil after a clean drain.
func (in *Ingest) Run(ctx context.Context) error {
	cfg := in.cfg
	if cfg.CreateTopics {
		// Kafka may come up after us (compose, Kubernetes): retry.
		for attempt := 0; ; attempt++ {
			err := ensureTopics(ctx, cfg)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			d := backoff(attempt, time.Second, 15*time.Second)
			in.log.Warn("kafka not reachable to create topics, retrying", "in", d, "err", err)
			if !sleep(ctx, d) {
				return nil
			}
		}
	}
	in.sinkOK.Store(in.sink.Ping(ctx) == nil)

	// Tables first: no event may be judged before the consent table is
	// complete, or an opted-out person's events would slip through.
	tables, tablesCtx := errgroup.WithContext(ctx)
	dirReady, consentReady := make(chan struct{}), make(chan struct{})
	tables.Go(func() error {
		return followTable(tablesCtx, cfg, cfg.DirectoryTopic, in.log, in.applyDirectory, dirReady)
	})
	tables.Go(func() error {
		return followTable(tablesCtx, cfg, cfg.ConsentTopic, in.log, in.applyConsent, consentReady)
	})
	start := time.Now()
	for _, ch := range []chan struct{}{dirReady, consentReady} {
		select {
		case <-ch:
		case <-tablesCtx.Done():
			err := tables.Wait()
			if ctx.Err() != nil {
				return nil
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
	reader := in.reader
	dlq := &kafka.Writer{
		Addr: kafka.TCP(cfg.Brokers...), Topic: cfg.DLQTopic, Transport: cfg.transport(),
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond,
		// Without CreateTopics the operator owns the topics: the broker
		// must not create a DLQ without retention behind their back.
		AllowAutoTopicCreation: cfg.CreateTopics,
	}

	// drainCtx outlives ctx by ShutdownTimeout so the last batch can land.
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopTimer := context.AfterFunc(ctx, func() {
		time.AfterFunc(cfg.ShutdownTimeout, cancelDrain)
	})
	defer stopTimer()

	msgs := make(chan kafka.Message, cfg.BatchRows)
	batches := make(chan *batch, 1)
	g, gctx := errgroup.WithContext(drainCtx)
	g.Go(func() error { // fetch
		defer close(msgs)
		for {
			m, err := reader.FetchMessage(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("fetch from %s: %w", cfg.EventsTopic, err)
			}
			in.m.Consumed.Inc()
			in.consumed.Add(1)
			select {
			case msgs <- m:
				continue
			default:
			}
			// The pipeline is full: the time spent here is backpressure,
			// which the stall watchdog does not count as a stall.
			blockedAt := time.Now()
			select {
			case msgs <- m:
			case <-gctx.Done():
				return nil
			}
			in.fetchBlocked.Add(int64(time.Since(blockedAt)))
		}
	})
	g.Go(func() error { // batch + process
		defer close(batches)
		return in.batchLoop(gctx, msgs, batches)
	})
	g.Go(func() error { // write + commit
		return in.sinkLoop(gctx, batches, reader, dlq)
	})
	g.Go(func() error { // a failed directory or consent follower stops ingest:
		// judging events by a stale consent table is not acceptable.
		select {
		case <-tablesCtx.Done():
			if ctx.Err() == nil {
				return fmt.Errorf("follow directory and consent: %w", tables.Wait())
			}
		case <-gctx.Done():
		}
		return nil
	})
	g.Go(func() error { // lag and health
		cl := cfg.client()
		t := time.NewTicker(cfg.LagInterval)
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
	})
	err := g.Wait()
	drainExpired := drainCtx.Err() != nil
	// Leave the group (kafka-go sends LeaveGroup on Close) so partitions are
	// reassigned at once instead of after the session timeout.
	if cerr := reader.Close(); cerr != nil && err == nil {
		in.log.Warn("close reader", "err", cerr)
	}
	if cerr := dlq.Close(); cerr != nil {
		in.log.Warn("close dlq writer", "err", cerr)
	}
	cancelDrain()
	_ = tables.Wait()
	in.tablesReady.Store(false)
	in.setReady()
	if err != nil {
		return err
	}
	if drainExpired {
		in.log.Warn("shutdown timeout reached before the last batch was written; it will be redelivered")
	}
	return nil
}

func (in *Ingest) applyDirectory(key, value []byte) {
	person := string(key)
	if value == nil {
		in.gate.ApplyDirectory(person, nil)
	} else {
		var d event.Directory
		if err := json.Unmarshal(value, &d); err != nil || d.Person == "" || d.Team == "" {
			in.log.Warn("skipping malformed directory record", "err", err)
			return
		}
		in.gate.ApplyDirectory(d.Person, &d)
	}
	people, _ := in.gate.Sizes()
	in.m.DirectorySize.Set(float64(people))
}

func (in *Ingest) applyConsent(key, value []byte) {
	person := string(key)
	var c *event.Consent
	if value != nil {
		c = new(event.Consent)
		if err := json.Unmarshal(value, c); err != nil || c.Person == "" {
			in.log.Warn("skipping malformed consent record", "err", err)
			return
		}
		person = c.Person
	}
	if in.gate.ApplyConsent(person, c) {
		in.eraseMu.Lock()
		in.erase[person] = struct{}{}
		in.eraseMu.Unlock()
	}
	_, out := in.gate.Sizes()
	in.m.OptedOut.Set(float64(out))
}

// reapplyErasures erases persons who opted out while no ingest was running
// (or before an erasure finished): the consent topic is the truth, the
// erasures table only says what was done.
func (in *Ingest) reapplyErasures(ctx context.Context) error {
	out := in.gate.OptedOutPersons()
	stored := in.cfg.Pseudonymizer.IDs(out)
	done, err := in.sink.Erased(ctx, stored)
	if err != nil {
		return err
	}
	in.eraseMu.Lock()
	for i, p := range out {
		if !done[stored[i]] {
			in.erase[p] = struct{}{}
		}
	}
	in.eraseMu.Unlock()
	return in.runErasures(ctx)
}

// runErasures erases everyone pending. It runs on the sink goroutine (or
// before it starts), serialised with inserts; see Gate for why that is safe.
func (in *Ingest) runErasures(ctx context.Context) error {
	in.eraseMu.Lock()
	if len(in.erase) == 0 {
		in.eraseMu.Unlock()
		return nil
	}
	persons := make([]string, 0, len(in.erase))
	for p := range in.erase {
		persons = append(persons, p)
	}
	in.eraseMu.Unlock()
	if err := in.sink.ErasePersons(ctx, in.cfg.Pseudonymizer.IDs(persons)); err != nil {
		return fmt.Errorf("erase %d opted-out persons: %w", len(persons), err)
	}
	in.eraseMu.Lock()
	for _, p := range persons {
		delete(in.erase, p)
	}
	in.eraseMu.Unlock()
	in.m.Erasures.Add(float64(len(persons)))
	in.log.Info("erased opted-out persons", "count", len(persons))
	return nil
}

// batchLoop cuts the record stream into batches by size and age, processes
// each, and hands it to the sink. On shutdown it flushes what it holds.
func (in *Ingest) batchLoop(ctx context.Context, msgs <-chan kafka.Message, out chan<- *batch) error {
	var (
		cur   []kafka.Message
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		b := in.process(cur)
		cur = nil
		in.m.BatchesPending.Inc()
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			in.m.BatchesPending.Dec()
			return false
		}
	}
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				flush()
				return nil
			}
			if len(cur) == 0 {
				timer.Reset(in.cfg.BatchInterval)
			}
			cur = append(cur, m)
			if len(cur) >= in.cfg.BatchRows {
				timer.Stop()
				if !flush() {
					return nil
				}
			}
		case <-timer.C:
			if !flush() {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// process decodes, admits and scores a batch on Workers goroutines. Each
// worker owns a contiguous slice of the batch, so the output keeps Kafka
// order without locking.
func (in *Ingest) process(msgs []kafka.Message) *batch {
	start := time.Now()
	b := &batch{msgs: msgs, drops: map[privacy.DropReason]int{}, gen: in.gate.Generation()}
	w := min(in.cfg.Workers, max(1, len(msgs)/256))
	type part struct {
		rows  []store.Message
		dlq   []deadLetter
		drops map[privacy.DropReason]int
	}
	parts := make([]part, w)
	var wg sync.WaitGroup
	now := in.now()
	for i := range w {
		lo, hi := i*len(msgs)/w, (i+1)*len(msgs)/w
		wg.Go(func() {
			p := part{rows: make([]store.Message, 0, hi-lo), drops: map[privacy.DropReason]int{}}
			for _, m := range msgs[lo:hi] {
				row, reject, drop := in.one(m, now)
				switch {
				case reject != nil:
					p.dlq = append(p.dlq, *reject)
				case drop != "":
					p.drops[drop]++
				default:
					p.rows = append(p.rows, row)
				}
			}
			parts[i] = p
		})
	}
	wg.Wait()
	for _, p := range parts {
		b.rows = append(b.rows, p.rows...)
		b.dlq = append(b.dlq, p.dlq...)
		for r, n := range p.drops {
			b.drops[r] += n
		}
	}
	in.m.Scoring.Observe(time.Since(start).Seconds())
	return b
}

// one turns a record into a row, a DLQ record, or a drop reason.
func (in *Ingest) one(m kafka.Message, now time.Time) (store.Message, *deadLetter, privacy.DropReason) {
	ev, err := event.Decode(m.Value, in.cfg.Limits, now)
	if err != nil {
		return store.Message{}, in.deadLetter(m, err), ""
	}
	team, rteams, drop := in.gate.Admit(&ev)
	if drop != "" {
		return store.Message{}, nil, drop
	}
	row := store.Message{
		EventID: ev.EventID, OccurredAt: ev.OccurredAt, Channel: ev.Channel,
		Sender: ev.Sender, Team: team, Recipients: ev.Recipients, RecipientTeams: rteams,
		ThreadID: ev.ThreadID, Lang: ev.Lang, ScorerVersion: nlp.Version,
	}
	if ev.Text == "" {
		row.Status = nlp.NoText.String()
	} else {
		s := in.scorer.Score(ev.Text)
		row.Status, row.Tokens = s.Status.String(), uint32(s.Tokens)
		if s.Status == nlp.Scored {
			row.Scored = true
			row.Compound, row.Pos, row.Neu, row.Neg = float32(s.Compound), float32(s.Pos), float32(s.Neu), float32(s.Neg)
			row.Label = int8(s.Label)
		}
	}
	// ev.Text goes out of scope here: it is never copied into the row.
	return row, nil, ""
}

// deadLetter builds the DLQ record of a rejected event. Nothing of the
// record is copied as it is: the value is reduced to event.DeadLetter (an
// allow-list of fields that cannot carry text or identities), the key (the
// sender by contract, possibly an e-mail address) is replaced by its keyed
// hash, the original headers are not carried over, and the headers added
// say why (reason, and a detail that never quotes the input) and where the
// original is (topic/partition@offset).
func (in *Ingest) deadLetter(m kafka.Message, err error) *deadLetter {
	reason := event.ReasonOf(err)
	var key []byte
	if len(m.Key) > 0 {
		key = []byte(in.dlqKey.ID(string(m.Key)))
	}
	body := event.DeadLetterBody(m.Value, in.cfg.Limits, event.DeadLetterIDs{
		Hash:   in.dlqKey.ID,
		Person: in.cfg.Pseudonymizer.ID, // nil keeps ids, as storage does
	})
	return &deadLetter{reason: reason, msg: kafka.Message{
		Key:   key,
		Value: body,
		Headers: []kafka.Header{
			{Key: "reason", Value: []byte(reason)},
			{Key: "error", Value: []byte(err.Error())},
			{Key: "source", Value: []byte(m.Topic + "/" + strconv.Itoa(m.Partition) + "@" + strconv.FormatInt(m.Offset, 10))},
		},
	}}
}

// sinkLoop writes each batch (DLQ, then ClickHouse), and only then commits.
func (in *Ingest) sinkLoop(ctx context.Context, batches <-chan *batch, reader committer, dlq *kafka.Writer) error {
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	offsets := &pendingCommits{last: map[int]kafka.Message{}}
	for {
		select {
		case b, ok := <-batches:
			if !ok {
				return nil
			}
			err := in.write(ctx, b, dlq)
			in.m.BatchesPending.Dec()
			if err != nil {
				// Only shutdown interrupts write; the batch stays
				// uncommitted and will be redelivered.
				return nil
			}
			offsets.add(b.msgs)
			in.commit(ctx, reader, offsets)
		case <-idle.C:
			if err := in.runErasures(ctx); err != nil && ctx.Err() == nil {
				in.log.Warn("erasure failed, will retry", "err", err)
			}
			if offsets.due(time.Now()) {
				in.commit(ctx, reader, offsets)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// write retries until the batch is acknowledged or ctx ends.
func (in *Ingest) write(ctx context.Context, b *batch, dlq *kafka.Writer) error {
	start := time.Now()
	if len(b.dlq) > 0 {
		msgs := make([]kafka.Message, len(b.dlq))
		for i := range b.dlq {
			msgs[i] = b.dlq[i].msg
		}
		if err := in.retry(ctx, "dlq", func() error { return dlq.WriteMessages(ctx, msgs...) }); err != nil {
			return err
		}
		for _, d := range b.dlq {
			in.m.DLQ.WithLabelValues(string(d.reason)).Inc()
		}
		in.deadLettered.Add(int64(len(b.dlq)))
	}
	if g := in.gate.Generation(); g != b.gen {
		in.refilter(b, g)
	}
	if ps := in.cfg.Pseudonymizer; ps != nil {
		for i := range b.rows {
			b.rows[i].Sender = ps.ID(b.rows[i].Sender)
			b.rows[i].Recipients = ps.IDs(b.rows[i].Recipients)
		}
	}
	if err := in.retry(ctx, "messages", func() error {
		now := in.now()
		for i := range b.rows {
			b.rows[i].IngestedAt = now
		}
		return in.sink.InsertMessages(ctx, b.rows)
	}); err != nil {
		return err
	}
	// An opt-out that arrived during the insert is erased right after it.
	if err := in.runErasures(ctx); err != nil {
		in.log.Warn("erasure failed, will retry", "err", err)
	}
	in.m.SinkFlush.Observe(time.Since(start).Seconds())
	in.m.SinkRows.WithLabelValues("messages").Add(float64(len(b.rows)))
	in.m.Processed.Add(float64(len(b.rows)))
	for r, n := range b.drops {
		in.m.Dropped.WithLabelValues(string(r)).Add(float64(n))
		in.dropped.Add(int64(n))
	}
	in.written.Add(int64(len(b.rows)))
	for i := range b.rows {
		if !b.rows[i].Scored {
			in.m.Unscored.WithLabelValues(b.rows[i].Status).Inc()
		}
	}
	acked := time.Now()
	for i := range b.msgs {
		if t := b.msgs[i].Time; !t.IsZero() {
			in.m.EventToRow.Observe(acked.Sub(t).Seconds())
		}
	}
	return nil
}

// refilter re-applies the gate to rows admitted under an older generation.
func (in *Ingest) refilter(b *batch, gen uint64) {
	kept := b.rows[:0]
	for _, r := range b.rows {
		if in.gate.OptedOut(r.Sender) {
			b.drops[privacy.DropOptedOut]++
			continue
		}
		recips, teams := r.Recipients[:0], r.RecipientTeams[:0]
		for i, p := range r.Recipients {
			if !in.gate.OptedOut(p) {
				recips, teams = append(recips, p), append(teams, r.RecipientTeams[i])
			}
		}
		r.Recipients, r.RecipientTeams = recips, teams
		kept = append(kept, r)
	}
	b.rows, b.gen = kept, gen
}

// retry runs op with exponential backoff until it succeeds or ctx ends.
func (in *Ingest) retry(ctx context.Context, what string, op func() error) error {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			if what == "messages" && !in.sinkOK.Load() {
				in.log.Info("clickhouse writes recovered", "attempts", attempt+1)
				in.sinkOK.Store(true)
				in.setReady()
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if what == "messages" {
			in.m.SinkErrors.WithLabelValues("messages").Inc()
			in.sinkOK.Store(false)
			in.setReady()
		}
		d := backoff(attempt, in.cfg.RetryMin, in.cfg.RetryMax)
		in.log.Warn("write failed, retrying", "target", what, "attempt", attempt+1, "in", d, "err", err)
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// pendingCommits are the offsets written to ClickHouse but not committed
// yet: the last record per partition. A failed commit leaves them here; the
// next batch's commit includes them, and without a next batch (the stream
// went quiet) the sink retries them on its idle tick, backing off, so the
// group's offsets and lag do not stay behind what was written.
type pendingCommits struct {
	last     map[int]kafka.Message
	failures int       // in a row
	retryAt  time.Time // of the next idle retry
}

// add merges the last offset of every partition in msgs.
func (p *pendingCommits) add(msgs []kafka.Message) {
	for _, m := range msgs {
		if cur, ok := p.last[m.Partition]; !ok || m.Offset > cur.Offset {
			p.last[m.Partition] = m
		}
	}
}

// due reports whether an idle retry of a failed commit is due.
func (p *pendingCommits) due(now time.Time) bool {
	return len(p.last) > 0 && p.failures > 0 && !now.Before(p.retryAt)
}

// commit commits every pending offset. A failed commit is not fatal and
// loses nothing: it is retried (with the next batch, or on the idle tick),
// and a crash before a retry succeeds redelivers the records, which collapse
// in ClickHouse by event_id.
func (in *Ingest) commit(ctx context.Context, reader committer, p *pendingCommits) {
	if len(p.last) == 0 {
		return
	}
	tail := make([]kafka.Message, 0, len(p.last))
	for _, m := range p.last {
		tail = append(tail, m)
	}
	if err := reader.CommitMessages(ctx, tail...); err != nil {
		if ctx.Err() != nil {
			return // shutdown: redelivered by the next worker
		}
		p.failures++
		d := backoff(p.failures-1, time.Second, 30*time.Second)
		p.retryAt = time.Now().Add(d)
		in.m.CommitErrors.Inc()
		in.log.Warn("commit failed; retried with the next batch or in a while (a restart before that redelivers, deduplicated)",
			"partitions", len(tail), "failures_in_a_row", p.failures, "retry_in", d, "err", err)
		return
	}
	if p.failures > 0 {
		in.log.Info("commits recovered", "failures_in_a_row", p.failures)
	}
	clear(p.last)
	p.failures = 0
	in.m.Commits.Inc()
}
