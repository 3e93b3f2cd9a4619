package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/nlp"
	"commpulse/pipeline/store"
)

// noScorer turns scoring off, to measure what scoring costs end to end.
type noScorer struct{}

func (noScorer) Score(string) nlp.Score { return nlp.Score{Status: nlp.NoSignal} }

// BenchmarkEndToEnd measures Kafka -> ClickHouse throughput on real servers
// (kfake in process, ClickHouse in a child process, all on this machine's
// cores), for two message sets, each in three modes in one run:
//
//   - consume-only: the group consume-and-commit baseline (kafka-go reader
//     with ingest's fetch settings, a commit per batch),
//     no decoding and no sink: the ceiling the broker and client allow;
//   - scoring=off: the whole pipeline with a scorer that does nothing;
//   - scoring=on: the whole pipeline, the product.
//
// All three use the product's default batching (10,000 rows or 1 s).
//
// Sets: chat (the generator's messages, ~70 characters) and email (the same
// events with e-mail-sized bodies: ~600 characters on average, lognormal,
// 1% of 5-20k characters; the mean is reported as text-chars). It reports msgs/s of each mode, the ratios the
// targets are stated in (on/consume-only, on/off), and the CPU time per
// message of this process (pipeline and broker) and of ClickHouse during
// the scoring=on run. The rate is taken between the warm-up-th and the last
// record, so group join and warm-up do not count. One iteration is a full
// run; use -benchtime=1x:
//
//	go test ./pipeline/ingest -run '^$' -bench EndToEnd -benchtime=1x
func BenchmarkEndToEnd(b *testing.B) {
	for _, set := range []struct {
		name        string
		count, warm int
		emailBodies bool
	}{{"chat", 500_000, 50_000, false}, {"email", 200_000, 20_000, true}} {
		org := synth.MustNew(synth.Config{Seed: 99, Teams: 40, Limit: set.count})
		evs, meanText := benchEvents(org, set.emailBodies)
		b.Run("set="+set.name, func(b *testing.B) {
			for range b.N {
				base := e2eRun(b, org, evs, set.warm, nil)
				off := e2eRun(b, org, evs, set.warm, noScorer{})
				on := e2eRun(b, org, evs, set.warm, nlp.New())
				b.ReportMetric(on.rate, "msgs/s")
				b.ReportMetric(off.rate, "off-msgs/s")
				b.ReportMetric(base.rate, "consume-only-msgs/s")
				b.ReportMetric(on.rate/base.rate, "on/consume-only")
				b.ReportMetric(on.rate/off.rate, "on/off")
				b.ReportMetric(on.cpuSelf, "self-cpu-us/msg")
				b.ReportMetric(on.cpuCH, "clickhouse-cpu-us/msg")
				b.ReportMetric(meanText, "text-chars")
			}
		})
	}
}

// e2eResult is one measured run: msgs/s, and CPU microseconds per message
// of this process and of the ClickHouse server.
type e2eResult struct{ rate, cpuSelf, cpuCH float64 }

// e2eRun runs one mode on a fresh broker and database: scorer nil is the
// consume-only baseline.
func e2eRun(b *testing.B, org *synth.Org, evs []kafka.Message, warm int, scorer Scorer) e2eResult {
	b.Helper()
	e := newEnv(b)
	// The product's batching, not the tests' small batches: ClickHouse's
	// cost per row falls steeply with the batch size (see
	// BenchmarkInsertMessages in pipeline/store).
	e.cfg.BatchRows, e.cfg.BatchInterval = Defaults().BatchRows, Defaults().BatchInterval
	e.produceTables(org)
	kafkatest.Produce(b, e.brokers, e.cfg.EventsTopic, evs)
	count := len(evs)
	var handled func() int
	var stop func()
	var w *worker
	if scorer == nil {
		handled, stop = consumeOnly(b, e.cfg)
	} else {
		w = e.startWith(nil, scorer)
		handled, stop = w.handled, func() { w.stop(b) }
	}
	waitFor(b, "warm-up", 5*time.Minute, func() bool { return handled() >= warm })
	t0, self0, ch0 := time.Now(), cpuTime(b, os.Getpid()), cpuTime(b, e.srv.PID())
	waitFor(b, "all handled", 10*time.Minute, func() bool { return handled() >= count })
	el, self1, ch1 := time.Since(t0), cpuTime(b, os.Getpid()), cpuTime(b, e.srv.PID())
	if os.Getenv("COMMPULSE_BENCH_STAGES") != "" && w != nil {
		b.Logf("elapsed %s; process %.2fs, sink %.2fs, fetch blocked %s", el,
			histSum(w.reg, "commpulse_scoring_seconds"), histSum(w.reg, "commpulse_sink_flush_seconds"), time.Duration(w.in.fetchBlocked.Load()))
	}
	stop()
	n := float64(count - warm)
	return e2eResult{
		rate:    n / el.Seconds(),
		cpuSelf: float64((self1 - self0).Microseconds()) / n,
		cpuCH:   float64((ch1 - ch0).Microseconds()) / n,
	}
}

// consumeOnly group-consumes the events topic with ingest's reader settings
// and commits once per batch (cfg.BatchRows records or cfg.BatchInterval),
// doing nothing else; a record counts as handled once fetched.
func consumeOnly(b *testing.B, cfg Config) (handled func() int, stop func()) {
	b.Helper()
	cfg = cfg.withDefaults()
	r := cfg.eventsReader("commpulse-bench-consume-only", cfg.Logger)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		pending, since := 0, time.Now()
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				return
			}
			n.Add(1)
			if pending++; pending >= cfg.BatchRows || time.Since(since) >= cfg.BatchInterval {
				if err := r.CommitMessages(ctx, m); err != nil {
					return
				}
				pending, since = 0, time.Now()
			}
		}
	}()
	return func() int { return int(n.Load()) }, func() {
		cancel()
		<-done
		r.Close()
	}
}

// cpuTime is the user+system CPU time of a process so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms).
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("cpu time of %d: %v", pid, err)
	}
	// The command name (field 2) may hold spaces: count from its ")".
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// benchEvents are the org's events as records; with emailBodies, each text
// is replaced by an e-mail-sized body made of the org's own sentences of
// the same tone (so scoring sees real words, not padding).
func benchEvents(org *synth.Org, emailBodies bool) (evs []kafka.Message, meanText float64) {
	var gens []synth.Generated
	byTone := map[synth.Tone][]string{}
	for g := range org.Events() {
		gens = append(gens, g)
		if g.Raw == nil && g.Event.Text != "" && len(byTone[g.Tone]) < 5000 {
			byTone[g.Tone] = append(byTone[g.Tone], g.Event.Text)
		}
	}
	r := rand.New(rand.NewPCG(99, 1))
	evs = make([]kafka.Message, 0, len(gens))
	chars, texts := 0, 0
	for _, g := range gens {
		ev := g.Event
		if emailBodies && g.Raw == nil && ev.Text != "" {
			ev.Text = emailBody(r, ev.Text, byTone[g.Tone])
			evs = append(evs, kafka.Message{Key: g.Key(), Value: synth.Marshal(ev)})
		} else {
			evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
		}
		if g.Raw == nil && ev.Text != "" {
			chars, texts = chars+len(ev.Text), texts+1
		}
	}
	return evs, float64(chars) / float64(max(texts, 1))
}

// emailBody grows first into a body of a lognormal length (median 400,
// mean ~510 characters), or 5-20k characters for 1% of mails (long
// threads, reports), from sentences of pool: ~640 characters on average.
func emailBody(r *rand.Rand, first string, pool []string) string {
	n := int(400 * math.Exp(0.7*r.NormFloat64()))
	if r.Float64() < 0.01 {
		n = 5000 + r.IntN(15000)
	}
	var sb strings.Builder
	sb.WriteString(first)
	for sb.Len() < n {
		sb.WriteByte(' ')
		sb.WriteString(pool[r.IntN(len(pool))])
	}
	return sb.String()
}

// BenchmarkLatency measures event-to-row latency (occurred_at set at
// production time -> ClickHouse acknowledged the row) at a steady 5,000
// msgs/s for 15 s, with the default batching and with a 200 ms interval.
//
//	go test ./pipeline/ingest -run '^$' -bench Latency -benchtime=1x
func BenchmarkLatency(b *testing.B) {
	const rate, secs = 5000, 15
	org := synth.MustNew(synth.Config{Seed: 5, Teams: 40, Limit: rate * secs})
	var tmpl []synth.Generated
	for g := range org.Events() {
		tmpl = append(tmpl, g)
	}
	for _, ivl := range []time.Duration{time.Second, 200 * time.Millisecond} {
		b.Run("batch-interval="+ivl.String(), func(b *testing.B) {
			for range b.N {
				e := newEnv(b)
				e.cfg.BatchInterval = ivl
				e.produceTables(org)
				sink := &latencySink{Store: e.st}
				w := e.startWith(sink, nlp.New())
				waitFor(b, "ready", time.Minute, func() bool { return w.in.Ready() == nil })
				time.Sleep(2 * time.Second) // group join
				b.ResetTimer()
				wr := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.cfg.EventsTopic, Balancer: &kafka.Hash{},
					BatchSize: 500, BatchTimeout: 2 * time.Millisecond, Transport: &kafka.Transport{}}
				tick := time.NewTicker(20 * time.Millisecond) // 50 chunks/s of rate/50
				per := rate / 50
				for i := 0; i < len(tmpl); i += per {
					<-tick.C
					var msgs []kafka.Message
					for _, g := range tmpl[i:min(i+per, len(tmpl))] {
						ev := g.Event
						ev.OccurredAt = time.Now()
						msgs = append(msgs, kafka.Message{Key: g.Key(), Value: synth.Marshal(ev)})
					}
					if err := wr.WriteMessages(context.Background(), msgs...); err != nil {
						b.Fatal(err)
					}
				}
				tick.Stop()
				wr.Close()
				waitFor(b, "all rows", time.Minute, func() bool {
					sink.mu.Lock()
					defer sink.mu.Unlock()
					return len(sink.lat) >= len(tmpl)
				})
				b.StopTimer()
				sink.mu.Lock()
				b.ReportMetric(float64(quantile(sink.lat, 0.5).Milliseconds()), "p50-ms")
				b.ReportMetric(float64(quantile(sink.lat, 0.99).Milliseconds()), "p99-ms")
				sink.mu.Unlock()
				w.stop(b)
			}
		})
	}
}

// latencySink records, per row, the time from occurred_at (set by the
// producer to the production time) to ClickHouse acknowledging the row.
type latencySink struct {
	*store.Store
	mu  sync.Mutex
	lat []time.Duration
}

func (l *latencySink) InsertMessages(ctx context.Context, rows []store.Message) error {
	if err := l.Store.InsertMessages(ctx, rows); err != nil {
		return err
	}
	now := time.Now()
	l.mu.Lock()
	for _, r := range rows {
		l.lat = append(l.lat, now.Sub(r.OccurredAt))
	}
	l.mu.Unlock()
	return nil
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func histSum(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
			}
			return sum
		}
	}
	return -1
}
