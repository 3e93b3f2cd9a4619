package analyze

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/pipeline/store"
)

// belongingScenarios: a sentiment drop of team-2 (Tuesday to Thursday)
// and a silo of team-3 (Wednesday to Friday) in the fourth week, after
// three weeks of history; the week they fall in closes on Sunday 11-15,
// the last day generated.
const belongingScenarios = "drop:team-2:2026-11-10:3d,silo:team-3:2026-11-11:3d"

// readBelonging reads team_belonging_k, the published view.
func readBelonging(t *testing.T, e *chEnv) []store.TeamBelonging {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT window_start, window_days, toString(team), belonging, belonging_z,
		sentiment_z, inclusion_z, load_z, drivers, days, baseline_days, active_members, explanation
		FROM {db}.team_belonging_k ORDER BY window_days, window_start, team`, "{db}", e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.TeamBelonging
	for rows.Next() {
		var (
			r             store.TeamBelonging
			wd, bd        uint16
			days          uint8
			sent, inc, ld *float64
			drivers       map[string]float64
		)
		if err := rows.Scan(&r.WindowStart, &wd, &r.Team, &r.Belonging, &r.Score, &sent, &inc, &ld, &drivers, &days, &bd,
			&r.ActiveMembers, &r.Explanation); err != nil {
			t.Fatal(err)
		}
		r.WindowStart, r.WindowDays, r.Days, r.BaselineDays, r.Drivers = r.WindowStart.UTC(), int(wd), int(days), int(bd), drivers
		r.Sentiment, r.Inclusion, r.Load = orNaNp(sent), orNaNp(inc), orNaNp(ld)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func orNaNp(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// movedPart is the "Moved: ..." sentence of an explanation ("" if none).
func movedPart(expl string) string {
	i := strings.Index(expl, " Moved: ")
	if i < 0 {
		return ""
	}
	rest := expl[i:]
	if j := strings.Index(rest, ". Steady:"); j >= 0 {
		rest = rest[:j]
	} else if j := strings.Index(rest, ". Not scored"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// names reports whether the moved part of expl names component c.
func names(expl, c string) bool {
	m := movedPart(expl)
	return strings.HasPrefix(m, " Moved: "+c+" ") || strings.Contains(m, "; "+c+" ")
}

// Acceptance (issue 15, belonging): generated history with a planted
// sentiment drop and a planted silo goes through Kafka, ingest and
// ClickHouse; the analyzer's belonging rows (team_belonging_k) show the
// drop in the sentiment component and the silo in the inclusion
// component, on every planted day that has a row and in the week they
// fall in, and the explanation names them; a team of four has no row.
func TestEndToEndBelonging(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through Kafka and ClickHouse")
	}
	e := newCH(t)
	_, brokers := kafkatest.Start(t)
	scen, err := synth.ParseScenarios(belongingScenarios)
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 11, Teams: 6, Start: e2eStart, Days: 28, Scenarios: scen})
	small := synth.MustNew(synth.Config{Seed: 12, Teams: 1, TeamSizeMin: 4, TeamSizeMax: 4, Start: e2eStart, Days: 28})
	total := produce(t, brokers, org, "") + produce(t, brokers, small, "team-small")

	ingestAll(t, e, brokers, "belonging-e2e", total, prometheus.NewRegistry())

	end := org.Config().End()
	a, _ := newAnalyzer(t, e, Config{Now: (&fixedClock{t: end.Add(2 * time.Hour)}).Now, Logger: testLogger()}, nil)
	t1 := time.Now()
	n, err := a.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("analyzed %d windows in %s", n, time.Since(t1).Round(time.Millisecond))

	rows := readBelonging(t, e)
	stats := map[dayKey]bool{}
	for _, s := range readStats(t, e, Day) {
		stats[dayKey{s.Team, s.WindowStart.UTC()}] = true
	}
	daily := map[dayKey]store.TeamBelonging{}
	weekly := map[dayKey]store.TeamBelonging{}
	for _, r := range rows {
		if r.Team == "team-small" {
			t.Errorf("a belonging row of the team of four: %+v", r)
		}
		k := dayKey{r.Team, r.WindowStart}
		if r.WindowDays == 7 {
			weekly[k] = r
			continue
		}
		daily[k] = r
		if !stats[k] {
			t.Errorf("belonging row of %s %s without a published team_stats row", r.Team, r.WindowStart.Format(time.DateOnly))
		}
	}
	if n := e.count("SELECT count() FROM {db}.team_belonging WHERE team = 'team-small'"); n != 0 {
		t.Errorf("team_belonging holds %d rows of the team of four", n)
	}
	t.Logf("%d daily and %d weekly belonging rows for %d published team-days", len(daily), len(weekly), len(stats))
	if len(daily) < len(stats)*2/3 {
		t.Errorf("only %d of %d published team-days have a belonging row", len(daily), len(stats))
	}

	// The planted days.
	truth := org.Truth()
	want := map[synth.ScenarioKind]string{synth.SentimentDrop: "sentiment", synth.Silo: "inclusion"}
	component := func(r store.TeamBelonging, c string) float64 {
		return map[string]float64{"sentiment": r.Sentiment, "inclusion": r.Inclusion, "load": r.Load}[c]
	}
	planted := map[dayKey]bool{}
	for _, it := range truth.Items {
		c, ok := want[it.Kind]
		if !ok {
			continue
		}
		seen := 0
		for d := it.Start.UTC().Truncate(24 * time.Hour); d.Before(it.End); d = d.AddDate(0, 0, 1) {
			k := dayKey{it.Team, d}
			planted[k] = true
			r, ok := daily[k]
			if !ok {
				t.Logf("%s %s %s: no belonging row (published team_stats row: %v)", it.Kind, it.Team, d.Format("Mon 01-02"), stats[k])
				continue
			}
			seen++
			t.Logf("%s %s: %s", it.Kind, d.Format("Mon 01-02"), r.Explanation)
			if v := component(r, c); !(v <= -1) {
				t.Errorf("%s %s %s: %s component %.2f, want <= -1", it.Kind, it.Team, d.Format(time.DateOnly), c, v)
			}
			if !names(r.Explanation, c) {
				t.Errorf("%s %s %s: the explanation does not name %s as moved: %q", it.Kind, it.Team, d.Format(time.DateOnly), c, r.Explanation)
			}
			if r.Belonging >= 45 {
				t.Errorf("%s %s %s: belonging %.1f, want below 45", it.Kind, it.Team, d.Format(time.DateOnly), r.Belonging)
			}
		}
		if seen == 0 {
			t.Errorf("%s %s: no planted day has a belonging row", it.Kind, it.Team)
		}
		monday := it.Start.UTC().Truncate(24*time.Hour).AddDate(0, 0, -int((it.Start.UTC().Weekday()+6)%7))
		w, ok := weekly[dayKey{it.Team, monday}]
		switch {
		case !ok:
			t.Errorf("%s %s: no week row for the week of %s", it.Kind, it.Team, monday.Format(time.DateOnly))
		case !(component(w, c) <= -1) || !names(w.Explanation, c):
			t.Errorf("%s %s week of %s: %s %.2f, %q", it.Kind, it.Team, monday.Format(time.DateOnly), c, component(w, c), w.Explanation)
		default:
			t.Logf("%s week: %s", it.Kind, w.Explanation)
		}
	}

	// The other team-days from the third week on (when every team has an
	// own baseline): how often a component is said to have moved, and how
	// far the index strays, with nothing planted.
	// A silo moves every team's inclusion: the other teams' messages to
	// the silo's members stop too, so the silo's days are left out for
	// every team.
	siloDay := map[time.Time]bool{}
	for _, it := range truth.Items {
		if it.Kind == synth.Silo {
			for d := it.Start.UTC().Truncate(24 * time.Hour); d.Before(it.End); d = d.AddDate(0, 0, 1) {
				siloDay[d] = true
			}
		}
	}
	var other, anyMoved, lowIndex int
	movedBy := map[string]int{}
	var sumAbs float64
	for k, r := range daily {
		if planted[k] || siloDay[k.day] || k.day.Before(e2eStart.AddDate(0, 0, 14)) {
			continue
		}
		other++
		sumAbs += math.Abs(r.Score)
		if movedPart(r.Explanation) != "" {
			anyMoved++
		}
		for _, c := range []string{"sentiment", "inclusion", "load"} {
			if names(r.Explanation, c) {
				movedBy[c]++
			}
		}
		if r.Belonging < 40 {
			lowIndex++
			t.Logf("unplanted, index below 40: %s", r.Explanation)
		}
	}
	t.Logf("unplanted team-days from day 15: %d; a component moved on %d (%v); index below 40 on %d; mean |score| %.2f",
		other, anyMoved, movedBy, lowIndex, sumAbs/float64(max(other, 1)))
	for _, th := range []float64{1, 1.5, 2, 2.5, 3} {
		var days, weekdays, nWeekdays int
		byC := map[string]int{}
		for k, r := range daily {
			if planted[k] || siloDay[k.day] || k.day.Before(e2eStart.AddDate(0, 0, 14)) {
				continue
			}
			wd := !weekend(k.day)
			if wd {
				nWeekdays++
			}
			hit := false
			for c, v := range map[string]float64{"sentiment": r.Sentiment, "inclusion": r.Inclusion, "load": r.Load} {
				if math.Abs(v) >= th {
					byC[c]++
					hit = true
				}
			}
			if hit {
				days++
				if wd {
					weekdays++
				}
			}
		}
		t.Logf("threshold %.1f: a component at or beyond it on %d of %d unplanted team-days (%d of %d working days) %v", th, days, other, weekdays, nWeekdays, byC)
	}
	// Weeks: the week rows of the weeks with a full baseline (from the
	// third on), but the planted week.
	for k, w := range weekly {
		if k.day.Before(e2eStart.AddDate(0, 0, 14)) {
			continue
		}
		head, _, _ := strings.Cut(w.Explanation, ". ")
		t.Logf("%s.%s", head, movedPart(w.Explanation))
	}
	if lowIndex*5 > other || anyMoved*4 > other {
		t.Errorf("on %d unplanted team-days the index fell below 40 on %d (want at most a fifth) and a component moved on %d (at most a quarter)",
			other, lowIndex, anyMoved)
	}
}
