package ingest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/internal/testio"
	"commpulse/pipeline/event"
)

var (
	chaosEvents = flag.Int("chaos.events", 200_000, "events produced by TestChaos")
	chaosKills  = flag.Int("chaos.kills", 10, "SIGKILLs of the ingest worker in TestChaos")
	chaosSeed   = flag.Uint64("chaos.seed", 1, "seed of TestChaos's random moments")
	chaosWait   = flag.Duration("chaos.wait", 5*time.Minute, "how long TestChaos's last worker may take to commit the stream to its end")
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Chaos: while events flow, the ingest worker is killed with SIGKILL at
// random moments, the broker is restarted once and ClickHouse once. Then
// every valid record on the topic is in ClickHouse exactly once after dedup,
// every malformed one is in the DLQ, and nothing else is.
//
//	go test ./pipeline/ingest -run TestChaos -v -chaos.events 1000000 -chaos.kills 30
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run; skipped with -short")
	}
	rng := rand.New(rand.NewPCG(*chaosSeed, 7))
	port := freePort(t)
	kdir := t.TempDir()
	kopts := []kfake.Opt{kfake.Ports(port), kfake.DataDir(kdir)}
	e := newEnv(t, kopts...)

	// Merges would collapse redelivered rows before we count them.
	stopMerges := func() {
		if err := e.st.Conn().Exec(context.Background(), "SYSTEM STOP MERGES "+e.db+".messages"); err != nil {
			t.Fatal(err)
		}
	}
	stopMerges()

	// 90 days that lie in the past (ending 2026-11-22), so that a long run
	// (-chaos.events 1000000) is not cut short by synth's default four
	// weeks and no event is dead-lettered as dated in the future: every
	// part of the stream then stores new rows, which the test waits for.
	org := synth.MustNew(synth.Config{Seed: 31, Teams: 40, Limit: *chaosEvents, MalformedRate: 0.01,
		Start: time.Date(2026, 8, 24, 0, 0, 0, 0, time.UTC), Days: 90})
	e.produceTables(org)
	var evs []kafka.Message
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
	}

	// The events are produced in parts: one while each worker runs, one
	// more right after the broker restart and one after the ClickHouse
	// restart, and the rest for the last worker. Every wait for rows thus
	// has records to wait for, whatever the speed of the machine (a worker
	// started after the stream was consumed would never write). The
	// producer keeps producing through the broker restart, retrying a
	// failed chunk (which may duplicate records: ingest must cope).
	nParts := *chaosKills + 3
	parts := make(chan []kafka.Message, nParts)
	var (
		brokerMu sync.RWMutex // held for writing while the broker restarts
		produced = make(chan struct{})
		prodMu   sync.Mutex // guards the producer's progress below
		written  int        // records acknowledged by the broker
		failures int        // chunks the producer had to write again
		lastErr  error
	)
	producerStatus := func() string {
		prodMu.Lock()
		defer prodMu.Unlock()
		return fmt.Sprintf("producer: %d of %d records written, %d chunks written again, last error %v", written, len(evs), failures, lastErr)
	}
	go func() {
		defer close(produced)
		newWriter := func() *kafka.Writer {
			return &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.cfg.EventsTopic, Balancer: &kafka.Hash{},
				BatchSize: 1000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll,
				AllowAutoTopicCreation: true, Transport: &kafka.Transport{}}
		}
		w := newWriter()
		defer func() { w.Close() }()
		const chunk = 2000
		for part := range parts {
			for i := 0; i < len(part); {
				n := min(chunk, len(part)-i)
				brokerMu.RLock()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := w.WriteMessages(ctx, part[i:i+n]...)
				cancel()
				brokerMu.RUnlock()
				prodMu.Lock()
				if err != nil {
					failures++
					lastErr = err
				} else {
					written += n
				}
				prodMu.Unlock()
				if err != nil {
					w.Close()
					w = newWriter() // pooled connections die with the broker
					time.Sleep(200 * time.Millisecond)
					continue
				}
				i += n
				// ~10k events/s: a part takes a second or more, so the
				// broker restart falls while the producer is writing.
				time.Sleep(150 * time.Millisecond)
			}
		}
	}()
	partSize := (len(evs) + nParts - 1) / nParts
	nextPart := 0
	producePart := func() {
		lo := min(nextPart*partSize, len(evs))
		hi := min(lo+partSize, len(evs))
		if nextPart == nParts-1 {
			hi = len(evs)
		}
		nextPart++
		parts <- evs[lo:hi]
	}

	startChild := func() (*exec.Cmd, *testio.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=graceful",
			"CHILD_CH="+e.srv.Addr(), "CHILD_DB="+e.db, "CHILD_BROKER="+e.brokers[0], "CHILD_GROUP="+e.cfg.Group)
		out := &testio.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}
	// Progress is measured in distinct events stored, which only grows: the
	// raw row count can fall when a background merge collapses redelivered
	// rows (merges are stopped, but one already running when ClickHouse
	// restarts may finish), and a worker's fresh rows can then leave it
	// below where it was.
	rows := func() int { return e.count("SELECT uniqExact(event_id) FROM {db}.messages") }
	waitRows := func(what string, above int, out *testio.Buffer) time.Duration {
		t.Helper()
		t0 := time.Now()
		for rows() <= above {
			if time.Since(t0) > 3*time.Minute {
				_, report := e.offsetReport()
				var stacks strings.Builder
				pprof.Lookup("goroutine").WriteTo(&stacks, 1)
				t.Fatalf("timed out after 3m waiting for %s (events stored: %d, then %d; raw rows now %d); %s; behind:\n%s\nworker output:\n%s\ntest goroutines:\n%s",
					what, above, rows(), e.count("SELECT count() FROM {db}.messages"), producerStatus(), report, out.String(), stacks.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(t0)
	}

	// Two different kills, neither the first: the broker restart and the
	// ClickHouse restart each happen while some worker is running.
	if *chaosKills < 3 {
		t.Fatalf("-chaos.kills %d: need at least 3", *chaosKills)
	}
	brokerAt, chAt := 1+rng.IntN(*chaosKills-1), 1+rng.IntN(*chaosKills-2)
	if chAt >= brokerAt {
		chAt++
	}
	var recoveries []time.Duration
	for k := 0; k < *chaosKills; k++ {
		producePart()
		cmd, out := startChild()
		before := rows()
		switch k {
		case brokerAt:
			time.Sleep(time.Duration(300+rng.IntN(1000)) * time.Millisecond)
			brokerMu.Lock()
			e.restartBroker(t, kopts)
			brokerMu.Unlock()
			producePart()
			d := waitRows("rows after the broker restart", rows(), out)
			recoveries = append(recoveries, d)
			t.Logf("broker restarted; rows flowing again after %s", d.Round(time.Millisecond))
		case chAt:
			time.Sleep(time.Duration(300+rng.IntN(1000)) * time.Millisecond)
			if err := e.srv.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			if err := e.srv.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "ClickHouse back", time.Minute, func() bool { return e.st.Ping(context.Background()) == nil })
			stopMerges()
			producePart()
			d := waitRows("rows after the ClickHouse restart", rows(), out)
			recoveries = append(recoveries, d)
			t.Logf("ClickHouse restarted; rows flowing again after %s", d.Round(time.Millisecond))
		default:
			d := waitRows("the worker writing", before, out)
			recoveries = append(recoveries, d)
		}
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("worker %d ended by %v, not by our SIGKILL:\n%s", k, err, out.String())
		}
	}
	for nextPart < nParts {
		producePart()
	}
	close(parts)
	<-produced

	// A last worker finishes the stream; then compare with the topic itself.
	w := e.start(nil)
	for deadline := time.Now().Add(*chaosWait); !e.committedToEnd(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			_, report := e.offsetReport()
			var stacks strings.Builder
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("timed out after %s waiting for the stream committed to its end; last worker %+v (client id %s), ready: %v; %s; behind:\n%s\n%s\ngoroutines:\n%s",
				*chaosWait, w.in.Counts(), w.in.reader.ClientID(), w.in.Ready(), producerStatus(), report, e.groupReport(), stacks.String())
		}
	}
	w.stop(t)
	wantValid, wantDLQ := map[string]bool{}, map[string]bool{}
	records := kafkatest.ReadAll(t, e.brokers, e.cfg.EventsTopic)
	for _, r := range records {
		ev, err := event.Decode(r.Value, e.cfg.Limits, time.Now())
		if err != nil {
			wantDLQ[r.Topic+"/"+strconv.Itoa(r.Partition)+"@"+strconv.FormatInt(r.Offset, 10)] = true
			continue
		}
		wantValid[ev.EventID] = true
	}
	ids := e.eventIDs()
	lost := 0
	for id := range wantValid {
		if ids[id] != 1 {
			lost++
		}
	}
	if extra := len(ids) - (len(wantValid) - lost); extra != 0 {
		t.Errorf("%d rows in ClickHouse that are not valid records of the topic", extra)
	}
	gotDLQ := map[string]bool{}
	for _, r := range kafkatest.ReadAll(t, e.brokers, e.cfg.DLQTopic) {
		gotDLQ[header(r, "source")] = true
	}
	missingDLQ := 0
	for src := range wantDLQ {
		if !gotDLQ[src] {
			missingDLQ++
		}
	}
	raw := e.count("SELECT count() FROM {db}.messages")
	var maxRec time.Duration
	for _, d := range recoveries {
		maxRec = max(maxRec, d)
	}
	slices.Sort(recoveries)
	for i, d := range recoveries {
		recoveries[i] = d.Round(time.Millisecond)
	}
	t.Logf("chaos: time from each worker's start (or a restart) to its first rows, sorted: %v", recoveries)
	t.Logf("chaos: %d records on the topic (%d produced, %d from producer retries; %s), %d kills, broker restart after kill %d, ClickHouse restart after kill %d",
		len(records), len(evs), len(records)-len(evs), producerStatus(), *chaosKills, brokerAt, chAt)
	t.Logf("chaos: lost %d valid, %d malformed missing from the DLQ; %d rows before dedup for %d events (%d duplicates, a lower bound: merges are stopped, but a restarted ClickHouse may merge before they are stopped again); max recovery %s",
		lost, missingDLQ, raw, len(wantValid), raw-len(ids), maxRec.Round(time.Millisecond))
	if lost != 0 || missingDLQ != 0 {
		t.Fatalf("lost %d valid events and %d malformed ones", lost, missingDLQ)
	}
	c := w.in.Counts()
	if c.Consumed != c.Handled() {
		t.Errorf("last worker consumed %d but handled %d", c.Consumed, c.Handled())
	}
}

// restartBroker closes the env's broker and starts it again on the same
// port and data directory.
func (e *env) restartBroker(t *testing.T, kopts []kfake.Opt) {
	t.Helper()
	e.kafka.Close()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, kopts...)...)
	if err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	e.kafka = c
	t.Cleanup(c.Close)
	t.Cleanup(kafkatest.ExpireSessions(c))
}
