package store

import (
	"context"
	"math"
	"testing"
	"time"
)

// The report's reads: each returns the published rows of its view in the
// period, rows the view hides (below k, outside the period) are absent,
// early warnings come only from ReportWarnings, and reviews are joined.
func TestReportReads(t *testing.T) {
	st, _ := migratedForTest(t)
	testReportReads(t, st)
}

// The same on the two-shard cluster: the views and the report's join
// answer when the tables are Distributed.
func TestClusterReportReads(t *testing.T) {
	st, _, _ := clusterForTest(t, Cluster{})
	testReportReads(t, st)
}

func testReportReads(t *testing.T, st *Store) {
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	now := time.Now().UTC()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := st.Conn().Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// alpha: two published days and one outside the period; small: k not met.
	for i, d := range []time.Time{day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 5)} {
		exec(`INSERT INTO team_stats (window_start, granularity, team, messages, active_members, scored_messages,
			mean_compound, negative_share, positive_share, after_hours_share, k_applied, epsilon, computed_at)
			VALUES (?, 'day', 'alpha', ?, 7, 100, ?, NULL, 0.5, 0.1, 5, 1, ?)`, d, 100+float64(i), 0.1*float64(i), now)
	}
	exec(`INSERT INTO team_stats (window_start, granularity, team, messages, active_members, scored_messages,
		mean_compound, negative_share, positive_share, after_hours_share, k_applied, epsilon, computed_at)
		VALUES (?, 'day', 'small', 40, 4, 40, 0.2, 0.1, 0.5, 0.1, 5, 1, ?)`, day, now)
	if err := st.WriteBelonging(ctx, day, time.Time{}, []TeamBelonging{
		{WindowStart: day, WindowDays: 1, Team: "alpha", Belonging: 42, Score: -0.8, Sentiment: -0.8, Inclusion: math.NaN(), Load: math.NaN(),
			Days: 1, BaselineDays: 14, ActiveMembers: 7, Explanation: "alpha: lower"},
		{WindowStart: day, WindowDays: 1, Team: "small", Belonging: 60, Score: 1, Days: 1, BaselineDays: 14, ActiveMembers: 4},
	}, 5, now); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO team_network (window_start, window_days, team, members_active, weight, external_share, ei_index,
		isolated_members, k_applied, epsilon, computed_at) VALUES
		(?, 1, 'alpha', 7, 50, 0.25, -0.5, NULL, 5, 1, ?), (?, 28, 'alpha', 7, 500, NULL, NULL, NULL, 5, 1, ?),
		(?, 1, 'small', 4, 20, 0.5, 0, NULL, 5, 1, ?)`, day, now, day, now, day, now)
	exec(`INSERT INTO team_themes (window_start, team, theme, messages, k_applied, epsilon, computed_at) VALUES
		(?, 'alpha', 'workload', 12, 5, 1, ?), (?, 'small', 'workload', 9, 5, 1, ?)`, day, now, day, now)
	mk := func(metric, detector string, d int) Anomaly {
		return Anomaly{WindowStart: day.AddDate(0, 0, d), Granularity: Day, Team: "alpha", Metric: metric, Value: 0.1, Expected: 0.3,
			Low: 0.2, High: 0.4, Score: 0.9, Severity: Critical, Direction: "down", Detector: detector,
			Explanation: "alpha: " + metric, DetectedAt: now}
	}
	as := []Anomaly{mk("mean_compound", "level", 0), mk(WarningMeanCompound, DetectorForecast, 1),
		mk(WarningBelonging, DetectorForecast, 1), mk("negative_share", "drift", 1), mk("mean_compound", "level", 6)}
	if err := st.WriteAnomalies(ctx, Day, day, day.AddDate(0, 0, 7), as); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteReview(ctx, Review{AnomalyKey: as[0].KeyFields(), State: ReviewDismissed, Reason: ReasonFalsePositive,
		Reviewer: "cli", ReviewedAt: now}); err != nil {
		t.Fatal(err)
	}
	from, to := day, day.AddDate(0, 0, 2)

	t.Run("stats", func(t *testing.T) {
		got, err := st.ReportStats(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Team != "alpha" || !got[0].Day.Equal(day) || got[1].Messages != 101 ||
			got[1].MeanCompound != 0.1 || !math.IsNaN(got[0].NegativeShare) || got[0].ActiveMembers != 7 {
			t.Fatalf("ReportStats = %+v", got)
		}
	})
	t.Run("belonging", func(t *testing.T) {
		got, err := st.ReportBelonging(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Team != "alpha" || got[0].Belonging != 42 || got[0].Score != -0.8 || got[0].Explanation != "alpha: lower" {
			t.Fatalf("ReportBelonging = %+v", got)
		}
	})
	t.Run("networks", func(t *testing.T) {
		got, err := st.ReportNetworks(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Days != 1 || got[0].EIIndex != -0.5 || got[0].ExternalShare != 0.25 ||
			got[1].Days != 28 || !math.IsNaN(got[1].EIIndex) {
			t.Fatalf("ReportNetworks = %+v", got)
		}
	})
	t.Run("themes", func(t *testing.T) {
		got, err := st.ReportThemes(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Team != "alpha" || got[0].Theme != "workload" || got[0].Messages != 12 {
			t.Fatalf("ReportThemes = %+v", got)
		}
	})
	t.Run("anomalies", func(t *testing.T) {
		got, err := st.ReportAnomalies(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Metric != "mean_compound" || got[0].State != ReviewDismissed || got[0].Reason != ReasonFalsePositive ||
			got[1].Metric != "negative_share" || got[1].State != ReviewNew || got[1].Explanation != "alpha: negative_share" {
			t.Fatalf("ReportAnomalies = %+v", got)
		}
	})
	t.Run("warnings", func(t *testing.T) {
		got, err := st.ReportWarnings(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Metric != WarningBelonging || got[1].Metric != WarningMeanCompound ||
			got[0].Detector != DetectorForecast || got[1].State != ReviewNew {
			t.Fatalf("ReportWarnings = %+v", got)
		}
	})
}
