package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"commpulse/internal/defaults"
	"commpulse/pipeline/event"
	"commpulse/pipeline/kafkaconn"
	"commpulse/pipeline/privacy"
)

// Config configures an ingest worker. Zero fields take the defaults of
// Defaults(); Validate fills them and names the first bad field.
type Config struct {
	// Config is the Kafka connection: brokers, TLS, SASL, timeouts.
	kafkaconn.Config

	Group          string
	EventsTopic    string
	DirectoryTopic string
	ConsentTopic   string
	DLQTopic       string

	// BatchRows, BatchBytes and BatchInterval bound a batch: it is written
	// when any is reached. Bigger batches are much cheaper for ClickHouse:
	// its CPU per row falls from 18 us at 2,000 rows to 4.4 at 10,000 and
	// 3.2 at 50,000 (BenchmarkInsertMessages), and at 50,000 the whole
	// pipeline ran 60% faster than at 10,000 (BenchmarkEndToEnd). BatchBytes
	// (of record keys and values) keeps big batches of long e-mails from
	// growing memory: it, not BatchRows, bounds a batch of long bodies. The
	// interval bounds the event-to-row latency at low rates.
	BatchRows     int
	BatchBytes    int
	BatchInterval time.Duration
	// Workers decode and score a batch in parallel (default GOMAXPROCS).
	Workers int
	// Inserts is how many batches are written to ClickHouse at once
	// (default 2). Offsets are still committed in batch order. Two overlap
	// the client's encoding of one batch with the server's work on the
	// other; more only help a ClickHouse with cores to spare.
	Inserts int
	// Limits bounds what the decoder accepts (event size, recipients).
	Limits event.Limits

	// RetryMin/RetryMax bound the exponential backoff of ClickHouse and DLQ
	// writes. Writes are retried until they succeed or shutdown: dropping a
	// batch would lose data, and not committing keeps it safe in Kafka.
	RetryMin time.Duration
	RetryMax time.Duration
	// ShutdownTimeout bounds the drain on SIGTERM: flush, commit, leave.
	ShutdownTimeout time.Duration
	// SessionTimeout of the consumer group membership.
	SessionTimeout time.Duration
	// LagInterval is how often consumer lag and Kafka health are polled.
	// The stall watchdog runs on the same poll.
	LagInterval time.Duration
	// StallTimeout is how long a partition may stay assigned to this
	// worker, with records to fetch, while its reader delivers none of
	// them, before the watchdog rebuilds the reader (leave the group, join
	// again with a fresh reader). Only time during which the pipeline could
	// have taken records counts: a worker held back by a slow or absent
	// ClickHouse is not stalled. Too short, and a rebuild (a group-wide
	// rebalance, and redelivery of the batches in flight) answers a hiccup;
	// too long, and a stuck partition's events are that much later. The
	// default of 2 minutes is well above a rebalance or a broker restart
	// (seconds) and well below the lag alerts (5 to 10 minutes). Repeated
	// rebuilds back off (doubling, up to 8 x StallTimeout).
	StallTimeout time.Duration
	// FetchMaxWait is kafka-go's ReaderConfig.MaxWait for the events
	// reader. kafka-go uses it twice: the broker is asked to hold an empty
	// fetch for MaxWait minus an RTT allowance (1 s here), and the client
	// gives up on a fetch answer that has not started to arrive after
	// MaxWait, closes the connection and asks again for the same offset. It
	// is therefore the longest a loaded broker may take to start answering
	// a fetch with data; see docs/architecture.md, "Partitions that stop".
	// The cost of a long one: a rebalance and a shutdown wait for the fetches
	// in flight, up to FetchMaxWait.
	FetchMaxWait time.Duration
	// FetchMaxBytes bounds one fetch answer per partition. It bounds the
	// broker's work per fetch (and so the time to answer, which must stay
	// under FetchMaxWait) and the memory of a fetch; a record batch larger
	// than it is still delivered whole (fetch v3+).
	FetchMaxBytes int

	// CreateTopics creates missing topics at start (directory and consent
	// compacted, the DLQ with DLQRetention) with Partitions partitions.
	// Production clusters usually manage topics elsewhere and turn this
	// off; the DLQ writer then does not auto-create its topic either, so
	// a DLQ without retention cannot appear behind the operator's back.
	CreateTopics bool
	Partitions   int
	// DLQRetention is the retention.ms the DLQ topic is created with. The
	// DLQ keeps no text and no id outside the pseudonym policy, but it is
	// still person-level data (pseudonyms, times): keep it as short as
	// someone can act on a rejected producer within. It is applied only
	// when ingest creates the topic; an existing topic with a longer or no
	// retention is reported at start, not altered.
	DLQRetention time.Duration
	// EventsRetention, when set, is the retention.ms the events topic is
	// created with (0: the broker's default). The events carry the message
	// text until ingest has scored them: a broker that keeps them for its
	// default week keeps the text that long. Like DLQRetention it applies
	// only when ingest creates the topic. The embedded stack (demo, up)
	// sets it; a production cluster sets its own topic's retention.
	EventsRetention time.Duration
	// TableWait bounds how long a batch waits for the directory and
	// consent followers to apply what their topics held when it was
	// processed (awaitTables); negative does not wait. Default 5 s. The
	// wait is usually a few milliseconds; the bound keeps a lagging
	// follower from stalling ingest.
	TableWait time.Duration

	// Pseudonymizer, if set, re-keys every person id before it is stored
	// (HMAC). The gate still works on the producer's ids. It also keys the
	// hashes in DLQ records (record key, event id); without it those use a
	// random per-process key, so they cannot be linked across restarts.
	Pseudonymizer *privacy.Pseudonymizer

	Logger *slog.Logger
}

// Defaults returns the default configuration (the one place defaults live).
func Defaults() Config {
	return Config{
		Config:          kafkaconn.Defaults(),
		Group:           "commpulse-ingest",
		EventsTopic:     event.DefaultTopics.Events,
		DirectoryTopic:  event.DefaultTopics.Directory,
		ConsentTopic:    event.DefaultTopics.Consent,
		DLQTopic:        "comms.dlq",
		BatchRows:       50000,
		BatchBytes:      16 << 20,
		Inserts:         2,
		BatchInterval:   time.Second,
		Workers:         runtime.GOMAXPROCS(0),
		Limits:          event.DefaultLimits,
		RetryMin:        200 * time.Millisecond,
		RetryMax:        10 * time.Second,
		ShutdownTimeout: 30 * time.Second,
		SessionTimeout:  10 * time.Second,
		LagInterval:     5 * time.Second,
		StallTimeout:    2 * time.Minute,
		FetchMaxWait:    2 * time.Second,
		FetchMaxBytes:   4 << 20,
		CreateTopics:    true,
		Partitions:      6,
		DLQRetention:    7 * 24 * time.Hour,
		TableWait:       5 * time.Second,
	}
}

// withDefaults fills zero fields from Defaults.
func (c Config) withDefaults() Config {
	d := Defaults()
	defaults.Fill(&c.Group, d.Group)
	defaults.Fill(&c.EventsTopic, d.EventsTopic)
	defaults.Fill(&c.DirectoryTopic, d.DirectoryTopic)
	defaults.Fill(&c.ConsentTopic, d.ConsentTopic)
	defaults.Fill(&c.DLQTopic, d.DLQTopic)
	defaults.Fill(&c.BatchInterval, d.BatchInterval)
	defaults.Fill(&c.RetryMin, d.RetryMin)
	defaults.Fill(&c.RetryMax, d.RetryMax)
	defaults.Fill(&c.ShutdownTimeout, d.ShutdownTimeout)
	defaults.Fill(&c.SessionTimeout, d.SessionTimeout)
	defaults.Fill(&c.LagInterval, d.LagInterval)
	defaults.Fill(&c.StallTimeout, d.StallTimeout)
	defaults.Fill(&c.FetchMaxWait, d.FetchMaxWait)
	defaults.Fill(&c.FetchMaxBytes, d.FetchMaxBytes)
	defaults.Fill(&c.BatchRows, d.BatchRows)
	defaults.Fill(&c.BatchBytes, d.BatchBytes)
	defaults.Fill(&c.Inserts, d.Inserts)
	defaults.Fill(&c.Workers, d.Workers)
	defaults.Fill(&c.Partitions, d.Partitions)
	defaults.Fill(&c.DLQRetention, d.DLQRetention)
	defaults.Fill(&c.TableWait, d.TableWait)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate fills the zero fields from Defaults, resolves the Kafka
// connection (TLS and SASL files) and reports the first invalid field by
// its flag name.
func (c *Config) Validate() error {
	*c = c.withDefaults()
	if err := c.Config.Validate(); err != nil {
		return err
	}
	switch {
	case c.BatchRows < 1 || c.BatchRows > 1_000_000:
		return fmt.Errorf("batch-rows %d: must be in 1..1000000", c.BatchRows)
	case c.BatchBytes < 64<<10 || c.BatchBytes > 1<<30:
		return fmt.Errorf("batch-bytes %d: must be in 65536..1073741824", c.BatchBytes)
	case c.BatchInterval < time.Millisecond:
		return fmt.Errorf("batch-interval %s: must be >= 1ms", c.BatchInterval)
	case c.Inserts < 1 || c.Inserts > 16:
		return fmt.Errorf("inserts %d: must be in 1..16", c.Inserts)
	case c.Workers < 1 || c.Workers > 256:
		return fmt.Errorf("workers %d: must be in 1..256", c.Workers)
	case c.RetryMin <= 0 || c.RetryMax < c.RetryMin:
		return fmt.Errorf("retry backoff %s..%s: need 0 < min <= max", c.RetryMin, c.RetryMax)
	case c.StallTimeout < time.Second:
		return fmt.Errorf("stall-timeout %s: must be >= 1s", c.StallTimeout)
	case c.StallTimeout < 2*c.LagInterval:
		// The watchdog judges on the lag poll: it needs two polls to see
		// that nothing moved.
		return fmt.Errorf("stall-timeout %s: must be at least twice the lag interval %s", c.StallTimeout, c.LagInterval)
	case c.FetchMaxWait < 1500*time.Millisecond:
		// kafka-go takes 1 s off MaxWait for the round trip when asking the
		// broker to wait (a quarter when MaxWait is shorter than 1 s): under
		// 1.5 s the broker answers empty fetches at once or the client's
		// deadline is too tight for a loaded broker.
		return fmt.Errorf("fetch max wait %s: must be >= 1.5s", c.FetchMaxWait)
	case c.FetchMaxBytes < 64<<10:
		return fmt.Errorf("fetch max bytes %d: must be >= 65536", c.FetchMaxBytes)
	case c.Partitions < 1:
		return fmt.Errorf("partitions %d: must be >= 1", c.Partitions)
	case c.Limits.MaxBytes < 0:
		return errors.New("max-event-bytes: must be >= 0")
	case c.DLQRetention < time.Minute:
		// Kafka reads -1 as "keep forever", which the DLQ must not do.
		return fmt.Errorf("dlq-retention %s: must be >= 1m", c.DLQRetention)
	case c.EventsRetention != 0 && c.EventsRetention < time.Minute:
		return fmt.Errorf("events-retention %s: must be 0 (the broker's default) or >= 1m", c.EventsRetention)
	}
	topics := map[string]string{"events-topic": c.EventsTopic, "directory-topic": c.DirectoryTopic,
		"consent-topic": c.ConsentTopic, "dlq-topic": c.DLQTopic}
	seen := map[string]string{}
	for field, t := range topics {
		if other, dup := seen[t]; dup {
			return fmt.Errorf("%s %q: same topic as %s", field, t, other)
		}
		seen[t] = field
	}
	return nil
}
