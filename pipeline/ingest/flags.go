package ingest

import (
	"flag"
	"regexp"

	"commpulse/pipeline/event"
)

// RegisterFlags registers ingest's flags on fs (the Kafka connection's
// among them), bound to c's fields with c's values as defaults: call it on
// Defaults().
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Config.RegisterFlags(fs)
	fs.StringVar(&c.EventsTopic, "events-topic", c.EventsTopic, "topic of communication events")
	fs.StringVar(&c.DirectoryTopic, "directory-topic", c.DirectoryTopic, "compacted topic person -> team")
	fs.StringVar(&c.ConsentTopic, "consent-topic", c.ConsentTopic, "compacted topic person -> consent")
	fs.StringVar(&c.DLQTopic, "dlq-topic", c.DLQTopic, "dead-letter topic for malformed events")
	fs.StringVar(&c.Group, "group", c.Group, "consumer group id")
	fs.IntVar(&c.BatchRows, "batch-rows", c.BatchRows, "rows per ClickHouse batch (flushed earlier by --batch-bytes or --batch-interval)")
	fs.IntVar(&c.BatchBytes, "batch-bytes", c.BatchBytes, "bytes of Kafka records per ClickHouse batch (bounds the memory of batches of long e-mails)")
	fs.DurationVar(&c.BatchInterval, "batch-interval", c.BatchInterval, "maximum age of a batch before it is written")
	fs.IntVar(&c.Workers, "workers", c.Workers, "goroutines that decode and score a batch")
	fs.IntVar(&c.Inserts, "inserts", c.Inserts, "batches written to ClickHouse at once (offsets are still committed in order)")
	fs.IntVar(&c.Limits.MaxBytes, "max-event-bytes", c.Limits.MaxBytes, "events larger than this go to the DLQ (reason oversize)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "time allowed on SIGTERM to flush, commit and leave the group")
	fs.BoolVar(&c.CreateTopics, "create-topics", c.CreateTopics, "create missing topics at start")
	fs.Var(newPatternValue(&c.Limits.Pseudonym), "pseudonym-pattern", "regexp (RE2, anchored) every sender and recipient id must match; others go to the DLQ (not_pseudonym or pii_id)")
	fs.DurationVar(&c.DLQRetention, "dlq-retention", c.DLQRetention, "retention.ms of the DLQ topic when ingest creates it")
	fs.DurationVar(&c.TableWait, "table-wait", c.TableWait, "longest a batch waits for the directory and consent followers to apply what their topics held (negative: no wait)")
	fs.DurationVar(&c.EventsRetention, "events-retention", c.EventsRetention, "retention.ms of the events topic when ingest creates it (0: the broker's default); the events hold message text until scored")
	fs.DurationVar(&c.StallTimeout, "stall-timeout", c.StallTimeout, "rebuild the Kafka reader (leave and rejoin the group) when an assigned events partition with records waiting delivers none for this long")
}

// patternValue is the --pseudonym-pattern value: compiled (and anchored)
// when it is set, so a bad pattern fails at start naming the flag or the
// COMMPULSE_ variable. It shows the pattern as given, not as anchored.
type patternValue struct {
	src string
	re  **regexp.Regexp
}

func newPatternValue(re **regexp.Regexp) *patternValue {
	v := &patternValue{src: event.DefaultPseudonymPattern, re: re}
	if *re != nil && *re != event.DefaultPseudonym {
		v.src = (*re).String()
	}
	return v
}

func (p *patternValue) String() string {
	if p == nil {
		return ""
	}
	return p.src
}

func (p *patternValue) Set(v string) error {
	re, err := event.ParsePseudonymPattern(v)
	if err != nil {
		return err
	}
	p.src, *p.re = v, re
	return nil
}
