package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
)

// hostile returns poison records, each with the outcome the contract
// defines for it: a DLQ reason, or "" for "accepted".
func hostile() []struct {
	name   string
	value  []byte
	reason event.Reason
} {
	base := func(id string) event.Event {
		return event.Event{Schema: 1, EventID: id, OccurredAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
			Channel: "chat", Sender: "p_00000000000000aa", Recipients: []string{"p_00000000000000bb"}, Consent: true}
	}
	enc := func(ev event.Event) []byte { return synth.Marshal(ev) }
	withText := func(id, text string) []byte { ev := base(id); ev.Text = text; return enc(ev) }
	raw := func(s string) []byte { return []byte(s) }
	good := string(enc(base("h-ok")))
	manyRecips := make([]string, 5000)
	for i := range manyRecips {
		manyRecips[i] = fmt.Sprintf(`"p_%016x"`, i)
	}
	return []struct {
		name   string
		value  []byte
		reason event.Reason
	}{
		{"truncated", raw(good[:len(good)/2]), event.ReasonBadJSON},
		{"deep nesting", raw(strings.Replace(good, `"consent"`, `"lang":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`,"consent"`, 1)), event.ReasonBadJSON},
		{"huge recipients", raw(strings.Replace(good, `["p_00000000000000bb"]`, "["+strings.Join(manyRecips, ",")+"]", 1)), event.ReasonTooManyRecips},
		{"10 MB text", withText("h-big", strings.Repeat("so tired of this ", 10<<20/17)), event.ReasonOversize},
		{"invalid utf8", raw(strings.Replace(good, `"chat"`, "\"ch\xc3\x28at\"", 1)), event.ReasonInvalidUTF8},
		{"control chars in id", raw(strings.Replace(good, `h-ok`, `h\u0000ok`, 1)), event.ReasonBadID},
		{"NaN", raw(strings.Replace(good, `"schema":1`, `"schema":NaN`, 1)), event.ReasonBadJSON},
		{"Infinity", raw(strings.Replace(good, `"schema":1`, `"schema":1e999`, 1)), event.ReasonUnknownSchema},
		{"year 1900", raw(strings.Replace(good, "2026-11-20", "1900-01-01", 1)), event.ReasonBadTimestamp},
		{"year 2100", raw(strings.Replace(good, "2026-11-20", "2100-01-01", 1)), event.ReasonBadTimestamp},
		{"null", raw(`null`), event.ReasonMissingField},
		{"empty", raw(``), event.ReasonBadJSON},
		{"control chars in text", withText("h-ctl", "build\x07 broken\x1b[31m again"), ""},
		{"emoji-only text", withText("h-emoji", "🔥🔥🔥"), ""},
	}
}

// Poison and hostile input: each record gets its defined outcome, and the
// valid stream around it lands complete.
func TestHostileInput(t *testing.T) {
	// A broker that accepts 16 MB records, so the 10 MB text reaches ingest
	// (Kafka's default message.max.bytes of 1 MB would refuse it at produce).
	e := newEnv(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "16777216"}))
	cases := hostile()
	org := synth.MustNew(synth.Config{Seed: 13, Teams: 8, Limit: 20_000})
	e.produceTables(org)
	var msgs []kafka.Message
	i := 0
	for g := range org.Events() {
		msgs = append(msgs, kafka.Message{Key: g.Key(), Value: g.Value()})
		if g.Kind == synth.Valid {
			e.valid++
		}
		if i++; i%1000 == 0 && i/1000 <= len(cases) {
			c := cases[i/1000-1]
			msgs = append(msgs, kafka.Message{Key: []byte(c.name), Value: c.value})
		}
	}
	// Duplicate event_ids with different content, in the same hour: the
	// defined outcome is one row (ReplacingMergeTree keeps the last version).
	for i, text := range []string{"first version", "second version, different text"} {
		ev := event.Event{Schema: 1, EventID: "h-dup", OccurredAt: time.Date(2026, 11, 20, 10, i, 0, 0, time.UTC),
			Channel: "chat", Sender: "p_00000000000000aa", Recipients: []string{fmt.Sprintf("p_%016x", i)}, Consent: true, Text: text}
		msgs = append(msgs, kafka.Message{Key: []byte("dup"), Value: synth.Marshal(ev)})
	}
	// The 10 MB record needs a larger producer batch.
	w := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.cfg.EventsTopic, Balancer: &kafka.Hash{},
		BatchBytes: 32 << 20, BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{}, AllowAutoTopicCreation: true,
		RequiredAcks: kafka.RequireAll}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
	w.Close()
	e.cfg.Limits.MaxBytes = 1 << 20
	// DLQ keys are keyed hashes of the original keys (the case names): a
	// known key lets the test find each case's record.
	ps, err := privacy.NewPseudonymizer([]byte(strings.Repeat("h", 32)))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Pseudonymizer = ps
	start := time.Now()
	wk := e.start(nil)
	waitFor(t, "all records handled", 40*time.Second, func() bool {
		return wk.handled() >= len(msgs)
	})
	el := time.Since(start)

	dlq := kafkatest.ReadAll(t, e.brokers, e.cfg.DLQTopic)
	got := map[string]string{}
	for _, r := range dlq {
		got[string(r.Key)] = header(r, "reason")
		if len(r.Value) > 4<<10 {
			t.Errorf("DLQ record of %s is %d bytes: bodies are reduced to a few safe fields", r.Key, len(r.Value))
		}
	}
	for _, c := range cases {
		if v, ok := got[ps.ID(c.name)]; ok {
			got[c.name] = v
		}
	}
	accepted := 0
	for _, c := range cases {
		if c.reason == "" {
			accepted++
			if _, dl := got[c.name]; dl {
				t.Errorf("%s: dead-lettered (%s), want accepted", c.name, got[c.name])
			}
			continue
		}
		if got[c.name] != string(c.reason) {
			t.Errorf("%s: DLQ reason %q, want %q", c.name, got[c.name], c.reason)
		}
	}
	if n := e.count("SELECT count() FROM {db}.messages FINAL"); n != e.valid+accepted+1 {
		t.Errorf("%d rows, want %d valid + %d accepted hostile + 1 for the duplicate id", n, e.valid, accepted)
	}
	if n := e.count("SELECT count() FROM {db}.messages FINAL WHERE event_id = 'h-dup'"); n != 1 {
		t.Errorf("duplicate event_id in one hour: %d rows after dedup, want 1", n)
	}
	t.Logf("%d records (%d hostile) handled in %s (%.0f records/s incl. start-up)", len(msgs), len(cases), el.Round(time.Millisecond), float64(len(msgs))/el.Seconds())
}
