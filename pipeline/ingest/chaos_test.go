package ingest

import (
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/testio"
	"commpulse/pipeline/event"
	"commpulse/pipeline/kafkatest"
	"commpulse/pipeline/synth"
)

var (
	chaosEvents = flag.Int("chaos.events", 200_000, "events produced by TestChaos")
	chaosKills  = flag.Int("chaos.kills", 10, "SIGKILLs of the ingest worker in TestChaos")
	chaosSeed   = flag.Uint64("chaos.seed", 1, "seed of TestChaos's random moments")
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

	org := synth.MustNew(synth.Config{Seed: 31, Teams: 40, Limit: *chaosEvents, MalformedRate: 0.01})
	e.produceTables(org)
	var evs []kafka.Message
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
	}

	// The events are produced in kills+1 parts, part k while worker k runs,
	// so that every worker has records to work on whatever the speed of the
	// machine (a worker started after the stream was consumed would never
	// write, and a kill then tests nothing). The producer keeps producing
	// through the broker restart, retrying a failed chunk (which may
	// duplicate records: ingest must cope).
	parts := make(chan []kafka.Message, *chaosKills+1)
	var (
		brokerMu sync.RWMutex // held for writing while the broker restarts
		produced = make(chan struct{})
		failures int // chunks the producer had to write again
	)
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
				brokerMu.RLock()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := w.WriteMessages(ctx, part[i:min(i+chunk, len(part))]...)
				cancel()
				brokerMu.RUnlock()
				if err != nil {
					failures++
					w.Close()
					w = newWriter() // pooled connections die with the broker
					time.Sleep(200 * time.Millisecond)
					continue
				}
				i += chunk
				// ~10k events/s: a part takes about two seconds, so the
				// broker restart falls while the producer is writing.
				time.Sleep(150 * time.Millisecond)
			}
		}
	}()
	partSize := (len(evs) + *chaosKills) / (*chaosKills + 1)
	producePart := func(k int) {
		lo := min(k*partSize, len(evs))
		parts <- evs[lo:min(lo+partSize, len(evs))]
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
	rows := func() int { return e.count("SELECT count() FROM {db}.messages") }
	waitRows := func(what string, above int, out *testio.Buffer) time.Duration {
		t.Helper()
		t0 := time.Now()
		for rows() <= above {
			if time.Since(t0) > 3*time.Minute {
				_, report := e.offsetReport()
				t.Fatalf("timed out after 3m waiting for %s (rows %d); behind:\n%s\nworker output:\n%s", what, above, report, out.String())
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
		producePart(k)
		cmd, out := startChild()
		before := rows()
		switch k {
		case brokerAt:
			time.Sleep(time.Duration(300+rng.IntN(1000)) * time.Millisecond)
			brokerMu.Lock()
			e.restartBroker(t, kopts)
			brokerMu.Unlock()
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
	producePart(*chaosKills)
	close(parts)
	<-produced

	// A last worker finishes the stream; then compare with the topic itself.
	w := e.start(nil)
	for deadline := time.Now().Add(5 * time.Minute); !e.committedToEnd(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			_, report := e.offsetReport()
			t.Fatalf("timed out after 5m waiting for the stream committed to its end; last worker %+v, ready: %v; behind:\n%s",
				w.in.Counts(), w.in.Ready(), report)
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
	t.Logf("chaos: %d records on the topic (%d produced, %d from %d chunks the producer wrote again), %d kills, broker restart after kill %d, ClickHouse restart after kill %d",
		len(records), len(evs), len(records)-len(evs), failures, *chaosKills, brokerAt, chAt)
	t.Logf("chaos: lost %d valid, %d malformed missing from the DLQ; %d rows before dedup for %d events (%d duplicates); max recovery %s",
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
}
