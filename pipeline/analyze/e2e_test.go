package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"commpulse/nlp"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/kafkatest"
	"commpulse/pipeline/synth"
)

const alertsTopic = "comms.alerts"

// e2eStart is a Monday five weeks before the day these tests were written;
// the history lies in the past so that ingest accepts it whatever the date.
var e2eStart = time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC)

const e2eDays = 35

// e2eScenarios are planted on working days in the second half of the
// history, three weeks in: an analyzer in production has weeks of history. Effect sizes are synth's (sentiment drop to 60%
// negative, volume x3 for four hours, no external traffic, one person down
// to 5% of their volume and unanswered).
const e2eScenarios = "drop:team-2:2026-11-10:3d,spike:team-4:2026-11-12T10:00:4h," +
	"silo:team-3:2026-11-16:3d,isolated:team-5:2026-11-17:3d"

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// produce writes the directory, consents and events of org to the broker,
// with every directory record's team replaced by team when it is set, and
// returns the number of events.
func produce(t *testing.T, brokers []string, org *synth.Org, team string) int {
	t.Helper()
	var dir, cons, evs []kafka.Message
	for _, d := range org.Directory() {
		if team != "" {
			d.Team = team
		}
		dir = append(dir, kafka.Message{Key: []byte(d.Person), Value: synth.MarshalDirectory(d)})
	}
	for _, c := range org.Consents() {
		cons = append(cons, kafka.Message{Key: []byte(c.Person), Value: synth.MarshalConsent(c)})
	}
	for g := range org.Events() {
		evs = append(evs, kafka.Message{Key: g.Key(), Value: g.Value()})
	}
	d := ingest.Defaults()
	kafkatest.Produce(t, brokers, d.DirectoryTopic, dir)
	kafkatest.Produce(t, brokers, d.ConsentTopic, cons)
	kafkatest.Produce(t, brokers, d.EventsTopic, evs)
	return len(evs)
}

// Acceptance (issues 4 and 5): generated history with planted anomalies goes
// through Kafka, ingest and ClickHouse; the analyzer finds the planted
// anomalies per (team, day) with precision and recall >= 0.9, the silo and
// the isolated person in the right window, publishes one alert per anomaly
// (also after a full re-run), and a team of 4 active members has no
// team-level row.
func TestEndToEndPlantedAnomalies(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through Kafka and ClickHouse")
	}
	e := newCH(t)
	_, brokers := kafkatest.Start(t)
	scen, err := synth.ParseScenarios(e2eScenarios)
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 11, Teams: 6, Start: e2eStart, Days: e2eDays, Scenarios: scen})
	// A team of four, talking only among themselves.
	small := synth.MustNew(synth.Config{Seed: 12, Teams: 1, TeamSizeMin: 4, TeamSizeMax: 4, Start: e2eStart, Days: e2eDays})
	total := produce(t, brokers, org, "") + produce(t, brokers, small, "team-small")

	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Group = brokers, "analyze-e2e"
	cfg.BatchRows, cfg.BatchInterval = 5000, 200*time.Millisecond
	cfg.SessionTimeout, cfg.LagInterval, cfg.RetryMax = 4*time.Second, 500*time.Millisecond, time.Second
	cfg.Logger = testLogger()
	in, err := ingest.New(cfg, e.st, nlp.New(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for in.Counts().Handled() < int64(total) {
		if time.Now().After(deadline) {
			t.Fatalf("ingest handled %d of %d events in 5 minutes", in.Counts().Handled(), total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ingest: %v", err)
	}
	t.Logf("ingested %d events", total)

	end := org.Config().End()
	clock := &fixedClock{t: end.Add(2 * time.Hour)}
	al := &kafkaRecorder{KafkaAlerter: NewKafkaAlerter(brokers, alertsTopic)}
	defer al.Close()
	a, _ := newAnalyzer(t, e, Config{Now: clock.Now, Logger: testLogger()}, al)
	t0 := time.Now()
	n, err := a.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("analyzed %d windows in %s", n, time.Since(t0).Round(time.Millisecond))

	found := readAnomalies(t, e)
	truth := org.Truth()
	evalFrom := e2eStart.AddDate(0, 0, 14) // after two weeks of history (the daily warm-up)
	var tp, fp, fn int
	for d := evalFrom; d.Before(end); d = d.AddDate(0, 0, 1) {
		for _, team := range org.Teams() {
			planted := len(truth.Overlapping(team, d, d.AddDate(0, 0, 1))) > 0
			got := found[dayKey{team, d}]
			switch {
			case planted && len(got) > 0:
				tp++
				t.Logf("found: %s %s %v", team, d.Format("Mon 2006-01-02"), got)
			case planted:
				fn++
				t.Logf("missed: %s %s planted %v", team, d.Format("Mon 2006-01-02"), truth.Overlapping(team, d, d.AddDate(0, 0, 1)))
			case len(got) > 0:
				fp++
				t.Logf("false alarm: %s %s %v", team, d.Format("Mon 2006-01-02"), got)
			}
		}
	}
	precision := float64(tp) / float64(max(1, tp+fp))
	recall := float64(tp) / float64(max(1, tp+fn))
	t.Logf("per (team, day): tp %d fp %d fn %d precision %.3f recall %.3f", tp, fp, fn, precision, recall)
	if tp == 0 || precision < 0.9 || recall < 0.9 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.9", precision, recall)
	}
	if hour := e.count("SELECT count() FROM {db}.anomalies WHERE granularity = 'hour'"); hour > 0 {
		t.Logf("hour anomalies: %d", hour)
	}

	// The silo and the isolated person, in the right window (their first day).
	for _, want := range []struct {
		team, metric string
		day          time.Time
	}{
		{"team-3", MetricExternalShare, time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)},
		{"team-5", MetricIsolatedMembers, time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)},
	} {
		if !strings.Contains(strings.Join(found[dayKey{want.team, want.day}], ","), want.metric) {
			t.Errorf("no %s anomaly for %s on %s; got %v", want.metric, want.team, want.day.Format(time.DateOnly), found[dayKey{want.team, want.day}])
		}
	}

	// The team of four: active, never published.
	if n := e.count("SELECT uniqExact(person) FROM {db}.node_metrics WHERE team = 'team-small'"); n != 4 {
		t.Errorf("team-small has %d persons in node_metrics, want 4", n)
	}
	for _, tbl := range []string{"team_stats", "team_network", "anomalies", "team_stats_k", "team_network_k"} {
		if n := e.count("SELECT count() FROM {db}." + tbl + " WHERE team = 'team-small'"); n != 0 {
			t.Errorf("%s has %d rows of the team of four", tbl, n)
		}
	}

	// One alert per anomaly, also after re-running every window.
	checkAlerts := func(when string) {
		t.Helper()
		recs := kafkatest.ReadAll(t, brokers, alertsTopic)
		stored := e.count("SELECT count() FROM {db}.anomalies FINAL")
		keys := map[string]bool{}
		for _, r := range recs {
			var al Alert
			if err := json.Unmarshal(r.Value, &al); err != nil {
				t.Fatalf("alert JSON: %v", err)
			}
			if keys[al.Key] || string(r.Key) != al.Key {
				t.Fatalf("%s: duplicate or mis-keyed alert %s", when, al.Key)
			}
			keys[al.Key] = true
			for _, p := range append(org.Directory(), small.Directory()...) {
				if strings.Contains(string(r.Value), p.Person) {
					t.Fatalf("alert names a person")
				}
			}
		}
		if len(recs) != stored || stored == 0 {
			t.Errorf("%s: %d alerts for %d stored anomalies", when, len(recs), stored)
		}
	}
	checkAlerts("first run")
	again, _ := newAnalyzer(t, e, Config{Now: clock.Now, Since: e2eStart, Logger: testLogger()}, al)
	if _, err := again.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAlerts("after a full re-run")
	if got := readAnomalies(t, e); fmt.Sprint(got) != fmt.Sprint(found) {
		t.Errorf("re-run found different anomalies:\n%v\nvs\n%v", got, found)
	}
}

type kafkaRecorder struct{ *KafkaAlerter }

type dayKey struct {
	team string
	day  time.Time
}

// readAnomalies returns the day anomalies' metrics per (team, day).
func readAnomalies(t *testing.T, e *chEnv) map[dayKey][]string {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT toString(team), window_start, toString(metric), severity, round(score, 2)
		FROM {db}.anomalies FINAL WHERE granularity = 'day' ORDER BY window_start, team, metric`, "{db}", e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[dayKey][]string{}
	for rows.Next() {
		var (
			team, metric, sev string
			ws                time.Time
			score             float64
		)
		if err := rows.Scan(&team, &ws, &metric, &sev, &score); err != nil {
			t.Fatal(err)
		}
		k := dayKey{team, ws.UTC()}
		out[k] = append(out[k], fmt.Sprintf("%s(%s %.2f)", metric, sev, score))
	}
	return out
}
