package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/synth"
)

// rssBytes reads the resident set size of a process from /proc.
func rssBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// memoryBound is the stated RSS bound of an ingest process with default
// batching while ClickHouse is down (docs/architecture.md): the queues hold
// at most ~4 batches of 10,000 records plus kafka-go's fetch buffers.
const memoryBound = 256 << 20

// Memory bound: ClickHouse down for 60 s under 10k msgs/s input; the
// ingest process (a child, so its RSS is its own) stays under memoryBound,
// and catches up without loss afterwards.
func TestMemoryBoundDuringLongOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes over a minute; run without -short")
	}
	const rate, outage = 10_000, 60 * time.Second
	e := newEnv(t)
	org := synth.MustNew(synth.Config{Seed: 17, Teams: 120, Limit: rate * 80})
	e.produceTables(org)
	var evs []kafka.Message
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
		if g.Kind == synth.Valid {
			e.valid++
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=graceful", "CHILD_DEFAULTS=1",
		"CHILD_CH="+e.srv.Addr(), "CHILD_DB="+e.db, "CHILD_BROKER="+e.brokers[0], "CHILD_GROUP="+e.cfg.Group)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ingest child output:\n%s", out.String())
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := make(chan error, 1)
	go func() { // a steady 10k msgs/s, in 50 chunks a second
		wr := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.cfg.EventsTopic, Balancer: &kafka.Hash{},
			BatchSize: 1000, BatchTimeout: 2 * time.Millisecond, RequiredAcks: kafka.RequireAll, Transport: &kafka.Transport{},
			AllowAutoTopicCreation: true}
		defer wr.Close()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(evs); i += rate / 50 {
			select {
			case <-ctx.Done():
				produced <- ctx.Err()
				return
			case <-tick.C:
			}
			if err := wr.WriteMessages(ctx, evs[i:min(i+rate/50, len(evs))]...); err != nil {
				produced <- err
				return
			}
		}
		produced <- nil
	}()

	waitFor(t, "rows flowing", time.Minute, func() bool {
		return e.count("SELECT count() FROM {db}.messages") > 20_000
	})
	if err := e.srv.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var peak, atStop int64
	atStop, _ = rssBytes(cmd.Process.Pid)
	for start := time.Now(); time.Since(start) < outage; time.Sleep(250 * time.Millisecond) {
		rss, err := rssBytes(cmd.Process.Pid)
		if err != nil {
			t.Fatalf("ingest child gone during the outage: %v\n%s", err, out.String())
		}
		peak = max(peak, rss)
	}
	if err := e.srv.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-produced; err != nil {
		t.Fatalf("producer: %v", err)
	}
	waitFor(t, "every event after the outage", 5*time.Minute, func() bool {
		return e.count("SELECT count() FROM {db}.messages FINAL") >= e.valid
	})
	if peak > memoryBound {
		t.Errorf("ingest RSS peaked at %d MB during a %s outage at %d msgs/s, bound %d MB", peak>>20, outage, rate, memoryBound>>20)
	}
	t.Logf("ingest RSS: %d MB when ClickHouse stopped, peak %d MB during the %s outage (bound %d MB); %d events, none lost",
		atStop>>20, peak>>20, outage, memoryBound>>20, e.valid)
}
