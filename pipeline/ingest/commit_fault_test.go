package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/pipeline/store"
)

// Commit faults, injected by the broker (kfake faults), each with the
// outcome ingest promises: a failed commit is retried until it lands, and a
// rebalance in the middle of a batch costs bounded duplicates, never loss.

// Every OffsetCommit fails (the coordinator is "not available") while the
// whole stream is written; then the broker accepts commits again and no new
// record arrives. The offsets written must still be committed: by the sink's
// retry, not by a next batch, which never comes.
func TestCommitFaultsAreRetried(t *testing.T) {
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 47, Teams: 12, Limit: 10_000, MalformedRate: 0.01})
	e.produceOrg(org)
	fault := e.kafka.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Group: e.cfg.Group,
		Err: kerr.CoordinatorNotAvailable, Count: -1})
	w := e.start(nil)
	waitFor(t, "every valid event written while every commit fails", 3*time.Minute, func() bool {
		return e.count("SELECT uniqExact(event_id) FROM {db}.messages") >= e.valid && testutil.ToFloat64(w.in.m.CommitErrors) >= 2
	})
	if ok, report := e.offsetReport(); ok {
		t.Fatalf("committed to the end although every commit failed: the fault did nothing (%s)", report)
	}
	hits := fault.Hits()
	fault.Remove()
	waitFor(t, "the written offsets committed once the broker accepts commits again", 3*time.Minute, e.committedToEnd)
	errs := testutil.ToFloat64(w.in.m.CommitErrors)
	w.stop(t)
	e.assertExactlyOnce()
	raw := e.count("SELECT count() FROM {db}.messages")
	t.Logf("commit requests faulted %d, commit errors %v, rows before dedup %d for %d valid events", hits, errs, raw, e.valid)
}

// gatedSink holds the first insert after arm until release, so that a test
// can act while a batch is between fetch and commit.
type gatedSink struct {
	Sink
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedSink) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.entered, g.release = true, make(chan struct{}), make(chan struct{})
}

func (g *gatedSink) InsertMessages(ctx context.Context, rows []store.Message) error {
	g.mu.Lock()
	armed, entered, release := g.armed, g.entered, g.release
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Sink.InsertMessages(ctx, rows)
}

// A second worker joins the group while the first holds a batch between
// fetch and commit (its insert is held). The group rebalances, part of the
// held batch's partitions move to the newcomer, which starts them from the
// committed offsets; then the held batch is written and committed. Outcome:
// nothing lost, and at most what the first worker held in its pipeline is
// stored twice (before dedup).
func TestRebalanceMidBatch(t *testing.T) {
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 53, Teams: 12, Limit: 20_000, MalformedRate: 0.01})
	e.produceTables(org)
	evs := e.orgEvents(org)
	half := len(evs) / 2
	kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[:half])
	gate := &gatedSink{Sink: e.st}
	a := e.start(gate)
	waitFor(t, "the first half committed", 3*time.Minute, e.committedToEnd)
	rawBefore := e.count("SELECT count() FROM {db}.messages")

	gate.arm()
	kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[half:])
	select {
	case <-gate.entered:
	case <-time.After(3 * time.Minute):
		t.Fatal("the first worker never tried to insert the second half")
	}
	b := e.start(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := e.kafka.WaitGroupStable(ctx, e.cfg.Group, 2); err != nil {
		t.Fatalf("the group did not settle with both workers: %v\n%s", err, e.groupReport())
	}
	groupMid := e.groupReport()
	close(gate.release)

	waitFor(t, "the stream committed to its end by both workers", 3*time.Minute, e.committedToEnd)
	a.stop(t)
	b.stop(t)
	e.assertExactlyOnce()
	raw := e.count("SELECT count() FROM {db}.messages")
	dups := raw - len(e.eventIDs())
	// What the first worker can hold between fetch and commit: a batch in
	// the sink, one queued, one being built, the message channel and
	// kafka-go's queue (docs/architecture.md).
	bound := 4*e.cfg.BatchRows + 1000
	t.Logf("rows before dedup %d (%d before the second half), duplicates %d (bound %d); group while the batch was held: %s",
		raw, rawBefore, dups, bound, groupMid)
	if dups > bound {
		t.Fatalf("%d duplicate rows, more than the %d records the first worker could hold", dups, bound)
	}
}
