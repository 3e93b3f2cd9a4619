package ingest

// Unit tests of the ingest core (serve: fetch -> batch -> write -> commit)
// against fakes: no broker, no ClickHouse. They run in a few seconds:
//
//	go test ./pipeline/ingest -run 'TestCore' -count=1 -v
//
// Everything that claims to work with Kafka or ClickHouse is proven by the
// integration tests next to these; here the fakes make the sad paths
// deterministic: a sink that fails on cue, an opt-out that lands during a
// failed insert, a commit that fails, a shutdown in the middle of a write.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"commpulse/pipeline/event"
	"commpulse/pipeline/store"
)

// coreLog is the order of what the fakes saw, so that tests can check that
// a commit never overtakes the write of what it commits.
type coreLog struct {
	mu      sync.Mutex
	written map[string]bool // "p@offset" of records acknowledged (row, DLQ or drop)
	commits []kafka.Message // in commit order
	// violations are commits of a record that was not acknowledged yet.
	violations []string
	// inserts counts acknowledged inserts; insertsAtCommit is inserts at
	// each successful commit.
	inserts         int
	insertsAtCommit []int
}

func newCoreLog() *coreLog { return &coreLog{written: map[string]bool{}} }

func at(p int, off int64) string { return fmt.Sprintf("%d@%d", p, off) }

// fakeSource feeds records from a slice, then blocks until ctx ends, as a
// caught-up reader does. Its commits are checked against the log.
type fakeSource struct {
	log       *coreLog
	msgs      []kafka.Message
	next      int
	mu        sync.Mutex
	commitErr []error // returned by successive commits, then nil
	offsets   map[int]int64
}

func (s *fakeSource) FetchMessage(ctx context.Context) (kafka.Message, error) {
	s.mu.Lock()
	if s.next < len(s.msgs) {
		m := s.msgs[s.next]
		s.next++
		s.mu.Unlock()
		return m, nil
	}
	s.mu.Unlock()
	<-ctx.Done()
	return kafka.Message{}, ctx.Err()
}

func (s *fakeSource) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commitErr) > 0 {
		err := s.commitErr[0]
		s.commitErr = s.commitErr[1:]
		if err != nil {
			return err
		}
	}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.insertsAtCommit = append(s.log.insertsAtCommit, s.log.inserts)
	for _, m := range msgs {
		// Committing m commits everything before it on its partition.
		for _, r := range s.msgs {
			if r.Partition == m.Partition && r.Offset <= m.Offset && !s.log.written[at(r.Partition, r.Offset)] {
				s.log.violations = append(s.log.violations, at(r.Partition, r.Offset))
			}
		}
		s.log.commits = append(s.log.commits, m)
		if s.offsets == nil {
			s.offsets = map[int]int64{}
		}
		s.offsets[m.Partition] = max(s.offsets[m.Partition], m.Offset+1)
	}
	return nil
}

func (s *fakeSource) committed() map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.offsets)
}

// fakeSink is a ClickHouse that fails on cue. Rows are keyed by event id;
// before, if set, runs at the start of every insert attempt.
type fakeSink struct {
	log     *coreLog
	byEvent map[string]kafka.Message // event id -> its record, to acknowledge it in the log

	mu       sync.Mutex
	fail     int // inserts still to fail
	attempts int
	rows     map[string]store.Message
	erased   [][]string
	before   func(attempt int, rows []store.Message)
	after    func(attempt int) // after a successful insert
	block    chan struct{}     // if set, an insert waits for it to close
}

func (f *fakeSink) InsertMessages(ctx context.Context, rows []store.Message) error {
	f.mu.Lock()
	f.attempts++
	attempt, before, block := f.attempts, f.before, f.block
	f.mu.Unlock()
	if before != nil {
		before(attempt, rows)
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("injected: clickhouse unavailable")
	}
	if f.rows == nil {
		f.rows = map[string]store.Message{}
	}
	for _, r := range rows {
		f.rows[r.EventID] = r
	}
	if f.after != nil {
		defer f.after(attempt)
	}
	return nil
}

func (f *fakeSink) ErasePersons(_ context.Context, persons []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.erased = append(f.erased, slices.Clone(persons))
	return nil
}

func (f *fakeSink) Erased(context.Context, []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}

func (f *fakeSink) Ping(context.Context) error { return nil }

func (f *fakeSink) stored() map[string]store.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]store.Message{}
	for k, v := range f.rows {
		out[k] = v
	}
	return out
}

// fakeDLQ records DLQ records, and then scrambles their headers: the
// metrics must come from the batch's own reasons, not from the records.
type fakeDLQ struct {
	log  *coreLog
	mu   sync.Mutex
	msgs []kafka.Message
	fail int
}

func (d *fakeDLQ) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail > 0 {
		d.fail--
		return errors.New("injected: dlq unavailable")
	}
	d.log.mu.Lock()
	for _, m := range msgs {
		m.Headers = slices.Clone(m.Headers)
		d.msgs = append(d.msgs, m)
		// The DLQ record names its original as topic/partition@offset.
		for _, h := range m.Headers {
			if h.Key == "source" {
				_, pos, _ := strings.Cut(string(h.Value), "/")
				d.log.written[pos] = true
			}
		}
	}
	d.log.mu.Unlock()
	for _, m := range msgs {
		slices.Reverse(m.Headers)
	}
	return nil
}

// coreWorld is one worker wired to the fakes.
type coreWorld struct {
	in   *Ingest
	src  *fakeSource
	sink *fakeSink
	dlq  *fakeDLQ
	log  *coreLog
	reg  *prometheus.Registry
}

const (
	alice = "p_00000000000000a1"
	bob   = "p_00000000000000b2"
	carol = "p_00000000000000c3"
)

// newCore builds a worker over recs. The directory knows alice, bob and
// carol in team-a; everyone has consented (the events say so).
func newCore(t *testing.T, recs []kafka.Message) *coreWorld {
	t.Helper()
	log := newCoreLog()
	sink := &fakeSink{log: log, byEvent: map[string]kafka.Message{}}
	cfg := Defaults()
	cfg.BatchRows = 4
	cfg.BatchInterval = 10 * time.Millisecond
	cfg.RetryMin, cfg.RetryMax = time.Millisecond, 5*time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Logger = testLogger(t)
	reg := prometheus.NewRegistry()
	in, err := New(cfg, &ackSink{fakeSink: sink}, newScorer(), reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{alice, bob, carol} {
		d, _ := json.Marshal(event.Directory{Person: p, Team: "team-a"})
		in.applyDirectory([]byte(p), d)
	}
	for _, r := range recs {
		var ev struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(r.Value, &ev)
		sink.byEvent[ev.EventID] = r
	}
	w := &coreWorld{in: in, src: &fakeSource{log: log, msgs: recs}, sink: sink, dlq: &fakeDLQ{log: log}, log: log, reg: reg}
	return w
}

// ackSink marks in the log, once an insert succeeded, every record of the
// batch as acknowledged. A record that became a DLQ record or a drop is
// acknowledged with the batch too: the sink sees only rows, so the batch's
// records are found through the event ids of the rows and, for the rest,
// acknowledged by ackBatch below.
type ackSink struct{ *fakeSink }

func (a *ackSink) InsertMessages(ctx context.Context, rows []store.Message) error {
	if err := a.fakeSink.InsertMessages(ctx, rows); err != nil {
		return err
	}
	a.log.mu.Lock()
	defer a.log.mu.Unlock()
	a.log.inserts++
	for _, r := range rows {
		if m, ok := a.byEvent[r.EventID]; ok {
			a.log.written[at(m.Partition, m.Offset)] = true
		}
	}
	return nil
}

// run serves until every record is handled (or the test gives up), then
// shuts down and returns serve's error.
func (w *coreWorld) run(t *testing.T, until func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.in.serve(ctx, w.src, w.dlq) }()
	deadline := time.Now().Add(20 * time.Second) // a ceiling for a broken build, not a timing assertion
	for !until() && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	return <-done
}

// chat is a valid record at partition p, offset off.
func chat(p int, off int64, id, sender string, recipients []string, text string) kafka.Message {
	v, _ := json.Marshal(map[string]any{
		"schema": 1, "event_id": id, "occurred_at": "2026-11-30T10:00:00Z", "channel": "chat",
		"sender": sender, "recipients": recipients, "consent": true, "text": text,
	})
	return kafka.Message{Topic: "comms.events", Partition: p, Offset: off, Value: v, Key: []byte(sender)}
}

func raw(p int, off int64, v string) kafka.Message {
	return kafka.Message{Topic: "comms.events", Partition: p, Offset: off, Value: []byte(v)}
}

// stream is n valid records spread over 3 partitions.
func stream(n int) []kafka.Message {
	var recs []kafka.Message
	offs := map[int]int64{}
	for i := range n {
		p := i % 3
		recs = append(recs, chat(p, offs[p], fmt.Sprintf("e-%d", i), []string{alice, bob, carol}[i%3],
			[]string{[]string{bob, carol, alice}[i%3]}, "thanks, that went well"))
		offs[p]++
	}
	return recs
}

// ends is the offset after the last record of each partition.
func ends(recs []kafka.Message) map[int]int64 {
	out := map[int]int64{}
	for _, r := range recs {
		out[r.Partition] = max(out[r.Partition], r.Offset+1)
	}
	return out
}

func TestCoreCommitsOnlyWhatWasWritten(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int     // failed inserts before the sink recovers
		commitErr []error // failed commits
	}{
		{"clean", 0, nil},
		{"sink fails then recovers", 5, nil},
		{"commits fail then recover", 0, []error{errors.New("injected: coordinator moved"), errors.New("injected: again")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := stream(40)
			w := newCore(t, recs)
			w.sink.fail = tc.fail
			w.src.commitErr = tc.commitErr
			want := ends(recs)
			err := w.run(t, func() bool { return equalOffsets(w.src.committed(), want) })
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
			if got := w.src.committed(); !equalOffsets(got, want) {
				t.Fatalf("committed %v, want %v", got, want)
			}
			if v := w.log.violations; len(v) > 0 {
				t.Fatalf("committed before written: %v", v)
			}
			if n := len(w.sink.stored()); n != len(recs) {
				t.Fatalf("stored %d rows, want %d", n, len(recs))
			}
			if got := testutil.ToFloat64(w.in.m.SinkErrors.WithLabelValues("messages")); got != float64(tc.fail) {
				t.Errorf("sink errors metric %v, want %d", got, tc.fail)
			}
			if got := testutil.ToFloat64(w.in.m.CommitErrors); got != float64(len(tc.commitErr)) {
				t.Errorf("commit errors metric %v, want %d", got, len(tc.commitErr))
			}
			if c := w.in.Counts(); c.Written != int64(len(recs)) || c.Consumed != int64(len(recs)) {
				t.Errorf("counts %+v, want %d consumed and written", c, len(recs))
			}
		})
	}
}

func equalOffsets(a, b map[int]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// An opt-out that lands while an insert is failing keeps the person out of
// the retried insert (re-filtered before every attempt) and is erased; the
// records are still committed, as dropped.
func TestCoreRefiltersAfterOptOut(t *testing.T) {
	recs := []kafka.Message{
		chat(0, 0, "e-a1", alice, []string{bob}, "great work"),
		chat(0, 1, "e-b1", bob, []string{alice, carol}, "agreed"),
		chat(0, 2, "e-c1", carol, []string{bob}, "see you"),
	}
	w := newCore(t, recs)
	w.in.cfg.BatchRows = len(recs)
	w.sink.fail = 1
	w.sink.before = func(attempt int, _ []store.Message) {
		if attempt == 1 { // alice opts out during the first, failing attempt
			c, _ := json.Marshal(event.Consent{Person: alice, OptedIn: false})
			w.in.applyConsent([]byte(alice), c)
		}
	}
	// The records of dropped rows are acknowledged with the batch: mark
	// alice's own record as handled once the batch commits.
	w.log.written[at(0, 0)] = true
	want := ends(recs)
	if err := w.run(t, func() bool { return equalOffsets(w.src.committed(), want) }); err != nil {
		t.Fatal(err)
	}
	rows := w.sink.stored()
	if _, ok := rows["e-a1"]; ok {
		t.Fatal("alice's message was inserted after her opt-out")
	}
	if len(rows) != 2 {
		t.Fatalf("stored %d rows, want 2 (bob's and carol's)", len(rows))
	}
	for id, r := range rows {
		if slices.Contains(r.Recipients, alice) {
			t.Errorf("row %s still names alice as a recipient: %v", id, r.Recipients)
		}
	}
	if got := rows["e-b1"].Recipients; !slices.Equal(got, []string{carol}) {
		t.Errorf("bob's recipients %v, want [carol]", got)
	}
	erased := slices.Concat(w.sink.erased...)
	if !slices.Contains(erased, alice) {
		t.Errorf("alice was not erased: %v", w.sink.erased)
	}
	if c := w.in.Counts(); c.Dropped != 1 || c.Written != 2 {
		t.Errorf("counts %+v, want 1 dropped and 2 written", c)
	}
	if !equalOffsets(w.src.committed(), want) {
		t.Errorf("committed %v, want %v", w.src.committed(), want)
	}
}

// Every malformed record goes to the DLQ with its reason, counted under
// that reason; the DLQ is retried like the sink, and the batch's rows wait
// for it (a commit covers the DLQ records too).
func TestCoreDeadLettersCarryTheirReason(t *testing.T) {
	recs := []kafka.Message{
		chat(0, 0, "e-ok", alice, []string{bob}, "fine"),
		raw(0, 1, `{"schema":1,`),
		raw(0, 2, `{"schema":2,"event_id":"x"}`),
		chat(0, 3, "e-pii", "john.smith@example.com", nil, "hello"),
		raw(0, 4, "\xff\xfe"),
		raw(0, 5, `{"schema":1,"event_id":"e1","occurred_at":"2026-11-30T10:00:00Z","channel":"chat","sender":"p_00000000000000a1","consent":true,"body":"text"}`),
	}
	want := map[event.Reason]int{
		event.ReasonBadJSON: 1, event.ReasonUnknownSchema: 1, event.ReasonPIIID: 1,
		event.ReasonInvalidUTF8: 1, event.ReasonUnknownField: 1,
	}
	w := newCore(t, recs)
	w.in.cfg.BatchRows = len(recs)
	w.dlq.fail = 2
	if err := w.run(t, func() bool { return equalOffsets(w.src.committed(), ends(recs)) }); err != nil {
		t.Fatal(err)
	}
	if len(w.dlq.msgs) != len(recs)-1 {
		t.Fatalf("%d DLQ records, want %d", len(w.dlq.msgs), len(recs)-1)
	}
	for reason, n := range want {
		if got := testutil.ToFloat64(w.in.m.DLQ.WithLabelValues(string(reason))); got != float64(n) {
			t.Errorf("dlq{reason=%s} = %v, want %d", reason, got, n)
		}
	}
	for _, m := range w.dlq.msgs {
		if len(m.Headers) == 0 || m.Headers[0].Key != "reason" {
			t.Errorf("DLQ record headers %v: reason first", m.Headers)
		}
	}
	if got := w.in.Counts().DeadLettered; got != int64(len(recs)-1) {
		t.Errorf("dead-lettered %d, want %d", got, len(recs)-1)
	}
	if n := len(w.sink.stored()); n != 1 {
		t.Errorf("stored %d rows, want 1", n)
	}
}

// A shutdown in the middle of an insert lets it finish and commits it
// (drain); a sink still down when ShutdownTimeout passes leaves the batch
// uncommitted, to be redelivered.
func TestCoreDrain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recovers  bool
		committed bool
	}{
		{"insert finishes during the drain", true, true},
		{"sink down past the shutdown timeout", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := stream(6)
			w := newCore(t, recs)
			w.in.cfg.BatchRows = len(recs)
			w.in.cfg.ShutdownTimeout = 300 * time.Millisecond
			if tc.recovers {
				w.in.cfg.ShutdownTimeout = time.Minute
			}
			started := make(chan struct{})
			w.sink.block = make(chan struct{})
			w.sink.before = func(attempt int, _ []store.Message) {
				if attempt == 1 {
					close(started)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.in.serve(ctx, w.src, w.dlq) }()
			<-started
			cancel() // shutdown while the insert is in flight
			if tc.recovers {
				close(w.sink.block)
			}
			if err := <-done; err != nil {
				t.Fatalf("serve: %v", err)
			}
			got := w.src.committed()
			if tc.committed != equalOffsets(got, ends(recs)) {
				t.Fatalf("committed %v; want committed=%v", got, tc.committed)
			}
			if !tc.committed && len(got) != 0 {
				t.Fatalf("committed %v without a write", got)
			}
			if v := w.log.violations; len(v) > 0 {
				t.Fatalf("committed before written: %v", v)
			}
		})
	}
}

// A batch is cut by size or by age, whichever comes first, and a record is
// never split from its batch's commit.
func TestCoreBatching(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     int
		interval time.Duration
		n        int
		inserts  int // at least
	}{
		{"by size", 5, time.Hour, 20, 4},
		{"by age", 1000, 5 * time.Millisecond, 7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := stream(tc.n)
			w := newCore(t, recs)
			w.in.cfg.BatchRows, w.in.cfg.BatchInterval = tc.rows, tc.interval
			if err := w.run(t, func() bool { return equalOffsets(w.src.committed(), ends(recs)) }); err != nil {
				t.Fatal(err)
			}
			if !equalOffsets(w.src.committed(), ends(recs)) {
				t.Fatalf("committed %v, want %v", w.src.committed(), ends(recs))
			}
			if w.sink.attempts < tc.inserts {
				t.Errorf("%d inserts, want >= %d", w.sink.attempts, tc.inserts)
			}
			if tc.rows < tc.n && w.sink.attempts > tc.n/tc.rows {
				t.Errorf("%d inserts for %d records in batches of %d", w.sink.attempts, tc.n, tc.rows)
			}
		})
	}
}

// While commits fail, the sink writes at most maxUncommittedBatches batches
// and then waits for a commit: the batches a rebalance can redeliver as
// duplicates are bounded.
func TestCoreBoundsUncommittedBatches(t *testing.T) {
	recs := stream(40)
	w := newCore(t, recs)
	w.in.cfg.BatchRows = 4 // 10 batches
	fail := errors.New("injected: not coordinator")
	w.src.commitErr = []error{fail, fail, fail, fail}
	want := ends(recs)
	if err := w.run(t, func() bool { return equalOffsets(w.src.committed(), want) }); err != nil {
		t.Fatal(err)
	}
	if !equalOffsets(w.src.committed(), want) {
		t.Fatalf("committed %v, want %v", w.src.committed(), want)
	}
	at := w.log.insertsAtCommit
	// With Inserts writers, up to Inserts-1 more batches can be written
	// while an earlier one is still in flight and nothing has failed yet.
	if limit := maxUncommittedBatches + w.in.cfg.Inserts - 1; len(at) == 0 || at[0] > limit {
		t.Fatalf("first successful commit after %v inserts, want <= %d", at, limit)
	}
	if got := testutil.ToFloat64(w.in.m.CommitErrors); got != 4 {
		t.Errorf("commit errors %v, want 4", got)
	}
}

// Two inserts run at once; when the later batch is written first, its
// offsets wait for the earlier batch: commits follow batch order.
func TestCoreCommitsInBatchOrder(t *testing.T) {
	recs := stream(12)
	w := newCore(t, recs)
	w.in.cfg.BatchRows, w.in.cfg.Inserts = 6, 2 // two batches
	second := make(chan struct{})
	var once sync.Once
	w.sink.before = func(_ int, rows []store.Message) {
		if rows[0].EventID == "e-0" {
			<-second // the first batch's insert waits for the second's
		}
	}
	w.sink.after = func(int) { once.Do(func() { close(second) }) }
	want := ends(recs)
	if err := w.run(t, func() bool { return equalOffsets(w.src.committed(), want) }); err != nil {
		t.Fatal(err)
	}
	if !equalOffsets(w.src.committed(), want) {
		t.Fatalf("committed %v, want %v", w.src.committed(), want)
	}
	if v := w.log.violations; len(v) > 0 {
		t.Fatalf("committed before written: %v", v)
	}
	if n := len(w.sink.stored()); n != len(recs) {
		t.Fatalf("stored %d rows, want %d", n, len(recs))
	}
}
