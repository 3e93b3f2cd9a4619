package analyze

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/kafkatest"
	"commpulse/internal/privacytest"
	"commpulse/internal/synth"
)

// Privacy regression (issue 7): after a full generated run through ingest
// and analyze, no stored string equals or contains a sent text, no metric
// label of either stage holds a person id, and the k-safe views show no team
// with fewer than k members (a team of 4 never appears).
func TestPrivacyRegressionFullRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through Kafka and ClickHouse")
	}
	e := newCH(t)
	_, brokers := kafkatest.Start(t)
	start := time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)
	scen, err := synth.ParseScenarios("drop:team-2:2026-11-12:3d,silo:team-3:2026-11-13:2d,isolated:team-4:2026-11-12:2d")
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 5, Teams: 5, Start: start, Days: 21, Scenarios: scen,
		MalformedRate: 0.01, NotOptedInRate: 0.01})
	small := synth.MustNew(synth.Config{Seed: 6, Teams: 1, TeamSizeMin: 4, TeamSizeMax: 4, Start: start, Days: 21})
	total := produce(t, brokers, org, "") + produce(t, brokers, small, "team-small")
	var texts, persons []string
	for _, o := range []*synth.Org{org, small} {
		for g := range o.Events() {
			if g.Event.Text != "" {
				texts = append(texts, g.Event.Text)
			}
		}
		for _, d := range o.Directory() {
			persons = append(persons, d.Person)
		}
	}

	inReg := prometheus.NewRegistry()
	ingestAll(t, e, brokers, "privacy-run", total, inReg)
	clock := &fixedClock{t: org.Config().End().Add(2 * time.Hour)}
	a, anReg := newAnalyzer(t, e, Config{Now: clock.Now, Logger: testLogger()}, nil)
	if _, err := a.Step(context.Background()); err != nil {
		t.Fatal(err)
	}

	sc := privacytest.NewTextScanner(texts)
	scanned := privacytest.AssertNoTextInDatabase(t, e.st.Conn(), e.db, sc)
	labels := privacytest.AssertNoPersonInLabels(t, inReg, persons) + privacytest.AssertNoPersonInLabels(t, anReg, persons)

	q := func(sql string) int {
		var n uint64
		if err := e.st.Conn().QueryRow(context.Background(), strings.ReplaceAll(sql, "{db}", e.db)).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return int(n)
	}
	if n := q("SELECT count() FROM {db}.team_stats_k"); n == 0 {
		t.Fatal("team_stats_k is empty; the k check would prove nothing")
	}
	for name, sql := range map[string]string{
		"team_stats_k below k":        "SELECT count() FROM {db}.team_stats_k WHERE active_members < 5",
		"team_network_k below k":      "SELECT count() FROM {db}.team_network_k WHERE members_active < 5",
		"team of 4 in team_stats_k":   "SELECT count() FROM {db}.team_stats_k WHERE team = 'team-small'",
		"team of 4 in team_network_k": "SELECT count() FROM {db}.team_network_k WHERE team = 'team-small'",
		"team of 4 in anomalies_k":    "SELECT count() FROM {db}.anomalies_k WHERE team = 'team-small'",
		"team of 4 in team_themes":    "SELECT count() FROM {db}.team_themes WHERE team = 'team-small'",
		"theme without a k-safe team_stats row": `SELECT count() FROM {db}.team_themes_k h
			LEFT ANTI JOIN (SELECT * FROM {db}.team_stats_k WHERE granularity = 'day') s ON h.team = s.team AND h.window_start = s.window_start`,
		"anomaly without a k-safe team row": `SELECT count() FROM {db}.anomalies_k a
			LEFT ANTI JOIN {db}.team_stats_k s ON a.team = s.team AND a.granularity = s.granularity AND a.window_start = s.window_start
			WHERE a.metric NOT IN ('external_share', 'isolated_members')`,
		// anomalies_k hides what outlived its release (migration 0017) and
		// any metric it does not know: on a clean run it hides nothing.
		"anomaly of the analyzer hidden by anomalies_k": `SELECT count() FROM {db}.anomalies FINAL
			WHERE (granularity, team, metric, window_start) NOT IN (SELECT granularity, team, metric, window_start FROM {db}.anomalies_k)`,
	} {
		if n := q(sql); n != 0 {
			t.Errorf("%s: %d rows", name, n)
		}
	}
	if n := q("SELECT count() FROM {db}.anomalies_k"); n == 0 {
		t.Fatal("anomalies_k is empty; the check that it hides nothing of a clean run would prove nothing")
	}
	if n := q("SELECT count() FROM {db}.messages WHERE team = 'team-small'"); n == 0 {
		t.Fatal("the team of 4 sent nothing; the k check would prove nothing")
	}
	t.Logf("privacy: %d distinct stored strings hold none of %d texts; %d metric label values hold no person id; k-safe views clean (%d theme rows of %d team-days; %d anomalies of %d metrics, none hidden)",
		scanned, len(texts), labels, q("SELECT count() FROM {db}.team_themes_k"), q("SELECT count() FROM {db}.team_stats_k WHERE granularity = 'day'"),
		q("SELECT count() FROM {db}.anomalies_k"), q("SELECT uniqExact(metric) FROM {db}.anomalies_k"))

	// What the theme counts of this organisation are worth (docs/privacy.md
	// reports these figures), against the policy before the theme cap (the
	// counts at the volume weight, cap 60, ε 2 each, floor 60).
	pol := testPublisher(t, Config{}).Policy()
	before := pol
	before.CapThemes, before.Epsilon.DayThemes, before.MinThemeMessages = pol.CapVolume, 2, 60
	if share := logThemeAccuracy(t, e, start, org.Config().End(), pol, before); share == 0 {
		t.Error("no theme count published on any theme-day")
	}
}
