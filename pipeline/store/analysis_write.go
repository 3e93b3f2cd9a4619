package store

import (
	"context"
	"fmt"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
)

// clearIfAny deletes the rows of table matching where (with args) when any
// exist. The count first keeps the common case (a window never written)
// free of mutations.
func (s *Store) clearIfAny(ctx context.Context, table, where string, args ...any) error {
	if teamTables[table] {
		scope, sargs := s.teamScope()
		where, args = where+scope, append(args, sargs...)
	}
	if s.cfg.Cluster.Replicated {
		return s.clearReplicated(ctx, table, where, args...)
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
		return fmt.Errorf("count %s rows to replace: %w", table, err)
	}
	if n == 0 {
		return nil
	}
	// Asynchronous: a lightweight DELETE masks the rows of the parts that
	// exist when it is issued, never those of parts inserted after it, so
	// the insert that follows is safe without waiting (waiting cost about a
	// second per statement on the test server).
	del := " WHERE " + where + " SETTINGS lightweight_deletes_sync = 0"
	if !s.cfg.Cluster.Enabled() {
		if err := s.conn.Exec(ctx, "DELETE FROM "+table+del, args...); err != nil {
			return fmt.Errorf("delete %s rows to replace: %w", table, err)
		}
		return nil
	}
	// A Distributed table takes no DELETE: each shard deletes from its own
	// rows (rare: only a window written before is cleared, on a re-run or
	// the retry of a window that failed half written). A replicated
	// cluster is clearReplicated's.
	shs, err := s.openShards(ctx)
	if err != nil {
		return fmt.Errorf("delete %s rows to replace: %w", table, err)
	}
	defer closeShards(shs)
	for _, sh := range shs {
		if err := sh.st.conn.Exec(ctx, "DELETE FROM "+storedIn(table)+del, args...); err != nil {
			return fmt.Errorf("delete %s rows to replace: %s: %w", table, sh, err)
		}
	}
	return nil
}

// clearReplicated is clearIfAny on a replicated cluster. The count is
// taken on every replica of each shard, not through the Distributed
// table: that reads one replica per shard, and a replica behind its shard
// (restarted, catching up its replication queue, or the earlier write went
// through another server) would count 0, so no DELETE would be issued and
// the rows the other replicas hold would stay (a re-run that withdrew a
// team would keep its old row published: TestReplicatedClearAsksEveryReplica).
// A shard gets the DELETE when any replica holds rows, and also when a
// replica cannot be counted (down, or fewer addresses configured than
// system.clusters lists): deleting costs a mutation, skipping could keep a
// withdrawn row, and refusing would stall analyze while a replica is down.
// The DELETE goes to one replica (openShards) and Keeper replicates it: a
// lightweight DELETE is a mutation, which every replica applies to the
// parts of block numbers below it, including parts it fetches later, so
// the insert that follows (a later block) is kept there too. The statement
// names a window and the shard's teams, nothing that differs between
// replicas, so it needs no allow_nondeterministic_mutations. The cost: a
// pool per replica for every window written (the counts are one small
// query each).
func (s *Store) clearReplicated(ctx context.Context, table, where string, args ...any) error {
	shs, err := s.openShards(ctx)
	if err != nil {
		return fmt.Errorf("delete %s rows to replace: %w", table, err)
	}
	defer closeShards(shs)
	count := "SELECT count() FROM " + storedIn(table) + " WHERE " + where
	del := "DELETE FROM " + storedIn(table) + " WHERE " + where + " SETTINGS lightweight_deletes_sync = 0"
	for _, sh := range shs {
		held := len(sh.addr) != sh.listed // a replica this store cannot count
		for _, a := range sh.addr {
			if held {
				break
			}
			held = s.replicaHolds(ctx, a, count, args...)
		}
		if !held {
			continue
		}
		if err := sh.st.conn.Exec(ctx, del, args...); err != nil {
			return fmt.Errorf("delete %s rows to replace: %s: %w", table, sh, err)
		}
	}
	return nil
}

// replicaHolds reports whether the replica at addr counts rows with count,
// or cannot be asked (true: the caller then deletes to be safe).
func (s *Store) replicaHolds(ctx context.Context, addr, count string, args ...any) bool {
	r, err := s.dialTo([]string{addr}, s.cfg.Database)
	if err != nil {
		return true
	}
	defer r.Close()
	var n uint64
	if err := r.conn.QueryRow(ctx, count, args...).Scan(&n); err != nil {
		return true
	}
	return n > 0
}

// teamTables are the tables whose rows analyze shards split by team
// (ForAnalyzeShard): a shard's replacing write clears its teams' rows
// only. team_network is not among them: shard 0 writes it whole, with the
// organisation's network.
var teamTables = map[string]bool{"team_stats": true, "team_themes": true, "anomalies": true, "team_belonging": true, "team_forecasts": true}

// WriteTeamStats replaces the team_stats rows of g in [from, to) by the
// released rows.
func (s *Store) WriteTeamStats(ctx context.Context, g Granularity, from, to time.Time, rows []TeamStats, k int, now time.Time) error {
	if err := s.clearIfAny(ctx, "team_stats", "granularity = ? AND window_start >= ? AND window_start < ?", string(g), from, to); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO team_stats (window_start, granularity, team, messages, active_members,
		scored_messages, mean_compound, negative_share, positive_share, after_hours_share, k_applied, epsilon, computed_at)`)
	if err != nil {
		return fmt.Errorf("prepare team_stats insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, r := range rows {
		scored, active := nullable(r.ScoredMessages), &r.ActiveMembers
		if g == Hour {
			scored, active = nil, nil // not published per hour
		}
		if err := b.Append(r.WindowStart, string(g), r.Team, r.Messages, active, scored,
			nullable(r.MeanCompound), nullable(r.NegativeShare), nullable(r.PositiveShare),
			nullable(r.AfterHoursShare), uint16(k), r.Epsilon, now); err != nil {
			return fmt.Errorf("append team_stats row: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d team_stats rows: %w", len(rows), err)
	}
	return nil
}

// WriteTeamThemes replaces the team_themes rows of the day windows in
// [from, to) by the released rows.
func (s *Store) WriteTeamThemes(ctx context.Context, from, to time.Time, rows []TeamTheme, k int, now time.Time) error {
	if err := s.clearIfAny(ctx, "team_themes", "window_start >= ? AND window_start < ?", from, to); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO team_themes (window_start, team, theme, messages, k_applied, epsilon, computed_at)`)
	if err != nil {
		return fmt.Errorf("prepare team_themes insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, r := range rows {
		if err := b.Append(r.WindowStart, r.Team, r.Theme, r.Messages, uint16(k), r.Epsilon, now); err != nil {
			return fmt.Errorf("append team_themes row: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d team_themes rows: %w", len(rows), err)
	}
	return nil
}

// WriteNetwork replaces the network rows of one window (start, days): edges
// and node_metrics (person-level, never published), the released
// team_network rows and graph_metrics. Each table's old rows of the window
// are deleted first, so a person erased or a team fallen below k since the
// last run leaves nothing behind.
func (s *Store) WriteNetwork(ctx context.Context, start time.Time, days int, res *network.Result,
	teams []publish.NetRelease, graph GraphRelease, k int, eps float64, now time.Time) error { // eps: the window's releases so far
	where := "window_days = ? AND window_start = ?"
	wd := uint16(days)
	for _, t := range []string{"edges", "node_metrics", "team_network", "graph_metrics"} {
		if err := s.clearIfAny(ctx, t, where, wd, start); err != nil {
			return err
		}
	}
	team := make(map[string]string, len(res.Nodes))
	for _, n := range res.Nodes {
		team[n.Person] = n.Team
	}
	if len(res.Edges) > 0 {
		b, err := s.conn.PrepareBatch(ctx, `INSERT INTO edges (window_start, window_days, src, dst, src_team, dst_team, weight, interactions, computed_at)`)
		if err != nil {
			return fmt.Errorf("prepare edges insert: %w", err)
		}
		defer b.Abort() //nolint:errcheck // no-op after Send
		n := len(res.Edges)
		var (
			starts                     = make([]time.Time, n)
			wds                        = make([]uint16, n)
			srcs, dsts, steams, dteams = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			weights                    = make([]float64, n)
			inter                      = make([]uint32, n)
			nows                       = make([]time.Time, n)
		)
		for i, e := range res.Edges {
			starts[i], wds[i], nows[i] = start, wd, now
			srcs[i], dsts[i], steams[i], dteams[i] = e.Src, e.Dst, team[e.Src], team[e.Dst]
			weights[i], inter[i] = e.Weight, uint32(e.Count)
		}
		for i, col := range []any{starts, wds, srcs, dsts, steams, dteams, weights, inter, nows} {
			if err := b.Column(i).Append(col); err != nil {
				return fmt.Errorf("append edges column %d: %w", i, err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("insert %d edges: %w", n, err)
		}
	}
	if len(res.Nodes) > 0 {
		b, err := s.conn.PrepareBatch(ctx, `INSERT INTO node_metrics (window_start, window_days, person, team, in_degree, out_degree,
			in_strength, out_strength, reciprocity, internal_network_size, cross_team_breadth, pagerank, betweenness, community, isolated, computed_at)`)
		if err != nil {
			return fmt.Errorf("prepare node_metrics insert: %w", err)
		}
		defer b.Abort() //nolint:errcheck // no-op after Send
		for _, n := range res.Nodes {
			if err := b.Append(start, wd, n.Person, n.Team, uint32(n.InDegree), uint32(n.OutDegree), n.InStrength, n.OutStrength,
				n.Reciprocity, uint32(n.InternalNetworkSize), uint32(n.CrossTeamBreadth), n.PageRank, n.Betweenness,
				int32(n.Community), n.Isolated, now); err != nil {
				return fmt.Errorf("append node_metrics row: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("insert %d node_metrics rows: %w", len(res.Nodes), err)
		}
	}
	if len(teams) > 0 {
		b, err := s.conn.PrepareBatch(ctx, `INSERT INTO team_network (window_start, window_days, team, members_active, weight,
			external_share, ei_index, isolated_members, k_applied, epsilon, computed_at)`)
		if err != nil {
			return fmt.Errorf("prepare team_network insert: %w", err)
		}
		defer b.Abort() //nolint:errcheck // no-op after Send
		for _, t := range teams {
			var iso *uint32
			if t.Isolated != nil {
				v := uint32(*t.Isolated)
				iso = &v
			}
			if err := b.Append(start, wd, t.Team, uint32(t.Senders), t.Weight, nullable(t.ExternalShare), nullable(t.EIIndex),
				iso, uint16(k), eps, now); err != nil {
				return fmt.Errorf("append team_network row: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("insert team_network rows: %w", err)
		}
	}
	if err := s.conn.Exec(ctx, `INSERT INTO graph_metrics (window_start, window_days, nodes, modularity,
		formal_modularity, team_community_nmi, mean_best_jaccard, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		start, wd, graph.Nodes, graph.Modularity, graph.FormalModularity, graph.NMI, graph.MeanBestJaccard, now); err != nil {
		return fmt.Errorf("insert graph_metrics: %w", err)
	}
	return nil
}

// WriteAnomalies replaces the anomalies of g in [from, to).
func (s *Store) WriteAnomalies(ctx context.Context, g Granularity, from, to time.Time, as []Anomaly) error {
	if err := s.clearIfAny(ctx, "anomalies", "granularity = ? AND window_start >= ? AND window_start < ?", string(g), from, to); err != nil {
		return err
	}
	if len(as) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO anomalies (window_start, granularity, team, metric, value, expected, low, high,
		score, severity, direction, detector, explanation, onset, detected_at)`)
	if err != nil {
		return fmt.Errorf("prepare anomalies insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, a := range as {
		onset := a.Onset
		if onset.IsZero() {
			onset = a.WindowStart
		}
		if err := b.Append(a.WindowStart, string(a.Granularity), a.Team, a.Metric, a.Value, a.Expected, a.Low, a.High,
			a.Score, string(a.Severity), a.Direction, a.Detector, a.Explanation, onset, a.DetectedAt); err != nil {
			return fmt.Errorf("append anomaly: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d anomalies: %w", len(as), err)
	}
	return nil
}

// MarkDone records windows as processed (analyzer_windows, a
// ReplacingMergeTree: the newest row of a window wins).
func (s *Store) MarkDone(ctx context.Context, ws []WindowDone, now time.Time) error {
	return s.recordWindows(ctx, ws, true, now)
}

// MarkBegun records that the release of windows ws at their Generation
// has begun: written before a window's first row, so that a release cut
// short (a crash, a fault, Ctrl-C) counts as a release. The retry then
// takes the next generation and fresh noise its epsilon counts, rather
// than the same generation with fresh noise nothing counts (the noise
// follows the exact figures, which may have changed in between). Its
// rows are stamped a millisecond before now, so that MarkDone's row of
// the same pass is the newest.
func (s *Store) MarkBegun(ctx context.Context, ws []WindowDone, now time.Time) error {
	return s.recordWindows(ctx, ws, false, now.Add(-time.Millisecond))
}

func (s *Store) recordWindows(ctx context.Context, ws []WindowDone, done bool, at time.Time) error {
	if len(ws) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO analyzer_windows (granularity, window_start, shard, shards, generation, teams, suppressed, anomalies, done, inputs, computed_at)`)
	if err != nil {
		return fmt.Errorf("prepare progress insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	a := s.AnalyzeShard()
	for _, w := range ws {
		if err := b.Append(string(w.Granularity), w.Start, uint16(a.Shard), uint16(a.Shards), w.Generation, w.Teams, w.Suppressed, w.Anomalies, done, w.Inputs, at); err != nil {
			return fmt.Errorf("append progress: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	return nil
}
