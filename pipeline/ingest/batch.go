package ingest

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/nlp"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

// batch is a set of fetched records and what became of them. Each record
// ends in exactly one of rows, dlq or drops; the batch carries every
// reject's reason itself, so nothing downstream parses it back out of the
// DLQ record.
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

// batchLoop cuts the record stream into batches by rows, bytes and age, processes
// each, and hands it to the sink. On shutdown it flushes what it holds.
func (in *Ingest) batchLoop(ctx context.Context, msgs <-chan kafka.Message, out chan<- *batch) error {
	var (
		cur   []kafka.Message
		bytes int // of keys and values in cur
		hint  = 64
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func() bool {
		if len(cur) == 0 {
			return true
		}
		in.awaitTables(ctx)
		b := in.process(cur)
		hint, cur, bytes = min(len(cur)+len(cur)/4+1, in.cfg.BatchRows), nil, 0
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
				if cur == nil {
					// Sized like the last batch: no regrowth at a steady
					// rate, no 10k-record buffer for a trickle.
					cur = make([]kafka.Message, 0, hint)
				}
			}
			cur = append(cur, m)
			bytes += len(m.Key) + len(m.Value)
			if len(cur) >= in.cfg.BatchRows || bytes >= in.cfg.BatchBytes {
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
	adm, drop := in.gate.Admit(&ev)
	if drop != "" {
		return store.Message{}, nil, drop
	}
	row := store.Message{
		EventID: ev.EventID, OccurredAt: ev.OccurredAt, Channel: ev.Channel,
		Sender: ev.Sender, Team: adm.SenderTeam, Recipients: ev.Recipients, RecipientTeams: adm.RecipientTeams,
		AfterHours: adm.AfterHours, ThreadID: ev.ThreadID, Lang: ev.Lang, ScorerVersion: nlp.Version,
	}
	if ev.Text == "" {
		row.Status = nlp.NoText.String()
	} else {
		s := in.scorer.Score(ev.Text)
		row.Status, row.Tokens, row.Themes = s.Status.String(), uint32(s.Tokens), uint16(s.Themes)
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

// awaitTables holds a batch until the directory and consent followers have
// applied every record their topics held when the batch is processed, so
// that a record produced before the batch's events reaches the gate first:
// an import's directory of the same export (the team and time zone of its
// senders), or an opt-out sent just before a person's next event. The
// topics' ends are listed after the batch's events were fetched, hence
// after they were produced. The wait is bounded by Config.TableWait: a
// follower that lags longer is not waited for (counted and logged), so a
// slow table never stops ingest; a failed follower stops ingest anyway
// (running's watchTables). One ListOffsets per table topic and batch.
func (in *Ingest) awaitTables(ctx context.Context) {
	if in.cfg.TableWait <= 0 || in.tableClient == nil {
		return
	}
	deadline := time.Now().Add(in.cfg.TableWait)
	for _, tp := range []*tableProgress{in.dirProgress, in.consentProgress} {
		ps := tp.partitions()
		if len(ps) == 0 {
			continue
		}
		lctx, cancel := context.WithDeadline(ctx, deadline)
		ends, err := listOffsets(lctx, in.tableClient, tp.topic, ps)
		cancel()
		if err != nil {
			// Kafka unreachable: the lag poller reports it; do not hold the batch.
			in.log.Debug("table barrier: cannot list the table's end", "topic", tp.topic, "err", err)
			return
		}
		for !tp.reached(ends) {
			if ctx.Err() != nil {
				return
			}
			if time.Now().After(deadline) {
				in.m.TableWaits.Inc()
				in.log.Warn("a batch is admitted before the table follower caught up", "topic", tp.topic, "waited", in.cfg.TableWait)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
