package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// clientIDPrefix starts the Kafka client id of every events reader (see
// groupReader).
const clientIDPrefix = "commpulse-ingest"

// closeReaderWait bounds waiting for a replaced events reader to leave the
// group: kafka-go's Close waits for the fetches in flight (FetchMaxWait) and
// a last commit (three tries, backoff up to 5 s).
const closeReaderWait = 30 * time.Second

// eventsReader builds the group reader of the events topic.
func (c Config) eventsReader(clientID string, log *slog.Logger) *kafka.Reader {
	d := c.Dialer()
	d.ClientID = clientID
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers: c.Brokers, GroupID: c.Group, Topic: c.EventsTopic, Dialer: d,
		MinBytes: 1, MaxBytes: c.FetchMaxBytes,
		// Not a latency knob (MinBytes 1: the broker answers as soon as it
		// has a record) but the client's deadline for a fetch answer, see
		// Config.FetchMaxWait.
		MaxWait:        c.FetchMaxWait,
		QueueCapacity:  1000,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: 0, // synchronous commits, only after the sink acknowledged
		SessionTimeout: c.SessionTimeout,
		// kafka-go's default heartbeat (3 s) is longer than short sessions:
		// the group would expire and rebalance over and over.
		HeartbeatInterval: c.SessionTimeout / 3,
		// kafka-go logs rebalances and fetch errors through ErrorLogger and
		// its progress through Logger; keep both at debug.
		ErrorLogger: debugLogger(log, "kafka reader"),
		Logger:      debugLogger(log, "kafka reader progress"),
	})
}

// debugLogger logs kafka-go's printf-style lines at debug level, formatting
// them only when debug is on: kafka-go logs on every fetch and commit.
func debugLogger(log *slog.Logger, what string) kafka.Logger {
	return kafka.LoggerFunc(func(msg string, args ...any) {
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug(what, "msg", fmt.Sprintf(msg, args...))
		}
	})
}

// ensureTopics creates the topics that do not exist yet. The directory and
// consent topics are compacted: they are tables keyed by person. The events
// topic gets retention.ms = EventsRetention when that is set. The DLQ is
// created with retention.ms = DLQRetention; if it exists already, a longer
// or missing retention is logged as a warning (it is the operator's topic).
func ensureTopics(ctx context.Context, c Config) error {
	cl := c.Client()
	compact := []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
	retention := []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(c.DLQRetention.Milliseconds(), 10)}}
	var events []kafka.ConfigEntry
	if c.EventsRetention > 0 {
		events = []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(c.EventsRetention.Milliseconds(), 10)}}
	}
	req := &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: c.EventsTopic, NumPartitions: c.Partitions, ReplicationFactor: -1, ConfigEntries: events},
		{Topic: c.DLQTopic, NumPartitions: 1, ReplicationFactor: -1, ConfigEntries: retention},
		{Topic: c.DirectoryTopic, NumPartitions: 1, ReplicationFactor: -1, ConfigEntries: compact},
		{Topic: c.ConsentTopic, NumPartitions: 1, ReplicationFactor: -1, ConfigEntries: compact},
	}}
	resp, err := cl.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for topic, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	if errors.Is(resp.Errors[c.DLQTopic], kafka.TopicAlreadyExists) {
		ms, err := topicRetention(ctx, cl, c.DLQTopic)
		switch {
		case err != nil:
			c.Logger.Warn("cannot read the DLQ topic's retention", "topic", c.DLQTopic, "err", err)
		case ms < 0 || ms > c.DLQRetention.Milliseconds():
			c.Logger.Warn("the existing DLQ topic keeps records longer than --dlq-retention; set its retention.ms",
				"topic", c.DLQTopic, "retention_ms", ms, "want_ms", c.DLQRetention.Milliseconds())
		}
	}
	return nil
}

// topicRetention returns the retention.ms of topic as the broker reports it
// (-1: kept forever).
func topicRetention(ctx context.Context, cl *kafka.Client, topic string) (int64, error) {
	resp, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"}}}})
	if err != nil {
		return 0, fmt.Errorf("describe configs of %s: %w", topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return 0, fmt.Errorf("describe configs of %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "retention.ms" {
				ms, err := strconv.ParseInt(e.ConfigValue, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("retention.ms of %s: %q is not a number", topic, e.ConfigValue)
				}
				return ms, nil
			}
		}
	}
	return 0, fmt.Errorf("describe configs of %s: no retention.ms in the answer", topic)
}

// partitions returns the partition ids of topic.
func partitions(ctx context.Context, cl *kafka.Client, topic string) ([]int, error) {
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", topic, t.Error)
		}
		ps := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.ID)
		}
		return ps, nil
	}
	return nil, fmt.Errorf("metadata of %s: topic not found", topic)
}

// offsetRange is the [first, end) offsets of one partition.
type offsetRange struct{ first, end int64 }

func listOffsets(ctx context.Context, cl *kafka.Client, topic string, ps []int) (map[int]offsetRange, error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*len(ps))
	for _, p := range ps {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	resp, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	out := map[int]offsetRange{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		r := out[po.Partition]
		if po.FirstOffset >= 0 {
			r.first = po.FirstOffset
		}
		if po.LastOffset >= 0 {
			r.end = po.LastOffset
		}
		out[po.Partition] = r
	}
	return out, nil
}

// committedOffsets returns the group's committed offset per partition; a
// partition without a commit is absent. kfake answers an unknown group with
// GroupIdNotFound where Kafka answers -1: both mean "nothing committed".
func committedOffsets(ctx context.Context, cl *kafka.Client, group, topic string, ps []int) (map[int]int64, error) {
	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch for group %s: %w", group, err)
	}
	out := map[int]int64{}
	if resp.Error != nil {
		if errors.Is(resp.Error, kafka.GroupIdNotFound) {
			return out, nil
		}
		return nil, fmt.Errorf("offset fetch for group %s: %w", group, resp.Error)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			if errors.Is(p.Error, kafka.GroupIdNotFound) {
				continue
			}
			return nil, fmt.Errorf("offset fetch %s/%d: %w", topic, p.Partition, p.Error)
		}
		if p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}

// pollLag updates the consumer lag gauge and reports whether Kafka answered,
// with the offsets it read (for the stall watchdog).
func (in *Ingest) pollLag(ctx context.Context, cl *kafka.Client) (map[int]offsetRange, map[int]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ps, err := partitions(ctx, cl, in.cfg.EventsTopic)
	if err != nil {
		return nil, nil, err
	}
	ends, err := listOffsets(ctx, cl, in.cfg.EventsTopic, ps)
	if err != nil {
		return nil, nil, err
	}
	committed, err := committedOffsets(ctx, cl, in.cfg.Group, in.cfg.EventsTopic, ps)
	if err != nil {
		return nil, nil, err
	}
	for p, r := range ends {
		c, ok := committed[p]
		if !ok {
			c = r.first
		}
		in.m.ConsumerLag.WithLabelValues(strconv.Itoa(p)).Set(float64(max(r.end-c, 0)))
	}
	return ends, committed, nil
}
