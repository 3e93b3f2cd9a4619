package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"

	"commpulse/internal/kafkatest"
	"commpulse/internal/privacytest"
	"commpulse/internal/synth"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

// Acceptance 1 and 4: 100k events with 1% malformed and 1% not opted in.
func TestIngestExactlyTheValidEvents(t *testing.T) {
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 42, Teams: 20, Limit: 100_000, MalformedRate: 0.01, NotOptedInRate: 0.01})
	e.produceOrg(org)
	if e.valid+e.malformed+e.notOptedIn != 100_000 || e.malformed < 500 || e.notOptedIn < 500 {
		t.Fatalf("generator gave %d valid, %d malformed, %d not opted in", e.valid, e.malformed, e.notOptedIn)
	}
	w := e.start(nil)
	waitFor(t, "all 100k records handled and committed", 5*time.Minute, func() bool {
		return w.handled() >= 100_000 && e.committedToEnd()
	})

	ids := e.eventIDs()
	if len(ids) != e.valid {
		t.Errorf("messages FINAL holds %d events, want %d valid; counts %+v", len(ids), e.valid, w.in.Counts())
	}
	for id := range e.validIDs {
		if ids[id] != 1 {
			t.Fatalf("valid event %s appears %d times after dedup", id, ids[id])
		}
	}
	m := w.in.m
	consumed := testutil.ToFloat64(m.Consumed)
	handled := testutil.ToFloat64(m.Processed) + sumVec(m.Dropped) + sumVec(m.DLQ)
	if consumed != handled {
		t.Errorf("consumed %v records but handled %v", consumed, handled)
	}
	if consumed == 100_000 {
		// No redelivery: every counter equals the generated truth.
		for name, got := range map[string]float64{
			"processed":    testutil.ToFloat64(m.Processed) - float64(e.valid),
			"not_opted_in": testutil.ToFloat64(m.Dropped.WithLabelValues(string(privacy.DropNotOptedIn))) - float64(e.notOptedIn),
			"dlq":          sumVec(m.DLQ) - float64(e.malformed),
			"sink_rows":    testutil.ToFloat64(m.SinkRows.WithLabelValues("messages")) - float64(e.valid),
		} {
			if got != 0 {
				t.Errorf("metric %s is off by %v", name, got)
			}
		}
	} else {
		// A group rebalance redelivered records (at-least-once): counters
		// count deliveries, so they can only be checked for consistency.
		t.Logf("redelivery: %v records consumed for 100000 produced", consumed)
	}

	if got, want := sumVec(m.Unscored), e.count("SELECT count() FROM {db}.messages FINAL WHERE compound IS NULL"); consumed == 100_000 && int(got) != want {
		t.Errorf("unscored_total = %v, want %d rows without a score", got, want)
	}
	if n := e.count("SELECT count() FROM {db}.messages WHERE ingested_at < now64(3) - INTERVAL 1 HOUR OR status = ''"); n != 0 {
		t.Errorf("%d rows without a fresh ingested_at or a status", n)
	}

	dlq := kafkatest.ReadAll(t, e.brokers, e.cfg.DLQTopic)
	sources := map[string]bool{}
	byReason := map[string]int{}
	for _, r := range dlq {
		sources[header(r, "source")] = true
		reason := header(r, "reason")
		if !slices.Contains(event.Reasons, event.Reason(reason)) {
			t.Fatalf("DLQ record with unknown reason %q", reason)
		}
		if header(r, "source") == "" {
			t.Fatal("DLQ record without source header")
		}
		byReason[reason]++
		if testutil.ToFloat64(m.DLQ.WithLabelValues(reason)) == 0 {
			t.Errorf("metric dlq_total{reason=%q} is 0", reason)
		}
	}
	if len(sources) != e.malformed {
		t.Errorf("DLQ holds %d distinct source records, want %d malformed", len(sources), e.malformed)
	}
	t.Logf("valid %d, malformed %d, not opted in %d; DLQ by reason %v", e.valid, e.malformed, e.notOptedIn, byReason)

	// Acceptance 4: no stored string and no DLQ record holds a message text.
	e.assertNoText(dlq)

	// A clean stop commits everything it handled and leaves the group.
	w.stop(t)
	e.assertFullyCommitted()
}

// assertFullyCommitted checks that the group's committed offsets reached the
// end of every events partition.
func (e *env) assertFullyCommitted() {
	e.t.Helper()
	if !e.committedToEnd() {
		e.t.Error("the group's committed offsets did not reach the end of the topic")
	}
}

// committedToEnd reports whether the group committed up to the end of every
// events partition.
func (e *env) committedToEnd() bool {
	ok, _ := e.offsetReport()
	return ok
}

// offsetReport is committedToEnd with the evidence: one line per partition
// that has not reached its end ("p3 first 0 end 5120 committed 4800").
func (e *env) offsetReport() (bool, string) {
	ctx := context.Background()
	cl := e.cfg.Client()
	defer cl.Transport.(*kafka.Transport).CloseIdleConnections() // polled often: no pile of pooled connections
	ps, err := partitions(ctx, cl, e.cfg.EventsTopic)
	if err != nil {
		e.t.Fatal(err)
	}
	ends, err := listOffsets(ctx, cl, e.cfg.EventsTopic, ps)
	if err != nil {
		e.t.Fatal(err)
	}
	committed, err := committedOffsets(ctx, cl, e.cfg.Group, e.cfg.EventsTopic, ps)
	if err != nil {
		e.t.Fatal(err)
	}
	ok, report := true, ""
	var records, done int64
	for _, p := range ps {
		r := ends[p]
		records += r.end - r.first
		done += max(0, committed[p]-r.first)
		if r.end > r.first && committed[p] != r.end {
			ok = false
			report += fmt.Sprintf("p%d first %d end %d committed %d\n", p, r.first, r.end, committed[p])
		}
	}
	report += fmt.Sprintf("%d partitions, %d records, %d of them committed", len(ps), records, done)
	return ok, report
}

// groupReport describes the consumer group as the broker sees it: its
// state, and each member with the partitions it is assigned. A stall report
// needs it: a member that holds partitions but does not fetch them (a
// killed process whose session has not expired, or a live reader that stopped)
// looks the same in the offsets.
func (e *env) groupReport() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := e.cfg.Client()
	defer cl.Transport.(*kafka.Transport).CloseIdleConnections()
	resp, err := cl.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{e.cfg.Group}})
	if err != nil {
		return fmt.Sprintf("describe group %s: %v", e.cfg.Group, err)
	}
	var b strings.Builder
	for _, g := range resp.Groups {
		fmt.Fprintf(&b, "group %s state %s error %v, %d members", g.GroupID, g.GroupState, g.Error, len(g.Members))
		for _, m := range g.Members {
			fmt.Fprintf(&b, "\n  member %s client %s host %s:", m.MemberID, m.ClientID, m.ClientHost)
			for _, tp := range m.MemberAssignments.Topics {
				fmt.Fprintf(&b, " %s %v", tp.Topic, tp.Partitions)
			}
		}
	}
	return b.String()
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// assertNoText scans every String and Array(String) column of every table in
// the test database, and the DLQ bodies and headers, for the texts sent.
func (e *env) assertNoText(dlq []kafka.Message) {
	e.t.Helper()
	sc := privacytest.NewTextScanner(e.texts)
	scanned := privacytest.AssertNoTextInDatabase(e.t, e.st.Conn(), e.db, sc)
	for _, m := range dlq {
		if err := sc.Check("DLQ record", string(m.Value)); err != nil {
			e.t.Fatal(err)
		}
		for _, h := range m.Headers {
			if err := sc.Check("DLQ header "+h.Key, string(h.Value)); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	if scanned < 1000 {
		e.t.Fatalf("only %d distinct stored strings scanned; expected a full table", scanned)
	}
	e.t.Logf("privacy scan: %d distinct stored strings and %d DLQ records hold none of %d texts", scanned, len(dlq), len(e.texts))
}

// crashSink kills its own process right after the n-th acknowledged insert,
// before ingest can commit: the crash the at-least-once design is about.
type crashSink struct {
	*store.Store
	after, n int
}

func (c *crashSink) InsertMessages(ctx context.Context, rows []store.Message) error {
	if err := c.Store.InsertMessages(ctx, rows); err != nil {
		return err
	}
	if c.n++; c.n >= c.after {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return nil
}

const childEnv = "COMMPULSE_TEST_INGEST_CHILD"

// runChild is the body of an ingest child process of the tests, configured
// from CHILD_* variables. In "graceful" mode it stops on SIGTERM, as the
// binary does (signal.NotifyContext), and exits 0 after a clean drain; in
// crash mode its sink kills the process after CHILD_CRASH_AFTER inserts.
func runChild(mode string) {
	get := os.Getenv
	st, err := store.Open(store.Config{Addr: []string{get("CHILD_CH")}, Database: get("CHILD_DB")})
	if err != nil {
		panic(err)
	}
	cfg := Defaults()
	cfg.Brokers = []string{get("CHILD_BROKER")}
	cfg.Group = get("CHILD_GROUP")
	cfg.BatchRows = 2000
	cfg.BatchInterval = 200 * time.Millisecond
	if get("CHILD_DEFAULTS") != "" { // production batching
		cfg.BatchRows, cfg.BatchInterval = Defaults().BatchRows, Defaults().BatchInterval
	}
	cfg.SessionTimeout = 4 * time.Second
	var sink Sink = st
	if mode != "graceful" {
		after, _ := strconv.Atoi(get("CHILD_CRASH_AFTER"))
		sink = &crashSink{Store: st, after: after}
	}
	in, err := New(cfg, sink, newScorer(), nilRegistry())
	if err != nil {
		panic(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := in.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child ingest:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Acceptance 2: ingest killed between write and commit, twice; no loss, and
// exactly one row per valid event after dedup.
func TestCrashBetweenWriteAndCommit(t *testing.T) {
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 7, Teams: 12, Limit: 30_000, MalformedRate: 0.01})
	e.produceOrg(org)
	for i, after := range []int{2, 3} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_CRASH_AFTER="+strconv.Itoa(after),
			"CHILD_CH="+e.srv.Addr(), "CHILD_DB="+e.db, "CHILD_BROKER="+e.brokers[0], "CHILD_GROUP="+e.cfg.Group)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child %d: want death by SIGKILL after insert %d, got %v\n%s", i, after, err, out.String())
		}
	}
	raw := e.count("SELECT count() FROM {db}.messages")
	if raw == 0 {
		t.Fatal("the crashed workers wrote nothing; the test proves nothing")
	}
	w := e.start(nil)
	waitFor(t, "redelivered stream handled", 3*time.Minute, func() bool {
		return e.count("SELECT count() FROM {db}.messages FINAL") >= e.valid
	})
	w.stop(t)
	ids := e.eventIDs()
	if len(ids) != e.valid {
		t.Errorf("after dedup %d events, want %d", len(ids), e.valid)
	}
	for id := range e.validIDs {
		if ids[id] != 1 {
			t.Fatalf("event %s: %d rows after dedup, want 1", id, ids[id])
		}
	}
	total := e.count("SELECT count() FROM {db}.messages")
	t.Logf("valid %d; rows before dedup %d (redelivered duplicates %d); rows written by crashed workers %d",
		e.valid, total, total-e.valid, raw)
}

// SIGTERM mid-stream: the worker flushes, commits what it wrote and leaves
// the group, so the next worker redelivers nothing: no duplicate rows.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 21, Teams: 12, Limit: 30_000})
	e.produceOrg(org)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=graceful",
		"CHILD_CH="+e.srv.Addr(), "CHILD_DB="+e.db, "CHILD_BROKER="+e.brokers[0], "CHILD_GROUP="+e.cfg.Group)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first rows", time.Minute, func() bool { return e.count("SELECT count() FROM {db}.messages") >= 4000 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker did not exit cleanly on SIGTERM: %v\n%s", err, out.String())
	}
	first := e.count("SELECT count() FROM {db}.messages")
	w := e.start(nil)
	waitFor(t, "the rest", 2*time.Minute, func() bool { return e.count("SELECT count() FROM {db}.messages FINAL") >= e.valid })
	w.stop(t)
	final := e.count("SELECT count() FROM {db}.messages FINAL")
	if final != e.valid {
		t.Fatalf("%d events after dedup, want %d", final, e.valid)
	}
	// Rows written by the two workers add up to the events exactly: the
	// second one was handed nothing the first had already written.
	second := int(w.in.Counts().Written)
	if first+second != e.valid {
		t.Fatalf("first worker wrote %d rows, second %d: %d duplicates", first, second, first+second-e.valid)
	}
	t.Logf("first worker wrote %d rows before SIGTERM; second wrote the remaining %d; no duplicates", first, second)
}

// Acceptance 3: ClickHouse down for 10 s while events flow.
func TestClickHouseOutage(t *testing.T) {
	e := newEnv(t)
	e.cfg.BatchRows = 1000
	e.cfg.LagInterval = 200 * time.Millisecond
	org := synth.MustNew(synth.Config{Seed: 3, Teams: 12, Limit: 40_000})
	e.produceTables(org)
	var evs []kafka.Message
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
		e.validIDs[g.Event.EventID] = true
	}
	kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[:10_000])
	w := e.start(nil)
	waitFor(t, "first 10k rows", 2*time.Minute, func() bool { return w.handled() >= 10_000 })
	waitFor(t, "ready", 30*time.Second, func() bool { return w.in.Ready() == nil })

	ctx := context.Background()
	if err := e.srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	// Events keep flowing during the outage.
	go kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs[10_000:])
	waitFor(t, "readyz false", 15*time.Second, func() bool { return w.in.Ready() != nil })
	handledAtStop := w.handled()
	var maxBuffered float64
	for time.Since(stopped) < 10*time.Second {
		buffered := testutil.ToFloat64(w.in.m.Consumed) - float64(handledAtStop)
		maxBuffered = max(maxBuffered, buffered)
		if w.in.Ready() == nil {
			t.Fatal("/readyz went true while ClickHouse was down")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lag := sumGauge(w.in.m.ConsumerLag); lag == 0 {
		t.Error("consumer_lag stayed 0 while events piled up during the outage")
	}
	if w.handled() != handledAtStop {
		t.Fatalf("records handled while ClickHouse was down: %d -> %d", handledAtStop, w.handled())
	}
	// Bounded memory: fetching stops once the pipeline's queues are full.
	// The bound is structural: the message channel (BatchRows), one batch
	// being built, one queued, one in the sink, and kafka-go's queue.
	bound := float64(4*e.cfg.BatchRows + 2000)
	if maxBuffered > bound {
		t.Fatalf("ingest buffered %v records during the outage, bound %v", maxBuffered, bound)
	}
	if err := e.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	waitFor(t, "all 40k handled after the outage", 3*time.Minute, func() bool { return w.handled() >= 40_000 })
	waitFor(t, "ready again", 30*time.Second, func() bool { return w.in.Ready() == nil })
	waitFor(t, "consumer_lag back to 0", 30*time.Second, func() bool { return sumGauge(w.in.m.ConsumerLag) == 0 })
	ids := e.eventIDs()
	if len(ids) != len(e.validIDs) {
		t.Fatalf("after the outage %d events in ClickHouse, want %d", len(ids), len(e.validIDs))
	}
	t.Logf("outage: at most %v records buffered (bound %v); caught up %s after restart; sink errors %v",
		maxBuffered, bound, time.Since(restarted).Round(time.Millisecond), testutil.ToFloat64(w.in.m.SinkErrors.WithLabelValues("messages")))
}

// Acceptance 5: an opt-out erases the person's rows and drops their later events.
func TestOptOutErasesAndDrops(t *testing.T) {
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 11, Teams: 6, Limit: 5_000})
	e.produceOrg(org)
	w := e.start(nil)
	waitFor(t, "5k handled", 2*time.Minute, func() bool { return w.handled() >= 5_000 })

	// The most active sender opts out.
	var p string
	if err := e.st.Conn().QueryRow(context.Background(), fmt.Sprintf(
		"SELECT sender FROM %s.messages GROUP BY sender ORDER BY count() DESC, sender LIMIT 1", e.db)).Scan(&p); err != nil {
		t.Fatal(err)
	}
	if e.count("SELECT count() FROM {db}.messages WHERE has(recipients, ?)", p) == 0 {
		t.Fatal("chosen person is nobody's recipient; the recipient erasure would go untested")
	}
	kafkatest.Produce(t, e.brokers, e.cfg.ConsentTopic, []kafka.Message{{Key: []byte(p),
		Value: synth.MarshalConsent(event.Consent{Person: p, OptedIn: false, At: time.Now()})}})
	waitFor(t, "erasure", time.Minute, func() bool { return testutil.ToFloat64(w.in.m.Erasures) >= 1 })
	if n := e.count("SELECT count() FROM {db}.messages WHERE sender = ?", p); n != 0 {
		t.Fatalf("%d rows sent by the opted-out person remain", n)
	}
	if n := e.count("SELECT count() FROM {db}.messages WHERE has(recipients, ?)", p); n != 0 {
		t.Fatalf("%d rows still list the opted-out person as recipient", n)
	}

	// Later events: from p (dropped) and to p (kept, without p).
	before := w.handled()
	other := e.people[0]
	if other == p {
		other = e.people[1]
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var later []kafka.Message
	for i := range 50 {
		from, to := p, other
		if i%2 == 1 {
			from, to = other, p
		}
		ev := event.Event{Schema: 1, EventID: fmt.Sprintf("later-%d-%d", i, rng.Uint32()), OccurredAt: time.Now().Add(-time.Minute),
			Channel: "chat", Sender: from, Recipients: []string{to}, Consent: true, Text: "thanks, that fixed it"}
		later = append(later, kafka.Message{Key: []byte(from), Value: synth.Marshal(ev)})
	}
	kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, later)
	waitFor(t, "later events handled", time.Minute, func() bool { return w.handled() >= before+50 })
	if got := testutil.ToFloat64(w.in.m.Dropped.WithLabelValues(string(privacy.DropOptedOut))); got != 25 {
		t.Errorf("dropped{opted_out} = %v, want 25", got)
	}
	if n := e.count("SELECT count() FROM {db}.messages WHERE sender = ? OR has(recipients, ?)", p, p); n != 0 {
		t.Fatalf("%d rows of the opted-out person after later events", n)
	}
	if n := e.count("SELECT count() FROM {db}.messages WHERE startsWith(event_id, 'later-') AND sender = ?", other); n != 25 {
		t.Fatalf("%d later rows from the other person, want 25 (kept, without the opted-out recipient)", n)
	}
	if n := e.count("SELECT count() FROM {db}.erasures WHERE person = ?", p); n == 0 {
		t.Fatal("erasure not recorded")
	}
}
