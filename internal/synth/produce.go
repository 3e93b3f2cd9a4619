package synth

import (
	"context"
	"fmt"
	"time"

	"commpulse/pipeline/event"
)

// Record is one Kafka record to produce.
type Record struct {
	Topic      string
	Key, Value []byte
}

// Writer writes records synchronously: when WriteRecords returns nil, every
// record was acknowledged. It is the seam between the pure generator and a
// Kafka client; cmd/commpulse adapts a *kafka.Writer to it, tests use a
// slice. Keeping kafka-go out of this package keeps the generator pure and
// its tests free of a broker.
type Writer interface {
	WriteRecords(ctx context.Context, recs []Record) error
}

// Topics names the three input topics of the pipeline.
type Topics = event.Topics

// DefaultTopics are the topic names of the design.
var DefaultTopics = event.DefaultTopics

// ProduceOptions tune Produce. The zero value writes as fast as possible to
// DefaultTopics in chunks of 5000.
type ProduceOptions struct {
	Topics Topics
	// ChunkSize is the number of records per WriteRecords call. Large chunks
	// matter with kafka-go: a synchronous WriteMessages call waits for its
	// batches, so one record per call runs at one batch timeout per record.
	// Default 5000.
	ChunkSize int
	// Rate limits the event records per second; 0 means no limit. With a
	// limit, chunks shrink to about 1/20 s of traffic so the pace is smooth.
	Rate float64
	// Progress, if set, is called with the running totals at most every
	// ProgressEvery (default 5s), after a chunk was written.
	Progress      func(Stats)
	ProgressEvery time.Duration
}

// Stats are the totals of a Produce call.
type Stats struct {
	Directory int // directory records
	Consents  int // consent records (opt-ins at start and opt-outs)
	Events    int // event records of every Kind
	// ByKind counts the event records per Kind, indexed by Kind.
	ByKind  [OptedOut + 1]int
	Elapsed time.Duration
}

// EventRate is the number of event records per second of Elapsed.
func (s Stats) EventRate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

func (s Stats) String() string {
	return fmt.Sprintf("%d events (valid %d, malformed %d, not opted in %d, opted out %d), %d directory, %d consent records in %s (%.0f events/s)",
		s.Events, s.ByKind[Valid], s.ByKind[Malformed], s.ByKind[NotOptedIn], s.ByKind[OptedOut],
		s.Directory, s.Consents, s.Elapsed.Round(time.Millisecond), s.EventRate())
}

// Produce writes the organisation to w: first every directory record and
// the consent records at or before Config.Start (keys are person ids), then
// the events in time order (key = sender, so a person's events keep their
// order within a partition). Later consent records (opt-outs) are written
// in-stream just before the first event at or after their time, as a live
// opt-out would be. Consumers should still judge events by occurred_at
// against the record's "at": topics are read independently, so arrival order
// across topics is not guaranteed.
//
// Produce stops at the first write error or when ctx is done, and returns
// the totals written so far with the error.
func Produce(ctx context.Context, w Writer, o *Org, opts ProduceOptions) (Stats, error) {
	if opts.Topics == (Topics{}) {
		opts.Topics = DefaultTopics
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 5000
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5 * time.Second
	}
	chunkSize := opts.ChunkSize
	if opts.Rate > 0 {
		chunkSize = max(1, min(chunkSize, int(opts.Rate/20)))
	}
	start := time.Now()
	var st Stats
	elapsed := func() Stats { st.Elapsed = time.Since(start); return st }

	// Directory and initial consents, before any event.
	head := make([]Record, 0, 2*len(o.people))
	for _, d := range o.Directory() {
		head = append(head, Record{Topic: opts.Topics.Directory, Key: []byte(d.Person), Value: MarshalDirectory(d)})
	}
	consents := o.Consents()
	i := 0
	for ; i < len(consents) && !consents[i].At.After(o.cfg.Start); i++ {
		head = append(head, Record{Topic: opts.Topics.Consent, Key: []byte(consents[i].Person), Value: MarshalConsent(consents[i])})
	}
	for len(head) > 0 {
		n := min(len(head), opts.ChunkSize)
		if err := w.WriteRecords(ctx, head[:n]); err != nil {
			return elapsed(), fmt.Errorf("synth: write directory and consent records: %w", err)
		}
		for _, r := range head[:n] {
			if r.Topic == opts.Topics.Directory {
				st.Directory++
			} else {
				st.Consents++
			}
		}
		head = head[n:]
	}
	pending := consents[i:]

	chunk := make([]Record, 0, chunkSize+len(pending))
	var chunkKinds [OptedOut + 1]int
	chunkConsents := 0
	lastProgress := start
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := w.WriteRecords(ctx, chunk); err != nil {
			return fmt.Errorf("synth: write events: %w", err)
		}
		for k, n := range chunkKinds {
			st.ByKind[k] += n
			st.Events += n
		}
		st.Consents += chunkConsents
		chunk, chunkKinds, chunkConsents = chunk[:0], [OptedOut + 1]int{}, 0
		if opts.Rate > 0 {
			due := start.Add(time.Duration(float64(st.Events) / opts.Rate * float64(time.Second)))
			if err := sleepUntil(ctx, due); err != nil {
				return err
			}
		}
		if now := time.Now(); opts.Progress != nil && now.Sub(lastProgress) >= opts.ProgressEvery {
			lastProgress = now
			opts.Progress(elapsed())
		}
		return nil
	}
	for g := range o.Events() {
		if err := ctx.Err(); err != nil {
			return elapsed(), err
		}
		for len(pending) > 0 && !pending[0].At.After(g.Event.OccurredAt) {
			c := pending[0]
			chunk = append(chunk, Record{Topic: opts.Topics.Consent, Key: []byte(c.Person), Value: MarshalConsent(c)})
			chunkConsents++
			pending = pending[1:]
		}
		chunk = append(chunk, Record{Topic: opts.Topics.Events, Key: g.Key(), Value: g.Value()})
		chunkKinds[g.Kind]++
		if len(chunk) >= chunkSize {
			if err := flush(); err != nil {
				return elapsed(), err
			}
		}
	}
	// Opt-outs after the last event (e.g. with a Limit) still belong to the run.
	for _, c := range pending {
		chunk = append(chunk, Record{Topic: opts.Topics.Consent, Key: []byte(c.Person), Value: MarshalConsent(c)})
		chunkConsents++
	}
	if err := flush(); err != nil {
		return elapsed(), err
	}
	return elapsed(), nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
