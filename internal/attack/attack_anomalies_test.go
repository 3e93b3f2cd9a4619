package attack

// anomalies_k used to show every anomalies row, while the other derived
// views (team_themes_k, team_belonging_k, team_forecasts_k) re-check their
// team-day against team_stats. An anomaly or early warning could then stay
// visible, in Grafana and the HTML report, for a team-day that
// team_stats_k no longer shows: a `--since` re-run after an erasure drops
// the team below k, rewrites team_stats and fails before it rewrites the
// day's anomalies. Migration 0017 makes the view show a row only while the
// table that released its figures shows the team-window.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"commpulse/network"
	"commpulse/pipeline/analyze"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/review"
	"commpulse/pipeline/store"
)

// The source of each anomaly metric analyze writes (pipeline/analyze:
// anomalies.go, isolation.go, forecast.go), as the view must know it.
var (
	statsMetrics = []string{analyze.MetricMessages, analyze.MetricMeanCompound, analyze.MetricNegativeShare,
		analyze.MetricForecastMeanCompound, analyze.MetricForecastBelonging}
	networkMetrics = []string{analyze.MetricExternalShare, analyze.MetricIsolatedMembers}
)

// The analyst sees an anomaly only while its team-window is k-safe in the
// table that released it: team_stats of the same granularity for
// sentiment, volume and early warnings, the team_network day row for the
// silo and isolation metrics. Teams:
//
//   - steady: released everywhere; every metric of it is shown;
//   - shrunk: released, then a re-run drops it below k from team_stats
//     (and later from team_network) and fails before rewriting the
//     anomalies: what it no longer publishes disappears from anomalies_k
//     at once, and from the report;
//   - nonet: a team_stats day row but only a 28-day network row: its silo
//     and isolation rows (forged) are hidden;
//   - lowk: rows below k (k_applied 3, 4 senders): everything hidden.
//
// An hour anomaly needs an hour row (a day row does not do), and a metric
// the view does not know is not shown, and anomaly_reviews_k shows a
// review only while its anomaly is shown. Reads are the analyst user's
// own, on the engine with the access model; the reviewer still lists and
// reviews every stored anomaly.
func TestAttackAnomaliesShownOnlyWithTheirRelease(t *testing.T) {
	s := rolesStart(t)
	ctx := context.Background()
	w := s.store(t, store.RoleWriter)
	an := s.store(t, store.RoleAnalyst)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	hour := day.Add(10 * time.Hour)
	now := time.Now().UTC().Truncate(time.Millisecond)

	dayRow := func(team string, senders uint32) store.TeamStats {
		return store.TeamStats{WindowStart: day, Granularity: store.Day, Team: team, Messages: 120, ActiveMembers: senders,
			ScoredMessages: 100, MeanCompound: 0.1, NegativeShare: 0.2, PositiveShare: 0.3, AfterHoursShare: 0.1, Epsilon: 1}
	}
	hourRow := func(team string) store.TeamStats {
		return store.TeamStats{WindowStart: hour, Granularity: store.Hour, Team: team, Messages: 30, Epsilon: 0.1}
	}
	netRow := func(team string, days int, senders float64) publish.NetRelease {
		iso := 3
		return publish.NetRelease{Window: day, Days: days, Team: team, Senders: senders, Weight: 80,
			ExternalShare: 0.02, EIIndex: -0.96, Isolated: &iso}
	}
	writeStats := func(g store.Granularity, k int, rows ...store.TeamStats) {
		t.Helper()
		from := day
		if g == store.Hour {
			from = hour
		}
		to := from.Add(g.Step())
		if err := w.WriteTeamStats(ctx, g, from, to, rows, k, now); err != nil {
			t.Fatalf("writer: team_stats: %v", err)
		}
	}
	writeNet := func(days, k int, rows ...publish.NetRelease) {
		t.Helper()
		if err := w.WriteNetwork(ctx, day, days, &network.Result{}, rows, store.GraphRelease{Nodes: 60}, k, 1, now); err != nil {
			t.Fatalf("writer: team_network: %v", err)
		}
	}
	anomaly := func(g store.Granularity, team, metric string) store.Anomaly {
		at, det := day, "level"
		if g == store.Hour {
			at = hour
		}
		if slices.Contains([]string{analyze.MetricForecastMeanCompound, analyze.MetricForecastBelonging}, metric) {
			det = store.DetectorForecast
		}
		return store.Anomaly{WindowStart: at, Granularity: g, Team: team, Metric: metric, Value: -0.4, Expected: 0.1,
			Low: 0, High: 0.2, Score: 0.9, Severity: store.Critical, Direction: "down", Detector: det,
			Explanation: team + ": " + metric + " moved", DetectedAt: now}
	}

	// The first release: steady and shrunk everywhere, nonet without a day
	// network, lowk below k in both tables.
	writeStats(store.Day, 5, dayRow("steady", 8), dayRow("shrunk", 6), dayRow("nonet", 7))
	writeStats(store.Hour, 5, hourRow("steady"), hourRow("shrunk"))
	if err := w.Conn().Exec(ctx, "INSERT INTO "+s.db+`.team_stats (window_start, granularity, team, messages, active_members,
		k_applied, epsilon, computed_at) VALUES (?, 'day', 'lowk', 40, 4, 3, 1, ?)`, day, now); err != nil {
		t.Fatalf("writer: team_stats below k: %v", err)
	}
	writeNet(1, 5, netRow("steady", 1, 8), netRow("shrunk", 1, 6), netRow("lowk", 1, 4))
	writeNet(28, 5, netRow("nonet", 28, 7))

	var dayAs, hourAs []store.Anomaly
	for _, team := range []string{"steady", "shrunk", "nonet", "lowk"} {
		for _, m := range append(slices.Clone(statsMetrics), networkMetrics...) {
			dayAs = append(dayAs, anomaly(store.Day, team, m))
		}
		hourAs = append(hourAs, anomaly(store.Hour, team, analyze.MetricMessages))
	}
	dayAs = append(dayAs, anomaly(store.Day, "steady", "unknown_metric"))
	if err := w.WriteAnomalies(ctx, store.Day, day, day.AddDate(0, 0, 1), dayAs); err != nil {
		t.Fatalf("writer: anomalies: %v", err)
	}
	if err := w.WriteAnomalies(ctx, store.Hour, hour, hour.Add(time.Hour), hourAs); err != nil {
		t.Fatalf("writer: hour anomalies: %v", err)
	}
	rv := review.NewService(s.store(t, store.RoleReviewer), nil, nil)
	for _, team := range []string{"steady", "shrunk"} {
		if _, err := rv.Set(ctx, anomaly(store.Day, team, analyze.MetricMeanCompound).Key(), review.Acknowledged, review.NoReason, review.CLIReviewer); err != nil {
			t.Fatalf("reviewer: acknowledge %s: %v", team, err)
		}
	}

	key := func(g store.Granularity, team, metric string) string { return fmt.Sprintf("%s|%s|%s", g, team, metric) }
	shown := func() []string {
		t.Helper()
		rows, err := an.Conn().Query(ctx, "SELECT toString(granularity), toString(team), toString(metric) FROM "+s.db+".anomalies_k")
		if err != nil {
			t.Fatalf("analyst reads anomalies_k: %v", err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var g, team, m string
			if err := rows.Scan(&g, &team, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, key(store.Granularity(g), team, m))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
	// want lists the day metrics shown per team and the teams whose hour
	// volume anomaly is shown.
	want := func(teams map[string][]string, hourTeams ...string) []string {
		var out []string
		for team, ms := range teams {
			for _, m := range ms {
				out = append(out, key(store.Day, team, m))
			}
		}
		for _, team := range hourTeams {
			out = append(out, key(store.Hour, team, analyze.MetricMessages))
		}
		sort.Strings(out)
		return out
	}
	all := append(slices.Clone(statsMetrics), networkMetrics...)
	// reportTeams is what the analyst's report reads list: the anomalies
	// and warnings of each team, and the review state of the
	// acknowledged ones.
	reportTeams := func() (anomalies, warnings map[string]int, acked []string) {
		t.Helper()
		from, to := day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)
		ras, err := an.ReportAnomalies(ctx, from, to)
		if err != nil {
			t.Fatalf("analyst: report anomalies: %v", err)
		}
		rws, err := an.ReportWarnings(ctx, from, to)
		if err != nil {
			t.Fatalf("analyst: report warnings: %v", err)
		}
		anomalies, warnings = map[string]int{}, map[string]int{}
		for _, a := range ras {
			anomalies[a.Team]++
			if a.State == store.ReviewAcknowledged {
				acked = append(acked, a.Team)
			}
		}
		for _, a := range rws {
			warnings[a.Team]++
		}
		return anomalies, warnings, acked
	}
	// reviewed lists the teams of the reviews anomaly_reviews_k shows.
	reviewed := func() []string {
		t.Helper()
		rows, err := an.Conn().Query(ctx, "SELECT toString(team) FROM "+s.db+".anomaly_reviews_k ORDER BY team")
		if err != nil {
			t.Fatalf("analyst reads anomaly_reviews_k: %v", err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var team string
			if err := rows.Scan(&team); err != nil {
				t.Fatal(err)
			}
			out = append(out, team)
		}
		return out
	}
	stored := func() int {
		t.Helper()
		l, err := rv.List(ctx, store.ReviewFilter{})
		if err != nil {
			t.Fatalf("reviewer lists anomalies: %v", err)
		}
		return len(l)
	}
	nStored := len(dayAs) + len(hourAs)
	// waitUnpublished waits until the analyst's view no longer shows the
	// team (a re-run's lightweight DELETE of the old rows is asynchronous).
	waitUnpublished := func(view, team string) {
		t.Helper()
		q := "SELECT count() FROM " + s.db + "." + view + " WHERE team = ?"
		for deadline := time.Now().Add(2 * time.Minute); ; {
			var n uint64
			if err := an.Conn().QueryRow(ctx, q, team).Scan(&n); err != nil {
				t.Fatalf("analyst: %s: %v", view, err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still shows %s after the re-run", view, team)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	t.Run("each anomaly with its release", func(t *testing.T) {
		got := shown()
		exp := want(map[string][]string{"steady": all, "shrunk": all, "nonet": statsMetrics}, "steady", "shrunk")
		if !slices.Equal(got, exp) {
			t.Errorf("anomalies_k shows\n %v\nwant\n %v", got, exp)
		}
		a, wn, acked := reportTeams()
		// steady and shrunk: 5 day anomalies (3 stats and 2 network
		// metrics) and the hour volume, 2 warnings; nonet: its 3 stats
		// metrics and 2 warnings.
		if a["steady"] != 6 || wn["steady"] != 2 || a["shrunk"] != 6 || wn["shrunk"] != 2 || a["nonet"] != 3 || wn["nonet"] != 2 || a["lowk"] != 0 || wn["lowk"] != 0 {
			t.Errorf("report: anomalies %v, warnings %v", a, wn)
		}
		if sort.Strings(acked); !slices.Equal(acked, []string{"shrunk", "steady"}) {
			t.Errorf("report: acknowledged %v; want shrunk and steady", acked)
		}
		if r := reviewed(); !slices.Equal(r, []string{"shrunk", "steady"}) {
			t.Errorf("anomaly_reviews_k shows reviews of %v; want shrunk and steady", r)
		}
		if n := stored(); n != nStored {
			t.Errorf("reviewer lists %d anomalies; want every stored one, %d", n, nStored)
		}
	})

	// The re-run after an erasure: shrunk has 4 senders left, so its
	// team_stats rows are not written; the run fails before the network
	// and the anomalies are rewritten.
	writeStats(store.Day, 5, dayRow("steady", 8), dayRow("nonet", 7))
	writeStats(store.Hour, 5, hourRow("steady"))
	waitUnpublished("team_stats_k", "shrunk")
	t.Run("re-run cut short after team_stats", func(t *testing.T) {
		got := shown()
		exp := want(map[string][]string{"steady": all, "shrunk": networkMetrics, "nonet": statsMetrics}, "steady")
		if !slices.Equal(got, exp) {
			t.Errorf("anomalies_k shows\n %v\nwant\n %v", got, exp)
		}
		a, wn, acked := reportTeams()
		if a["shrunk"] != 2 || wn["shrunk"] != 0 || a["steady"] != 6 || wn["steady"] != 2 {
			t.Errorf("report: anomalies %v, warnings %v; want shrunk's network anomalies only", a, wn)
		}
		if !slices.Equal(acked, []string{"steady"}) {
			t.Errorf("report: acknowledged %v; want steady only", acked)
		}
		if r := reviewed(); !slices.Equal(r, []string{"steady"}) {
			t.Errorf("anomaly_reviews_k shows reviews of %v; want steady's only", r)
		}
		if n := stored(); n != nStored {
			t.Errorf("reviewer lists %d anomalies; want %d", n, nStored)
		}
	})

	// The same run, cut short after the day network.
	writeNet(1, 5, netRow("steady", 1, 8))
	waitUnpublished("team_network_k", "shrunk")
	t.Run("re-run cut short after the network", func(t *testing.T) {
		got := shown()
		exp := want(map[string][]string{"steady": all, "nonet": statsMetrics}, "steady")
		if !slices.Equal(got, exp) {
			t.Errorf("anomalies_k shows\n %v\nwant\n %v", got, exp)
		}
		if a, wn, _ := reportTeams(); a["shrunk"] != 0 || wn["shrunk"] != 0 {
			t.Errorf("report: anomalies %v, warnings %v; want nothing of shrunk", a, wn)
		}
	})

	// Whatever the state, the analyst finds no anomaly without its
	// published team-window in the views they read.
	t.Run("no anomaly without its published row", func(t *testing.T) {
		var n uint64
		q := `SELECT count() FROM (
			SELECT a.team FROM {db}.anomalies_k a LEFT ANTI JOIN {db}.team_stats_k s
			ON a.team = s.team AND a.granularity = s.granularity AND a.window_start = s.window_start
			WHERE a.metric NOT IN ('external_share', 'isolated_members')
			UNION ALL
			SELECT a.team FROM {db}.anomalies_k a LEFT ANTI JOIN (SELECT * FROM {db}.team_network_k WHERE window_days = 1) s
			ON a.team = s.team AND a.window_start = s.window_start
			WHERE a.metric IN ('external_share', 'isolated_members'))`
		if err := an.Conn().QueryRow(ctx, strings.ReplaceAll(q, "{db}", s.db)).Scan(&n); err != nil {
			t.Fatalf("analyst: %v", err)
		}
		if n != 0 {
			t.Errorf("%d anomalies_k rows without their published row", n)
		}
	})
}
