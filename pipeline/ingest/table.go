package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"commpulse/internal/backoff"
)

// followTable reads a compacted topic (a table keyed by person) from the
// beginning of every partition and keeps following it. apply is called for
// every record in partition order (value nil = tombstone). caughtUp is
// closed once every partition has been read up to the end offset it had when
// following started: only then is the in-memory table complete enough to
// judge events by.
//
// Each partition gets its own partition reader rather than a consumer
// group: every ingest replica needs the whole table, not a share of it.
func followTable(ctx context.Context, c Config, topic string, log *slog.Logger,
	apply func(key, value []byte), caughtUp chan<- struct{}, prog *tableProgress) error {
	cl := c.Client()
	var (
		ps   []int
		ends map[int]offsetRange
		err  error
	)
	for attempt := 0; ; attempt++ {
		if ps, err = partitions(ctx, cl, topic); err == nil {
			if ends, err = listOffsets(ctx, cl, topic, ps); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("table topic not readable yet, retrying", "topic", topic, "err", err)
		if !backoff.New(time.Second, 10*time.Second).Wait(ctx, attempt) {
			return ctx.Err()
		}
	}
	prog.start(ends)
	var (
		mu      sync.Mutex
		pending = len(ps)
		once    sync.Once
	)
	done := func() {
		mu.Lock()
		defer mu.Unlock()
		pending--
		if pending == 0 {
			once.Do(func() { close(caughtUp) })
		}
	}
	if pending == 0 {
		close(caughtUp)
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range ps {
		end := ends[p]
		g.Go(func() error {
			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: c.Brokers, Topic: topic, Partition: p, Dialer: c.Dialer(),
				MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 500 * time.Millisecond,
			})
			defer r.Close()
			if err := r.SetOffset(kafka.FirstOffset); err != nil {
				return fmt.Errorf("table %s/%d: %w", topic, p, err)
			}
			caught := end.end <= end.first
			if caught {
				done()
			}
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, context.Canceled) {
						return nil
					}
					return fmt.Errorf("read table %s/%d: %w", topic, p, err)
				}
				apply(m.Key, m.Value)
				prog.applied(p, m.Offset+1)
				if !caught && m.Offset+1 >= end.end {
					caught = true
					done()
				}
			}
		})
	}
	return g.Wait()
}

// tableProgress is how far a table follower has applied its topic: per
// partition, the offset after the last record applied. Ingest.awaitTables
// compares it with the topic's end offsets before a batch is admitted.
type tableProgress struct {
	topic string
	mu    sync.Mutex
	pos   map[int]*atomic.Int64 // set by start, when the partitions are known
}

func newTableProgress(topic string) *tableProgress { return &tableProgress{topic: topic} }

func (t *tableProgress) start(ends map[int]offsetRange) {
	pos := make(map[int]*atomic.Int64, len(ends))
	for p, r := range ends {
		pos[p] = &atomic.Int64{}
		pos[p].Store(r.first)
	}
	t.mu.Lock()
	t.pos = pos
	t.mu.Unlock()
}

func (t *tableProgress) applied(p int, next int64) {
	if a := t.positions()[p]; a != nil {
		a.Store(next)
	}
}

func (t *tableProgress) positions() map[int]*atomic.Int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pos
}

// partitions are the partitions followed (none before start).
func (t *tableProgress) partitions() []int {
	var ps []int
	for p := range t.positions() {
		ps = append(ps, p)
	}
	return ps
}

// reached reports whether every partition has been applied up to ends.
func (t *tableProgress) reached(ends map[int]offsetRange) bool {
	pos := t.positions()
	for p, r := range ends {
		if a := pos[p]; a == nil || a.Load() < r.end {
			return false
		}
	}
	return true
}
