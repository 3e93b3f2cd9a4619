package ingest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/backoff"
)

// The stall watchdog.
//
// kafka-go's group Reader runs one goroutine per assigned partition and
// reports nothing when one of them stops delivering: the worker stays ready,
// the other partitions flow, and the stopped partition's lag grows in
// silence (segmentio/kafka-go #387, #955, and the fetch-deadline livelock in
// docs/architecture.md, "Partitions that stop"). The watchdog looks at every
// lag poll for a partition that
//
//   - is assigned to this worker's current Reader (the group's description,
//     found by the Reader's own client id) in a stable group,
//   - has records past both the committed offset and the last offset it
//     delivered, and
//   - delivered nothing
//
// for StallTimeout of time during which the pipeline could have taken a
// record (time the fetch goroutine spent blocked on a full pipeline, say
// behind a ClickHouse outage, does not count: that is backpressure, not a
// stall). Then it rebuilds the Reader (leave the group, join again), logs it
// and counts it in commpulse_reader_rebuilds_total. A rebuild that does not
// get the partition moving is followed by the next only after a doubled
// timeout (the ingest backoff, up to 8 x StallTimeout): a broker that cannot
// serve the partition is not helped by rebalancing the group every two
// minutes, and the alert on the counter tells a person.

// stallWatch is the watchdog's bookkeeping, one poll at a time. It holds no
// clock of its own: every poll brings its time, which keeps it testable.
type stallWatch struct {
	timeout time.Duration

	started     bool
	prevAt      time.Time
	prevBlocked time.Duration
	delivered   map[int]int64         // per partition, at the previous poll
	clocks      map[int]time.Duration // stalled time so far, per partition
	streak      int                   // rebuilds whose partitions did not move since
	suspects    map[int]bool          // the partitions of the last rebuild
}

// poll is what the watchdog sees at one lag poll.
type poll struct {
	at time.Time
	// assigned are the events partitions of this worker's Reader; nil
	// when the group could not be described (the poll is skipped).
	assigned  map[int]bool
	ends      map[int]int64 // end offset per partition
	committed map[int]int64 // committed offset per partition (absent: none)
	progress  map[int]partitionProgress
	// blocked is the total time, so far, the fetch goroutine spent
	// waiting for the pipeline to take a record.
	blocked time.Duration
}

// stall is one partition found stalled.
type stall struct {
	partition int
	stalled   time.Duration
	lag       int64 // records between the committed offset and the end
}

func newStallWatch(timeout time.Duration) *stallWatch {
	return &stallWatch{timeout: timeout, delivered: map[int]int64{}, clocks: map[int]time.Duration{}, suspects: map[int]bool{}}
}

// threshold is the stalled time that triggers the next rebuild.
func (w *stallWatch) threshold() time.Duration {
	return backoff.Policy{Min: w.timeout, Max: 8 * w.timeout}.Delay(w.streak) // no jitter: a threshold
}

// observe takes one poll and returns the partitions stalled for at least the
// threshold, in partition order.
func (w *stallWatch) observe(p poll) []stall {
	if p.assigned == nil {
		return nil // unknown assignment: judge at the next poll, over both intervals
	}
	defer func() {
		w.started, w.prevAt, w.prevBlocked = true, p.at, p.blocked
		clear(w.delivered)
		for part, pr := range p.progress {
			w.delivered[part] = pr.delivered
		}
	}()
	if !w.started {
		return nil
	}
	free := p.at.Sub(w.prevAt) - (p.blocked - w.prevBlocked)
	free = max(free, 0)
	var out []stall
	for part := range p.ends {
		pr := p.progress[part]
		moved := pr.delivered != w.delivered[part]
		if moved && w.suspects[part] {
			delete(w.suspects, part)
			if len(w.suspects) == 0 {
				w.streak = 0 // the rebuild worked
			}
		}
		next := pr.next
		if c, ok := p.committed[part]; ok && c > next {
			next = c
		}
		if !p.assigned[part] || moved || p.ends[part] <= next {
			delete(w.clocks, part)
			continue
		}
		w.clocks[part] += free
		if w.clocks[part] >= w.threshold() {
			lag := p.ends[part]
			if c, ok := p.committed[part]; ok {
				lag -= c
			}
			out = append(out, stall{partition: part, stalled: w.clocks[part], lag: lag})
		}
	}
	slices.SortFunc(out, func(a, b stall) int { return a.partition - b.partition })
	return out
}

// rebuilt records that the Reader was rebuilt for these stalls: every clock
// starts again with the new Reader.
func (w *stallWatch) rebuilt(stalls []stall) {
	w.streak++
	clear(w.suspects)
	for _, s := range stalls {
		w.suspects[s.partition] = true
	}
	clear(w.clocks)
}

// assignedPartitions returns the partitions of topic that the group member
// with clientID holds, or an empty set while the group is not stable (a
// rebalance restarts every partition reader anyway) or the member is not in
// it (yet).
func assignedPartitions(ctx context.Context, cl *kafka.Client, group, topic, clientID string) (map[int]bool, error) {
	resp, err := cl.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return nil, fmt.Errorf("describe group %s: %w", group, err)
	}
	out := map[int]bool{}
	for _, g := range resp.Groups {
		if g.Error != nil {
			return nil, fmt.Errorf("describe group %s: %w", group, g.Error)
		}
		if g.GroupID != group || g.GroupState != "Stable" {
			continue
		}
		for _, m := range g.Members {
			if m.ClientID != clientID {
				continue
			}
			for _, t := range m.MemberAssignments.Topics {
				if t.Topic == topic {
					for _, p := range t.Partitions {
						out[p] = true
					}
				}
			}
		}
	}
	return out, nil
}

// watch runs the watchdog on one lag poll's offsets and rebuilds the Reader
// when a partition stalled.
func (in *Ingest) watch(ctx context.Context, cl *kafka.Client, ends map[int]offsetRange, committed map[int]int64) {
	clientID := in.reader.ClientID()
	assigned, err := assignedPartitions(ctx, cl, in.cfg.Group, in.cfg.EventsTopic, clientID)
	if err != nil {
		in.log.Debug("stall watchdog: group not described, skipping this poll", "err", err)
	}
	endOffsets := make(map[int]int64, len(ends))
	for p, r := range ends {
		endOffsets[p] = r.end
	}
	stalls := in.stalls.observe(poll{at: time.Now(), assigned: assigned, ends: endOffsets, committed: committed,
		progress: in.reader.Progress(), blocked: time.Duration(in.fetchBlocked.Load())})
	if len(stalls) == 0 {
		return
	}
	parts, lags := make([]int, len(stalls)), make([]int64, len(stalls))
	for i, s := range stalls {
		parts[i], lags[i] = s.partition, s.lag
	}
	in.log.Warn("events partitions assigned to this worker delivered nothing while records wait: rebuilding the kafka reader",
		"topic", in.cfg.EventsTopic, "partitions", parts, "lag", lags, "stalled_for", stalls[0].stalled.Round(time.Second),
		"threshold", in.stalls.threshold(), "client_id", clientID, "rebuilds_in_a_row", in.stalls.streak+1)
	if !in.reader.Rebuild() {
		return // shutting down
	}
	in.stalls.rebuilt(stalls)
	in.m.ReaderRebuilds.Inc()
	in.log.Info("kafka reader rebuilt; it rejoins the group and resumes from the committed offsets", "client_id", in.reader.ClientID())
}
