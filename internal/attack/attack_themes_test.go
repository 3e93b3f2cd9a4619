package attack

// The theme attacks (issue 15, drivers without text): team_themes_k
// publishes, per k-safe team-day, the noisy number of messages about each
// theme of nlp.ThemeNames. An analyst tries to learn from it what one
// person wrote about: a small team's themes, a theme only one person used,
// the difference of consecutive days or of re-runs, and any word of the
// messages themselves. As in attack_publish_test.go, where the defence is
// noise a Monte Carlo over 2000 noise keys of the same cells (checked
// against what the analyzer published under its key) states the
// attacker's error.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/nlp"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// themeBit is the bit of a theme name (nlp.ThemeNames order).
func themeBit(t *testing.T, name string) uint16 {
	t.Helper()
	i := slices.Index(nlp.ThemeNames(), name)
	if i < 0 {
		t.Fatalf("no theme %q in %v", name, nlp.ThemeNames())
	}
	return 1 << i
}

// themeMsgs returns n messages of sender in team on day, from 10:00 one a
// minute, each carrying the theme bits th.
func themeMsgs(id *int, day time.Time, offset, n int, sender, team string, th uint16) []store.Message {
	var out []store.Message
	for j := range n {
		*id++
		m := msg(*id, day.Add(10*time.Hour+time.Duration(offset+j)*time.Minute), sender, team, []string{sender + "_peer"}, 0.1)
		m.Themes = th
		out = append(out, m)
	}
	return out
}

// themesCell is the exact cell of a team-day for publish, with the theme
// counts given by name.
func themesCell(day time.Time, team string, senders int, messages float64, counts map[string]float64) publish.DayCell {
	c := publish.DayCell{Window: day, Team: team, Senders: senders, Messages: messages, Scored: messages,
		SumCompound: 0.1 * messages, Positive: messages, Themes: make([]float64, len(nlp.ThemeNames()))}
	for i, name := range nlp.ThemeNames() {
		c.Themes[i] = counts[name]
	}
	return c
}

// themeValue is the released count of theme in rs, or ok=false.
func themeValue(rs []publish.ThemeRelease, theme string) (float64, bool) {
	for _, r := range rs {
		if r.Theme == theme {
			return r.Messages, true
		}
	}
	return 0, false
}

// A team of four writing about every theme all day: no theme row, in the
// table or the view, while a team of six in the same run gets some. A row
// forged into team_themes for a team-day without a k-safe team_stats row
// (a bug elsewhere, a manual insert) is not shown by the view.
func TestAttackThemesTeamOfFour(t *testing.T) {
	all := uint16(1<<len(nlp.ThemeNames()) - 1)
	var msgs []store.Message
	id := 0
	for i := range 4 {
		msgs = append(msgs, themeMsgs(&id, monday, i*50, 40, fmt.Sprintf("p_q%d", i), "quad", all)...)
	}
	for i := range 6 {
		msgs = append(msgs, themeMsgs(&id, monday, i*50, 40, fmt.Sprintf("p_h%d", i), "hexa", all)...)
	}
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))
	pol := analyzerPublisher(t).Policy()
	cells, err := e.st.DayCells(context.Background(), monday, monday.AddDate(0, 0, 1), pol.CapVolume, pol.CapSentiment, pol.CapThemes, 9, 18)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		// 160 messages about each theme, each of the four counting at
		// most the theme cap.
		if c.Team == "quad" && (c.Senders != 4 || c.Themes[0] != 4*pol.CapThemes) {
			t.Fatalf("premise: the team of four wrote 160 messages about each theme, %v at the theme cap (%+v)", 4*pol.CapThemes, c)
		}
	}
	for _, v := range []string{"team_themes", "team_themes_k", "team_stats_k"} {
		if n := e.count("SELECT count() FROM {db}." + v + " WHERE team = 'quad'"); n != 0 {
			t.Errorf("%s holds %d rows of a team of four", v, n)
		}
	}
	if n := e.count("SELECT count() FROM {db}.team_themes_k WHERE team = 'hexa'"); n == 0 {
		t.Fatal("the team of six has no theme row either: the test would prove nothing")
	}
	// The view re-checks k against the team-day's team_stats row.
	if err := e.st.Conn().Exec(context.Background(), strings.ReplaceAll(`INSERT INTO {db}.team_themes
		(window_start, team, theme, messages, k_applied, epsilon, computed_at) VALUES (?, 'quad', 'workload', 160, 5, 10, now64(3))`, "{db}", e.db), monday); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count() FROM {db}.team_themes_k WHERE team = 'quad'"); n != 0 {
		t.Errorf("team_themes_k shows a forged row of a team-day without a k-safe team_stats row")
	}
}

// A theme only one person wrote about: five colleagues write 30 messages
// each about workload (each counting 10, the theme cap), the sixth sends 5
// messages about conflict, and nobody else mentions conflict. The floor
// (20) on the noisy count keeps small counts off the view, and every theme
// of a k-safe team is released, zeros included, so a conflict row appears
// whether or not anybody wrote about it: its presence does not tell that
// someone did. A heavy writer (60 conflict messages) counts the theme cap
// (10), not 60: their row is at most e^ε (ε = day-themes) times as likely
// as with nobody writing about it.
func TestAttackThemeOfOnePerson(t *testing.T) {
	var msgs []store.Message
	id := 0
	work, conflict := themeBit(t, "workload"), themeBit(t, "conflict")
	for i := range 5 {
		msgs = append(msgs, themeMsgs(&id, monday, i*40, 30, fmt.Sprintf("p_w%d", i), "omega", work)...)
	}
	msgs = append(msgs, themeMsgs(&id, monday, 300, 5, "p_lone", "omega", conflict)...)
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))
	if n := e.count("SELECT uniqExact(sender) FROM {db}.messages WHERE bitAnd(themes, ?) != 0", conflict); n != 1 {
		t.Fatalf("premise: %d people wrote about conflict, want 1", n)
	}
	if n := e.count("SELECT count() FROM {db}.team_themes_k WHERE theme = 'conflict'"); n != 0 {
		t.Errorf("the conflict messages of one person were published")
	}
	pol := analyzerPublisher(t).Policy()
	cell := themesCell(monday, "omega", 6, 155, map[string]float64{"workload": 50, "conflict": 5})
	cells, err := e.st.DayCells(context.Background(), monday, monday.AddDate(0, 0, 1), pol.CapVolume, pol.CapSentiment, pol.CapThemes, 9, 18)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 1 || fmt.Sprint(cells[0].Themes) != fmt.Sprint(cell.Themes) {
		t.Fatalf("premise: the stored cells %+v do not count the themes %v", cells, cell.Themes)
	}
	work0 := e.floats("SELECT messages FROM {db}.team_themes_k WHERE theme = 'workload'")
	got, _ := themeValue(analyzerPublisher(t).Themes(cell), "workload")
	if len(work0) != 1 || math.Abs(got-work0[0]) > 1e-6 {
		t.Fatalf("the model of the release (workload %v) is not what the analyzer published (%v)", got, work0)
	}
	shown := func(c publish.DayCell) func(pub *publish.Publisher) float64 {
		return func(pub *publish.Publisher) float64 {
			if _, ok := themeValue(pub.Themes(c), "conflict"); ok {
				return 1
			}
			return 0
		}
	}
	without := themesCell(monday, "omega", 5, 150, map[string]float64{"workload": 50})
	heavy := themesCell(monday, "omega", 6, 210, map[string]float64{"workload": 50, "conflict": 60 * math.Min(1, pol.CapThemes/60)})
	pWith, pWithout, pHeavy := monteCarlo(t, 0.5, shown(cell)), monteCarlo(t, 0.5, shown(without)), monteCarlo(t, 0.5, shown(heavy))
	t.Logf("a conflict row is published with probability %.3f when one person wrote 5 conflict messages, %.3f when nobody did, %.3f when one person wrote 60 (counted %v, the theme cap)",
		pWith, pWithout, pHeavy, heavy.Themes[2])
	if pWith > 0.15 {
		t.Errorf("one person's 5 conflict messages published with probability %.3f, want <= 0.15", pWith)
	}
	if pWithout == 0 || pWith > 2*pWithout {
		t.Errorf("a conflict row: probability %.3f with the person, %.3f without: its presence tells who wrote (want at most twice)", pWith, pWithout)
	}
	// The whole person at the cap: the ε of the count bounds the ratio
	// (2,000 keys: a standard error of about 0.009 on pHeavy).
	if bound := math.Exp(pol.Epsilon.DayThemes)*pWithout + 0.03; pHeavy > bound || pHeavy > 0.25 {
		t.Errorf("one person's 60 conflict messages published with probability %.3f, want <= 0.25 and <= e^ε × %.3f + 0.03 = %.3f", pHeavy, pWithout, bound)
	}
}

// A member leaving between consecutive days: five write 20 workload
// messages on Monday and Tuesday, a sixth 12 more on Monday only. Each
// counts at most the theme cap (10): Monday's count is 60, Tuesday's 50.
// Monday's workload count minus Tuesday's is the leaver's counted 10 plus
// the noise of both (an unpublished day read as the floor); the attacker
// wants the leaver's 12. Re-running the two days draws fresh noise, so
// averaging re-runs would help the attacker: each re-release is counted in
// epsilon.
func TestAttackThemesConsecutiveDaysAndReruns(t *testing.T) {
	var msgs []store.Message
	id := 0
	work := themeBit(t, "workload")
	for d := range 2 {
		day := monday.AddDate(0, 0, d)
		for i := range 5 {
			msgs = append(msgs, themeMsgs(&id, day, i*30, 20, fmt.Sprintf("p_l%d", i), "lambda", work)...)
		}
	}
	msgs = append(msgs, themeMsgs(&id, monday, 200, 12, "p_leaver", "lambda", work)...)
	now := monday.Add(50 * time.Hour)
	e := pubSetup(t, msgs, now)
	pol := analyzerPublisher(t).Policy()
	floor := pol.MinThemeMessages
	read := func() (vals [2]float64, eps []float64) {
		for d := range 2 {
			v := e.floats("SELECT messages FROM {db}.team_themes_k WHERE theme = 'workload' AND window_start = ?", monday.AddDate(0, 0, d))
			vals[d] = floor
			if len(v) == 1 {
				vals[d] = v[0]
			}
		}
		return vals, e.floats("SELECT epsilon FROM {db}.team_themes_k ORDER BY window_start, theme")
	}
	first, eps := read()
	t.Logf("attacker's estimate of the leaver's workload messages: %.1f (truth 12)", first[0]-first[1])
	c1 := themesCell(monday, "lambda", 6, 112, map[string]float64{"workload": 60})
	c2 := themesCell(monday.AddDate(0, 0, 1), "lambda", 5, 100, map[string]float64{"workload": 50})
	for i, c := range []publish.DayCell{c1, c2} {
		cells, err := e.st.DayCells(context.Background(), c.Window, c.Window.AddDate(0, 0, 1), pol.CapVolume, pol.CapSentiment, pol.CapThemes, 9, 18)
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != 1 || fmt.Sprint(cells[0].Themes) != fmt.Sprint(c.Themes) {
			t.Fatalf("premise: the stored cells of day %d %+v do not count the themes %v", i, cells, c.Themes)
		}
	}
	// attack is the attacker's error against truth.
	attack := func(gen uint32, truth float64) func(pub *publish.Publisher) float64 {
		return func(pub *publish.Publisher) float64 {
			a, b := c1, c2
			a.Gen, b.Gen = gen, gen
			va, ok := themeValue(pub.Themes(a), "workload")
			if !ok {
				va = floor
			}
			vb, ok := themeValue(pub.Themes(b), "workload")
			if !ok {
				vb = floor
			}
			return va - vb - truth
		}
	}
	if got := attack(0, 0)(analyzerPublisher(t)); math.Abs(got-(first[0]-first[1])) > 1e-6 {
		t.Fatalf("the model of the releases (%.3f) is not what the analyzer published (%.3f)", got, first[0]-first[1])
	}
	p, p12 := monteCarlo(t, 6, attack(0, 12)), monteCarlo(t, 12, attack(0, 12))
	c6, c12 := monteCarlo(t, 6, attack(0, 10)), monteCarlo(t, 12, attack(0, 10))
	t.Logf("the estimate misses the leaver's 12 workload messages by >= 6 with probability %.3f (>= 12: %.3f); their counted 10 by >= 6: %.3f (>= 12: %.3f)",
		p, p12, c6, c12)
	if p < 0.6 || c6 < 0.6 {
		t.Errorf("consecutive days: miss the 12 messages by >= 6 with probability %.3f, the counted 10 with %.3f, want >= 0.6", p, c6)
	}

	// Re-runs: a fresh release each time, with its loss counted.
	per := pol.ThemesEpsilon()
	for _, v := range eps {
		if v != per {
			t.Fatalf("first release: epsilon %v, want %v", eps, per)
		}
	}
	for n := 2; n <= 3; n++ {
		e.rerun(monday, now)
		got, eps := read()
		if len(eps) == 0 {
			t.Fatalf("release %d published no theme", n)
		}
		for _, v := range eps {
			if v != float64(n)*per {
				t.Errorf("release %d: a theme row records epsilon %v, want %v", n, v, float64(n)*per)
			}
		}
		if got == first {
			t.Errorf("release %d republished the first release's theme counts %v: a re-run must draw fresh noise", n, got)
		}
		if est := got[0] - got[1]; math.Abs(est-attack(uint32(n-1), 0)(analyzerPublisher(t))) > 1e-6 {
			t.Errorf("release %d: published difference %.3f is not the model's", n, est)
		}
	}
}

// Nothing of a message's words reaches team_themes or its view: their
// strings are team names and names of nlp.ThemeNames, and no word of the
// texts the theme bits came from (scored by the real nlp analyzer) is
// stored there. The full run through ingest (analyze.
// TestPrivacyRegressionFullRun) scans every stored string of the database
// for the texts.
func TestAttackThemesHoldNoText(t *testing.T) {
	texts := []string{
		"Totally swamped with the backlog again, burning out before the deadline",
		"Kudos to the whole crew, great work on the launch, really appreciated",
		"The deploy is blocked by a flaky regression and the build keeps failing",
		"Honestly frustrated that my review was ignored and dismissed in the meeting",
		"Rumours about a reorg and a hiring freeze, nobody knows what is happening",
	}
	an := nlp.New()
	var msgs []store.Message
	id := 0
	for i := range 6 {
		for j := range 60 {
			id++
			text := texts[(i+j)%len(texts)]
			m := msg(id, monday.Add(9*time.Hour+time.Duration(i*60+j)*time.Minute), fmt.Sprintf("p_t%d", i), "theta", []string{"p_t0"}, 0.1)
			m.Themes = uint16(an.Score(text).Themes)
			if m.Themes == 0 {
				t.Fatalf("premise: %q carries no theme", text)
			}
			msgs = append(msgs, m)
		}
	}
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))
	if n := e.count("SELECT count() FROM {db}.team_themes_k"); n == 0 {
		t.Fatal("no theme published: the test would prove nothing")
	}
	// The schema: numbers, the window, the team and the theme name.
	want := map[string]string{"window_start": "DateTime('UTC')", "team": "LowCardinality(String)", "theme": "LowCardinality(String)",
		"messages": "Float64", "k_applied": "UInt16", "epsilon": "Float64", "computed_at": "DateTime64(3, 'UTC')"}
	for _, table := range []string{"team_themes", "team_themes_k"} {
		rows, err := e.st.Conn().Query(context.Background(), "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", e.db, table)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			n++
			if want[name] != typ {
				t.Errorf("%s.%s %s: not in the schema of theme counts", table, name, typ)
			}
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("%s has no columns", table)
		}
	}
	names := nlp.ThemeNames()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT DISTINCT toString(team), toString(theme) FROM {db}.team_themes
		UNION DISTINCT SELECT DISTINCT toString(team), toString(theme) FROM {db}.team_themes_k`, "{db}", e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var stored []string
	for rows.Next() {
		var team, theme string
		if err := rows.Scan(&team, &theme); err != nil {
			t.Fatal(err)
		}
		if team != "theta" || !slices.Contains(names, theme) {
			t.Errorf("stored strings %q, %q: not a team and a theme name", team, theme)
		}
		stored = append(stored, strings.ToLower(team), strings.ToLower(theme))
	}
	for _, text := range texts {
		for _, w := range strings.Fields(strings.ToLower(text)) {
			w = strings.Trim(w, ",.")
			if len(w) < 4 || slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, w) }) {
				continue // a theme's name is its label, not the message's word ("work" of "workload")
			}
			for _, s := range stored {
				if strings.Contains(s, w) {
					t.Errorf("stored string %q holds the word %q of a message", s, w)
				}
			}
		}
	}
}
