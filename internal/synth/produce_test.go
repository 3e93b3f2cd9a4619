package synth

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

// sliceWriter records every call; it fails the call number failAt (1-based).
type sliceWriter struct {
	calls  [][]Record
	failAt int
}

func (w *sliceWriter) WriteRecords(ctx context.Context, recs []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(w.calls)+1 == w.failAt {
		return errors.New("broker on fire")
	}
	w.calls = append(w.calls, append([]Record(nil), recs...))
	return nil
}

func (w *sliceWriter) all() []Record {
	var out []Record
	for _, c := range w.calls {
		out = append(out, c...)
	}
	return out
}

func TestProduce(t *testing.T) {
	scen, _ := ParseScenarios("optout:team-1:2026-11-03T10:00,optout:team-2:2026-11-03T15:30")
	cfg := Config{Seed: 8, Teams: 3, Days: 3, MalformedRate: 0.02, NotOptedInRate: 0.02, Scenarios: scen}
	o := MustNew(cfg)
	topics := Topics{Events: "e", Directory: "d", Consent: "c"}
	w := &sliceWriter{}
	progress := 0
	st, err := Produce(context.Background(), w, o, ProduceOptions{Topics: topics, ChunkSize: 500,
		Progress: func(Stats) { progress++ }, ProgressEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	var want Stats
	for g := range o.Events() {
		want.Events++
		want.ByKind[g.Kind]++
	}
	people := len(o.Directory())
	if st.Events != want.Events || st.ByKind != want.ByKind || st.Directory != people || st.Consents != people+2 {
		t.Fatalf("stats %s, want %d events %v, %d directory, %d consents", st, want.Events, want.ByKind, people, people+2)
	}
	for i, c := range w.calls {
		if len(c) > 500+2 { // a chunk may carry the opt-outs on top
			t.Fatalf("call %d wrote %d records, chunk size 500", i, len(c))
		}
	}
	if progress == 0 {
		t.Error("progress never reported")
	}

	recs := w.all()
	if len(recs) != st.Events+st.Directory+st.Consents {
		t.Fatalf("%d records written, stats say %s", len(recs), st)
	}
	// Directory and opt-ins come before any event.
	for i, r := range recs[:2*people] {
		if want := map[bool]string{true: "d", false: "c"}[i < people]; r.Topic != want {
			t.Fatalf("record %d on topic %q, want %q", i, r.Topic, want)
		}
	}
	// Opt-outs sit right before the first event at or after their time.
	// Malformed events have no readable time and are skipped.
	eventTime := func(r Record) (time.Time, bool) {
		var ev struct {
			At time.Time `json:"occurred_at"`
		}
		err := json.Unmarshal(r.Value, &ev)
		return ev.At, r.Topic == "e" && err == nil && !ev.At.IsZero()
	}
	stream := recs[2*people:]
	var last time.Time
	optOuts := 0
	for i, r := range stream {
		if at, ok := eventTime(r); ok {
			last = at
		}
		if r.Topic == "e" {
			continue
		}
		var c event.Consent
		if err := json.Unmarshal(r.Value, &c); r.Topic != "c" || err != nil || c.OptedIn || string(r.Key) != c.Person {
			t.Fatalf("in-stream record on %q: %s (key %s)", r.Topic, r.Value, r.Key)
		}
		optOuts++
		if !last.Before(c.At) {
			t.Fatalf("opt-out at %s written after an event at %s", c.At, last)
		}
		for _, next := range stream[i+1:] {
			if at, ok := eventTime(next); ok {
				if at.Before(c.At) {
					t.Fatalf("opt-out at %s written before an event at %s", c.At, at)
				}
				break
			}
		}
	}
	if optOuts != 2 {
		t.Fatalf("%d opt-outs in the stream, want 2", optOuts)
	}
}

func TestProduceStops(t *testing.T) {
	o := MustNew(Config{Seed: 1, Teams: 2, Days: 2})
	t.Run("write error", func(t *testing.T) {
		w := &sliceWriter{failAt: 3}
		st, err := Produce(context.Background(), w, o, ProduceOptions{ChunkSize: 100})
		if err == nil || st.Events != 100 {
			t.Fatalf("err %v after %d events, want an error after one event chunk of 100", err, st.Events)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		st, err := Produce(ctx, &sliceWriter{}, o, ProduceOptions{})
		if !errors.Is(err, context.Canceled) || st.Events != 0 {
			t.Fatalf("err %v with %d events", err, st.Events)
		}
	})
	t.Run("rate shrinks chunks", func(t *testing.T) {
		w := &sliceWriter{}
		lim := MustNew(Config{Seed: 1, Teams: 2, Days: 2, Limit: 30})
		if _, err := Produce(context.Background(), w, lim, ProduceOptions{Rate: 400}); err != nil {
			t.Fatal(err)
		}
		for _, c := range w.calls[1:] { // after the directory/consent head
			if len(c) > 20 {
				t.Fatalf("chunk of %d records at 400 events/s, want <= 20", len(c))
			}
		}
	})
}

// BenchmarkEvents measures the pure generator: drawing, rendering and
// encoding every event of a default organisation (8 teams, ~80 people).
func BenchmarkEvents(b *testing.B) {
	o := MustNew(Config{Seed: 1, Days: 7, MalformedRate: 0.01, NotOptedInRate: 0.01})
	b.ReportAllocs()
	n, bytes := 0, 0
	for b.Loop() {
		for g := range o.Events() {
			bytes += len(g.Value())
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.SetBytes(int64(bytes / max(1, b.N)))
}

func BenchmarkMarshal(b *testing.B) {
	var ev event.Event
	for g := range MustNew(Config{Seed: 1, Days: 1}).Events() {
		if g.Event.Text != "" && len(g.Event.Recipients) > 1 {
			ev = g.Event
			break
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Marshal(ev)
	}
}
