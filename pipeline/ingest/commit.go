package ingest

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/backoff"
)

// committer commits offsets; *groupReader implements it.
type committer interface {
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// pendingCommits are the offsets written to ClickHouse but not committed
// yet: the last record per partition. A failed commit leaves them here; the
// next batch's commit includes them, and without a next batch (the stream
// went quiet) the sink retries them on its idle tick, backing off, so the
// group's offsets and lag do not stay behind what was written. After
// maxUncommittedBatches the sink stops writing until a commit succeeds.
type pendingCommits struct {
	last     map[int]kafka.Message
	batches  int       // written since the last successful commit
	failures int       // in a row
	retryAt  time.Time // of the next idle retry
}

// add merges the last offset of every partition in msgs.
func (p *pendingCommits) add(msgs []kafka.Message) {
	p.batches++
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
		d := backoff.New(in.cfg.RetryMin, in.cfg.RetryMax).Delay(p.failures - 1)
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
	p.failures, p.batches = 0, 0
	in.m.Commits.Inc()
}
