package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// ForecastInputs reads what the published views show, nothing else: the
// mean of team_stats day rows that pass team_stats_k's check with enough
// scored messages, and team_belonging day rows that pass
// team_belonging_k's; team_forecasts_k shows a team's forecasts only when
// its team_stats row of the origin day is k-safe; WriteForecasts replaces
// the rows of its origin day; EarlyWarnings reads the forecast anomalies.
func TestForecastInputsAndView(t *testing.T) {
	st, db := migratedForTest(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
	now := time.Now().UTC()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := st.Conn().Exec(ctx, strings.ReplaceAll(q, "{db}", db), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// a: published, 80 scored; b: published, 20 scored; c: 4 senders; d: a
	// k of 3 recorded; e: an hour row only.
	for _, r := range []struct {
		team          string
		g             string
		active, k     int
		scored, score float64
	}{{"a", "day", 8, 5, 80, 0.2}, {"b", "day", 6, 5, 20, 0.1}, {"c", "day", 4, 5, 80, 0.3}, {"d", "day", 6, 3, 80, 0.4}, {"e", "hour", 6, 5, 80, 0.5}} {
		exec(`INSERT INTO {db}.team_stats (window_start, granularity, team, messages, active_members, scored_messages, mean_compound,
			negative_share, after_hours_share, k_applied, epsilon, computed_at) VALUES (?, ?, ?, 300, ?, ?, ?, 0.15, NULL, ?, 23.25, ?)`,
			day, r.g, r.team, uint32(r.active), r.scored, r.score, uint16(r.k), now)
	}
	bel := []TeamBelonging{
		{WindowStart: day, WindowDays: 1, Team: "a", Belonging: 41, Days: 1, BaselineDays: 28, ActiveMembers: 8},
		{WindowStart: day, WindowDays: 1, Team: "c", Belonging: 42, Days: 1, BaselineDays: 28, ActiveMembers: 6},
		{WindowStart: day, WindowDays: 7, Team: "b", Belonging: 43, Days: 3, BaselineDays: 28, ActiveMembers: 6},
	}
	if err := st.WriteBelonging(ctx, day, time.Time{}, bel[:2], 5, now); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteBelonging(ctx, day.AddDate(0, 0, 6), day, bel[2:], 5, now); err != nil {
		t.Fatal(err)
	}
	in, err := st.ForecastInputs(ctx, day, day.AddDate(0, 0, 1), 50)
	if err != nil {
		t.Fatal(err)
	}
	want := []ForecastPoint{{day, "a", ForecastBelonging, 41}, {day, "a", ForecastMeanCompound, 0.2}}
	if len(in) != len(want) {
		t.Fatalf("inputs %+v; want %+v", in, want)
	}
	for i := range want {
		if in[i] != want[i] {
			t.Errorf("input %d: %+v, want %+v", i, in[i], want[i])
		}
	}

	rows := []TeamForecast{
		{OriginDay: day, Team: "a", Metric: ForecastBelonging, Step: 1, Day: day.AddDate(0, 0, 1), Mean: 39, Lower: 35, Upper: 43, Level: 0.8, Observed: 40},
		{OriginDay: day, Team: "a", Metric: ForecastBelonging, Step: 2, Day: day.AddDate(0, 0, 2), Mean: 30, Lower: 25, Upper: 35, Level: 0.8, Observed: 40, Warn: true},
		{OriginDay: day, Team: "c", Metric: ForecastBelonging, Step: 1, Day: day.AddDate(0, 0, 1), Mean: 30, Lower: 25, Upper: 35, Level: 0.8, Observed: 40, Warn: true},
	}
	if err := st.WriteForecasts(ctx, day, rows, 5, now); err != nil {
		t.Fatal(err)
	}
	got, err := st.Forecasts(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != rows[0] || got[1] != rows[1] {
		t.Errorf("team_forecasts_k shows %+v; want a's two rows (c has no k-safe team_stats row)", got)
	}
	// A re-run replaces the origin day's rows.
	if err := st.WriteForecasts(ctx, day, rows[:1], 5, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		got, err := st.Forecasts(ctx, day, day.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the re-run: %+v; want one row", got)
		}
	}

	an := []Anomaly{
		{WindowStart: day, Granularity: Day, Team: "a", Metric: WarningMetricPrefix + ForecastBelonging, Value: 30, Expected: 40, Low: 25, High: 35,
			Score: 0.5, Severity: Warning, Direction: "down", Detector: DetectorForecast, Explanation: "Early warning: ...", DetectedAt: now.Truncate(time.Millisecond)},
		{WindowStart: day, Granularity: Day, Team: "a", Metric: "mean_compound", Value: -0.1, Expected: 0.2, Severity: Warning, Direction: "down",
			Detector: "level", DetectedAt: now},
	}
	if err := st.WriteAnomalies(ctx, Day, day, day.AddDate(0, 0, 1), an); err != nil {
		t.Fatal(err)
	}
	ws, err := st.EarlyWarnings(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	warn := an[0]
	warn.Onset = warn.WindowStart // a zero onset is stored as the window
	if len(ws) != 1 || ws[0] != warn {
		t.Errorf("early warnings %+v; want %+v", ws, warn)
	}
}
