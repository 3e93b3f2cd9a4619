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
