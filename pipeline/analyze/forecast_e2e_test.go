package analyze

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
)

// Eight weeks from a Monday, the last three a slow decline of team-2's
// tone (negative share up to 0.60, positive share down to 0.4 of its
// baseline), to the last day generated.
var (
	warnStart = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	warnDays  = 56
)

const warnScenario = "decline:team-2:2026-11-09:21d"

// readWarnings reads the early warnings as the report reads them: rows of
// anomalies_k of detector forecast.
func readWarnings(t *testing.T, e *chEnv) []Anomaly {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT window_start, toString(team), toString(metric), value, expected,
		low, high, score, toString(severity), toString(direction), explanation
		FROM {db}.anomalies_k WHERE detector = 'forecast' AND metric IN ('forecast_mean_compound', 'forecast_belonging')
		ORDER BY metric, team, window_start`, "{db}", e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Anomaly
	for rows.Next() {
		a := Anomaly{Granularity: Day, Detector: DetectorForecast}
		var sev string
		if err := rows.Scan(&a.WindowStart, &a.Team, &a.Metric, &a.Value, &a.Expected, &a.Low, &a.High, &a.Score, &sev, &a.Direction, &a.Explanation); err != nil {
			t.Fatal(err)
		}
		a.WindowStart, a.Severity = a.WindowStart.UTC(), Severity(sev)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// runs counts the runs of consecutive days in days (sorted).
func runs(days []time.Time) int {
	n := 0
	for i, d := range days {
		if i == 0 || !d.Equal(days[i-1].AddDate(0, 0, 1)) {
			n++
		}
	}
	return n
}

// Acceptance (issue 15, early warning): eight weeks of generated history,
// the last three a slow decline of team-2, go through Kafka, ingest and
// ClickHouse; the analyzer forecasts every published team's mean sentiment
// and belonging index each day. team-2 is warned (anomalies_k rows of
// detector forecast) before its decline ends, the steady teams are not,
// and a warning that holds on consecutive days is alerted on the alerts
// topic once per run of days, not every day. A team of four has no
// forecast.
func TestEndToEndEarlyWarning(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through Kafka and ClickHouse")
	}
	e := newCH(t)
	_, brokers := kafkatest.Start(t)
	scen, err := synth.ParseScenarios(warnScenario)
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 21, Teams: 5, Start: warnStart, Days: warnDays, Scenarios: scen})
	small := synth.MustNew(synth.Config{Seed: 22, Teams: 1, TeamSizeMin: 4, TeamSizeMax: 4, Start: warnStart, Days: warnDays})
	total := produce(t, brokers, org, "") + produce(t, brokers, small, "team-small")
	ingestAll(t, e, brokers, "warn-e2e", total, prometheus.NewRegistry())

	end := org.Config().End()
	al := &kafkaRecorder{KafkaAlerter: NewKafkaAlerter(brokers, alertsTopic)}
	defer al.Close()
	a, reg := newAnalyzer(t, e, Config{Now: (&fixedClock{t: end.Add(2 * time.Hour)}).Now, Logger: testLogger()}, al)
	t0 := time.Now()
	n, err := a.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("analyzed %d windows in %s", n, time.Since(t0).Round(time.Millisecond))

	fc, err := e.st.Forecasts(context.Background(), warnStart, end)
	if err != nil {
		t.Fatal(err)
	}
	forecastTeams := map[string]int{}
	for _, f := range fc {
		forecastTeams[f.Team+" "+f.Metric]++
	}
	t.Logf("%d published forecast rows: %v", len(fc), forecastTeams)
	if n := e.count("SELECT count() FROM {db}.team_forecasts WHERE team = 'team-small'"); n != 0 {
		t.Errorf("team_forecasts holds %d rows of the team of four", n)
	}
	for _, team := range org.Teams() {
		for _, m := range []string{ForecastMeanCompound, ForecastBelonging} {
			if forecastTeams[team+" "+m] == 0 {
				t.Errorf("no forecast of %s's %s", team, m)
			}
		}
	}

	// Warnings, per team and metric.
	warned := map[[2]string][]time.Time{}
	declineFrom, declineTo := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC), end
	for _, w := range readWarnings(t, e) {
		warned[[2]string{w.Team, w.Metric}] = append(warned[[2]string{w.Team, w.Metric}], w.WindowStart)
		t.Logf("%s %s %s: %s", w.WindowStart.Format("Mon 01-02"), w.Team, w.Metric, w.Explanation)
		if w.Team == "team-2" && w.WindowStart.Before(declineFrom) {
			t.Errorf("team-2 warned on %s, before its decline", w.WindowStart.Format(time.DateOnly))
		}
		if !strings.HasPrefix(w.Explanation, "Early warning: "+w.Team+"'s ") {
			t.Errorf("explanation %q", w.Explanation)
		}
	}
	// The alerts on the topic.
	alerted := map[[2]string]int{}
	for _, m := range kafkatest.ReadAll(t, brokers, alertsTopic) {
		var x Alert
		if err := json.Unmarshal(m.Value, &x); err != nil {
			t.Fatal(err)
		}
		if x.Detector == DetectorForecast {
			alerted[[2]string{x.Team, x.Metric}]++
		}
	}
	var keys [][2]string
	for k := range warned {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	team2, repeats := 0, false
	for _, k := range keys {
		days := warned[k]
		r := runs(days)
		t.Logf("%s %s: warned on %d days (%s to %s) in %d runs, alerted %d times", k[0], k[1], len(days),
			days[0].Format("01-02"), days[len(days)-1].Format("01-02"), r, alerted[k])
		if k[0] != "team-2" {
			t.Errorf("steady %s warned on %s of %s", k[0], k[1], days[0].Format(time.DateOnly))
			continue
		}
		team2++
		if alerted[k] != r {
			t.Errorf("%s %s: %d alerts for %d runs of warned days", k[0], k[1], alerted[k], r)
		}
		if len(days) > r {
			repeats = true
		}
		if got := testutil.ToFloat64(a.m.EarlyWarnings.WithLabelValues(k[1])); got < float64(r) {
			t.Errorf("commpulse_early_warnings_total{metric=%q} = %g, want >= %d", k[1], got, r)
		}
	}
	if team2 == 0 {
		t.Errorf("team-2's decline (%s to %s) was not warned of", declineFrom.Format(time.DateOnly), declineTo.Format(time.DateOnly))
	}
	if team2 > 0 && !repeats {
		t.Log("no warning held on two consecutive days: the de-duplication was not exercised")
	}
	if _, err := testutil.GatherAndCount(reg, "commpulse_early_warnings_total"); err != nil {
		t.Error(err)
	}
}
