// Package kafkatest starts a real Kafka-protocol broker in process (franz-go's
// kfake) for integration tests. kafka-go talks to it over TCP exactly as to a
// real cluster: produce, consumer groups, commits, ListOffsets, OffsetFetch.
package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/pipeline/synth"
)

// Start returns the addresses of a one-broker cluster that accepts topic
// auto-creation and group sessions down to 100 ms (kfake's default minimum
// of 6 s makes kafka-go readers with shorter sessions hang silently). The
// cluster is closed when the test ends.
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
	return c, c.ListenAddrs()
}

// Produce writes msgs to topic with a kafka-go Writer tuned for bulk loads
// (the default BatchTimeout of 1 s makes small writes crawl).
func Produce(t testing.TB, brokers []string, topic string, msgs []kafka.Message) {
	t.Helper()
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{},
		BatchSize: 1000, BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true,
		RequiredAcks: kafka.RequireAll, Transport: &kafka.Transport{},
	}
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
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: &kafka.Transport{}}
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
