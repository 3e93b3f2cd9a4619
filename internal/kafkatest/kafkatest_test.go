package kafkatest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// joinThenDie adds a member to group whose JoinGroup waits at the broker
// (a rebalance is in progress until the other members rejoin) and whose
// connection then dies, as a process killed at that moment.
func joinThenDie(t *testing.T, c *kfake.Cluster, group, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	meta := (&kmsg.ConsumerMemberMetadata{Topics: []string{topic}}).AppendTo(nil)
	join := func(ctx context.Context, id string) (*kmsg.JoinGroupResponse, error) {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = group, id, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 4000, 30000
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta
		req.Protocols = append(req.Protocols, p)
		return req.RequestWith(ctx, cl)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := join(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: error %d, want MEMBER_ID_REQUIRED", resp.ErrorCode)
	}
	// The other members' rejoin is held until this member is dead, so the
	// rebalance cannot complete (and answer its join) while it lives.
	dead := make(chan struct{})
	c.ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if j, ok := req.(*kmsg.JoinGroupRequest); ok && j.MemberID != resp.MemberID {
			c.SleepControl(func() { <-dead })
			c.DropControl()
		}
		return nil, nil, false
	})
	cl.Close()
	// The join that waits goes over a raw connection, closed at once below
	// (a client's Close may linger for requests in flight).
	conn, err := net.Dial("tcp", c.ListenAddrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.ProtocolType = group, resp.MemberID, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 4000, 30000
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", meta
	req.Protocols = append(req.Protocols, p)
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("doomed")).AppendRequest(nil, req, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitGroupInfo(ctx, group, func(gi *kfake.GroupInfo) bool { return len(gi.Members) == 2 }); err != nil {
		t.Fatalf("the second member never joined: %v", err)
	}
	conn.Close() // dies while its JoinGroup waits
	// The broker notices the closed connection asynchronously; give it a
	// moment before the rebalance completes and answers the dead member.
	time.Sleep(time.Second)
	close(dead)
}

// kfake keeps a member that died while its JoinGroup waited: it holds half of
// the partitions in a Stable group long after its session timeout, and they
// are never consumed (in some interleavings: the first subtest skips when
// kfake removed it). ExpireSessions removes it as Kafka would, always.
func TestKfakeKeepsMemberKilledInJoin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expire bool
	}{{"kfake alone", false}, {"with ExpireSessions", true}} {
		t.Run(tc.name, func(t *testing.T) {
			const group, topic = "g", "ev"
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic), kfake.GroupMinSessionTimeout(100*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.expire {
				defer ExpireSessions(c)()
			}
			Produce(t, c.ListenAddrs(), topic, []kafka.Message{{Value: []byte("a")}, {Value: []byte("b")}})
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: c.ListenAddrs(), GroupID: group, Topic: topic,
				SessionTimeout: 4 * time.Second, HeartbeatInterval: time.Second, MaxWait: 2 * time.Second})
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := r.FetchMessage(ctx); err != nil {
				t.Fatal(err)
			}
			joinThenDie(t, c, group, topic)
			gi, err := c.WaitGroupStable(ctx, group, -1)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("after the rebalance: %d members, %d partitions assigned", len(gi.Members), gi.NumAssigned())
			if !tc.expire {
				time.Sleep(3 * 4 * time.Second) // three session timeouts
				gi = c.GroupInfo(group)
				if len(gi.Members) != 2 {
					// Not every interleaving leaves the ghost: on a loaded
					// machine about half of the runs here end with kfake
					// removing the member. If it never stays any more,
					// kfake was fixed and ExpireSessions can go.
					t.Skipf("kfake removed the dead member this time (%d members)", len(gi.Members))
				}
				for _, m := range gi.Members {
					t.Logf("member %s: %d partitions", m.MemberID, m.NumAssigned())
				}
				return
			}
			if _, err := c.WaitGroupInfo(ctx, group, func(gi *kfake.GroupInfo) bool {
				return gi.State == "Stable" && len(gi.Members) == 1 && gi.NumAssigned() == 4
			}); err != nil {
				t.Fatalf("the dead member was not removed: %v (%+v)", err, c.GroupInfo(group))
			}
		})
	}
}
