package analyze

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// redteamOrg (found by a red-team review of the release generations):
// two teams of 7 (one per analyze shard of 2). Every member
// writes to two teammates every working hour of both days, except the
// victim (member 0 of the shard-1 team), who writes only at 10:00 and
// 15:00 on the Monday.
func redteamOrg(from time.Time, teams []string) ([]store.Message, string, map[string]bool) {
	r := rand.New(rand.NewPCG(42, 1))
	var out []store.Message
	victim := teams[1] + "_0"
	victimHours := map[string]bool{}
	n := 0
	for h := from; h.Before(from.Add(48 * time.Hour)); h = h.Add(time.Hour) {
		if h.Hour() < 8 || h.Hour() > 18 {
			continue
		}
		for _, team := range teams {
			for i := range 7 {
				sender := fmt.Sprintf("%s_%d", team, i)
				if sender == victim && !(h.Day() == from.Day() && (h.Hour() == 10 || h.Hour() == 15)) {
					continue
				}
				if sender == victim {
					victimHours[h.Format(time.DateTime)] = true
				}
				for range 2 {
					rc := []string{fmt.Sprintf("%s_%d", team, (i+1)%7), fmt.Sprintf("%s_%d", team, (i+2)%7)}
					c := float32(float64(r.IntN(2000)-1000) / 1000)
					m := store.Message{EventID: fmt.Sprintf("ev%07d", n), OccurredAt: h.Add(time.Duration(r.IntN(3600)) * time.Second),
						IngestedAt: h, Channel: "chat", Sender: sender, Team: team, Recipients: rc, RecipientTeams: []string{team, team},
						Lang: "en", Status: "scored", Scored: true, Compound: c}
					out = append(out, m)
					n++
				}
			}
		}
	}
	return out, victim, victimHours
}

type relRow struct {
	messages, eps float64
	mean          string
}

func redteamRows(t *testing.T, e *chEnv, g, team string) map[string]relRow {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), `SELECT toString(window_start), messages, epsilon, ifNull(toString(mean_compound), 'NULL')
		FROM team_stats FINAL WHERE granularity = ? AND team = ?`, g, team)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]relRow{}
	for rows.Next() {
		var (
			w string
			r relRow
		)
		if err := rows.Scan(&w, &r.messages, &r.eps, &r.mean); err != nil {
			t.Fatal(err)
		}
		out[w] = r
	}
	return out
}

// teamsOnShards returns, for each wanted shard of shards, the first team
// "team-<i>" that TeamShard puts there.
func teamsOnShards(shards int, want ...int) []string {
	var teams []string
	for _, w := range want {
		for i := 0; ; i++ {
			n := fmt.Sprintf("team-%d", i)
			if store.TeamShard(n, shards) == w {
				teams = append(teams, n)
				break
			}
		}
	}
	return teams
}

// shardsOf builds the n analyzers of an n-shard deployment on e.
func shardsOf(t *testing.T, e *chEnv, cfg Config, n int) []*Analyzer {
	t.Helper()
	var as []*Analyzer
	for i := range n {
		c := cfg
		c.Shards, c.Shard, c.ShardPoll = n, i, 20*time.Millisecond
		a, err := New(c, e.st.ForAnalyzeShard(store.AnalyzeShard{Shard: i, Shards: n}), nil, nilRegistry{})
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	return as
}

// runFor runs one Step of every analyzer at once, within a generous
// deadline (a shard waiting forever for another is the failure).
func runFor(as []*Analyzer, d time.Duration) []error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return runShards(ctx, as, nil)
}

// compareReleases checks every row of before against after: a window
// either not released again (the same figure and epsilon) or released
// again at a counted generation (epsilon grown); never a changed figure at
// the same epsilon (fresh noise nothing counts). It returns how many were
// republished unchanged and how many released again.
func compareReleases(t *testing.T, what string, before, after map[string]relRow) (same, again int) {
	t.Helper()
	for w, b := range before {
		a, ok := after[w]
		switch {
		case !ok:
			t.Errorf("%s %s: the row is gone", what, w)
		case a == b:
			same++
		case a.eps > b.eps:
			again++
		default:
			t.Errorf("%s %s released again with different figures, epsilon still %v (one release counted): %+v -> %+v", what, w, b.eps, b, a)
		}
	}
	return same, again
}

// Finding 1 of the red-team review of the release generations (HIGH):
// scaling a single analyzer out to two shards after an erasure. Before the
// fix the new shard 1, with no progress of its own, started at the
// earliest message and re-released its teams' history at generation 0:
// every figure the erased person had no part in republished bit for bit,
// the changed ones exactly the team-hours they wrote in, epsilon counting
// one release. Now the two shards refuse to run while the single
// analyzer's progress is recent (ErrShardCountChanged: it may still be
// running), then resume both where it stopped: nothing of the history is
// released again, and a later re-run (--since) takes generation 1, fresh
// noise its epsilon counts.
func TestReshardOneToTwoAfterErasure(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	teams := teamsOnShards(2, 0, 1)                      // teams[0] on shard 0 of 2, teams[1] on shard 1
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // Monday
	msgs, victim, victimHours := redteamOrg(from, teams)
	if err := e.st.InsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	clock := &fixedClock{t: from.Add(48*time.Hour + 65*time.Minute)}
	cfg := Config{Now: clock.Now, Privacy: publish.Policy{Key: testNoiseKey}, Logger: testLogger()}
	single, err := New(cfg, e.st, nil, nilRegistry{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := single.Step(ctx); err != nil {
		t.Fatal(err)
	}
	hoursBefore, daysBefore := redteamRows(t, e, "hour", teams[1]), redteamRows(t, e, "day", teams[1])
	if len(hoursBefore) == 0 || len(daysBefore) != 2 {
		t.Fatalf("single analyzer released %d hour and %d day rows of %s", len(hoursBefore), len(daysBefore), teams[1])
	}
	if err := e.st.ErasePersons(ctx, []string{victim}); err != nil { // the victim opts out
		t.Fatal(err)
	}

	t.Run("refused while the old count is recent", func(t *testing.T) {
		for i, err := range runFor(shardsOf(t, e, cfg, 2), time.Minute) {
			var sce *ShardCountError
			if !errors.Is(err, ErrShardCountChanged) || !errors.As(err, &sce) || sce.Other != 1 || sce.Shards != 2 {
				t.Errorf("shard %d: %v, want a ShardCountError (2 shards, 1 recent)", i, err)
			}
		}
		if h := redteamRows(t, e, "hour", teams[1]); fmt.Sprint(h) != fmt.Sprint(hoursBefore) {
			t.Errorf("a refused Step changed released rows")
		}
	})

	clock.Set(clock.Now().Add(Defaults().ReshardQuiet + time.Minute)) // the single analyzer is stopped
	for i, err := range runFor(shardsOf(t, e, cfg, 2), time.Minute) {
		if err != nil {
			t.Fatalf("shard %d of 2: %v", i, err)
		}
	}
	hs, ha := compareReleases(t, "hour", hoursBefore, redteamRows(t, e, "hour", teams[1]))
	ds, da := compareReleases(t, "day", daysBefore, redteamRows(t, e, "day", teams[1]))
	t.Logf("%s after 1 -> 2 shards: hours %d untouched, %d released again; days %d untouched, %d released again (victim wrote in %d hours)",
		teams[1], hs, ha, ds, da, len(victimHours))
	if ha+da != 0 {
		t.Errorf("the new shards released %d windows of the history again; they should resume where the single analyzer stopped", ha+da)
	}
	gens, err := e.st.ForAnalyzeShard(store.AnalyzeShard{Shard: 1, Shards: 2}).Generations(ctx, Hour, from, from.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if d := distinct(gens); len(gens) < 40 || len(d) != 1 || d[0] != 1 {
		t.Errorf("shard 1's next hour generations of the history: %d windows, %v; want every window (40), all 1 (above the single analyzer's 0)", len(gens), d)
	}

	// A re-run of the history on the new count: fresh noise, counted.
	rerun := cfg
	rerun.Since = from
	for i, err := range runFor(shardsOf(t, e, rerun, 2), time.Minute) {
		if err != nil {
			t.Fatalf("re-run, shard %d of 2: %v", i, err)
		}
	}
	hoursAfter := redteamRows(t, e, "hour", teams[1])
	hs, ha = compareReleases(t, "hour", hoursBefore, hoursAfter)
	ds, da = compareReleases(t, "day", daysBefore, redteamRows(t, e, "day", teams[1]))
	t.Logf("%s after a re-run on 2 shards: hours %d republished bit for bit, %d at generation 1; days %d, %d", teams[1], hs, ha, ds, da)
	if hs+ds != 0 {
		t.Errorf("%d hour and %d day figures republished bit for bit after the erasure (generation 0 again)", hs, ds)
	}
	for w, b := range hoursBefore {
		if a := hoursAfter[w]; a.eps != 2*b.eps {
			t.Errorf("hour %s: epsilon %v after the re-run, want %v (two releases)", w, a.eps, 2*b.eps)
		}
	}
}

func distinct(m map[time.Time]uint32) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, g := range m {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// Finding 1, liveness: before the fix, after a single analyzer the two
// shards never finished another day window (shard 1 waited for stage
// marks of the old days the single analyzer never writes, shard 0 at the
// next day for shard 1's). Now both resume where the single analyzer
// stopped, write their own stage marks, and finish the new day.
func TestReshardOneToTwoFinishesDays(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	teams := teamsOnShards(2, 0, 1)
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	msgs, _, _ := redteamOrg(from, teams)
	more, _, _ := redteamOrg(from.AddDate(0, 0, 2), teams) // Wed, Thu
	for i := range more {
		more[i].EventID = "w" + more[i].EventID
	}
	if err := e.st.InsertMessages(ctx, append(msgs, more...)); err != nil {
		t.Fatal(err)
	}
	clock := &fixedClock{t: from.Add(48*time.Hour + 65*time.Minute)}
	cfg := Config{Now: clock.Now, Privacy: publish.Policy{Key: testNoiseKey}, Logger: testLogger()}
	single, err := New(cfg, e.st, nil, nilRegistry{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := single.Step(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Set(from.Add(72*time.Hour + 65*time.Minute)) // Wednesday closes
	for i, err := range runFor(shardsOf(t, e, cfg, 2), 2*time.Minute) {
		last, ok, lerr := e.st.ForAnalyzeShard(store.AnalyzeShard{Shard: i, Shards: 2}).LastDone(ctx, Day)
		t.Logf("shard %d: Step %v; last day done %v (%v, %v)", i, err, last.Format(time.DateOnly), ok, lerr)
		if err != nil {
			t.Errorf("shard %d never finished its day windows: %v", i, err)
		}
		if want := from.AddDate(0, 0, 2); !ok || !last.Equal(want) {
			t.Errorf("shard %d: last day done %v (%v), want %v", i, last, ok, want)
		}
	}
}

// Finding 1, two shards scaled to three (StatefulSet replicas 2 -> 3)
// after an erasure. Before the fix the new shard 2 re-released its teams'
// history at generation 0, the one shard 0 or 1 had used. Now the three
// resume where both old shards stopped (nothing released again), and a
// re-run takes generation 1 on every figure.
func TestReshardTwoToThreeAfterErasure(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	var victimTeam, otherTeam string
	for i := 0; victimTeam == "" || otherTeam == ""; i++ {
		n := fmt.Sprintf("team-%d", i)
		switch {
		case victimTeam == "" && store.TeamShard(n, 3) == 2:
			victimTeam = n
		case otherTeam == "" && store.TeamShard(n, 3) != 2:
			otherTeam = n
		}
	}
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	msgs, victim, _ := redteamOrg(from, []string{otherTeam, victimTeam})
	if err := e.st.InsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	clock := &fixedClock{t: from.Add(48*time.Hour + 65*time.Minute)}
	cfg := Config{Now: clock.Now, Privacy: publish.Policy{Key: testNoiseKey}, Logger: testLogger()}
	if errs := runFor(shardsOf(t, e, cfg, 2), 2*time.Minute); errs[0] != nil || errs[1] != nil {
		t.Fatalf("two shards: %v", errs)
	}
	hb, db := redteamRows(t, e, "hour", victimTeam), redteamRows(t, e, "day", victimTeam)
	if err := e.st.ErasePersons(ctx, []string{victim}); err != nil {
		t.Fatal(err)
	}
	clock.Set(clock.Now().Add(Defaults().ReshardQuiet + time.Minute))
	for i, err := range runFor(shardsOf(t, e, cfg, 3), 2*time.Minute) {
		if err != nil {
			t.Fatalf("shard %d of 3: %v", i, err)
		}
	}
	hs, ha := compareReleases(t, "hour", hb, redteamRows(t, e, "hour", victimTeam))
	ds, da := compareReleases(t, "day", db, redteamRows(t, e, "day", victimTeam))
	t.Logf("%s (shard %d of 2, now 2 of 3): hours %d untouched, %d released again; days %d, %d", victimTeam, store.TeamShard(victimTeam, 2), hs, ha, ds, da)
	if ha+da != 0 {
		t.Errorf("the three shards released %d windows of the history again", ha+da)
	}
	rerun := cfg
	rerun.Since = from
	for i, err := range runFor(shardsOf(t, e, rerun, 3), 2*time.Minute) {
		if err != nil {
			t.Fatalf("re-run, shard %d of 3: %v", i, err)
		}
	}
	ha2, da2 := redteamRows(t, e, "hour", victimTeam), redteamRows(t, e, "day", victimTeam)
	hs, ha = compareReleases(t, "hour", hb, ha2)
	ds, da = compareReleases(t, "day", db, da2)
	t.Logf("after a re-run on 3 shards: hours %d republished bit for bit, %d released again; days %d, %d", hs, ha, ds, da)
	if hs+ds != 0 {
		t.Errorf("%d hour and %d day figures republished bit for bit after the erasure", hs, ds)
	}
	for w, b := range db {
		if da2[w].eps != 2*b.eps {
			t.Errorf("day %s: epsilon %v after the re-run, want %v (two releases)", w, da2[w].eps, 2*b.eps)
		}
	}
}
