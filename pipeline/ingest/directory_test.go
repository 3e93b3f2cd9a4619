package ingest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/nlp"
	"commpulse/pipeline/event"
)

// A v2 (effective-dated) directory record places each message in the team
// its sender and recipients were in when it was sent, and stamps
// after_hours in the sender's local working hours; a v1 record keeps one
// team for all time and leaves after_hours to analyze (NULL).
func TestDirectoryPeriodsAtEventTime(t *testing.T) {
	e := newEnv(t)
	const a, b = "p_00000000000000a1", "p_00000000000000b2"
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	v2, err := json.Marshal(event.Directory{Person: a, Team: "platform", ValidFrom: at("2026-02-01T00:00:00Z"), Periods: []event.DirectoryPeriod{
		{Team: "support", ValidFrom: at("2025-01-01T00:00:00Z"), ValidTo: at("2026-02-01T00:00:00Z"), TimeZone: "Europe/Berlin", WorkStartHour: 7, WorkEndHour: 15},
		{Team: "platform", ValidFrom: at("2026-02-01T00:00:00Z"), TimeZone: "America/New_York"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Produce(t, e.brokers, e.cfg.DirectoryTopic, []kafka.Message{
		{Key: []byte(a), Value: v2},
		{Key: []byte(b), Value: synth.MarshalDirectory(event.Directory{Person: b, Team: "ops"})},
	})
	kafkatest.Produce(t, e.brokers, e.cfg.ConsentTopic, []kafka.Message{
		{Key: []byte(a), Value: synth.MarshalConsent(event.Consent{Person: a, OptedIn: true})},
		{Key: []byte(b), Value: synth.MarshalConsent(event.Consent{Person: b, OptedIn: true})},
	})
	type want struct {
		team, recipientTeam string
		afterHours          int // -1: NULL
	}
	cases := map[string]struct {
		from, to string
		at       string
		want     want
	}{
		"e1": {a, b, "2026-01-14T07:00:00Z", want{"support", "ops", 0}},  // 08:00 in Berlin, hours 7-15
		"e2": {a, b, "2026-01-14T15:00:00Z", want{"support", "ops", 1}},  // 16:00 in Berlin
		"e3": {a, b, "2026-02-16T15:00:00Z", want{"platform", "ops", 0}}, // Monday 10:00 in New York
		"e4": {a, b, "2026-02-17T00:30:00Z", want{"platform", "ops", 1}}, // 19:30 in New York
		"e5": {b, a, "2026-01-14T07:00:00Z", want{"ops", "support", -1}}, // v1 sender: no time zone
		"e6": {b, a, "2026-02-16T15:00:00Z", want{"ops", "platform", -1}},
	}
	var evs []kafka.Message
	for id, c := range cases {
		ev := event.Event{Schema: event.SchemaVersion, EventID: id, OccurredAt: at(c.at), Channel: event.ChannelChat,
			Sender: c.from, Recipients: []string{c.to}, Consent: true}
		evs = append(evs, kafka.Message{Key: []byte(c.from), Value: synth.Marshal(ev)})
	}
	kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs)
	w := e.start(nil)
	defer w.stop(t)
	waitFor(t, "all events stored", 3*time.Minute, func() bool { return e.count("SELECT count() FROM messages") == len(cases) })
	rows, err := e.st.Conn().Query(context.Background(), "SELECT event_id, team, recipient_teams[1], ifNull(toInt8(after_hours), -1) FROM messages")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			g  want
			ah int8
		)
		if err := rows.Scan(&id, &g.team, &g.recipientTeam, &ah); err != nil {
			t.Fatal(err)
		}
		g.afterHours = int(ah)
		if g != cases[id].want {
			t.Errorf("%s at %s: stored %+v, want %+v", id, cases[id].at, g, cases[id].want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// Each message's themes (nlp.Theme bits) are stored, and nothing of the
// words that matched.
func TestThemesStored(t *testing.T) {
	e := newEnv(t)
	const a, b = "p_00000000000000a1", "p_00000000000000b2"
	kafkatest.Produce(t, e.brokers, e.cfg.ConsentTopic, []kafka.Message{
		{Key: []byte(a), Value: synth.MarshalConsent(event.Consent{Person: a, OptedIn: true})},
	})
	texts := map[string]string{
		"t1": "Thanks a lot, great job on the release!",
		"t2": "I'm swamped and blocked on the broken build again",
		"t3": "See you at the standup",
	}
	want := map[string]nlp.Theme{}
	var evs []kafka.Message
	for id, text := range texts {
		want[id] = nlp.New().Score(text).Themes
		ev := event.Event{Schema: event.SchemaVersion, EventID: id, OccurredAt: time.Now().Add(-time.Hour), Channel: event.ChannelChat,
			Sender: a, Recipients: []string{b}, Consent: true, Text: text}
		evs = append(evs, kafka.Message{Key: []byte(a), Value: synth.Marshal(ev)})
	}
	if want["t1"].Names()[0] != "recognition" || len(want["t2"].Names()) != 2 || want["t3"] != 0 {
		t.Fatalf("fixture themes %v %v %v", want["t1"].Names(), want["t2"].Names(), want["t3"].Names())
	}
	kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, evs)
	w := e.start(nil)
	defer w.stop(t)
	waitFor(t, "all events stored", 3*time.Minute, func() bool { return e.count("SELECT count() FROM messages") == len(texts) })
	for id := range texts {
		if got := e.count("SELECT toUInt64(any(themes)) FROM messages WHERE event_id = ?", id); nlp.Theme(got) != want[id] {
			t.Errorf("%s: stored themes %v, want %v", id, nlp.Theme(got).Names(), want[id].Names())
		}
	}
}
