package ingest

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
)

// memberFence keeps one worker's group member (by its client id) from
// reaching the coordinator's session clock: its heartbeats are answered
// "fine" without reaching the group, so the broker expires the member's
// session while the worker, as after a long pause or with its heartbeats
// lost on the way, still believes it is in its generation. Its commits reach
// the broker, which must fence them.
type memberFence struct {
	on       atomic.Bool
	answered atomic.Int64 // heartbeats kept from the group
	expired  sync.Map     // member ids the broker expired
	fenced   atomic.Int64 // commits that arrived with an expired member id
}

func fenceMember(c *kfake.Cluster, clientID string) *memberFence {
	f := &memberFence{}
	f.on.Store(true)
	c.ControlKey(int16(kmsg.Heartbeat), func(req kmsg.Request) (kmsg.Response, error, bool) {
		hb := req.(*kmsg.HeartbeatRequest)
		if !f.on.Load() || !strings.HasPrefix(hb.MemberID, clientID+"-") {
			return nil, nil, false
		}
		f.answered.Add(1)
		c.KeepControl()
		return hb.ResponseKind(), nil, true // error code 0, the session not renewed
	})
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if _, gone := f.expired.Load(req.(*kmsg.OffsetCommitRequest).MemberID); gone {
			f.fenced.Add(1) // a member id is never reused: answered UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION
		}
		return nil, nil, false // observe only: the broker answers
	})
	return f
}

// memberOf returns the group member of clientID, if the broker has one.
func memberOf(info *kfake.GroupInfo, clientID string) (kfake.GroupMember, bool) {
	if info != nil {
		for _, m := range info.Members {
			if m.ClientID == clientID {
				return m, true
			}
		}
	}
	return kfake.GroupMember{}, false
}

// A worker's session expires while it is writing a batch to ClickHouse: its
// insert is held, its heartbeats do not reach the group (memberFence) until
// the broker has expired the member, then the insert completes. Outcome: the commit of that batch
// is fenced (the broker no longer knows the member: UNKNOWN_MEMBER_ID, or
// ILLEGAL_GENERATION from the emptied group) and fails; the partitions go
// to the other member, or back to this one once it rejoins, and are
// redelivered from the committed offsets: bounded duplicates, nothing lost.
// The worker rejoins as a new member and keeps consuming.
func TestSessionExpiresDuringFlush(t *testing.T) {
	for i, tc := range []struct {
		name   string
		others int // workers besides the one whose session expires
	}{
		{"alone: the partitions come back after the rejoin", 0},
		{"with another member: it takes the partitions over", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.stopMerges()
			e.cfg.SessionTimeout = 2 * time.Second // expired quickly
			e.cfg.BatchRows = 1000
			// kafka-go can stop a partition after a rebalance (the two
			// workers joining at once, on a loaded machine): the
			// watchdog rebuilds its reader after this.
			e.cfg.StallTimeout = 5 * time.Second
			org := synth.MustNew(synth.Config{Seed: 71 + int64(i), Teams: 12, Limit: 15_000, MalformedRate: 0.01})
			e.produceTables(org)
			evs := e.orgEvents(org)
			third := len(evs) / 3
			kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[:third])
			gate := &gatedSink{Sink: e.st}
			a := e.start(gate)
			var others []*worker
			for range tc.others {
				others = append(others, e.start(nil))
			}
			e.waitGroup(1 + tc.others)
			e.waitCommitted("the first third committed", append(others, a)...)
			info := e.waitGroup(1 + tc.others)
			clientID := a.in.reader.ClientID()
			old, ok := memberOf(info, clientID)
			if !ok || old.NumAssigned() == 0 {
				t.Fatalf("worker %s holds no partitions before the fault:\n%s", clientID, e.groupReport())
			}
			epoch, dupsBefore := e.groupEpoch(), e.duplicates()
			commitErrsBefore := testutil.ToFloat64(a.in.m.CommitErrors)

			e.holdBatch(gate, evs[third:2*third])
			fence := fenceMember(e.kafka, clientID)
			waitFor(t, "the broker to expire the member whose heartbeats do not reach it", 30*time.Second, func() bool {
				_, still := memberOf(e.kafka.GroupInfo(e.cfg.Group), clientID)
				return !still
			})
			fence.expired.Store(old.MemberID, true)
			close(gate.release) // the batch lands, its commit meets the expired session
			waitFor(t, "the held batch's commit fenced and failed", 30*time.Second, func() bool {
				return fence.fenced.Load() > 0 && testutil.ToFloat64(a.in.m.CommitErrors) > commitErrsBefore
			})
			fence.on.Store(false) // the next heartbeat hears UNKNOWN_MEMBER_ID: the worker rejoins
			waitFor(t, "the worker back in the group as a new member with partitions", 45*time.Second, func() bool {
				info := e.kafka.GroupInfo(e.cfg.Group)
				m, ok := memberOf(info, a.in.reader.ClientID())
				return ok && m.MemberID != old.MemberID && m.NumAssigned() > 0 && info.State == "Stable" && len(info.Members) == 1+tc.others
			})
			e.waitCommitted("the second third committed to its end", append(others, a)...)

			// The worker keeps consuming: the last third is shared by
			// the group again, and this worker handles its part.
			handled := a.handled()
			kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[2*third:])
			e.waitCommitted("the last third committed to its end", append(others, a)...)
			if a.handled() == handled {
				t.Errorf("the worker whose session expired handled nothing of the last third:\n%s", e.groupReport())
			}
			rebalances := int(e.groupEpoch() - epoch)
			commitErrs := testutil.ToFloat64(a.in.m.CommitErrors) - commitErrsBefore
			rebuilds := testutil.ToFloat64(a.in.m.ReaderRebuilds)
			for _, o := range others {
				rebuilds += testutil.ToFloat64(o.in.m.ReaderRebuilds)
			}
			a.stop(t)
			for _, o := range others {
				o.stop(t)
			}
			e.assertExactlyOnce()
			dups := e.duplicates() - dupsBefore
			// The expiry and the rejoin are two rebalances (at least);
			// each may redeliver what every member had in flight.
			inFlight := e.inFlight()
			bound := rebalances * (1 + tc.others) * inFlight
			t.Logf("heartbeats kept from the group %d, fenced commits %d, commit errors %v, reader rebuilds %v, rebalances %d, duplicate rows %d (bound %d = %d rebalances x %d members x %d in flight), %d valid events",
				fence.answered.Load(), fence.fenced.Load(), commitErrs, rebuilds, rebalances, dups, bound, rebalances, 1+tc.others, inFlight, e.valid)
			if rebalances < 2 {
				t.Errorf("%d rebalances, want the expiry's and the rejoin's", rebalances)
			}
			if dups == 0 {
				t.Errorf("no duplicates: the held batch was not redelivered, so the fault did not take its partitions away")
			}
			if dups > bound {
				t.Fatalf("%d duplicate rows, more than the bound of %d", dups, bound)
			}
		})
	}
}
