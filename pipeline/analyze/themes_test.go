package analyze

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"commpulse/nlp"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// readThemes returns the team_themes rows (FINAL), ordered by window,
// team and theme.
func readThemes(t *testing.T, e *chEnv, from string) []store.TeamTheme {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT window_start, toString(team), toString(theme),
		messages, k_applied, epsilon FROM {db}.`+from+` ORDER BY window_start, team, theme`, "{db}", e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []store.TeamTheme
	for rows.Next() {
		var (
			r store.TeamTheme
			k uint16
		)
		if err := rows.Scan(&r.WindowStart, &r.Team, &r.Theme, &r.Messages, &k, &r.Epsilon); err != nil {
			t.Fatal(err)
		}
		if k != 5 {
			t.Fatalf("%s row %+v: k_applied %d, want 5", from, r, k)
		}
		out = append(out, r)
	}
	return out
}

// themedOrg is smallOrg (theme bits on most messages) plus a sender above
// the volume cap and a sender who changes team during the day, so the
// bounded weights are exercised: alpha_0 sends 90 more messages on the
// first day, all about workload and conflict (about 100 that day, so each
// weighs 60/100 in the volumes and 10/100 in the theme counts), and
// alpha_1 writes 20 about blockers as a member of "beta" (one sender:
// never published; the weight of alpha_1's alpha messages is bounded over
// both teams).
func themedOrg(from, to time.Time) []store.Message {
	msgs := smallOrg(from, to, 21)
	for i := range 90 {
		msgs = append(msgs, store.Message{EventID: fmt.Sprintf("heavy%03d", i), OccurredAt: from.Add(10*time.Hour + time.Duration(i)*time.Minute),
			IngestedAt: from, Channel: "chat", Sender: "alpha_0", Team: "alpha", Recipients: []string{"alpha_1"}, RecipientTeams: []string{"alpha"},
			Lang: "en", Status: "no_text", Themes: 1 | 4})
	}
	for i := range 20 {
		msgs = append(msgs, store.Message{EventID: fmt.Sprintf("moved%03d", i), OccurredAt: from.Add(15*time.Hour + time.Duration(i)*time.Minute),
			IngestedAt: from, Channel: "chat", Sender: "alpha_1", Team: "beta", Recipients: []string{"alpha_2"}, RecipientTeams: []string{"alpha"},
			Lang: "en", Status: "no_text", Themes: 8})
	}
	return msgs
}

// expectThemes is the theme release the analyzer must have made of the
// day windows in [from, to): publish.Themes of the Go model of each
// team-day's bounded cell, at generation gen.
func expectThemes(pub *publish.Publisher, msgs []store.Message, from, to time.Time, gen uint32) []store.TeamTheme {
	pol := pub.Policy()
	var want []store.TeamTheme
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		for _, team := range []string{"alpha", "beta", "silent", "tiny"} {
			c := expectDayCell(msgs, team, d, pol.CapVolume, pol.CapSentiment, pol.CapThemes)
			c.Gen = gen
			for _, r := range pub.Themes(c) {
				want = append(want, store.TeamTheme{WindowStart: r.Window, Team: r.Team, Theme: r.Theme, Messages: r.Messages,
					Epsilon: pol.ThemesEpsilon() * float64(gen+1)})
			}
		}
	}
	sort.Slice(want, func(i, j int) bool {
		a, b := want[i], want[j]
		if !a.WindowStart.Equal(b.WindowStart) {
			return a.WindowStart.Before(b.WindowStart)
		}
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		return a.Theme < b.Theme
	})
	return want
}

func sameThemes(t *testing.T, what string, got, want []store.TeamTheme) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\n%v\nwant\n%v", what, len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.WindowStart.Equal(w.WindowStart) || g.Team != w.Team || g.Theme != w.Theme ||
			math.Abs(g.Messages-w.Messages) > 1e-6 || math.Abs(g.Epsilon-w.Epsilon) > 1e-9 {
			t.Fatalf("%s row %d: got %+v, want %+v", what, i, g, w)
		}
	}
}

// The stored theme counts are exactly the release of the bounded cells a Go
// model of the SQL computes (the SQL counts each theme bit at the sender's
// theme weight min(1, CapThemes/n), n over all of the sender's teams of the
// day, and the volume figures at min(1, CapVolume/n)), only teams with
// a team_stats row have any, the view shows the same rows, and a re-run
// replaces them with a fresh release whose epsilon counts both.
func TestTeamThemesMatchTheModel(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // Monday
	to := from.Add(48 * time.Hour)
	msgs := themedOrg(from, to)
	if err := e.st.InsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	pub := testPublisher(t, Config{})
	pol := pub.Policy()

	// The cells themselves, before any noise: the SQL's theme counts are
	// the model's.
	cells, err := e.st.DayCells(ctx, from, from.AddDate(0, 0, 1), pol.CapVolume, pol.CapSentiment, pol.CapThemes, 9, 18)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 4 {
		t.Fatalf("%d team-day cells, want 4 (alpha, beta, silent, tiny)", len(cells))
	}
	for _, c := range cells {
		w := expectDayCell(msgs, c.Team, from, pol.CapVolume, pol.CapSentiment, pol.CapThemes)
		if len(c.Themes) != len(nlp.ThemeNames()) {
			t.Fatalf("%s: %d theme counts, want one per theme (%d)", c.Team, len(c.Themes), len(nlp.ThemeNames()))
		}
		for i := range w.Themes {
			if math.Abs(c.Themes[i]-w.Themes[i]) > 1e-9 {
				t.Errorf("%s %s: SQL counts %v, model %v", c.Team, nlp.ThemeNames()[i], c.Themes[i], w.Themes[i])
			}
		}
		if c.Team == "alpha" {
			raw := 0
			for _, m := range msgs {
				if m.Team == "alpha" && m.OccurredAt.Before(from.AddDate(0, 0, 1)) && m.Themes&1 != 0 {
					raw++
				}
			}
			if c.Themes[0] >= float64(raw)-1 {
				t.Fatalf("premise: alpha's workload count %v is not bounded below its %d messages", c.Themes[0], raw)
			}
			// The theme weight, not the volume weight: at the volume
			// weight the count would be the model's with capT = capV.
			atVolume := expectDayCell(msgs, c.Team, from, pol.CapVolume, pol.CapSentiment, pol.CapVolume)
			if c.Themes[0] >= atVolume.Themes[0]-1 {
				t.Fatalf("alpha's workload count %v is not below its count at the volume weight %v", c.Themes[0], atVolume.Themes[0])
			}
			if most := float64(c.Senders) * pol.CapThemes; c.Themes[0] > most+1e-9 {
				t.Fatalf("alpha's workload count %v is above %d senders times the theme cap", c.Themes[0], c.Senders)
			}
			t.Logf("alpha's workload on %s: %d messages, %.1f at the volume weight, %.1f at the theme weight", from.Format(time.DateOnly), raw, atVolume.Themes[0], c.Themes[0])
		}
	}

	clock := &fixedClock{t: to.Add(65 * time.Minute)}
	a, _ := newAnalyzer(t, e, Config{Now: clock.Now}, nil)
	if _, err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	want := expectThemes(pub, msgs, from, to, 0)
	if len(want) == 0 {
		t.Fatal("the model publishes no theme: the test would prove nothing")
	}
	got := readThemes(t, e, "team_themes FINAL")
	sameThemes(t, "team_themes", got, want)
	sameThemes(t, "team_themes_k", readThemes(t, e, "team_themes_k"), want)
	for _, r := range got {
		if r.Team != "alpha" {
			t.Errorf("team %s, which has no team_stats row, has a theme row %+v", r.Team, r)
		}
		if !slices.Contains(nlp.ThemeNames(), r.Theme) {
			t.Errorf("theme %q is not a theme name", r.Theme)
		}
		if r.Messages < pol.MinThemeMessages {
			t.Errorf("row %+v below the smallest published count %v", r, pol.MinThemeMessages)
		}
	}
	t.Logf("%d theme rows published of 10 alpha theme-days", len(got))

	// A re-run replaces the rows (none left over without FINAL) by the next
	// generation's release.
	a2, _ := newAnalyzer(t, e, Config{Now: clock.Now, Since: from}, nil)
	if _, err := a2.Step(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for e.count("SELECT count() FROM system.mutations WHERE database = ? AND NOT is_done", e.db) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("delete mutations not done after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	again := expectThemes(pub, msgs, from, to, 1)
	sameThemes(t, "team_themes after a re-run", readThemes(t, e, "team_themes FINAL"), again)
	if n := e.count("SELECT count() FROM {db}.team_themes"); n != len(again) {
		t.Errorf("after the re-run team_themes holds %d rows without FINAL, want %d", n, len(again))
	}
}
