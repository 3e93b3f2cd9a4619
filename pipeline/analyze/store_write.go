package analyze

import (
	"context"
	"fmt"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
)

// graphRelease is the published graph_metrics row of a window: a noisy
// count of the window's senders, and the structural indices only when that
// noisy count is at least minGraphNodes (nil below).
type graphRelease struct {
	nodes                                              float64
	modularity, formalModularity, nmi, meanBestJaccard *float64
}

// minGraphNodes is the smallest window, by its noisy count of senders,
// whose organisation-wide structural indices (modularity, NMI, mean best
// Jaccard) are published. They are not sums one person adds to, so no
// sensitivity bounds them and they carry no noise; the gate is on the
// noisy count so that whether they appear says nothing exact. This is a
// documented limit (docs/privacy.md), not a guarantee.
const minGraphNodes = 50

func releaseGraph(g network.GraphMetrics, nodes float64) graphRelease {
	r := graphRelease{nodes: nodes}
	if nodes >= minGraphNodes {
		r.modularity, r.formalModularity = &g.Modularity, &g.FormalModularity
		r.nmi, r.meanBestJaccard = &g.TeamCommunityNMI, &g.MeanBestJaccard
	}
	return r
}

// writeNetwork replaces the network rows of one window (start, days): edges
// and node_metrics (person-level, never published), the released
// team_network rows and graph_metrics. Each table's old rows of the window
// are deleted first, so a person erased or a team fallen below k since the
// last run leaves nothing behind.
func (d db) writeNetwork(ctx context.Context, start time.Time, days int, res *network.Result,
	teams []publish.NetRelease, graph graphRelease, k int, eps float64, now time.Time) error { // eps: the window's releases so far
	where := "window_days = ? AND window_start = ?"
	wd := uint16(days)
	for _, t := range []string{"edges", "node_metrics", "team_network", "graph_metrics"} {
		if err := d.clearIfAny(ctx, t, where, wd, start); err != nil {
			return err
		}
	}
	team := make(map[string]string, len(res.Nodes))
	for _, n := range res.Nodes {
		team[n.Person] = n.Team
	}
	if len(res.Edges) > 0 {
		b, err := d.conn.PrepareBatch(ctx, d.q(`INSERT INTO {db}.edges (window_start, window_days, src, dst, src_team, dst_team, weight, interactions, computed_at)`))
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
		b, err := d.conn.PrepareBatch(ctx, d.q(`INSERT INTO {db}.node_metrics (window_start, window_days, person, team, in_degree, out_degree,
			in_strength, out_strength, reciprocity, internal_network_size, cross_team_breadth, pagerank, betweenness, community, isolated, computed_at)`))
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
		b, err := d.conn.PrepareBatch(ctx, d.q(`INSERT INTO {db}.team_network (window_start, window_days, team, members_active, weight,
			external_share, ei_index, isolated_members, k_applied, epsilon, computed_at)`))
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
	if err := d.conn.Exec(ctx, d.q(`INSERT INTO {db}.graph_metrics (window_start, window_days, nodes, modularity,
		formal_modularity, team_community_nmi, mean_best_jaccard, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		start, wd, graph.nodes, graph.modularity, graph.formalModularity, graph.nmi, graph.meanBestJaccard, now); err != nil {
		return fmt.Errorf("insert graph_metrics: %w", err)
	}
	return nil
}

// pastDays is one person's record over the working days before a day
// window: on how many they were a node of the day network, and on how
// many of those isolated.
type pastDays struct{ active, isolated int }

// isolationHistory reads, for every person, their pastDays over the
// working days (Monday to Friday) of the day windows [day-histDays, day):
// the node_metrics rows with window_days = 1 in that range, a range of the
// table's key (window_days, window_start, person). It reads histDays days
// of rows whatever the length of the stored history, so a catch-up over n
// days costs n times one day's read. The day itself is not read: its
// isolated persons come from the network just computed (personHistories).
// The query names no person; every person of those days comes back.
func (d db) isolationHistory(ctx context.Context, day time.Time, histDays int) (map[string]pastDays, error) {
	q := d.q(`SELECT person, count() AS active, countIf(isolated) AS isolated
	FROM {db}.node_metrics FINAL
	WHERE window_days = 1 AND window_start >= ? AND window_start < ? AND toDayOfWeek(window_start, 0, 'UTC') <= 5
	GROUP BY person`)
	rows, err := d.conn.Query(ctx, q, day.AddDate(0, 0, -histDays), day)
	if err != nil {
		return nil, fmt.Errorf("read isolation history: %w", err)
	}
	defer rows.Close()
	out := map[string]pastDays{}
	for rows.Next() {
		var (
			person         string
			active, isoDay uint64
		)
		if err := rows.Scan(&person, &active, &isoDay); err != nil {
			return nil, fmt.Errorf("scan isolation history: %w", err)
		}
		out[person] = pastDays{active: int(active), isolated: int(isoDay)}
	}
	return out, rows.Err()
}

// storedAnomalies returns the keys of the anomalies already stored for the
// windows of g in [from, to).
func (d db) storedAnomalies(ctx context.Context, g Granularity, from, to time.Time) (map[string]bool, error) {
	rows, err := d.conn.Query(ctx, d.q(`SELECT window_start, toString(team), toString(metric) FROM {db}.anomalies FINAL
		WHERE granularity = ? AND window_start >= ? AND window_start < ?`), string(g), from, to)
	if err != nil {
		return nil, fmt.Errorf("read stored anomalies: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var a Anomaly
		if err := rows.Scan(&a.WindowStart, &a.Team, &a.Metric); err != nil {
			return nil, fmt.Errorf("scan stored anomalies: %w", err)
		}
		a.Granularity = g
		out[a.Key()] = true
	}
	return out, rows.Err()
}

// writeAnomalies replaces the anomalies of g in [from, to).
func (d db) writeAnomalies(ctx context.Context, g Granularity, from, to time.Time, as []Anomaly) error {
	if err := d.clearIfAny(ctx, "anomalies", "granularity = ? AND window_start >= ? AND window_start < ?", string(g), from, to); err != nil {
		return err
	}
	if len(as) == 0 {
		return nil
	}
	b, err := d.conn.PrepareBatch(ctx, d.q(`INSERT INTO {db}.anomalies (window_start, granularity, team, metric, value, expected, low, high,
		score, severity, direction, detector, detected_at)`))
	if err != nil {
		return fmt.Errorf("prepare anomalies insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, a := range as {
		if err := b.Append(a.WindowStart, string(a.Granularity), a.Team, a.Metric, a.Value, a.Expected, a.Low, a.High,
			a.Score, string(a.Severity), a.Direction, a.Detector, a.DetectedAt); err != nil {
			return fmt.Errorf("append anomaly: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d anomalies: %w", len(as), err)
	}
	return nil
}

// windowDone is one analyzer_windows row.
type windowDone struct {
	g          Granularity
	start      time.Time
	generation uint32
	teams      uint32
	suppressed uint32
	anomalies  uint32
}

func (d db) markDone(ctx context.Context, ws []windowDone, now time.Time) error {
	if len(ws) == 0 {
		return nil
	}
	b, err := d.conn.PrepareBatch(ctx, d.q(`INSERT INTO {db}.analyzer_windows (granularity, window_start, generation, teams, suppressed, anomalies, computed_at)`))
	if err != nil {
		return fmt.Errorf("prepare progress insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, w := range ws {
		if err := b.Append(string(w.g), w.start, w.generation, w.teams, w.suppressed, w.anomalies, now); err != nil {
			return fmt.Errorf("append progress: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	return nil
}
