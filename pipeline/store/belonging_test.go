package store

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// BelongingInputs reads what the published views show, nothing else: the
// team_stats day rows that pass team_stats_k's check joined with the day
// team_network rows that pass team_network_k's; team_belonging_k shows a
// day row only for a team-day with such a team_stats row and a week row
// only for a team with one in the week; WriteBelonging replaces the rows
// of its windows.
func TestBelongingInputsAndView(t *testing.T) {
	st, db := migratedForTest(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC) // a Monday
	now := time.Now().UTC()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := st.Conn().Exec(ctx, strings.ReplaceAll(q, "{db}", db), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// a: published, with a network row (isolated not published); b:
	// published without one; c: 4 senders; d: a k of 3 recorded; e: an
	// hour row only; f: a network row that fails its view's check.
	for _, r := range []struct {
		team      string
		g         string
		active, k int
	}{{"a", "day", 8, 5}, {"b", "day", 6, 5}, {"c", "day", 4, 5}, {"d", "day", 6, 3}, {"e", "hour", 6, 5}, {"f", "day", 7, 5}} {
		exec(`INSERT INTO {db}.team_stats (window_start, granularity, team, messages, active_members, scored_messages, mean_compound,
			negative_share, after_hours_share, k_applied, epsilon, computed_at) VALUES (?, ?, ?, 300, ?, 80, 0.2, 0.15, NULL, ?, 23.25, ?)`,
			day, r.g, r.team, uint32(r.active), uint16(r.k), now)
	}
	exec(`INSERT INTO {db}.team_network (window_start, window_days, team, members_active, weight, external_share, ei_index, isolated_members,
		k_applied, epsilon, computed_at) VALUES (?, 1, 'a', 8, 240, 0.4, -0.2, NULL, 5, 8.5, ?), (?, 28, 'b', 6, 900, 0.3, -0.4, 2, 5, 8.5, ?),
		(?, 1, 'f', 4, 100, 0.5, 0, 3, 5, 8.5, ?)`, day, now, day, now, day, now)
	in, err := st.BelongingInputs(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 3 || in[0].Team != "a" || in[1].Team != "b" || in[2].Team != "f" {
		t.Fatalf("inputs %+v; want a, b and f", in)
	}
	a, b, f := in[0], in[1], in[2]
	if !a.HasNetwork || a.NetSenders != 8 || a.Weight != 240 || a.EIIndex != -0.2 || !math.IsNaN(a.Isolated) ||
		a.ActiveMembers != 8 || a.Scored != 80 || a.MeanCompound != 0.2 || !math.IsNaN(a.AfterHoursShare) || !a.Day.Equal(day) {
		t.Errorf("a: %+v", a)
	}
	if b.HasNetwork || !math.IsNaN(b.EIIndex) || !math.IsNaN(b.Isolated) {
		t.Errorf("b has only a 28-day network row, read %+v", b)
	}
	if f.HasNetwork {
		t.Errorf("f's network row of 4 senders was read: %+v", f)
	}

	rows := []TeamBelonging{
		{WindowStart: day, WindowDays: 1, Team: "a", Belonging: 40, Score: -1, Sentiment: -1, Inclusion: math.NaN(), Load: 0.5,
			Drivers: map[string]float64{"mean_compound": 0.2}, Days: 1, BaselineDays: 28, ActiveMembers: 8, Explanation: "a on Mon"},
		// A row the view must hide: c has no k-safe team_stats row.
		{WindowStart: day, WindowDays: 1, Team: "c", Belonging: 50, Sentiment: math.NaN(), Inclusion: math.NaN(), Load: math.NaN(),
			Days: 1, BaselineDays: 28, ActiveMembers: 6},
	}
	if err := st.WriteBelonging(ctx, day, time.Time{}, rows, 5, now); err != nil {
		t.Fatal(err)
	}
	week := []TeamBelonging{
		{WindowStart: day, WindowDays: 7, Team: "b", Belonging: 55, Sentiment: 0.5, Inclusion: math.NaN(), Load: math.NaN(), Days: 3, BaselineDays: 28, ActiveMembers: 6},
		{WindowStart: day, WindowDays: 7, Team: "d", Belonging: 55, Sentiment: 0.5, Inclusion: math.NaN(), Load: math.NaN(), Days: 3, BaselineDays: 28, ActiveMembers: 6},
	}
	if err := st.WriteBelonging(ctx, day.AddDate(0, 0, 6), day, week, 5, now); err != nil {
		t.Fatal(err)
	}
	shown := func() []string {
		t.Helper()
		r, err := st.Conn().Query(ctx, strings.ReplaceAll(`SELECT concat(toString(window_days), toString(team)) FROM {db}.team_belonging_k ORDER BY ALL`, "{db}", db))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []string
		for r.Next() {
			var s string
			if err := r.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	if got := strings.Join(shown(), ","); got != "1a,7b" {
		t.Errorf("team_belonging_k shows %s; want 1a,7b (c's day and d's week have no k-safe team_stats row)", got)
	}
	var (
		drivers   map[string]float64
		inclusion *float64
		expl      string
	)
	if err := st.Conn().QueryRow(ctx, "SELECT drivers, inclusion_z, explanation FROM team_belonging_k WHERE team = 'a'").Scan(&drivers, &inclusion, &expl); err != nil {
		t.Fatal(err)
	}
	if drivers["mean_compound"] != 0.2 || inclusion != nil || expl != "a on Mon" {
		t.Errorf("stored drivers %v, inclusion %v, explanation %q", drivers, inclusion, expl)
	}
	// A re-run of the day replaces its rows (a fell out), leaving the week.
	if err := st.WriteBelonging(ctx, day, time.Time{}, nil, 5, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var n uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND NOT is_done", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("delete not done after a minute")
		}
	}
	if got := strings.Join(shown(), ","); got != "7b" {
		t.Errorf("after the re-run team_belonging_k shows %s; want 7b", got)
	}
}
