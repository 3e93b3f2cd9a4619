package attack

// The belonging attacks (issue 15, team belonging index): team_belonging_k
// publishes, per team-day and week, an index, its components, the figures
// behind them and a sentence. The claim is that it is post-processing of
// what team_stats_k and team_network_k already publish, so it costs no ε
// and tells nothing more: the attacker, holding only those views and the
// public analyzer configuration, recomputes every published row exactly,
// and finds no row where the views have none.

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/store"
)

// belongingOrg is four teams of six senders over five weeks of working
// days (alpha, beta, gamma, delta), each member writing 24 messages a day,
// 18 to colleagues and six to other teams, plus a team of four
// writing as much. Planted: gamma's messages turn negative on the Tuesday
// and Wednesday of the last week, and delta writes only to itself on its
// Thursday and Friday.
func belongingOrg(start time.Time, weeks int) []store.Message {
	teams := []string{"alpha", "beta", "gamma", "delta", "quad"}
	member := func(team string, i int) string { return fmt.Sprintf("p_%s%d", team[:2], i) }
	size := func(team string) int {
		if team == "quad" {
			return 4
		}
		return 6
	}
	last := start.AddDate(0, 0, 7*(weeks-1))
	var msgs []store.Message
	id := 0
	for d := start; d.Before(start.AddDate(0, 0, 7*weeks)); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for ti, team := range teams {
			drop := team == "gamma" && !d.Before(last.AddDate(0, 0, 1)) && d.Before(last.AddDate(0, 0, 3))
			silo := team == "delta" && !d.Before(last.AddDate(0, 0, 3)) && d.Before(last.AddDate(0, 0, 5))
			for i := range size(team) {
				for j := range 24 {
					id++
					rcpt, rteam := member(team, (i+1+j%3)%size(team)), team
					if j%4 == 3 && !silo {
						other := teams[(ti+1+j%3)%4]
						rcpt, rteam = member(other, (i+j)%6), other
					}
					c := float32(0.3 + 0.1*float32((i+j+d.Day())%3-1))
					if drop {
						c = -0.6
					}
					m := msg(id, d.Add(9*time.Hour+time.Duration(i*40+j)*time.Minute), member(team, i), team, []string{rcpt}, c)
					m.RecipientTeams = []string{rteam}
					msgs = append(msgs, m)
				}
			}
		}
	}
	return msgs
}

// publishedBelongingInputs reads what the analyst reads: the day rows of
// team_stats_k, each with the team's day row of team_network_k if any.
func (e *pubEnv) publishedBelongingInputs() []store.BelongingInput {
	e.t.Helper()
	ctx := context.Background()
	type key struct {
		day  time.Time
		team string
	}
	net := map[key]store.BelongingInput{}
	rows, err := e.st.Conn().Query(ctx, strings.ReplaceAll(`SELECT window_start, toString(team), members_active, weight, ei_index, isolated_members
		FROM {db}.team_network_k WHERE window_days = 1`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var (
			in  store.BelongingInput
			ei  *float64
			iso *uint32
		)
		if err := rows.Scan(&in.Day, &in.Team, &in.NetSenders, &in.Weight, &ei, &iso); err != nil {
			e.t.Fatal(err)
		}
		in.EIIndex, in.Isolated = math.NaN(), math.NaN()
		if ei != nil {
			in.EIIndex = *ei
		}
		if iso != nil {
			in.Isolated = float64(*iso)
		}
		net[key{in.Day.UTC(), in.Team}] = in
	}
	rows.Close()
	rows, err = e.st.Conn().Query(ctx, strings.ReplaceAll(`SELECT window_start, toString(team), active_members, messages,
		scored_messages, mean_compound, negative_share, after_hours_share FROM {db}.team_stats_k WHERE granularity = 'day'`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	nan := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	var out []store.BelongingInput
	for rows.Next() {
		var (
			in                    store.BelongingInput
			active                *uint32
			scored, mean, neg, ah *float64
		)
		if err := rows.Scan(&in.Day, &in.Team, &active, &in.Messages, &scored, &mean, &neg, &ah); err != nil {
			e.t.Fatal(err)
		}
		in.Day = in.Day.UTC()
		in.ActiveMembers = *active
		in.Scored, in.MeanCompound, in.NegativeShare, in.AfterHoursShare = nan(scored), nan(mean), nan(neg), nan(ah)
		in.EIIndex, in.Isolated = math.NaN(), math.NaN()
		if n, ok := net[key{in.Day, in.Team}]; ok {
			in.HasNetwork, in.NetSenders, in.Weight, in.EIIndex, in.Isolated = true, n.NetSenders, n.Weight, n.EIIndex, n.Isolated
		}
		out = append(out, in)
	}
	return out
}

// publishedBelonging reads team_belonging_k, keyed by days|window|team.
func (e *pubEnv) publishedBelonging() map[string]store.TeamBelonging {
	e.t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT window_start, window_days, toString(team), belonging,
		belonging_z, sentiment_z, inclusion_z, load_z, drivers, days, baseline_days, active_members, explanation, k_applied
		FROM {db}.team_belonging_k`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]store.TeamBelonging{}
	for rows.Next() {
		var (
			r             store.TeamBelonging
			wd, bd, k     uint16
			days          uint8
			sent, inc, ld *float64
		)
		if err := rows.Scan(&r.WindowStart, &wd, &r.Team, &r.Belonging, &r.Score, &sent, &inc, &ld, &r.Drivers, &days, &bd,
			&r.ActiveMembers, &r.Explanation, &k); err != nil {
			e.t.Fatal(err)
		}
		if k < 5 {
			e.t.Errorf("a belonging row with k_applied %d", k)
		}
		r.WindowStart, r.WindowDays, r.Days, r.BaselineDays = r.WindowStart.UTC(), int(wd), int(days), int(bd)
		r.Sentiment, r.Inclusion, r.Load = math.NaN(), math.NaN(), math.NaN()
		for _, p := range []struct {
			from *float64
			to   *float64
		}{{sent, &r.Sentiment}, {inc, &r.Inclusion}, {ld, &r.Load}} {
			if p.from != nil {
				*p.to = *p.from
			}
		}
		out[belongingKey(r)] = r
	}
	return out
}

func belongingKey(r store.TeamBelonging) string {
	return fmt.Sprintf("%d|%s|%s", r.WindowDays, r.WindowStart.Format(time.DateOnly), r.Team)
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// The index is post-processing: the attacker reads team_stats_k and
// team_network_k (what any analyst reads) and the public configuration
// (analyze.Defaults: the weights, baselines and the publication policy's
// noise levels, not its key), runs analyze.Belonging for every closed day,
// and gets every row of team_belonging_k bit for bit, its explanation
// included, and no other row: the index holds nothing the published
// figures do not, so it costs no ε (docs/privacy.md). No row exists for a
// team without published inputs (the team of four), and the view hides a
// row forged for one.
func TestAttackBelongingIsPostProcessing(t *testing.T) {
	start := monday.AddDate(0, 0, -21) // five weeks: 2026-10-12 to Sunday 2026-11-15
	const weeks = 5
	end := start.AddDate(0, 0, 7*weeks)
	e := pubSetup(t, belongingOrg(start, weeks), end.Add(2*time.Hour))
	published := e.publishedBelonging()
	if len(published) == 0 {
		t.Fatal("no belonging row published: the test would prove nothing")
	}

	inputs := e.publishedBelongingInputs()
	cfg := analyze.Defaults()
	want := map[string]store.TeamBelonging{}
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		rows, _ := analyze.Belonging(cfg, d, inputs)
		for _, r := range rows {
			want[belongingKey(r)] = r
		}
	}
	var weekly int
	for k, w := range want {
		if w.WindowDays == 7 {
			weekly++
		}
		got, ok := published[k]
		if !ok {
			t.Errorf("%s: recomputed from the published views but not published", k)
			continue
		}
		if got.Belonging != w.Belonging || got.Score != w.Score || !sameFloat(got.Sentiment, w.Sentiment) ||
			!sameFloat(got.Inclusion, w.Inclusion) || !sameFloat(got.Load, w.Load) || !maps.Equal(got.Drivers, w.Drivers) ||
			got.Days != w.Days || got.BaselineDays != w.BaselineDays || got.ActiveMembers != w.ActiveMembers {
			t.Errorf("%s: published %+v\nrecomputed %+v", k, got, w)
		}
		if got.Explanation != w.Explanation {
			t.Errorf("%s: the explanation holds more than the published figures:\npublished  %q\nrecomputed %q", k, got.Explanation, w.Explanation)
		}
	}
	for k := range published {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: published, but not recomputable from the published views", k)
		}
	}
	t.Logf("%d belonging rows (%d weeks) recomputed bit for bit from %d published team-days", len(want), weekly, len(inputs))
	if weekly == 0 {
		t.Error("no week row: the week's recomputation is not tested")
	}

	// The planted drop and silo moved what they should (else the rows
	// above could all be unremarkable).
	gammaDrop := published["1|"+monday.AddDate(0, 0, 8).Format(time.DateOnly)+"|gamma"]
	deltaSilo := published["1|"+monday.AddDate(0, 0, 11).Format(time.DateOnly)+"|delta"]
	if !(gammaDrop.Sentiment <= -2) || !strings.Contains(gammaDrop.Explanation, "Moved: sentiment") {
		t.Errorf("gamma's drop: %+v", gammaDrop)
	}
	if !(deltaSilo.Inclusion <= -2) || !strings.Contains(deltaSilo.Explanation, "Moved: inclusion") {
		t.Errorf("delta's silo: %+v", deltaSilo)
	}
	t.Logf("for example: %s", gammaDrop.Explanation)

	// No row without published inputs; the words are numbers and the team.
	stats := map[string]bool{}
	for _, in := range inputs {
		stats[in.Day.Format(time.DateOnly)+"|"+in.Team] = true
	}
	for k, r := range published {
		if r.WindowDays == 1 && !stats[r.WindowStart.Format(time.DateOnly)+"|"+r.Team] {
			t.Errorf("%s: a day row without a published team_stats row", k)
		}
		if !strings.HasPrefix(r.Explanation, r.Team) {
			t.Errorf("%s: explanation %q does not start with its team", k, r.Explanation)
		}
		if strings.Contains(r.Explanation, "p_") {
			t.Errorf("%s: explanation %q names a person", k, r.Explanation)
		}
	}
	for _, table := range []string{"team_stats_k", "team_belonging", "team_belonging_k"} {
		if n := e.count("SELECT count() FROM {db}." + table + " WHERE team = 'quad'"); n != 0 {
			t.Errorf("%s holds %d rows of the team of four", table, n)
		}
	}
	// Forged rows of the team of four, a day and a week: the view checks
	// them against team_stats and shows neither.
	if err := e.st.Conn().Exec(context.Background(), strings.ReplaceAll(`INSERT INTO {db}.team_belonging (window_start, window_days, team,
		belonging, belonging_z, drivers, days, baseline_days, active_members, explanation, k_applied, computed_at)
		VALUES (?, 1, 'quad', 20, -3, map(), 1, 28, 6, 'quad: forged', 5, now64(3)), (?, 7, 'quad', 20, -3, map(), 5, 28, 6, 'quad: forged', 5, now64(3))`,
		"{db}", e.db), monday, monday); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count() FROM {db}.team_belonging_k WHERE team = 'quad'"); n != 0 {
		t.Errorf("team_belonging_k shows %d forged rows of a team without a k-safe team_stats row", n)
	}

	// The schema: the window, the team, numbers and the sentence; no ε of
	// its own, since it releases nothing new.
	cols := map[string]string{}
	rows, err := e.st.Conn().Query(context.Background(), "SELECT name, type FROM system.columns WHERE database = ? AND table = 'team_belonging'", e.db)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols[name] = typ
	}
	rows.Close()
	for name, typ := range cols {
		ok := strings.Contains(typ, "Float64") || strings.HasPrefix(typ, "UInt") || strings.HasPrefix(typ, "DateTime") ||
			slices.Contains([]string{"team", "explanation"}, name)
		if !ok || name == "epsilon" {
			t.Errorf("team_belonging.%s %s: not in the schema of a post-processed index", name, typ)
		}
	}
	if cols["drivers"] != "Map(LowCardinality(String), Float64)" || len(cols) != 15 {
		t.Errorf("team_belonging columns %v", cols)
	}
}
