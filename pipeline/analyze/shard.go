package analyze

import (
	"context"
	"fmt"
	"sort"
	"time"

	"commpulse/network"
	"commpulse/pipeline/store"
)

// Sharded analyze (Config.Shards > 1, docs/scaling.md section 5).
//
// Ownership. A team belongs to one shard, store.TeamShard(team, Shards):
// that shard alone releases its team_stats (hours and days), team_themes,
// team_belonging and team_forecasts rows, runs its detectors (rebuilt from its teams'
// history only), writes its anomalies and publishes its alerts. Each
// shard's analyzer_windows rows are its own (column shard), so a shard
// resumes where it stopped whatever the others did.
//
// The organisation's network of a day window (and the rolling window
// closing with it) is one object that cannot be split by team: shard 0
// computes it, exactly once, and writes edges, node_metrics, every team's
// team_network row and graph_metrics, then marks the day
// store.StageDayNetwork. The rule survives a restart of shard 0: a day
// whose network mark is there is not computed again (shard 0 reads it
// back like the others); only a network cut short before its mark is
// recomputed, at the next generation, as on a single analyzer. The other
// shards wait for the mark and read the network back (store.DayNetwork):
// the released values of their teams for the silo detectors, the
// isolated persons for the isolation rule.
//
// The belonging index scores a team against the organisation's teams of
// the day, so each shard marks store.StageDayStats once its teams' rows
// of the day are written, and waits for every shard's mark before scoring
// its own teams against all rows of the day. A day window therefore
// finishes on every shard once every shard has reached it; hour windows
// never wait. Every wait writes its own marks first, so no two shards wait
// for each other.
//
// A re-run (--since) of a sharded analyzer recomputes what each shard
// owns; shard 0 recomputes the networks. The stage marks of the earlier
// run still count for the waits, so run it on every shard, shard 0 first.

// owned keeps the items of the teams sh owns (all of them for a single
// analyzer).
func owned[T any](sh store.AnalyzeShard, items []T, team func(T) string) []T {
	if !sh.Sharded() {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if sh.Owns(team(it)) {
			out = append(out, it)
		}
	}
	return out
}

// shardedDay is the part of a sharded day window between the shard's own
// team rows (kept, written) and its detectors: it marks the team rows
// written, gets the day's network (shard 0 computes it unless it did so
// before a restart; the others wait and read it back), waits for every
// shard's team rows of the day and returns the network with every team's
// released rows of the day (kept for its own teams, the store's for the
// others').
func (a *Analyzer) shardedDay(ctx context.Context, day time.Time, gen uint32, kept []TeamStats, now time.Time) (netWindow, []TeamStats, error) {
	if err := a.db.MarkStage(ctx, store.StageDayStats, day, now); err != nil {
		return netWindow{}, nil, a.fail("write", err)
	}
	net, err := a.shardNetwork(ctx, day, gen, now)
	if err != nil {
		return netWindow{}, nil, err
	}
	if err := a.waitStage(ctx, store.StageDayStats, day, func(done map[int]bool) bool { return len(done) >= a.own.Shards }); err != nil {
		return netWindow{}, nil, err
	}
	stored, err := a.db.DayStats(ctx, day)
	if err != nil {
		return netWindow{}, nil, a.fail("read", err)
	}
	all := append([]TeamStats(nil), kept...)
	for _, s := range stored {
		if !a.own.Owns(s.Team) {
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Team < all[j].Team })
	return net, all, nil
}

// shardNetwork returns the day network of day: computed and marked by
// shard 0 the first time, read back otherwise.
func (a *Analyzer) shardNetwork(ctx context.Context, day time.Time, gen uint32, now time.Time) (netWindow, error) {
	if a.own.Shard == 0 {
		done, err := a.db.StageShards(ctx, store.StageDayNetwork, day)
		if err != nil {
			return netWindow{}, a.fail("read", err)
		}
		if !done[0] || !a.since.IsZero() {
			net, err := a.dayNetworks(ctx, day, gen, now)
			if err != nil {
				return netWindow{}, err
			}
			if err := a.db.MarkStage(ctx, store.StageDayNetwork, day, now); err != nil {
				return netWindow{}, a.fail("write", err)
			}
			return net, nil
		}
		a.log.Info("day network computed before a restart; read back", "day", day.Format(time.DateOnly))
	} else if err := a.waitStage(ctx, store.StageDayNetwork, day, func(done map[int]bool) bool { return done[0] }); err != nil {
		return netWindow{}, err
	}
	teams, isolated, err := a.db.DayNetwork(ctx, day)
	if err != nil {
		return netWindow{}, a.fail("read", err)
	}
	res := &network.Result{Nodes: make([]network.NodeMetrics, len(isolated))}
	for i, n := range isolated {
		res.Nodes[i] = network.NodeMetrics{Person: n.Person, Team: n.Team, OutDegree: n.OutDegree, Isolated: true}
	}
	return netWindow{res: res, teams: teams}, nil
}

// waitStage polls, every Config.ShardPoll, until ready holds of the shards
// that finished stage of day, or ctx ends.
func (a *Analyzer) waitStage(ctx context.Context, stage string, day time.Time, ready func(map[int]bool) bool) error {
	logged := false
	for {
		done, err := a.db.StageShards(ctx, stage, day)
		if err != nil {
			return a.fail("read", err)
		}
		if ready(done) {
			return nil
		}
		if !logged {
			a.log.Info("waiting for the other analyze shards", "stage", stage, "day", day.Format(time.DateOnly),
				"shard", a.own.Shard, "shards_done", len(done))
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s of %s: %w", stage, day.Format(time.DateOnly), ctx.Err())
		case <-time.After(a.cfg.ShardPoll):
		}
	}
}
