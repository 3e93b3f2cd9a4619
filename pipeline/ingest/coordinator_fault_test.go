package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
)

// Group coordinator faults, injected by the broker (kfake), each with the
// outcome ingest promises: the worker finds its coordinator again and goes
// on (no stall), every event is stored exactly once after dedup, the offsets
// end committed at the end of every partition, and the duplicates before
// dedup are bounded by what the workers held in flight when the group
// rebalanced.

// inFlight is what one worker can hold between fetch and commit: one batch
// queued for the sink, one being built, the message channel (BatchRows
// each), kafka-go's queue (QueueCapacity 1000), a record held by each
// partition reader (docs/architecture.md), and the batches written or being
// written whose commit has not succeeded (at most maxUncommittedBatches +
// Inserts: then the sink waits for a commit). Each rebalance can redeliver
// at most that much per member: what was written uncommitted, and what was
// fetched before it and is written after it.
func (e *env) inFlight() int {
	e.t.Helper()
	ps, err := partitions(context.Background(), e.cfg.Client(), e.cfg.EventsTopic)
	if err != nil {
		e.t.Fatal(err)
	}
	return (3+maxUncommittedBatches+e.cfg.withDefaults().Inserts)*e.cfg.BatchRows + 1000 + len(ps)
}

// groupTraffic counts the requests of one group that reach each broker,
// by request key (controls that only observe).
type groupTraffic struct {
	mu     sync.Mutex
	on     bool
	counts map[trafficKey]int
}

type trafficKey struct {
	key  kmsg.Key
	node int32
}

func watchGroupTraffic(c *kfake.Cluster, group string) *groupTraffic {
	g := &groupTraffic{counts: map[trafficKey]int{}}
	observe := func(req kmsg.Request) (kmsg.Response, error, bool) {
		var name string
		switch r := req.(type) {
		case *kmsg.JoinGroupRequest:
			name = r.Group
		case *kmsg.SyncGroupRequest:
			name = r.Group
		case *kmsg.HeartbeatRequest:
			name = r.Group
		case *kmsg.OffsetCommitRequest:
			name = r.Group
		}
		if name == group {
			node := c.CurrentNode()
			g.mu.Lock()
			if g.on {
				g.counts[trafficKey{kmsg.Key(req.Key()), node}]++
			}
			g.mu.Unlock()
		}
		return nil, nil, false // observe only
	}
	for _, k := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit} {
		c.ControlKey(int16(k), observe)
	}
	return g
}

// start counts from now on, forgetting what came before.
func (g *groupTraffic) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.on = true
	clear(g.counts)
}

// at is the number of requests counted at node, of any of keys (all if none).
func (g *groupTraffic) at(node int32, keys ...kmsg.Key) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for k, c := range g.counts {
		if k.node != node {
			continue
		}
		if len(keys) == 0 {
			n += c
			continue
		}
		for _, key := range keys {
			if k.key == key {
				n += c
			}
		}
	}
	return n
}

// countConsumerFinds counts the FindCoordinator requests of kafka-go's
// consumer group for group: it asks with version 0 on its own connection,
// where kafka.Client (the lag poll, the test's own offset checks) asks with a
// later version.
func countConsumerFinds(c *kfake.Cluster, group string) *atomic.Int64 {
	var n atomic.Int64
	c.ControlKey(int16(kmsg.FindCoordinator), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if f := req.(*kmsg.FindCoordinatorRequest); f.Version == 0 && f.CoordinatorKey == group {
			n.Add(1)
		}
		return nil, nil, false // observe only
	})
	return &n
}

// waitCommitted waits until the stream is committed to its end, and says
// where it stands (offsets, group, counts) if it is not.
func (e *env) waitCommitted(what string, workers ...*worker) {
	e.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !e.committedToEnd() {
		if time.Now().After(deadline) {
			_, report := e.offsetReport()
			var counts []Counts
			for _, w := range workers {
				counts = append(counts, w.in.Counts())
			}
			e.t.Fatalf("timed out after 45s waiting for %s; behind:\n%s\n%s\nworker counts %+v", what, report, e.groupReport(), counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupEpoch is the group's generation as the broker has it.
func (e *env) groupEpoch() int32 {
	if info := e.kafka.GroupInfo(e.cfg.Group); info != nil {
		return info.Epoch
	}
	return 0
}

// waitGroup waits until the group is Stable with members members.
func (e *env) waitGroup(members int) *kfake.GroupInfo {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	info, err := e.kafka.WaitGroupStable(ctx, e.cfg.Group, members)
	if err != nil {
		e.t.Fatalf("the group did not settle with %d members: %v\n%s", members, err, e.groupReport())
	}
	return info
}

// holdBatch produces evs while the worker's next insert is held, and
// returns once the worker is inside that insert: a batch is then between
// fetch and commit.
func (e *env) holdBatch(gate *gatedSink, evs []kafka.Message) {
	e.t.Helper()
	gate.arm()
	kafkatest.Produce(e.t, e.brokers, e.cfg.EventsTopic, evs)
	select {
	case <-gate.entered:
	case <-time.After(45 * time.Second):
		e.t.Fatal("the worker never tried to insert the records produced")
	}
}

// stopMerges keeps ClickHouse from collapsing redelivered rows before the
// test counts them.
func (e *env) stopMerges() {
	e.t.Helper()
	if err := e.st.Conn().Exec(context.Background(), "SYSTEM STOP MERGES "+e.db+".messages"); err != nil {
		e.t.Fatal(err)
	}
}

// duplicates is the number of rows stored more than once (before dedup;
// merges stopped).
func (e *env) duplicates() int {
	return e.count("SELECT count() FROM {db}.messages") - len(e.eventIDs())
}

// The group coordinator moves while a batch is between fetch and commit.
// To the client a move looks like NOT_COORDINATOR answers from the broker
// it talks to (and, while the new coordinator loads, COORDINATOR_NOT_AVAILABLE
// from FindCoordinator). Outcome: the commit fails and is retried, the
// worker finds the new coordinator and rejoins, and goes on; every event
// once after dedup, committed to the end of every partition, and at most
// one in-flight load (inFlight) redelivered per rebalance the move caused.
func TestCoordinatorMove(t *testing.T) {
	cases := []struct {
		name    string
		brokers int
		// move moves (or takes away) the coordinator while a batch is
		// held; end is called once the held batch is released and ends
		// the fault, check once the stream is committed: that the
		// worker met the fault.
		move func(t *testing.T, e *env, traffic *groupTraffic) (end, check func())
	}{
		{
			// Three brokers; the group's coordinator is rehashed to
			// another one (as when its __consumer_offsets partition
			// moves). The old broker answers NOT_COORDINATOR.
			name: "to another broker", brokers: 3,
			move: func(t *testing.T, e *env, traffic *groupTraffic) (func(), func()) {
				old := e.kafka.CoordinatorFor(e.cfg.Group)
				for e.kafka.CoordinatorFor(e.cfg.Group) == old {
					e.kafka.RehashCoordinators()
				}
				moved := e.kafka.CoordinatorFor(e.cfg.Group)
				traffic.start()
				return func() {}, func() {
					// The worker learnt of the move from the old
					// broker, and its commits landed at the new one.
					if n := traffic.at(old); n == 0 {
						t.Errorf("no group request reached the old coordinator %d after the move: the worker never saw it move", old)
					}
					if n := traffic.at(moved, kmsg.OffsetCommit); n == 0 {
						t.Errorf("no commit reached the new coordinator %d", moved)
					}
					t.Logf("coordinator moved from broker %d to %d; group requests after the move: %d at the old, %d at the new (%d commits)",
						old, moved, traffic.at(old), traffic.at(moved), traffic.at(moved, kmsg.OffsetCommit))
				}
			},
		},
		{
			// One broker that is, for a while, not the coordinator and
			// knows no other: every group request is answered
			// NOT_COORDINATOR and FindCoordinator COORDINATOR_NOT_AVAILABLE,
			// for longer than kafka-go's three attempts at a new
			// generation (MaxAttempts), after which kafka-go hands the
			// error to FetchMessage.
			name: "unavailable for a while", brokers: 1,
			move: func(t *testing.T, e *env, traffic *groupTraffic) (func(), func()) {
				g := e.cfg.Group
				finds := countConsumerFinds(e.kafka, g)
				find := e.kafka.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.FindCoordinator}, Group: g,
					Err: kerr.CoordinatorNotAvailable, Count: -1})
				group := e.kafka.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit},
					Group: g, Err: kerr.NotCoordinator, Count: -1})
				end := func() {
					// kafka-go's consumer group asks for the
					// coordinator twice in its first failed
					// generation (join, then leave) and once in each
					// next one: 4 is three failed generations in a
					// row, kafka-go's MaxAttempts, after which it
					// hands the error to FetchMessage.
					const refusals = 4
					waitFor(t, "the consumer group refused a coordinator 4 times", 45*time.Second, func() bool {
						return finds.Load() >= refusals
					})
					find.Remove()
					group.Remove()
					t.Logf("coordinator unavailable: %d FindCoordinator of the consumer group (%d of any client) and %d group requests refused",
						finds.Load(), find.Hits(), group.Hits())
				}
				return end, func() {}
			},
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kfake.NumBrokers(tc.brokers))
			e.stopMerges()
			e.cfg.BatchRows = 1000               // several batches in flight, so that a rebalance has some to redeliver
			e.cfg.StallTimeout = 5 * time.Second // a partition kafka-go stops after a rebalance is rebuilt soon
			org := synth.MustNew(synth.Config{Seed: 61 + int64(i), Teams: 12, Limit: 12_000, MalformedRate: 0.01})
			e.produceTables(org)
			evs := e.orgEvents(org)
			half := len(evs) / 2
			kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[:half])
			traffic := watchGroupTraffic(e.kafka, e.cfg.Group)
			gate := &gatedSink{Sink: e.st}
			w := e.start(gate)
			e.waitCommitted("the first half committed", w)
			e.waitGroup(1)
			epoch, dupsBefore := e.groupEpoch(), e.duplicates()

			e.holdBatch(gate, evs[half:])
			end, check := tc.move(t, e, traffic)
			close(gate.release) // the held batch's commit meets the moved coordinator
			end()

			e.waitCommitted("the stream committed to its end after the move", w)
			e.waitGroup(1)
			check()
			rebalances := int(e.groupEpoch() - epoch)
			if rebalances == 0 {
				t.Errorf("the group never rebalanced: the worker did not lose its coordinator")
			}
			commitErrs := testutil.ToFloat64(w.in.m.CommitErrors)
			rebuilds := testutil.ToFloat64(w.in.m.ReaderRebuilds)
			w.stop(t)
			e.assertExactlyOnce()
			dups := e.duplicates() - dupsBefore
			inFlight := e.inFlight()
			bound := rebalances * inFlight
			t.Logf("rebalances %d, commit errors %v, reader rebuilds %v, duplicate rows %d (bound %d = %d rebalances x %d in flight), %d valid events",
				rebalances, commitErrs, rebuilds, dups, bound, rebalances, inFlight, e.valid)
			if dups > bound {
				t.Fatalf("%d duplicate rows, more than the %d a worker can hold in flight over %d rebalances", dups, bound, rebalances)
			}
		})
	}
}
