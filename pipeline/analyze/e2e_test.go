package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/nlp"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/publish"
)

const alertsTopic = "comms.alerts"

// e2eStart is a Monday five weeks before the day these tests were written;
// the history lies in the past so that ingest accepts it whatever the date.
var e2eStart = time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC)

const e2eDays = 35

// e2eScenarios are planted in the second half of the history, three weeks
// in: an analyzer in production has weeks of history. Effect sizes are
// synth's (sentiment drop to 60% negative, volume x3 for four hours, no
// external traffic, one person down to 5% of their volume and unanswered,
// negative share rising linearly to 60% over two weeks).
const e2eScenarios = "drop:team-2:2026-11-10:3d,spike:team-4:2026-11-12T10:00:4h," +
	"silo:team-3:2026-11-16:3d,isolated:team-5:2026-11-17:3d," + e2eDecline

// e2eDecline is synth's slow decline: team-6's negative share rises
// linearly from its baseline to 0.60 over two weeks, Monday 11-09 to
// Sunday 11-22 (the end of the history). Its first day is expected 0.015
// above the baseline of 0.17, half a standard error of a day of this team,
// and is missed; the drift detector (anomaly.Drift) reports the decline
// from its second or third day on, weekends included.
const e2eDecline = "decline:team-6:2026-11-09:14d"

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
	d := ingest.Defaults()
	return kafkatest.ProduceOrg(t, brokers, kafkatest.OrgTopics{Directory: d.DirectoryTopic, Consent: d.ConsentTopic, Events: d.EventsTopic}, org, team)
}

// ingestAll runs a real ingest (group) on brokers into e until it has
// handled total events, then stops it; its metrics go to reg.
func ingestAll(t *testing.T, e *chEnv, brokers []string, group string, total int, reg *prometheus.Registry) {
	t.Helper()
	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Group = brokers, group
	cfg.BatchRows, cfg.BatchInterval = 5000, 200*time.Millisecond
	cfg.SessionTimeout, cfg.LagInterval, cfg.RetryMax = 4*time.Second, 500*time.Millisecond, time.Second
	cfg.Logger = testLogger()
	in, err := ingest.New(cfg, e.st, nlp.New(), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t0 := time.Now()
	for in.Counts().Handled() < int64(total) {
		if time.Since(t0) > 5*time.Minute {
			cancel()
			t.Fatalf("ingest handled %d of %d events in 5 minutes", in.Counts().Handled(), total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ingest: %v", err)
	}
	t.Logf("ingested %d events in %s", total, time.Since(t0).Round(time.Millisecond))
}

// Acceptance (issues 4 and 5): generated history with planted anomalies goes
// through Kafka, ingest and ClickHouse; the analyzer finds the planted
// anomalies per (team, day) with precision and recall >= 0.9, the silo and
// the isolated person in the right window, publishes one alert per anomaly
// (also after a full re-run), finds the same after a restart in the middle
// of the incidents, and a team of 4 active members has no team-level row.
func TestEndToEndPlantedAnomalies(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through Kafka and ClickHouse")
	}
	runE2E(t, e2eCase{seed: 11, scenarios: e2eScenarios})
}

// TestEndToEndPlantedAnomaliesSeeds runs the acceptance on other seeds and
// another decline (team-1 from the first evaluated day, with only the two
// warm-up weeks before it), so that the detectors are not tuned to one
// draw. It takes about a minute per case and runs only when
// COMMPULSE_E2E_SEEDS is set: to 1 for the four cases below, or to a
// comma-separated list of seeds, each run with both declines. It holds the
// same targets as the acceptance; measured 2026-12-03, precision is
// 0.90-1.00 in all four and recall 0.75-0.905 under the strict rule: the
// slow decline's first days and, on seed 31, the spike's day are missed
// (docs/analyze.md, Measured; TestE2EModel runs the same draws through
// the model in seconds).
func TestEndToEndPlantedAnomaliesSeeds(t *testing.T) {
	env := os.Getenv("COMMPULSE_E2E_SEEDS")
	if testing.Short() || env == "" {
		t.Skip("set COMMPULSE_E2E_SEEDS=1 to run the acceptance on other seeds")
	}
	other := strings.Replace(e2eScenarios, e2eDecline, "decline:team-1:2026-11-02:14d", 1)
	cases := []e2eCase{
		{seed: 12, scenarios: e2eScenarios},
		{seed: 23, scenarios: e2eScenarios},
		{seed: 11, scenarios: other},
		{seed: 31, scenarios: other},
	}
	if env != "1" {
		cases = nil
		for f := range strings.SplitSeq(env, ",") {
			seed, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("COMMPULSE_E2E_SEEDS: %v", err)
			}
			cases = append(cases, e2eCase{seed: seed, scenarios: e2eScenarios}, e2eCase{seed: seed, scenarios: other})
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("seed%d/%s", c.seed, declineSpec(c.scenarios)), func(t *testing.T) { runE2E(t, c) })
	}
}

// e2eCase is one generated organisation (six teams, seed) with planted
// scenarios (synth.ParseScenarios syntax).
type e2eCase struct {
	seed      int64
	scenarios string
}

func declineSpec(scenarios string) string {
	for sc := range strings.SplitSeq(scenarios, ",") {
		if strings.HasPrefix(sc, "decline:") {
			return strings.ReplaceAll(sc, ":", "_")
		}
	}
	return "no-decline"
}

// runE2E generates c, sends it through Kafka, ingest and ClickHouse,
// analyzes every window and scores the day anomalies against the planted
// truth per (team, day) (scoreE2E has the scoring rule).
func runE2E(t *testing.T, c e2eCase) {
	e := newCH(t)
	_, brokers := kafkatest.Start(t)
	scen, err := synth.ParseScenarios(c.scenarios)
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: c.seed, Teams: 6, Start: e2eStart, Days: e2eDays, Scenarios: scen})
	// A team of four, talking only among themselves.
	small := synth.MustNew(synth.Config{Seed: 12, Teams: 1, TeamSizeMin: 4, TeamSizeMax: 4, Start: e2eStart, Days: e2eDays})
	total := produce(t, brokers, org, "") + produce(t, brokers, small, "team-small")

	ingestAll(t, e, brokers, "analyze-e2e", total, prometheus.NewRegistry())

	end := org.Config().End()
	clock := &fixedClock{t: end.Add(2 * time.Hour)}
	al := &kafkaRecorder{KafkaAlerter: NewKafkaAlerter(brokers, alertsTopic)}
	defer al.Close()
	a, _ := newAnalyzer(t, e, Config{Privacy: e2ePrivacy(t), Now: clock.Now, Logger: testLogger()}, al)
	t0 := time.Now()
	n, err := a.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("analyzed %d windows in %s", n, time.Since(t0).Round(time.Millisecond))

	found := readAnomalies(t, e)
	rows := map[dayKey]TeamStats{}
	for _, s := range readStats(t, e, Day) {
		rows[dayKey{s.Team, s.WindowStart.UTC()}] = s
	}
	logPublicationError(t, e, rows)
	if dir := os.Getenv("COMMPULSE_E2E_DUMP"); dir != "" {
		dumpDays(t, filepath.Join(dir, fmt.Sprintf("e2e-seed%d-%s.tsv", c.seed, declineSpec(c.scenarios))), rows, found, org.Truth())
	}
	sc := scoreE2E(t, org, rows, found, end)
	if _, _, model := e2eModel(t, c, Config{Privacy: e2ePrivacy(t)}); fmt.Sprint(model) != fmt.Sprint(found) {
		t.Logf("the model (TestE2EModel) finds different day anomalies than this run:\nmodel %v\nrun   %v", model, found)
	} else {
		t.Logf("the model (TestE2EModel) finds the same %d day anomalies", len(found))
	}
	for _, kind := range sc.missedKinds {
		switch kind.kind {
		case synth.Silo:
			logDaily(t, e, kind.team, "external share (external/all ties)",
				`SELECT window_start, format('{}({})', toString(round(ifNull(external_share, -1), 3)), toString(round(weight)))
				FROM {db}.team_network FINAL WHERE window_days = 1 AND team = ? ORDER BY window_start`)
		case synth.VolumeSpike:
			logDaily(t, e, kind.team, "messages",
				`SELECT window_start, toString(messages) FROM {db}.team_stats FINAL WHERE granularity = 'day' AND team = ? ORDER BY window_start`)
		}
	}
	if sc.tp == 0 || sc.precision() < 0.9 || sc.recall() < 0.9 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.9", sc.precision(), sc.recall())
	}
	if hour := e.count("SELECT count() FROM {db}.anomalies WHERE granularity = 'hour'"); hour > 0 {
		t.Logf("hour anomalies: %d", hour)
	}

	// Each silo in the right window (its first day).
	truth, evalFrom := org.Truth(), e2eEvalFrom
	for _, it := range truth.Items {
		metric := map[synth.ScenarioKind]string{synth.Silo: MetricExternalShare}[it.Kind]
		day := it.Start.UTC().Truncate(24 * time.Hour)
		if metric == "" || day.Before(evalFrom) {
			continue
		}
		if !strings.Contains(strings.Join(found[dayKey{it.Team, day}], ","), metric) {
			t.Errorf("no %s anomaly for %s on %s; got %v", metric, it.Team, day.Format(time.DateOnly), found[dayKey{it.Team, day}])
		}
	}

	// Onsets: every anomaly but a drift's is a change of its own window;
	// the slow decline's drift anomalies say it has been building since a
	// day near its start (the first alarm comes days after it).
	if n := e.count(`SELECT count() FROM {db}.anomalies_k WHERE detector != 'drift' AND onset != window_start`); n != 0 {
		t.Errorf("%d non-drift anomalies with an onset before their window", n)
	}
	if n := e.count(`SELECT count() FROM {db}.anomalies_k WHERE onset > window_start`); n != 0 {
		t.Errorf("%d anomalies with an onset after their window", n)
	}
	for _, it := range truth.Items {
		if it.Kind != synth.SlowDecline {
			continue
		}
		var first, onset time.Time
		q := strings.ReplaceAll(`SELECT min(window_start), argMin(onset, window_start) FROM {db}.anomalies_k
			WHERE team = ? AND detector = 'drift' AND metric IN ('negative_share', 'mean_compound') AND window_start >= ?`, "{db}", e.db)
		if err := e.st.Conn().QueryRow(context.Background(), q, it.Team, it.Start).Scan(&first, &onset); err != nil {
			t.Fatal(err)
		}
		t.Logf("slow decline %s from %s: first drift alarm %s, onset %s", it.Team, it.Start.Format("Mon 01-02"), first.Format("Mon 01-02"), onset.Format("Mon 01-02"))
		if onset.Before(it.Start.AddDate(0, 0, -2)) || !onset.Before(first) {
			t.Errorf("slow decline of %s from %s: first drift alarm %s has onset %s, want a day from 2 days before the start and before the alarm",
				it.Team, it.Start.Format(time.DateOnly), first.Format(time.DateOnly), onset.Format(time.DateOnly))
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

	// anomalies_k shows every anomaly of a clean run: each has its
	// published row, and the view knows each metric (migration 0017).
	if n := e.count(`SELECT count() FROM {db}.anomalies FINAL WHERE (granularity, team, metric, window_start)
		NOT IN (SELECT granularity, team, metric, window_start FROM {db}.anomalies_k)`); n != 0 {
		t.Errorf("anomalies_k hides %d anomalies of a clean run", n)
	}
	t.Logf("anomalies_k shows all %d anomalies, %d metrics", e.count("SELECT count() FROM {db}.anomalies_k"),
		e.count("SELECT uniqExact(metric) FROM {db}.anomalies_k"))

	// One alert per anomaly but a drift's continuation (a later day of a
	// drift run, the same team, metric and onset, not more severe than an
	// earlier day of it: continuingDrifts), also after re-running every
	// window. The rule is recomputed here from the stored rows.
	checkAlerts := func(when string) {
		t.Helper()
		recs := kafkatest.ReadAll(t, brokers, alertsTopic)
		quiet := continuedDrifts(readAllAnomalies(t, e))
		continued := len(quiet)
		stored := e.count("SELECT count() FROM {db}.anomalies FINAL") - continued
		t.Logf("%s: %d anomalies stored, %d of them drift continuations not alerted", when, stored+continued, continued)
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
			if quiet[al.Key] {
				t.Errorf("%s: alert %s continues a drift already alerted", when, al.Key)
			}
			for _, p := range append(org.Directory(), small.Directory()...) {
				if strings.Contains(string(r.Value), p.Person) {
					t.Fatalf("alert names a person")
				}
			}
		}
		if continued == 0 {
			t.Errorf("%s: premise: the two-week decline continued no drift run", when)
		}
		if len(recs) != stored || stored == 0 {
			t.Errorf("%s: %d alerts for %d stored anomalies", when, len(recs), stored)
		}
	}
	checkAlerts("first run")

	// forget makes the analyzer's progress end before from, as if it had
	// stopped (or crashed) there: the windows after it were written but
	// not marked done, so a new analyzer resumes at from and re-releases
	// them as the same generation.
	forget := func(from time.Time) {
		t.Helper()
		if err := e.st.Conn().Exec(context.Background(), strings.ReplaceAll(
			"DELETE FROM {db}.analyzer_windows WHERE window_start >= ? SETTINGS lightweight_deletes_sync = 2", "{db}", e.db), from); err != nil {
			t.Fatal(err)
		}
	}
	// A crash after every window was written but before any was marked
	// done: the retry publishes the same figures (same generation), the
	// same anomalies, and no alert twice.
	forget(e2eStart.AddDate(0, 0, -1))
	again, _ := newAnalyzer(t, e, Config{Privacy: e2ePrivacy(t), Now: clock.Now, Logger: testLogger()}, al)
	if _, err := again.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAlerts("after a retry of every window")
	if got := readAnomalies(t, e); fmt.Sprint(got) != fmt.Sprint(found) {
		t.Errorf("the retry found different anomalies:\n%v\nvs\n%v", got, found)
	}

	// Restart in the middle of the planted incidents (the decline, the
	// drop, the spike): detectors rebuilt from the stored history before
	// the restart day score the days after it exactly as the run that never
	// stopped.
	mid := time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)
	forget(mid)
	restarted, _ := newAnalyzer(t, e, Config{Privacy: e2ePrivacy(t), Now: clock.Now, Logger: testLogger()}, al)
	if _, err := restarted.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAlerts("after a restart from " + mid.Format(time.DateOnly))
	if got := readAnomalies(t, e); fmt.Sprint(got) != fmt.Sprint(found) {
		t.Errorf("restart from %s found different anomalies:\n%v\nvs\n%v", mid.Format(time.DateOnly), got, found)
	}
}

// e2eEvalFrom is the first evaluated day: after two weeks of history (the
// daily warm-up).
var e2eEvalFrom = e2eStart.AddDate(0, 0, 14)

// e2eScore is the outcome of scoring day anomalies against the planted
// truth per (team, day) (scoreE2E), under the strict rule (every day a
// scenario overlaps is planted) and under the onset rule (a slow decline's
// days before its onset, declineOnsets, are neither hits nor misses).
type e2eScore struct {
	tp, fp, fn, suppressed, byDesign int
	// Under the onset rule: the early decline days left out, and how many
	// of them were hits and misses under the strict rule.
	early, earlyHit, earlyMiss int
	missedKinds                []struct {
		kind synth.ScenarioKind
		team string
	}
}

func (s e2eScore) precision() float64 { return float64(s.tp) / float64(max(1, s.tp+s.fp)) }
func (s e2eScore) recall() float64    { return float64(s.tp) / float64(max(1, s.tp+s.fn)) }

// onset is the score under the onset rule.
func (s e2eScore) onset() (precision, recall float64) {
	tp, fn := s.tp-s.earlyHit, s.fn-s.earlyMiss
	return float64(tp) / float64(max(1, tp+s.fp)), float64(tp) / float64(max(1, tp+fn))
}

// scoreE2E scores the day anomalies found (metric strings per team-day)
// against org's planted truth over the published day rows, from
// e2eEvalFrom to end, and logs what it found per scenario.
//
// Scoring rule. The evaluated cells are the (team, day) pairs from
// e2eEvalFrom on. A cell counts only when the product can publish that
// team-day, i.e. it has a team_stats row (at least k active members): a
// planted cell with a row and an anomaly is a hit, a planted cell with a
// row and none a miss, an unplanted cell with an anomaly a false alarm.
// Planted cells that k-anonymity suppresses (weekends of small teams: 6%
// of weekday traffic, often fewer than 5 senders) are neither hits nor
// misses: the product is designed never to say anything about them, and
// no detector could. They are counted and logged separately. The truth
// itself is synth's, unchanged: every day a scenario overlaps is planted,
// including the first days of a slow decline, whose effect is still small
// (the strict rule, which the acceptance holds). The onset rule
// (declineOnsets) is logged beside it.
//
// A single isolated person is not a team-level finding: the product
// publishes a count of isolated members only from MinPeople (three) on,
// so that no alert can be read as "this one person" (docs/privacy.md).
// Its planted days are neither hits nor misses, and an alarm on them is
// not a false one.
func scoreE2E(t *testing.T, org *synth.Org, rows map[dayKey]TeamStats, found map[dayKey][]string, end time.Time) e2eScore {
	t.Helper()
	truth := org.Truth()
	onsets := declineOnsets(truth, rows)
	var sc e2eScore
	for d := e2eEvalFrom; d.Before(end); d = d.AddDate(0, 0, 1) {
		for _, team := range org.Teams() {
			var planted []synth.TruthItem
			single, early := false, false
			for _, it := range truth.Overlapping(team, d, d.AddDate(0, 0, 1)) {
				if it.Kind == synth.Isolated {
					single = true
					continue
				}
				if on, ok := onsets[it]; ok && d.Before(on) {
					early = true
				}
				planted = append(planted, it)
			}
			_, published := rows[dayKey{team, d}]
			got := found[dayKey{team, d}]
			if single && len(planted) == 0 {
				sc.byDesign++
				continue
			}
			if early && published && len(planted) == 1 {
				sc.early++
				if len(got) > 0 {
					sc.earlyHit++
				} else {
					sc.earlyMiss++
				}
			}
			switch {
			case len(planted) > 0 && !published:
				sc.suppressed++
				if len(got) > 0 {
					t.Errorf("anomaly %v on %s %s, which has no team_stats row", got, team, d.Format(time.DateOnly))
				}
			case len(planted) > 0 && len(got) > 0:
				sc.tp++
			case len(planted) > 0:
				sc.fn++
			case len(got) > 0:
				sc.fp++
				t.Logf("false alarm: %s %s %v", team, d.Format("Mon 2006-01-02"), got)
			}
		}
	}
	// Per scenario: which of its days were found, missed, or not
	// publishable.
	for _, it := range truth.Items {
		if it.Team == "" {
			continue
		}
		var hit, miss, supp []string
		for d := e2eEvalFrom; d.Before(end); d = d.AddDate(0, 0, 1) {
			if !overlaps(it, d) {
				continue
			}
			day := d.Format("Mon 01-02")
			s, published := rows[dayKey{it.Team, d}]
			switch got := found[dayKey{it.Team, d}]; {
			case !published:
				supp = append(supp, day)
			case len(got) > 0:
				hit = append(hit, fmt.Sprintf("%s %v", day, got))
			default:
				miss = append(miss, fmt.Sprintf("%s (neg %.3f, compound %.3f, %.0f scored)", day, s.NegativeShare, s.MeanCompound, s.ScoredMessages))
			}
		}
		onset := ""
		if on, ok := onsets[it]; ok {
			onset = "; onset (effect >= 1 standard error of a working day) " + on.Format("Mon 01-02")
		}
		t.Logf("%s %s %s..%s: found %d of %d publishable days; suppressed by k (no team_stats row, not scored): %d %v%s",
			it.Kind, it.Team, it.Start.Format("Mon 01-02"), it.End.Format("Mon 01-02"), len(hit), len(hit)+len(miss), len(supp), supp, onset)
		for _, h := range hit {
			t.Logf("  found: %s", h)
		}
		for _, m := range miss {
			t.Logf("  missed: %s", m)
		}
		if len(miss) > 0 {
			sc.missedKinds = append(sc.missedKinds, struct {
				kind synth.ScenarioKind
				team string
			}{it.Kind, it.Team})
		}
	}
	op, or := sc.onset()
	t.Logf("per publishable (team, day): tp %d fp %d fn %d precision %.3f recall %.3f; planted cells suppressed by k: %d; single-person isolation days (not published by design): %d",
		sc.tp, sc.fp, sc.fn, sc.precision(), sc.recall(), sc.suppressed, sc.byDesign)
	t.Logf("onset rule (decline days before their onset left out: %d, of which %d found): precision %.3f recall %.3f", sc.early, sc.earlyHit, op, or)
	return sc
}

// declineOnsets returns, for each slow decline of truth, its onset: the
// first day whose expected effect (the rise of the negative share at the
// day's midpoint, linear from the team's baseline to DropNegativeShare over
// the window) reaches one standard error of a working day of the team
// (binomial at the baseline share over the team's usual scored messages,
// plus the publication noise on the negative count). Baseline and usual
// size are the team's published working days before the decline. Before
// the onset a day's effect is inside one standard error of a single day:
// no day-level detector can tell it, and the strict rule still counts
// those days as planted.
func declineOnsets(truth synth.Truth, rows map[dayKey]TeamStats) map[synth.TruthItem]time.Time {
	noise := publish.NoiseSD(Defaults().Privacy.CapSentiment, Defaults().Privacy.Epsilon.DayNegative)
	out := map[synth.TruthItem]time.Time{}
	for _, it := range truth.Items {
		if it.Kind != synth.SlowDecline {
			continue
		}
		var n, p float64
		var days int
		for k, r := range rows {
			if k.team == it.Team && k.day.Before(it.Start) && workday(k.day) && !math.IsNaN(r.NegativeShare) {
				n += r.ScoredMessages
				p += r.NegativeShare
				days++
			}
		}
		if days == 0 {
			continue
		}
		n, p = n/float64(days), p/float64(days)
		se := math.Sqrt(p*(1-p)/n + noise*noise/(n*n))
		span := it.End.Sub(it.Start)
		for d := it.Start.UTC().Truncate(24 * time.Hour); d.Before(it.End); d = d.AddDate(0, 0, 1) {
			frac := float64(d.Add(12*time.Hour).Sub(it.Start)) / float64(span)
			if frac*(synth.DropNegativeShare-p) >= se {
				out[it] = d
				break
			}
		}
	}
	return out
}

// overlaps reports whether the truth item covers part of day d.
func overlaps(it synth.TruthItem, d time.Time) bool {
	end := it.End
	if !end.After(it.Start) {
		end = it.Start.Add(time.Nanosecond)
	}
	return it.Start.Before(d.AddDate(0, 0, 1)) && end.After(d)
}

// dumpDays writes the day team_stats rows with their anomalies and planted
// scenarios as TSV (a development aid: COMMPULSE_E2E_DUMP=dir).
func dumpDays(t *testing.T, path string, rows map[dayKey]TeamStats, found map[dayKey][]string, truth synth.Truth) {
	t.Helper()
	var b strings.Builder
	b.WriteString("team\tday\tweekday\tmessages\tactive\tscored\tmean_compound\tnegative_share\tplanted\tanomalies\n")
	keys := make([]dayKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].day.Equal(keys[j].day) {
			return keys[i].day.Before(keys[j].day)
		}
		return keys[i].team < keys[j].team
	})
	for _, k := range keys {
		s := rows[k]
		var planted []string
		for _, it := range truth.Overlapping(k.team, k.day, k.day.AddDate(0, 0, 1)) {
			planted = append(planted, string(it.Kind))
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%.2f\t%d\t%.2f\t%.5f\t%.5f\t%s\t%s\n", k.team, k.day.Format(time.DateOnly), k.day.Weekday().String()[:3],
			s.Messages, s.ActiveMembers, s.ScoredMessages, s.MeanCompound, s.NegativeShare, strings.Join(planted, ","), strings.Join(found[k], ","))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type kafkaRecorder struct{ *KafkaAlerter }

type dayKey struct {
	team string
	day  time.Time
}

// readAnomalies returns the day anomalies' metrics per (team, day). Early
// warnings are left out: they forecast the days ahead, and are scored by
// TestEndToEndEarlyWarning.
func readAnomalies(t *testing.T, e *chEnv) map[dayKey][]string {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT toString(team), window_start, toString(metric), severity, round(score, 2)
		FROM {db}.anomalies FINAL WHERE granularity = 'day' AND detector != 'forecast' ORDER BY window_start, team, metric`, "{db}", e.db))
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

// logDaily logs one daily series of a team (query: window_start and the
// value as a string, for the team as its one parameter), to show why a
// planted day was missed.
func logDaily(t *testing.T, e *chEnv, team, what, query string) {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(query, "{db}", e.db), team)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var (
			ws time.Time
			v  string
		)
		if err := rows.Scan(&ws, &v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, " %s %s", ws.Format("Mon01-02"), v)
	}
	t.Logf("  %s %s by day:%s", team, what, b.String())
}

// logPublicationError reports what the publication layer costs in accuracy:
// the mean absolute error of the published mean compound and negative share
// against the exact, unbounded figures of the same team-days (computed here
// from messages, as the analyzer no longer does), over the team-days with
// at least 50 scored messages and over all of them. It fails only if the
// error is far beyond what the policy's noise explains (a broken release).
func logPublicationError(t *testing.T, e *chEnv, rows map[dayKey]TeamStats) {
	t.Helper()
	q, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT toString(team), toDateTime(toStartOfDay(occurred_at, 'UTC'), 'UTC') AS d,
		countIf(compound IS NOT NULL), avg(compound), countIf(label = 'negative') / countIf(compound IS NOT NULL)
		FROM {db}.messages FINAL WHERE team != '' GROUP BY team, d HAVING countIf(compound IS NOT NULL) > 0`, "{db}", e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var n, nBig int
	var mean, neg, meanBig, negBig float64
	for q.Next() {
		var (
			team     string
			d        time.Time
			scored   uint64
			exMean   *float64
			exNegShr float64
		)
		if err := q.Scan(&team, &d, &scored, &exMean, &exNegShr); err != nil {
			t.Fatal(err)
		}
		r, ok := rows[dayKey{team, d.UTC()}]
		if !ok || exMean == nil || math.IsNaN(r.MeanCompound) || math.IsNaN(r.NegativeShare) {
			continue
		}
		em, en := math.Abs(r.MeanCompound-*exMean), math.Abs(r.NegativeShare-exNegShr)
		n++
		mean += em
		neg += en
		if scored >= 50 {
			nBig++
			meanBig += em
			negBig += en
		}
	}
	if n == 0 || nBig == 0 {
		t.Fatal("no published team-day to compare")
	}
	t.Logf("publication error per team-day: mean compound MAE %.4f, negative share MAE %.4f over %d team-days; %.4f and %.4f over the %d with >= 50 scored messages",
		mean/float64(n), neg/float64(n), n, meanBig/float64(nBig), negBig/float64(nBig), nBig)
	limit := 0.1 // at the default budget; the noise grows as the budget shrinks
	if f := e2eEpsilonScale(t); f > 0 {
		limit /= f
	}
	if meanBig/float64(nBig) > limit || negBig/float64(nBig) > limit {
		t.Errorf("publication error beyond the noise the policy explains: MAE %.3f / %.3f", meanBig/float64(nBig), negBig/float64(nBig))
	}
}

// e2ePrivacy is the publication policy of the end-to-end runs: the
// defaults, with every ε multiplied by COMMPULSE_E2E_EPSILON_SCALE when set
// (a development aid: docs/privacy.md reports the accuracy at 0.25).
func e2ePrivacy(t *testing.T) publish.Policy {
	p := Defaults().Privacy
	if f := e2eEpsilonScale(t); f > 0 {
		p.EpsilonScale = f
		t.Logf("publication budget scaled by %g: %.2f per person-day", f, p.PerPersonDay())
	}
	return p
}

// e2eEpsilonScale is COMMPULSE_E2E_EPSILON_SCALE, 0 when unset.
func e2eEpsilonScale(t *testing.T) float64 {
	v := os.Getenv("COMMPULSE_E2E_EPSILON_SCALE")
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("COMMPULSE_E2E_EPSILON_SCALE: %v", err)
	}
	return f
}
