package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TeamShard is ClickHouse's cityHash64(team) % shards, which the scoped
// deletes use, and two analyze shards' progress and team rows do not
// touch each other's on two ClickHouse shards.
func TestAnalyzeShardScopes(t *testing.T) {
	cluster, _, _ := clusterForTest(t, Cluster{})
	ctx := context.Background()
	for _, n := range []int{2, 3, 7} {
		for i := range 50 {
			team := fmt.Sprintf("team-%d-é", i)
			var want uint64
			if err := cluster.Conn().QueryRow(ctx, "SELECT toUInt64(cityHash64(?) % ?)", team, uint64(n)).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if got := TeamShard(team, n); uint64(got) != want {
				t.Fatalf("TeamShard(%q, %d) = %d, ClickHouse says %d", team, n, got, want)
			}
		}
	}
	shards := []*Store{cluster.ForAnalyzeShard(AnalyzeShard{0, 2}), cluster.ForAnalyzeShard(AnalyzeShard{1, 2})}
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	now := time.Now()
	write := func(sh *Store, messages float64) {
		t.Helper()
		var rows []TeamStats
		for i := range 20 {
			team := fmt.Sprintf("team%02d", i)
			if sh.AnalyzeShard().Owns(team) {
				rows = append(rows, TeamStats{WindowStart: day, Granularity: Day, Team: team, Messages: messages, ActiveMembers: 9})
			}
		}
		if err := sh.WriteTeamStats(ctx, Day, day, day.AddDate(0, 0, 1), rows, 5, now); err != nil {
			t.Fatal(err)
		}
		if err := sh.MarkDone(ctx, []WindowDone{{Granularity: Day, Start: day, Teams: uint32(len(rows))}}, now); err != nil {
			t.Fatal(err)
		}
	}
	write(shards[0], 1)
	write(shards[1], 1)
	write(shards[1], 2) // shard 1 re-runs the day: shard 0's rows stay
	deadline := time.Now().Add(30 * time.Second)
	for countOn(t, cluster, "SELECT count() FROM team_stats FINAL") != 20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stored, err := cluster.DayStats(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	for i, sh := range shards {
		var n uint64
		for _, s := range stored {
			if sh.AnalyzeShard().Owns(s.Team) && s.Messages == float64(i+1) {
				n++
			}
		}
		if n == 0 || n == 20 {
			t.Errorf("shard %d owns %d of 20 teams with its figures", i, n)
		}
		last, ok, err := sh.LastDone(ctx, Day)
		if err != nil || !ok || !last.Equal(day) {
			t.Errorf("shard %d LastDone = %v %v %v", i, last, ok, err)
		}
		gens, err := sh.Generations(ctx, Day, day, day.AddDate(0, 0, 1))
		if err != nil || gens[day] != 1 {
			t.Errorf("shard %d generation %v, %v: want 1 (its own mark)", i, gens, err)
		}
	}
	if n := countOn(t, cluster, "SELECT count() FROM team_stats FINAL"); n != 20 {
		t.Errorf("%d team_stats rows, want 20 (one per team)", n)
	}
	if n := countOn(t, cluster, "SELECT count() FROM analyzer_windows FINAL WHERE granularity = 'day'"); n != 2 {
		t.Errorf("%d day marks, want one per shard", n)
	}
	// Stage marks.
	if err := shards[1].MarkStage(ctx, StageDayStats, day, now); err != nil {
		t.Fatal(err)
	}
	done, err := shards[0].StageShards(ctx, StageDayStats, day)
	if err != nil || len(done) != 1 || !done[1] {
		t.Errorf("StageShards = %v, %v; want shard 1", done, err)
	}
}

// Migration 0016: progress rows carry the number of shards that wrote
// them. A window's next generation counts this shard's rows under its
// count and every row under any other (rows from before the migration
// read as one shard), so a team that moves shard never takes a generation
// used; stage marks and LastDone are per count; begun marks keep their
// inputs digest until the window is done.
func TestGenerationsAcrossShardCounts(t *testing.T) {
	cluster, _, _ := clusterForTest(t, Cluster{})
	ctx := context.Background()
	w := time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)
	w2 := w.Add(time.Hour)
	now := time.Now()
	single := cluster.ForAnalyzeShard(AnalyzeShard{0, 1})
	if err := single.MarkDone(ctx, []WindowDone{{Granularity: Hour, Start: w}}, now); err != nil {
		t.Fatal(err)
	}
	// A row from before migration 0016 (shards reads 0): one shard.
	if err := cluster.Conn().Exec(ctx, `INSERT INTO analyzer_windows (granularity, window_start, shard, generation, done, computed_at)
		VALUES ('hour', ?, 0, 3, true, ?)`, w2, now); err != nil {
		t.Fatal(err)
	}
	gens := func(sh *Store) map[time.Time]uint32 {
		t.Helper()
		g, err := sh.Generations(ctx, Hour, w, w2.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	s20, s21 := cluster.ForAnalyzeShard(AnalyzeShard{0, 2}), cluster.ForAnalyzeShard(AnalyzeShard{1, 2})
	if g := gens(s21); g[w] != 1 || g[w2] != 4 {
		t.Errorf("shard 1 of 2: generations %v, want 1 and 4 (above the single analyzer's 0 and 3)", g)
	}
	if _, ok, err := s21.LastDone(ctx, Hour); ok || err != nil {
		t.Errorf("shard 1 of 2 has progress of its own: %v %v", ok, err)
	}
	others, err := s21.OtherShardCounts(ctx)
	if err != nil || len(others) != 1 || others[1].IsZero() {
		t.Errorf("OtherShardCounts = %v, %v; want count 1", others, err)
	}
	last, err := s21.ShardsLastDone(ctx, Hour, 1)
	if err != nil || len(last) != 1 || !last[0].Equal(w2) {
		t.Errorf("ShardsLastDone(1) = %v, %v; want shard 0 at %v", last, err, w2)
	}
	if err := s21.MarkDone(ctx, []WindowDone{{Granularity: Hour, Start: w, Generation: 1}}, now); err != nil {
		t.Fatal(err)
	}
	// Shard 0 of 2 owns other teams than shard 1: its own rows and the
	// other counts' decide, not shard 1's.
	if g := gens(s20); g[w] != 1 {
		t.Errorf("shard 0 of 2: generation of %v is %d, want 1", w, g[w])
	}
	s32 := cluster.ForAnalyzeShard(AnalyzeShard{2, 3})
	if g := gens(s32); g[w] != 2 || g[w2] != 4 {
		t.Errorf("shard 2 of 3: generations %v, want 2 (above shard 1 of 2's 1) and 4", g)
	}
	// Stage marks count under their own count only.
	if err := s21.MarkStage(ctx, StageDayStats, w.Truncate(24*time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if done, err := s20.StageShards(ctx, StageDayStats, w.Truncate(24*time.Hour)); err != nil || !done[1] {
		t.Errorf("shard 0 of 2 sees stage marks %v, %v; want shard 1's", done, err)
	}
	if done, err := s32.StageShards(ctx, StageDayStats, w.Truncate(24*time.Hour)); err != nil || len(done) != 0 {
		t.Errorf("shard 2 of 3 sees stage marks %v, %v; want none (another count's)", done, err)
	}
	// Begun marks keep their inputs until done.
	w3 := w2.Add(time.Hour)
	if err := s32.MarkBegun(ctx, []WindowDone{{Granularity: Hour, Start: w3, Generation: 0, Inputs: "digest"}}, now); err != nil {
		t.Fatal(err)
	}
	begun, err := s32.BegunWindows(ctx, Hour, w3, w3.Add(time.Hour))
	if err != nil || begun[w3] != (Begun{Generation: 0, Inputs: "digest"}) {
		t.Errorf("BegunWindows = %v, %v", begun, err)
	}
	if err := s32.MarkDone(ctx, []WindowDone{{Granularity: Hour, Start: w3, Inputs: "digest"}}, now); err != nil {
		t.Fatal(err)
	}
	if begun, err := s32.BegunWindows(ctx, Hour, w3, w3.Add(time.Hour)); err != nil || len(begun) != 0 {
		t.Errorf("BegunWindows after MarkDone = %v, %v; want none", begun, err)
	}
}
