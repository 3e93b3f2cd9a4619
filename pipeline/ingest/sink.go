package ingest

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/backoff"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

// dlqWriter writes DLQ records; *kafka.Writer implements it.
type dlqWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// written is a batch whose write finished (err non-nil only at shutdown).
type written struct {
	seq int
	b   *batch
	err error
}

// sinkLoop writes batches (DLQ, then ClickHouse) on up to Inserts writers
// at once, and commits their offsets in batch order as they complete: a
// later batch that finished first waits for the earlier ones, so a commit
// never covers a record that is not written. Overlapping inserts is what
// keeps ClickHouse busy while the client encodes the next batch (the sink
// was the pipeline's bottleneck with one).
//
// Erasures run only when no insert is in flight: an insert that began
// before an opt-out may still carry the person's rows (re-filtering happens
// at the start of each attempt), and a delete mutation must come after it
// to cover them. Opt-outs are rare; draining the writers for one is cheap.
func (in *Ingest) sinkLoop(ctx context.Context, batches <-chan *batch, reader committer, dlq dlqWriter) error {
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	offsets := &pendingCommits{last: map[int]kafka.Message{}}
	results := make(chan written, in.cfg.Inserts)
	var (
		nextSeq, commitSeq int // next batch to start; next batch to commit
		inFlight           int
		done               = map[int]written{}
		stopped            bool // a write ended by shutdown: commit nothing after it
	)
	// finish takes a completed write and commits every batch that is now
	// complete in order.
	finish := func(w written) {
		inFlight--
		in.m.BatchesPending.Dec()
		done[w.seq] = w
		added := false
		for {
			d, ok := done[commitSeq]
			if !ok {
				break
			}
			delete(done, commitSeq)
			commitSeq++
			if d.err != nil || stopped {
				stopped = true // only shutdown interrupts write: redelivered
				continue
			}
			offsets.add(d.b.msgs)
			added = true
		}
		if added && !stopped {
			in.commit(ctx, reader, offsets)
		}
	}
	erase := func() {
		for inFlight > 0 {
			finish(<-results)
		}
		if err := in.runErasures(ctx); err != nil && ctx.Err() == nil {
			in.log.Warn("erasure failed, will retry", "err", err)
		}
	}
	defer func() { // drain: the writes in flight end (written, or ctx ended)
		for inFlight > 0 {
			finish(<-results)
		}
	}()
	for {
		take := batches
		if inFlight >= in.cfg.Inserts {
			take = nil // every writer is busy
		}
		select {
		case b, ok := <-take:
			if !ok {
				return nil
			}
			if in.erasePending() {
				erase()
			}
			if !in.awaitCommits(ctx, reader, offsets, func() {
				for inFlight > 0 {
					finish(<-results)
				}
			}) || stopped {
				in.m.BatchesPending.Dec()
				return nil // shutdown: b is redelivered
			}
			seq := nextSeq
			nextSeq++
			inFlight++
			go func() { results <- written{seq: seq, b: b, err: in.write(ctx, b, dlq)} }()
		case w := <-results:
			finish(w)
			if in.erasePending() {
				erase()
			}
			if stopped {
				return nil
			}
		case <-idle.C:
			if in.erasePending() {
				erase()
			}
			if offsets.due(time.Now()) {
				in.commit(ctx, reader, offsets)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// maxUncommittedBatches bounds the batches written to ClickHouse whose
// offsets could not be committed yet. Commits fail while the group's
// coordinator moves or the member is being fenced; writing on regardless
// would make every batch written meanwhile a duplicate when the partitions
// are redelivered, without bound. Past the limit the sink waits for a
// commit to succeed before it writes more, and backpressure stops the fetch.
// Batches written but not committed are thus at most this many plus the
// Inserts-1 that may finish while an earlier one is still being written.
const maxUncommittedBatches = 2

// awaitCommits returns at once unless maxUncommittedBatches batches wait
// for a commit that failed; then it retries the commit, backing off, until
// it succeeds (true) or ctx ends (false). Erasures keep running meanwhile.
//
// settle is called first: it completes the writes in flight, so that their
// batches count and are included in the commit retried.
func (in *Ingest) awaitCommits(ctx context.Context, reader committer, p *pendingCommits, settle func()) bool {
	if p.failures > 0 {
		settle()
	}
	for p.failures > 0 && p.batches >= maxUncommittedBatches {
		t := time.NewTimer(time.Until(p.retryAt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
		if err := in.runErasures(ctx); err != nil && ctx.Err() == nil {
			in.log.Warn("erasure failed, will retry", "err", err)
		}
		in.commit(ctx, reader, p)
	}
	return ctx.Err() == nil
}

// write retries until the batch is acknowledged or ctx ends.
func (in *Ingest) write(ctx context.Context, b *batch, dlq dlqWriter) error {
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
	if err := in.retry(ctx, "messages", func() error {
		// Re-filtered before every attempt: an opt-out that arrived
		// since the batch was admitted, or during a failed attempt, keeps
		// the person's rows out of this insert instead of erasing them
		// after it.
		if g := in.gate.Generation(); g != b.gen {
			in.refilter(b, g)
		}
		now := in.now()
		for i := range b.rows {
			b.rows[i].IngestedAt = now
		}
		return in.sink.InsertMessages(ctx, in.stored(b.rows))
	}); err != nil {
		return err
	}
	// An opt-out that arrived during the insert is erased right after it,
	// by the sink loop once no insert is in flight.
	in.m.SinkFlush.Observe(time.Since(start).Seconds())
	in.m.SinkRows.WithLabelValues("messages").Add(float64(len(b.rows)))
	in.m.Processed.Add(float64(len(b.rows)))
	for r, n := range b.drops {
		in.m.Dropped.WithLabelValues(string(r)).Add(float64(n))
		in.dropped.Add(int64(n))
	}
	in.written.Add(int64(len(b.rows)))
	unscored := map[string]int{}
	for i := range b.rows {
		if !b.rows[i].Scored {
			unscored[b.rows[i].Status]++
		}
	}
	for status, n := range unscored {
		in.m.Unscored.WithLabelValues(status).Add(float64(n))
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

// stored is rows as stored: with the configured Pseudonymizer, person ids
// are replaced by their keyed ids. The batch keeps the ids the gate knows,
// so that a later re-filter can still match them.
func (in *Ingest) stored(rows []store.Message) []store.Message {
	ps := in.cfg.Pseudonymizer
	if ps == nil {
		return rows
	}
	out := make([]store.Message, len(rows))
	for i, r := range rows {
		r.Sender, r.Recipients = ps.ID(r.Sender), ps.IDs(r.Recipients)
		out[i] = r
	}
	return out
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
		d := backoff.New(in.cfg.RetryMin, in.cfg.RetryMax).Delay(attempt)
		in.log.Warn("write failed, retrying", "target", what, "attempt", attempt+1, "in", d, "err", err)
		if !backoff.Sleep(ctx, d) {
			return ctx.Err()
		}
	}
}
