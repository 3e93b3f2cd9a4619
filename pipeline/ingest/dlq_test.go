package ingest

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/kafkatest"
	"commpulse/internal/testio"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

// nopSink accepts everything; for tests that never write.
type nopSink struct{}

func (nopSink) InsertMessages(context.Context, []store.Message) error { return nil }
func (nopSink) ErasePersons(context.Context, []string) error          { return nil }
func (nopSink) Erased(context.Context, []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}
func (nopSink) Ping(context.Context) error { return nil }

// A DLQ record keeps no text, no raw key and no name anywhere: value, key
// or headers, including headers the producer set on the original.
func TestDeadLetterRecord(t *testing.T) {
	const secret = "SECRET my manager is bullying me"
	const email = "jane.doe@corp.example"
	good := `{"schema":1,"event_id":"01JD3Q6R8W2K9V7T5N4M3B2A1Z","occurred_at":"2026-11-20T10:00:00Z","channel":"chat",` +
		`"sender":"p_5f2c9a1e0b7d4c38","recipients":["p_0a9b8c7d6e5f4a3b"],"consent":true,"lang":"en"`
	ps, err := privacy.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value string
		reason      event.Reason
		leaks       []string
	}{
		{"Text", good + `,"Text":"` + secret + `","extra":1}`, event.ReasonUnknownField, []string{secret}},
		{"TEXT", strings.Replace(good, `"schema":1`, `"schema":2`, 1) + `,"TEXT":"` + secret + `"}`, event.ReasonUnknownSchema, []string{secret}},
		{"body", good + `,"body":"` + secret + `"}`, event.ReasonUnknownField, []string{secret}},
		{"nested text", good + `,"meta":{"text":"` + secret + `"}}`, event.ReasonUnknownField, []string{secret}},
		{"e-mail sender", strings.Replace(good, "p_5f2c9a1e0b7d4c38", email, 1) + `,"text":"` + secret + `"}`, event.ReasonPIIID, []string{secret, email}},
		{"non-ASCII name", strings.Replace(good, "p_0a9b8c7d6e5f4a3b", "Jürgen Müller", 1) + `,"text":"` + secret + `"}`, event.ReasonPIIID, []string{secret, "Jürgen", "Müller"}},
		{"invalid JSON with text", good + `,"text":"` + secret, event.ReasonBadJSON, []string{secret}},
	} {
		for _, keyed := range []bool{false, true} {
			name := tc.name
			if keyed {
				name += "/keyed"
			}
			t.Run(name, func(t *testing.T) {
				cfg := Defaults()
				cfg.Logger = testLogger(t)
				if keyed {
					cfg.Pseudonymizer = ps
				}
				in, err := New(cfg, nopSink{}, newScorer(), nilRegistry())
				if err != nil {
					t.Fatal(err)
				}
				m := kafka.Message{Topic: "comms.events", Partition: 3, Offset: 42, Key: []byte(email), Value: []byte(tc.value),
					Headers: []kafka.Header{{Key: "x-user", Value: []byte(email)}, {Key: "x-subject", Value: []byte(secret)}}}
				row, dl, drop := in.one(m, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
				if dl == nil {
					t.Fatalf("not dead-lettered: row %+v drop %q", row, drop)
				}
				if dl.reason != tc.reason || header(dl.msg, "reason") != string(tc.reason) {
					t.Fatalf("reason %q, header %q, want %q", dl.reason, header(dl.msg, "reason"), tc.reason)
				}
				words := append(tc.leaks, email, "jane", "corp.example", "SECRET", "manager", "bullying")
				check := func(where, s string) {
					t.Helper()
					for _, w := range words {
						if strings.Contains(strings.ToLower(s), strings.ToLower(w)) {
							t.Fatalf("DLQ %s holds %q: %q", where, w, s)
						}
					}
				}
				check("key", string(dl.msg.Key))
				check("value", string(dl.msg.Value))
				for _, h := range dl.msg.Headers {
					check("header key", h.Key)
					check("header "+h.Key, string(h.Value))
				}
				if len(dl.msg.Headers) != 3 || header(dl.msg, "source") != "comms.events/3@42" {
					t.Fatalf("headers %v: want reason, error and source only", dl.msg.Headers)
				}
				if keyed && string(dl.msg.Key) != ps.ID(email) {
					t.Fatalf("key %q, want the configured key's hash of the original", dl.msg.Key)
				}
				if !strings.HasPrefix(string(dl.msg.Key), "h_") {
					t.Fatalf("key %q is not a keyed hash", dl.msg.Key)
				}
				if want := "p_5f2c9a1e0b7d4c38"; keyed && tc.reason != event.ReasonBadJSON && tc.reason != event.ReasonPIIID &&
					!strings.Contains(string(dl.msg.Value), ps.ID(want)) {
					t.Fatalf("keyed: the sender is not in its stored form: %s", dl.msg.Value)
				}
				if keyed && strings.Contains(string(dl.msg.Value), "p_5f2c9a1e0b7d4c38") {
					t.Fatalf("keyed: a producer pseudonym sits next to stored ids: %s", dl.msg.Value)
				}
			})
		}
	}
}

// Without a configured key the DLQ key is still a keyed hash, under a key
// of this process only: two workers hash the same key differently.
func TestDeadLetterRandomKey(t *testing.T) {
	key := func() string {
		cfg := Defaults()
		cfg.Logger = testLogger(t)
		in, err := New(cfg, nopSink{}, newScorer(), nilRegistry())
		if err != nil {
			t.Fatal(err)
		}
		m := kafka.Message{Key: []byte("jane.doe@corp.example"), Value: []byte(`{}`)}
		a := in.deadLetter(m, &event.DecodeError{Reason: event.ReasonMissingField}).msg.Key
		b := in.deadLetter(m, &event.DecodeError{Reason: event.ReasonMissingField}).msg.Key
		if string(a) != string(b) {
			t.Fatal("one worker hashes one key two ways")
		}
		return string(a)
	}
	if a, b := key(), key(); a == b {
		t.Fatal("two workers without a configured key share a DLQ key")
	}
}

func TestDLQRetentionConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       time.Duration
		wantErr bool
	}{
		{"default", 0, false},
		{"an hour", time.Hour, false},
		{"forever", -time.Millisecond, true},
		{"too short", time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.DLQRetention = tc.d
			if err := cfg.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate: %v, want error %v", err, tc.wantErr)
			}
		})
	}
	if Defaults().DLQRetention != 7*24*time.Hour {
		t.Fatalf("default DLQ retention %s, want 7 days", Defaults().DLQRetention)
	}
}

// ensureTopics creates the DLQ with the configured retention.ms, and warns
// about an existing DLQ topic that keeps records longer.
func TestEnsureTopicsDLQRetention(t *testing.T) {
	_, brokers := kafkatest.Start(t)
	var logs testio.Buffer
	cfg := Defaults()
	cfg.Brokers = brokers
	cfg.DLQRetention = 2 * time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ensureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	ms, err := topicRetention(ctx, cfg.Client(), cfg.DLQTopic)
	if err != nil || ms != (2*time.Hour).Milliseconds() {
		t.Fatalf("created DLQ retention.ms = %d (%v), want %d", ms, err, (2 * time.Hour).Milliseconds())
	}
	if err := ensureTopics(ctx, cfg); err != nil || strings.Contains(logs.String(), "longer") {
		t.Fatalf("second run: %v; logs %s", err, logs.String())
	}
	cfg.DLQRetention = time.Hour // the existing topic now keeps twice as long
	if err := ensureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "keeps records longer than --dlq-retention") {
		t.Fatalf("no warning about the existing topic's retention; logs %s", logs.String())
	}
}
