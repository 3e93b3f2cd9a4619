package store

import (
	"context"
	"fmt"
	"time"

	"github.com/go-faster/city"

	"commpulse/pipeline/publish"
)

// AnalyzeShard is the part of the teams one analyzer owns when analyze is
// sharded (`commpulse analyze --shards N --shard I`, docs/scaling.md
// section 5): the teams whose TeamShard is Shard. The zero value and
// {0, 1} are a single analyzer owning every team.
type AnalyzeShard struct {
	Shard, Shards int
}

func (a AnalyzeShard) norm() AnalyzeShard {
	if a.Shards < 1 {
		return AnalyzeShard{Shard: 0, Shards: 1}
	}
	return a
}

// Sharded reports whether there is more than one analyze shard.
func (a AnalyzeShard) Sharded() bool { return a.norm().Shards > 1 }

// Owns reports whether the shard owns team.
func (a AnalyzeShard) Owns(team string) bool {
	a = a.norm()
	return a.Shards == 1 || TeamShard(team, a.Shards) == a.Shard
}

// TeamShard is the analyze shard of team among shards: cityHash64(team)
// modulo shards, the same function ClickHouse applies as
// `cityHash64(team) % shards` (teamShardSQL), so that a shard's deletes
// select exactly the rows of the teams it owns. It is stable: it depends
// on the team's name and the number of shards only. With as many analyze
// shards as ClickHouse shards of weight 1, a shard's teams are also the
// team rows of one ClickHouse shard (the team tables are sharded by
// cityHash64(team)), which nothing relies on.
func TeamShard(team string, shards int) int {
	if shards <= 1 {
		return 0
	}
	return int(city.CH64([]byte(team)) % uint64(shards))
}

// ForAnalyzeShard returns a Store on the same pool whose analyzer progress
// (analyzer_windows: LastDone, Generations, MarkBegun, MarkDone and the
// stage marks) is shard a's own, and whose replacing writes of team rows
// (WriteTeamStats, WriteTeamThemes, WriteAnomalies, WriteBelonging) delete
// only the rows of a's teams before inserting, so that two shards never
// delete each other's rows. Closing either Store closes the pool.
func (s *Store) ForAnalyzeShard(a AnalyzeShard) *Store {
	c := *s
	c.shard = a.norm()
	return &c
}

// AnalyzeShard is the analyze shard the Store is scoped to
// (ForAnalyzeShard; {0, 1} without one).
func (s *Store) AnalyzeShard() AnalyzeShard { return s.shard.norm() }

// teamScope is the condition, to AND to a delete of team rows, that keeps
// it to the shard's teams ("" for a single analyzer).
func (s *Store) teamScope() (string, []any) {
	a := s.shard.norm()
	if a.Shards == 1 {
		return "", nil
	}
	return " AND " + teamShardSQL + " = ?", []any{uint64(a.Shards), uint64(a.Shard)}
}

// teamShardSQL is TeamShard in ClickHouse (arguments: shards).
const teamShardSQL = "cityHash64(toString(team)) % ?"

// shardsSQL is the number of analyze shards that wrote an analyzer_windows
// row: its shards column, 0 (rows from before migration 0016) read as 1.
const shardsSQL = "if(shards = 0, 1, shards)"

// OtherShardCounts returns every number of analyze shards other than the
// store's that wrote analyzer_windows rows, with the time of its newest
// row (computed_at, the writer's clock). The analyzer refuses to run while
// another count wrote recently (analyze.ErrShardCountChanged: old shards
// still running) and resumes a count with no progress of its own where
// the newest other count stopped (ShardsLastDone).
func (s *Store) OtherShardCounts(ctx context.Context) (map[int]time.Time, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+shardsSQL+` AS n, max(computed_at) FROM analyzer_windows
		WHERE n != ? GROUP BY n`, uint16(s.AnalyzeShard().Shards))
	if err != nil {
		return nil, fmt.Errorf("read shard counts: %w", err)
	}
	defer rows.Close()
	out := map[int]time.Time{}
	for rows.Next() {
		var (
			n  uint16
			at time.Time
		)
		if err := rows.Scan(&n, &at); err != nil {
			return nil, fmt.Errorf("scan shard counts: %w", err)
		}
		out[int(n)] = at.UTC()
	}
	return out, rows.Err()
}

// ShardsLastDone returns the newest processed window of g of each shard
// of the count shards that has one (LastDone of each of them).
func (s *Store) ShardsLastDone(ctx context.Context, g Granularity, shards int) (map[int]time.Time, error) {
	of := make([]int, shards)
	for i := range of {
		of[i] = i
	}
	return s.lastDone(ctx, g, shards, of)
}

// The stage marks of a sharded day window (rows of analyzer_windows with
// these granularities, see migration 0015).
const (
	// StageDayStats: the shard has written its teams' team_stats and
	// team_themes rows of the day.
	StageDayStats = "day_stats"
	// StageDayNetwork: shard 0 has computed and written the day's
	// organisation network (edges, node_metrics, team_network,
	// graph_metrics, and the rolling window closing that day).
	StageDayNetwork = "day_network"
)

// MarkStage records that the shard finished stage of the day window day.
func (s *Store) MarkStage(ctx context.Context, stage string, day time.Time, now time.Time) error {
	return s.recordWindows(ctx, []WindowDone{{Granularity: Granularity(stage), Start: day}}, true, now)
}

// StageShards returns the analyze shards that finished stage of the day
// window day, under the store's number of shards: the marks written under
// another number are another deployment's, whose shards own other teams.
func (s *Store) StageShards(ctx context.Context, stage string, day time.Time) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT shard FROM analyzer_windows FINAL
		WHERE granularity = ? AND window_start = ? AND `+shardsSQL+` = ? AND done GROUP BY shard`, stage, day, uint16(s.AnalyzeShard().Shards))
	if err != nil {
		return nil, fmt.Errorf("read %s marks: %w", stage, err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var sh uint16
		if err := rows.Scan(&sh); err != nil {
			return nil, fmt.Errorf("scan %s marks: %w", stage, err)
		}
		out[int(sh)] = true
	}
	return out, rows.Err()
}

// IsolatedNode is a person isolated in a day network (node_metrics), as
// the isolation rule reads them.
type IsolatedNode struct {
	Person, Team string
	OutDegree    int
}

// DayNetwork reads back what shard 0 wrote of the day network of day: the
// released team_network rows (every team's) and the isolated persons of
// node_metrics, for the shards that do not compute the organisation
// graph. The values are the ones written (Float64 columns round-trip).
func (s *Store) DayNetwork(ctx context.Context, day time.Time) ([]publish.NetRelease, []IsolatedNode, error) {
	rows, err := s.conn.Query(ctx, `SELECT toString(team), members_active, weight, external_share, ei_index, isolated_members
		FROM team_network FINAL WHERE window_days = 1 AND window_start = ? ORDER BY team`, day)
	if err != nil {
		return nil, nil, fmt.Errorf("read day network teams: %w", err)
	}
	var teams []publish.NetRelease
	for rows.Next() {
		var (
			r        = publish.NetRelease{Window: day, Days: 1}
			senders  uint32
			ext, ei  *float64
			isolated *uint32
		)
		if err := rows.Scan(&r.Team, &senders, &r.Weight, &ext, &ei, &isolated); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan day network teams: %w", err)
		}
		r.Senders, r.ExternalShare, r.EIIndex = float64(senders), orNaN(ext), orNaN(ei)
		if isolated != nil {
			v := int(*isolated)
			r.Isolated = &v
		}
		teams = append(teams, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read day network teams: %w", err)
	}
	rows, err = s.conn.Query(ctx, `SELECT person, toString(team), out_degree FROM node_metrics FINAL
		WHERE window_days = 1 AND window_start = ? AND isolated ORDER BY person`, day)
	if err != nil {
		return nil, nil, fmt.Errorf("read day network isolated: %w", err)
	}
	defer rows.Close()
	var nodes []IsolatedNode
	for rows.Next() {
		var (
			n   IsolatedNode
			out uint32
		)
		if err := rows.Scan(&n.Person, &n.Team, &out); err != nil {
			return nil, nil, fmt.Errorf("scan day network isolated: %w", err)
		}
		n.OutDegree = int(out)
		nodes = append(nodes, n)
	}
	return teams, nodes, rows.Err()
}

// DayStats returns every team's stored team_stats day row of day, all
// published fields, ordered by team: the rows of the other shards that
// the belonging index of a sharded analyzer scores its teams against.
func (s *Store) DayStats(ctx context.Context, day time.Time) ([]TeamStats, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), messages, active_members, scored_messages, mean_compound,
		negative_share, positive_share, after_hours_share, epsilon
		FROM team_stats FINAL WHERE granularity = 'day' AND window_start = ? ORDER BY team`, day)
	if err != nil {
		return nil, fmt.Errorf("read day team_stats: %w", err)
	}
	defer rows.Close()
	var out []TeamStats
	for rows.Next() {
		var (
			r                          = TeamStats{Granularity: Day}
			active                     *uint32
			scored, mean, neg, pos, ah *float64
		)
		if err := rows.Scan(&r.WindowStart, &r.Team, &r.Messages, &active, &scored, &mean, &neg, &pos, &ah, &r.Epsilon); err != nil {
			return nil, fmt.Errorf("scan day team_stats: %w", err)
		}
		if active != nil {
			r.ActiveMembers = *active
		}
		r.WindowStart = r.WindowStart.UTC()
		r.ScoredMessages, r.MeanCompound, r.NegativeShare, r.PositiveShare, r.AfterHoursShare = orNaN(scored), orNaN(mean), orNaN(neg), orNaN(pos), orNaN(ah)
		out = append(out, r)
	}
	return out, rows.Err()
}
