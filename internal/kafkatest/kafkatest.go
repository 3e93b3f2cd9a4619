// Package kafkatest starts a real Kafka-protocol broker in process (franz-go's
// kfake) for integration tests. kafka-go talks to it over TCP exactly as to a
// real cluster: produce, consumer groups, commits, ListOffsets, OffsetFetch.
// It also injects broker-side faults through kfake's control hooks (a slow
// or a swallowed fetch of one partition).
package kafkatest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"commpulse/internal/synth"
	"commpulse/pipeline/kafkaconn"
)

// Start returns the addresses of a one-broker cluster that accepts topic
// auto-creation and group sessions down to 100 ms (kfake's default minimum
// of 6 s makes kafka-go readers with shorter sessions hang silently), and
// expires dead group members as Kafka does (ExpireSessions). The cluster is
// closed when the test ends.
func Start(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	base := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}
	c, err := kfake.NewCluster(append(base, opts...)...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	t.Cleanup(ExpireSessions(c))
	return c, c.ListenAddrs()
}

// Produce writes msgs to topic with a kafka-go Writer tuned for bulk loads
// (the default BatchTimeout of 1 s makes small writes crawl).
func Produce(t testing.TB, brokers []string, topic string, msgs []kafka.Message) {
	t.Helper()
	w := kafkaconn.Brokers(brokers...).Writer(topic)
	w.BatchSize, w.BatchTimeout = 1000, 5*time.Millisecond
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		if err := w.WriteMessages(ctx, msgs[:n]...); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
		msgs = msgs[n:]
	}
}

// ReadAll reads every record of every partition of topic up to the end
// offsets it has now.
func ReadAll(t testing.TB, brokers []string, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := kafkaconn.Brokers(brokers...).Client()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("metadata %s: %v", topic, err)
	}
	var out []kafka.Message
	for _, tp := range md.Topics {
		if tp.Error != nil {
			t.Fatalf("metadata %s: %v", topic, tp.Error)
		}
		for _, p := range tp.Partitions {
			lo, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
				topic: {kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID)}}})
			if err != nil {
				t.Fatalf("list offsets %s/%d: %v", topic, p.ID, err)
			}
			po := lo.Topics[topic][0]
			if po.LastOffset <= po.FirstOffset {
				continue
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
			if err := r.SetOffset(po.FirstOffset); err != nil {
				t.Fatal(err)
			}
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					r.Close()
					t.Fatalf("read %s/%d: %v", topic, p.ID, err)
				}
				out = append(out, m)
				if m.Offset+1 >= po.LastOffset {
					break
				}
			}
			r.Close()
		}
	}
	return out
}

// OrgTopics names the input topics a generated organisation is produced to.
type OrgTopics struct{ Directory, Consent, Events string }

// OrgMessages returns a generated organisation's directory, consent and
// event records as Kafka messages (key = person, or the event's key), with
// every directory record's team replaced by team when it is set.
func OrgMessages(org *synth.Org, team string) (dir, cons, evs []kafka.Message) {
	for _, d := range org.Directory() {
		if team != "" {
			d.Team = team
		}
		dir = append(dir, kafka.Message{Key: []byte(d.Person), Value: synth.MarshalDirectory(d)})
	}
	for _, c := range org.Consents() {
		cons = append(cons, kafka.Message{Key: []byte(c.Person), Value: synth.MarshalConsent(c)})
	}
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
	}
	return dir, cons, evs
}

// ProduceOrg writes OrgMessages(org, team) to topics (directory and
// consents first, so that a consumer that loads them before events sees
// every person) and returns the number of events.
func ProduceOrg(t testing.TB, brokers []string, topics OrgTopics, org *synth.Org, team string) int {
	t.Helper()
	dir, cons, evs := OrgMessages(org, team)
	Produce(t, brokers, topics.Directory, dir)
	Produce(t, brokers, topics.Consent, cons)
	Produce(t, brokers, topics.Events, evs)
	return len(evs)
}

// fetches reports whether req is a Fetch request for topic/partition
// (kafka-go fetches by topic name, one partition per request).
func fetches(req kmsg.Request, topic string, partition int32) bool {
	f, ok := req.(*kmsg.FetchRequest)
	if !ok {
		return false
	}
	for _, t := range f.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition == partition {
				return true
			}
		}
	}
	return false
}

// DelayFetch makes the broker start answering every Fetch of
// topic/partition d late, as a loaded broker does with a large answer, until
// the returned stop is called. Other partitions, and other requests on
// other connections, are served meanwhile.
func DelayFetch(c *kfake.Cluster, topic string, partition int32, d time.Duration) (stop func()) {
	var stopped atomic.Bool
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if stopped.Load() {
			c.DropControl()
			return nil, nil, false
		}
		if fetches(req, topic, partition) {
			c.SleepControl(func() { time.Sleep(d) })
		}
		return nil, nil, false // then served as usual
	})
	return func() { stopped.Store(true) }
}

// FetchStall is a partition whose Fetch requests the broker swallows (reads,
// never answers), as if the consumer's partition reader had stopped, until a
// new member joins the group: the state belongs to the consumer instance, and
// a consumer that is rebuilt and rejoins gets past it.
type FetchStall struct {
	swallowed atomic.Int64
	released  atomic.Bool
}

// Swallowed is the number of fetches swallowed so far.
func (s *FetchStall) Swallowed() int64 { return s.swallowed.Load() }

// Released reports whether a new member joined, which ended the stall.
func (s *FetchStall) Released() bool { return s.released.Load() }

// StallFetchUntilRejoin starts a FetchStall of topic/partition. The consumer
// sees a fetch that times out, reconnects, and times out again, with no
// error for the application: the silent stall of segmentio/kafka-go #387.
func StallFetchUntilRejoin(c *kfake.Cluster, topic string, partition int32) *FetchStall {
	s := &FetchStall{}
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if j, ok := req.(*kmsg.JoinGroupRequest); ok && j.MemberID == "" {
			s.released.Store(true)
			c.DropControl()
		}
		return nil, nil, false
	})
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if s.released.Load() {
			c.DropControl()
			return nil, nil, false
		}
		if !fetches(req, topic, partition) {
			return nil, nil, false
		}
		s.swallowed.Add(1)
		c.KeepControl()
		return nil, nil, true // handled, no answer
	})
	return s
}

// ExpireSessions makes c expire group members the way Kafka does, where
// kfake does not: a member whose process dies while its JoinGroup waits at
// the broker stays in the group for good. kfake stops a member's session
// timer while it waits in JoinGroup, restarts it only after a reply it could
// deliver (the reply to a dead connection fails), and drops the
// "members that never synced" deadline once the leader has synced. The
// dead member then holds its share of the partitions in a Stable group, and
// nobody consumes them: TestChaos saw 5 of 10 partitions stop for 5 minutes
// behind such a member (TestKfakeKeepsMemberKilledInJoin shows it alone).
//
// ExpireSessions watches every group request (controls that only observe),
// and removes with LeaveGroup, as Kafka's session expiry would, a member of
// a Stable group that sent none for its session timeout plus a second. Live
// members heartbeat every few seconds in a Stable group, so only the dead
// are removed. It stops with the cluster or the returned stop.
func ExpireSessions(c *kfake.Cluster) (stop func()) {
	type member struct {
		group   string
		session time.Duration
		seen    time.Time
	}
	var (
		mu      sync.Mutex
		members = map[string]*member{} // by member id
		groups  = map[string]bool{}
	)
	sessions := map[string]time.Duration{} // longest asked for, per group
	saw := func(group, id string, session time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		groups[group] = true
		sessions[group] = max(sessions[group], session)
		if id == "" {
			return // a first join: the member id comes with the reply
		}
		m := members[id]
		if m == nil {
			m = &member{group: group, session: 10 * time.Second}
			members[id] = m
		}
		if session > 0 {
			m.session = session
		}
		m.seen = time.Now()
	}
	observe := func(req kmsg.Request) (kmsg.Response, error, bool) {
		switch r := req.(type) {
		case *kmsg.JoinGroupRequest:
			saw(r.Group, r.MemberID, time.Duration(r.SessionTimeoutMillis)*time.Millisecond)
		case *kmsg.SyncGroupRequest:
			saw(r.Group, r.MemberID, 0)
		case *kmsg.HeartbeatRequest:
			saw(r.Group, r.MemberID, 0)
		case *kmsg.OffsetCommitRequest:
			saw(r.Group, r.MemberID, 0)
		}
		return nil, nil, false // observe only: served as usual
	}
	for _, k := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit} {
		c.ControlKey(int16(k), observe)
	}

	done := make(chan struct{})
	var once sync.Once
	go func() {
		cl := kafkaconn.Brokers(c.ListenAddrs()...).Client()
		cl.Timeout = 5 * time.Second
		defer cl.Transport.(*kafka.Transport).CloseIdleConnections()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			mu.Lock()
			names := make([]string, 0, len(groups))
			for g := range groups {
				names = append(names, g)
			}
			mu.Unlock()
			for _, g := range names {
				info := c.GroupInfo(g)
				if info == nil || info.State != "Stable" {
					continue
				}
				for _, gm := range info.Members {
					mu.Lock()
					m := members[gm.MemberID]
					if m == nil {
						// Joined with an empty member id and has sent
						// nothing since: its clock starts now.
						m = &member{group: g, session: sessions[g], seen: time.Now()}
						if m.session == 0 {
							m.session = 10 * time.Second
						}
						members[gm.MemberID] = m
					}
					dead := time.Since(m.seen) > m.session+time.Second
					mu.Unlock()
					if !dead {
						continue
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, _ = cl.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: g, Members: []kafka.LeaveGroupRequestMember{{ID: gm.MemberID}}})
					cancel()
					mu.Lock()
					delete(members, gm.MemberID)
					mu.Unlock()
				}
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}
