package ingest

import (
	"context"
	"encoding/json"
	"fmt"
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
	// Recent days (messages older than the retention TTL would be merged
	// away): a Monday three weeks back is in support, from the Monday after
	// in platform.
	mon := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -21)
	for mon.Weekday() != time.Monday {
		mon = mon.AddDate(0, 0, -1)
	}
	switchAt := mon.AddDate(0, 0, 7)
	// hour returns day d after mon at hh:mm UTC.
	hour := func(d, hh, mm int) string {
		return mon.AddDate(0, 0, d).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute).Format(time.RFC3339)
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	v2, err := json.Marshal(event.Directory{Person: a, Team: "platform", ValidFrom: switchAt, Periods: []event.DirectoryPeriod{
		{Team: "support", ValidFrom: mon.AddDate(-1, 0, 0), ValidTo: switchAt, TimeZone: "Europe/Berlin", WorkStartHour: 7, WorkEndHour: 15},
		{Team: "platform", ValidFrom: switchAt, TimeZone: "Asia/Tokyo"},
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
		// Berlin is UTC+1 or +2: 08:00 UTC is 09:00-10:00 local (inside
		// 7-15), 16:00 UTC is 17:00-18:00 (after), in either season.
		"e1": {a, b, hour(2, 8, 0), want{"support", "ops", 0}},
		"e2": {a, b, hour(2, 16, 0), want{"support", "ops", 1}},
		// Tokyo is UTC+9 all year: 01:00 UTC is 10:00, 10:00 UTC is 19:00.
		"e3": {a, b, hour(9, 1, 0), want{"platform", "ops", 0}},
		"e4": {a, b, hour(9, 10, 0), want{"platform", "ops", 1}},
		"e5": {b, a, hour(2, 8, 0), want{"ops", "support", -1}}, // v1 sender: no time zone
		"e6": {b, a, hour(9, 1, 0), want{"ops", "platform", -1}},
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

// While ingest runs, a directory record produced just before its person's
// first event reaches the gate first, even when the directory follower is
// slow: the batch waits for it to apply what the topic held (awaitTables).
// Twenty people, each a directory record and then at once an event; every
// event is stored with its sender's team.
func TestDirectoryRecordBeforeItsEventsWhileRunning(t *testing.T) {
	e := newEnv(t)
	w := e.start(nil)
	defer w.stop(t)
	waitFor(t, "ingest ready", time.Minute, func() bool { return w.in.Ready() == nil })
	// The directory follower's fetches are answered 400 ms late (a loaded
	// broker): without the wait, each event's batch (200 ms) would be
	// admitted before its sender's record was applied.
	stop := kafkatest.DelayFetch(e.kafka, e.cfg.DirectoryTopic, 0, 400*time.Millisecond)
	defer stop()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2).Add(10 * time.Hour)
	const n = 20
	for i := range n {
		p := fmt.Sprintf("p_%016x", 0xd1d0+i)
		kafkatest.Produce(t, e.brokers, e.cfg.DirectoryTopic, []kafka.Message{
			{Key: []byte(p), Value: synth.MarshalDirectory(event.Directory{Person: p, Team: fmt.Sprintf("team-%02d", i)})}})
		ev := event.Event{Schema: event.SchemaVersion, EventID: fmt.Sprintf("race-%02d", i), OccurredAt: day, Channel: event.ChannelChat,
			Sender: p, Recipients: []string{"p_00000000000000ff"}, Consent: true}
		kafkatest.Produce(t, e.brokers, e.cfg.EventsTopic, []kafka.Message{{Key: []byte(p), Value: synth.Marshal(ev)}})
	}
	waitFor(t, "all events stored", 3*time.Minute, func() bool { return e.count("SELECT count() FROM messages") == n })
	if bad := e.count("SELECT count() FROM messages FINAL WHERE toString(team) != concat('team-', substring(event_id, 6))"); bad != 0 {
		t.Errorf("%d of %d events stored before their sender's directory record was applied", bad, n)
	}
}
