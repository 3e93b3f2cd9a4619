package attack

// A drift anomaly carries an onset (migration 0018): the first day of the
// CUSUM run, and its explanation says "building since <onset>". The run
// is a function of the released days between the onset and the window,
// so the onset day is a published day when the row is written. A
// `--since` re-run after an erasure can withdraw that day (the team falls
// below k on it) while the alarm day is still published: the re-run is cut
// short between the two days (it failed, or it is still working through
// the days in order). anomalies_k re-checked the anomaly's own window only
// (migration 0017), so the analyst kept reading that the team was
// released on the withdrawn day, and that its figure there was already
// outside the band in the drift's direction: a figure of a team-day no
// published table shows any more. docs/analyze.md promises that a re-run
// cut short "shows nothing the released figures no longer do".

import (
	"context"
	"sort"
	"testing"
	"time"

	"commpulse/network"
	"commpulse/pipeline/analyze"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// TestAttackDriftOnsetWithdrawn writes a drift run of two teams (onset
// three days before the alarm) in team_stats and team_network, then
// withdraws the onset day of team "shrunk" as a re-run that drops it below
// k would, and stops. The analyst must see neither the onset nor the
// explanation of shrunk's drift rows; steady's stay.
func TestAttackDriftOnsetWithdrawn(t *testing.T) {
	s := rolesStart(t)
	ctx := context.Background()
	w := s.store(t, store.RoleWriter)
	an := s.store(t, store.RoleAnalyst)
	alarm := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	onset := alarm.AddDate(0, 0, -3)
	now := time.Now().UTC().Truncate(time.Millisecond)

	stats := func(day time.Time, teams ...string) {
		t.Helper()
		var rows []store.TeamStats
		for _, team := range teams {
			rows = append(rows, store.TeamStats{WindowStart: day, Granularity: store.Day, Team: team, Messages: 120, ActiveMembers: 6,
				ScoredMessages: 100, MeanCompound: 0.1, NegativeShare: 0.2, PositiveShare: 0.3, AfterHoursShare: 0.1, Epsilon: 1})
		}
		if err := w.WriteTeamStats(ctx, store.Day, day, day.AddDate(0, 0, 1), rows, 5, now); err != nil {
			t.Fatalf("writer: team_stats %s: %v", day.Format(time.DateOnly), err)
		}
	}
	nets := func(day time.Time, teams ...string) {
		t.Helper()
		var rows []publish.NetRelease
		for _, team := range teams {
			rows = append(rows, publish.NetRelease{Window: day, Days: 1, Team: team, Senders: 6, Weight: 80, ExternalShare: 0.02, EIIndex: -0.96})
		}
		if err := w.WriteNetwork(ctx, day, 1, &network.Result{}, rows, store.GraphRelease{Nodes: 60}, 5, 1, now); err != nil {
			t.Fatalf("writer: team_network %s: %v", day.Format(time.DateOnly), err)
		}
	}
	for d := onset; !d.After(alarm); d = d.AddDate(0, 0, 1) {
		stats(d, "shrunk", "steady")
		nets(d, "shrunk", "steady")
	}
	var as []store.Anomaly
	for _, team := range []string{"shrunk", "steady"} {
		for _, m := range []string{analyze.MetricNegativeShare, analyze.MetricExternalShare} {
			a := store.Anomaly{WindowStart: alarm, Granularity: store.Day, Team: team, Metric: m, Value: 0.5, Expected: 0.2,
				Low: 0.15, High: 0.25, Score: 0.4, Severity: store.Info, Direction: "up", Detector: analyze.DetectorDrift,
				Onset: onset, DetectedAt: now}
			a.Explanation = analyze.Explain(analyze.Defaults(), a)
			as = append(as, a)
		}
	}
	if err := w.WriteAnomalies(ctx, store.Day, alarm, alarm.AddDate(0, 0, 1), as); err != nil {
		t.Fatalf("writer: anomalies: %v", err)
	}

	type row struct{ team, metric, onset, explanation string }
	shown := func() []row {
		t.Helper()
		rows, err := an.Conn().Query(ctx, "SELECT toString(team), toString(metric), toString(toDate(onset)), explanation FROM "+s.db+".anomalies_k")
		if err != nil {
			t.Fatalf("analyst reads anomalies_k: %v", err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.team, &r.metric, &r.onset, &r.explanation); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].team+out[i].metric < out[j].team+out[j].metric })
		return out
	}
	if got := shown(); len(got) != 4 {
		t.Fatalf("before the re-run the analyst sees %d drift rows, want 4: %v", len(got), got)
	}

	// The re-run re-releases the onset day without shrunk (below k after
	// the erasure) and is cut short before the alarm day.
	stats(onset, "steady")
	nets(onset, "steady")
	for _, r := range shown() {
		if r.team == "shrunk" {
			t.Errorf("anomalies_k shows shrunk's %s drift with onset %s (%q) after %s was withdrawn for the team",
				r.metric, r.onset, r.explanation, onset.Format(time.DateOnly))
		}
	}
	if n := len(shown()); n != 2 {
		t.Errorf("steady's drift rows shown: %d of 4 rows, want steady's 2", n)
	}
}
