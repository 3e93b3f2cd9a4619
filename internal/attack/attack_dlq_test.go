package attack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"commpulse/internal/kafkatest"
	"commpulse/internal/privacytest"
	"commpulse/internal/synth"
	"commpulse/nlp"
	"commpulse/pipeline/event"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store/storetest"
)

// The findings replayed here: the DLQ copied the Kafka key (the sender,
// possibly an e-mail address) and every field but a lowercase "text"
// ("Text", "TEXT", "body", nested and unknown fields, non-ASCII names),
// comms.dlq was created without retention.ms, and the person-id check was a
// heuristic that let logins and employee numbers through.

const (
	dlqSecret    = "SECRET my manager is bullying me"
	dlqEmail     = "jane.doe@corp.example"
	dlqRetention = 36 * time.Hour // not the default, to see the setting applied
)

// dlqCase is one hostile record and its defined outcome.
type dlqCase struct {
	name    string
	eventID string // "" when the value has no readable event id
	key     string
	value   string
	reason  event.Reason // "" means accepted (stored, text dropped)
	leaks   []string     // must appear nowhere in the DLQ record or storage
}

// dlqHostile builds the attacks around a known sender and recipient (so that
// what is accepted is stored, not dropped by the gate).
func dlqHostile(sender, recipient string) []dlqCase {
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339Nano)
	ev := func(id, from, to, extra string) string {
		return `{"schema":1,"event_id":"` + id + `","occurred_at":"` + at + `","channel":"chat","sender":"` + from +
			`","recipients":["` + to + `"],"consent":true,"lang":"en"` + extra + `}`
	}
	names := []string{dlqEmail, "jane", "corp.example", "SECRET", "manager", "bullying"}
	leaks := func(more ...string) []string { return append(append([]string(nil), names...), more...) }
	return []dlqCase{
		// The reproduced attack, verbatim.
		{"Text and extra", "atk-01", dlqEmail, ev("atk-01", sender, recipient, `,"Text":"`+dlqSecret+`","extra":1`), event.ReasonUnknownField, leaks()},
		{"TEXT, schema 2", "atk-02", dlqEmail, strings.Replace(ev("atk-02", sender, recipient, `,"TEXT":"`+dlqSecret+`"`), `"schema":1`, `"schema":2`, 1), event.ReasonUnknownSchema, leaks()},
		{"body", "atk-03", dlqEmail, ev("atk-03", sender, recipient, `,"body":"`+dlqSecret+`"`), event.ReasonUnknownField, leaks()},
		{"nested text", "atk-04", dlqEmail, ev("atk-04", sender, recipient, `,"meta":{"text":"`+dlqSecret+`"}`), event.ReasonUnknownField, leaks()},
		{"text as a field name", "atk-05", dlqEmail, ev("atk-05", sender, recipient, `,"`+dlqSecret+`":1`), event.ReasonUnknownField, leaks()},
		{"e-mail sender", "atk-06", dlqEmail, ev("atk-06", dlqEmail, recipient, `,"text":"`+dlqSecret+`"`), event.ReasonPIIID, leaks()},
		{"folded sender key", "atk-07", dlqEmail, strings.Replace(ev("atk-07", dlqEmail, recipient, ""), `"sender"`, `"ſender"`, 1), event.ReasonPIIID, leaks()},
		{"non-ASCII sender", "atk-08", "Jürgen Müller", ev("atk-08", "Jürgen Müller", recipient, `,"text":"`+dlqSecret+`"`), event.ReasonPIIID, leaks("Jürgen", "Müller")},
		{"non-ASCII recipient", "atk-09", dlqEmail, ev("atk-09", sender, "李小龙", `,"text":"`+dlqSecret+`"`), event.ReasonPIIID, leaks("李小龙")},
		{"login sender", "atk-10", "jsmith", ev("atk-10", "jsmith", recipient, `,"text":"`+dlqSecret+`"`), event.ReasonNotPseudonym, leaks("jsmith")},
		{"employee number recipient", "atk-11", dlqEmail, ev("atk-11", sender, "E12345", `,"text":"`+dlqSecret+`"`), event.ReasonNotPseudonym, leaks("E12345")},
		{"text in the event id", "", dlqEmail, ev("SECRET-manager-bullying-1", sender, recipient, `,"extra":1`), event.ReasonUnknownField, leaks()},
		{"invalid JSON with text", "", dlqEmail, strings.TrimSuffix(ev("atk-13", sender, recipient, `,"text":"`+dlqSecret+` and`), "}"), event.ReasonBadJSON, leaks()},
		{"not JSON", "", dlqEmail, dlqSecret + " -- " + dlqEmail, event.ReasonBadJSON, leaks()},
		// A well-formed event whose text key is spelled "Text": the
		// decoder reads it as the text, so it is accepted; the text is
		// scored and never stored.
		{"accepted Text", "atk-15", sender, ev("atk-15", sender, recipient, `,"Text":"`+dlqSecret+`"`), "", []string{dlqSecret}},
	}
}

func TestDLQLeaksNothing(t *testing.T) {
	_, brokers := kafkatest.Start(t)
	st, _, db := storetest.Migrated(t)
	ps, err := privacy.NewPseudonymizer([]byte(strings.Repeat("attack-dlq-key-", 3)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ingest.Defaults()
	cfg.Brokers = brokers
	cfg.Group = "attack-dlq-" + db
	cfg.BatchRows = 500
	cfg.BatchInterval = 100 * time.Millisecond
	cfg.SessionTimeout = 4 * time.Second
	cfg.LagInterval = 500 * time.Millisecond
	cfg.RetryMax = time.Second
	cfg.DLQRetention = dlqRetention
	cfg.Pseudonymizer = ps
	cfg.Logger = dlqLogger()

	org := synth.MustNew(synth.Config{Seed: 17, Teams: 4, Limit: 400})
	dir, cons, evs := kafkatest.OrgMessages(org, "")
	for g := range org.Events() {
		if g.Kind != synth.Valid {
			t.Fatalf("generated a %v event; the counts below assume valid ones only", g.Kind)
		}
	}
	generated := len(evs)
	people := org.Directory()
	cases := dlqHostile(people[0].Person, people[1].Person)
	wantDLQ := map[event.Reason]int{}
	for _, c := range cases {
		evs = append(evs, kafka.Message{Key: []byte(c.key), Value: []byte(c.value)})
		if c.reason != "" {
			wantDLQ[c.reason]++
		}
	}
	kafkatest.Produce(t, brokers, cfg.DirectoryTopic, dir)
	kafkatest.Produce(t, brokers, cfg.ConsentTopic, cons)
	kafkatest.Produce(t, brokers, cfg.EventsTopic, evs)

	in, err := ingest.New(cfg, st, nlp.New(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("ingest run: %v", err)
				}
			case <-time.After(time.Minute):
				t.Error("ingest did not stop within a minute")
			}
		})
	}
	defer stop()
	dlqWaitFor(t, "every record handled", 2*time.Minute, func() bool { return in.Counts().Handled() >= int64(len(evs)) })
	stop() // a clean drain: everything written and committed

	dlqTotal := 0
	for _, n := range wantDLQ {
		dlqTotal += n
	}
	c := in.Counts()
	if c.DeadLettered != int64(dlqTotal) || c.Written != int64(len(evs)-dlqTotal) || c.Dropped != 0 {
		t.Errorf("counts %+v, want %d dead-lettered and %d written", c, dlqTotal, len(evs)-dlqTotal)
	}

	records := kafkatest.ReadAll(t, brokers, cfg.DLQTopic)
	if len(records) != dlqTotal {
		t.Fatalf("comms.dlq holds %d records, want %d", len(records), dlqTotal)
	}
	gotDLQ := map[event.Reason]int{}
	byEventID := map[string]event.Reason{}
	var allLeaks []string
	for _, cs := range cases {
		allLeaks = append(allLeaks, cs.leaks...)
	}
	for _, r := range records {
		reason := event.Reason(dlqHeader(r, "reason"))
		gotDLQ[reason]++
		if w := dlqFindLeak(r, allLeaks); w != "" {
			t.Errorf("DLQ record (%s) holds %q: key %q value %s headers %v", reason, w, r.Key, r.Value, r.Headers)
		}
		if want := []string{"reason", "error", "source"}; len(r.Headers) != len(want) {
			t.Errorf("DLQ record headers %v, want only %v", r.Headers, want)
		}
		if !strings.HasPrefix(dlqHeader(r, "source"), cfg.EventsTopic+"/") {
			t.Errorf("DLQ record without a source: %v", r.Headers)
		}
		if !strings.HasPrefix(string(r.Key), "h_") {
			t.Errorf("DLQ key %q is not a keyed hash", r.Key)
		}
		var d event.DeadLetter
		if err := dlqUnmarshal(r.Value, &d); err != nil {
			t.Errorf("DLQ body %s: %v", r.Value, err)
			continue
		}
		if d.EventIDHash != "" {
			byEventID[d.EventIDHash] = reason
		}
	}
	if fmt.Sprint(gotDLQ) != fmt.Sprint(wantDLQ) {
		t.Errorf("DLQ reasons %v, want %v", gotDLQ, wantDLQ)
	}
	for _, cs := range cases {
		if cs.eventID == "" || cs.reason == "" {
			continue
		}
		if got := byEventID[ps.ID(cs.eventID)]; got != cs.reason {
			t.Errorf("%s: DLQ reason %q, want %q", cs.name, got, cs.reason)
		}
	}
	keys := map[string]bool{}
	for _, r := range records {
		keys[string(r.Key)] = true
	}
	if !keys[ps.ID(dlqEmail)] {
		t.Errorf("no DLQ record keyed by the configured key's hash of the e-mail key; keys %v", dlqSorted(keys))
	}

	// Nothing of the secret reached ClickHouse either (the accepted event
	// was scored, not stored).
	if n := privacytest.AssertNoTextInDatabase(t, st.Conn(), db, privacytest.NewTextScanner([]string{dlqSecret})); n == 0 {
		t.Error("no stored string scanned")
	}
	var stored uint64
	if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM "+db+".messages FINAL WHERE event_id = 'atk-15'").Scan(&stored); err != nil || stored != 1 {
		t.Errorf("the accepted Text event: %d rows (%v), want 1", stored, err)
	}

	ms, err := dlqTopicRetention(brokers, cfg.DLQTopic)
	if err != nil {
		t.Fatal(err)
	}
	if ms != dlqRetention.Milliseconds() {
		t.Errorf("comms.dlq retention.ms = %d, want %d (%s)", ms, dlqRetention.Milliseconds(), dlqRetention)
	}
	t.Logf("%d generated + %d hostile records; DLQ by reason %v; retention.ms %d", generated, len(cases), gotDLQ, ms)
}

// dlqFindLeak returns the first of words found (case-insensitively) in the
// record's key, value, or any header key or value.
func dlqFindLeak(r kafka.Message, words []string) string {
	parts := []string{string(r.Key), string(r.Value)}
	for _, h := range r.Headers {
		parts = append(parts, h.Key, string(h.Value))
	}
	for _, p := range parts {
		lp := strings.ToLower(p)
		for _, w := range words {
			if strings.Contains(lp, strings.ToLower(w)) {
				return w
			}
		}
	}
	return ""
}

func dlqHeader(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// dlqTopicRetention asks the broker for the topic's retention.ms, with
// kafka-go's DescribeConfigs (independently of ingest's own check).
func dlqTopicRetention(brokers []string, topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: &kafka.Transport{}}
	resp, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"retention.ms"}}}})
	if err != nil {
		return 0, fmt.Errorf("describe configs of %s: %w", topic, err)
	}
	for _, res := range resp.Resources {
		if res.Error != nil {
			return 0, fmt.Errorf("describe configs of %s: %w", topic, res.Error)
		}
		for _, e := range res.ConfigEntries {
			if e.ConfigName == "retention.ms" {
				return strconv.ParseInt(e.ConfigValue, 10, 64)
			}
		}
	}
	return 0, errors.New("no retention.ms in the answer")
}

func dlqUnmarshal(b []byte, d *event.DeadLetter) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(d)
}

func dlqWaitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dlqLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func dlqSorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
