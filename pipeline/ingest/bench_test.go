package ingest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/nlp"
	"commpulse/pipeline/kafkatest"
	"commpulse/pipeline/store"
	"commpulse/pipeline/synth"
)

// noScorer turns scoring off, to measure what scoring costs end to end.
type noScorer struct{}

func (noScorer) Score(string) nlp.Score { return nlp.Score{Status: nlp.NoSignal} }

// BenchmarkEndToEnd measures Kafka -> ClickHouse throughput with scoring on
// and off in one run, on real servers (kfake in process, ClickHouse in a
// child process, all on this machine's cores), and reports msgs/s. The rate
// is taken between the 20,000th and the last handled record, so group join
// and warm-up do not count. One iteration is a full run; use -benchtime=1x:
//
//	go test ./pipeline/ingest -run '^$' -bench EndToEnd -benchtime=1x
func BenchmarkEndToEnd(b *testing.B) {
	const count, warm = 200_000, 20_000
	org := synth.MustNew(synth.Config{Seed: 99, Teams: 40, Limit: count})
	var evs []kafka.Message
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
	}
	for _, sc := range []struct {
		name   string
		scorer Scorer
	}{{"scoring=on", nlp.New()}, {"scoring=off", noScorer{}}} {
		b.Run(sc.name, func(b *testing.B) {
			for range b.N {
				e := newEnv(b)
				e.produceTables(org)
				kafkatest.Produce(b, e.brokers, e.cfg.EventsTopic, evs)
				b.ResetTimer()
				w := e.startWith(nil, sc.scorer)
				waitFor(b, "warm-up", 5*time.Minute, func() bool { return w.handled() >= warm })
				t0 := time.Now()
				waitFor(b, "all handled", 10*time.Minute, func() bool { return w.handled() >= count })
				el := time.Since(t0)
				b.StopTimer()
				b.ReportMetric(float64(count-warm)/el.Seconds(), "msgs/s")
				w.stop(b)
			}
		})
	}
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
