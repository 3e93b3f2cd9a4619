package store

import (
	"context"
	"fmt"
	"time"
)

// The belonging index (issue 15, migration 0012): analyze computes it
// from published figures only, read here with the filters of the
// published views, and writes team_belonging.

// BelongingInput is what is published of one team-day that the belonging
// index reads: its team_stats day row as team_stats_k shows it, and its
// day team_network row as team_network_k shows it (HasNetwork false when
// there is none). Figures published as NULL are NaN.
type BelongingInput struct {
	Day             time.Time
	Team            string
	ActiveMembers   uint32
	Messages        float64
	Scored          float64
	MeanCompound    float64
	NegativeShare   float64
	AfterHoursShare float64

	HasNetwork bool
	NetSenders uint32  // team_network.members_active
	Weight     float64 // team_network.weight
	EIIndex    float64
	Isolated   float64 // team_network.isolated_members; NaN when not published
}

// TeamBelonging is one team_belonging row: a team's belonging index over a
// day (Days 1) or a Monday-Sunday week (Days 7, WindowStart the Monday).
type TeamBelonging struct {
	WindowStart time.Time
	WindowDays  int
	Team        string
	// Belonging is the index on 0..100: 50 + 10 Score, clamped.
	Belonging float64
	// Score is the weighted mean of the components, in standard
	// deviations from usual (higher: more belonging).
	Score float64
	// The components (NaN: not computed).
	Sentiment, Inclusion, Load float64
	// Drivers holds, per figure a component is built from, its value
	// ("<figure>"), the team's usual value ("<figure>.usual") and its
	// scores against the team's own baseline ("<figure>.team_z") and
	// against the organisation ("<figure>.org_z"), when known.
	Drivers map[string]float64
	// Days is the number of daily rows a week averages (1 for a day).
	Days int
	// BaselineDays is the length of the team's own baseline.
	BaselineDays int
	// ActiveMembers is the published senders of the team-day (of a week:
	// the fewest of its days).
	ActiveMembers uint32
	Explanation   string
}

// BelongingInputs returns the published inputs of the belonging index of
// the day windows in [from, to), ordered by day and team: every team_stats
// day row that team_stats_k shows, with the team's day team_network row
// that team_network_k shows, if any. The filters are the views' own (the
// writer does not read the views), so the index reads exactly what an
// analyst reads.
func (s *Store) BelongingInputs(ctx context.Context, from, to time.Time) ([]BelongingInput, error) {
	rows, err := s.conn.Query(ctx, `SELECT st.window_start, toString(st.team), st.active_members, st.messages,
		st.scored_messages, st.mean_compound, st.negative_share, st.after_hours_share,
		nt.members_active, nt.weight, nt.ei_index, nt.isolated_members
	FROM (SELECT window_start, team, active_members, messages, scored_messages, mean_compound, negative_share, after_hours_share
		FROM team_stats FINAL
		WHERE granularity = 'day' AND window_start >= ? AND window_start < ? AND k_applied >= 5 AND active_members >= k_applied) AS st
	GLOBAL LEFT JOIN (SELECT window_start, team, members_active, weight, ei_index, isolated_members
		FROM team_network FINAL
		WHERE window_days = 1 AND window_start >= ? AND window_start < ? AND members_active >= greatest(k_applied, 5)) AS nt
		ON nt.window_start = st.window_start AND nt.team = st.team
	ORDER BY st.window_start, st.team
	SETTINGS join_use_nulls = 1`, from, to, from, to)
	if err != nil {
		return nil, fmt.Errorf("read belonging inputs: %w", err)
	}
	defer rows.Close()
	var out []BelongingInput
	for rows.Next() {
		var (
			in                    BelongingInput
			active                *uint32
			scored, mean, neg, ah *float64
			netSenders, isolated  *uint32
			weight, ei            *float64
		)
		if err := rows.Scan(&in.Day, &in.Team, &active, &in.Messages, &scored, &mean, &neg, &ah,
			&netSenders, &weight, &ei, &isolated); err != nil {
			return nil, fmt.Errorf("scan belonging inputs: %w", err)
		}
		in.Day = in.Day.UTC()
		if active != nil {
			in.ActiveMembers = *active
		}
		in.Scored, in.MeanCompound, in.NegativeShare, in.AfterHoursShare = orNaN(scored), orNaN(mean), orNaN(neg), orNaN(ah)
		in.EIIndex, in.Isolated = orNaN(ei), orNaN(nil)
		if netSenders != nil {
			in.HasNetwork, in.NetSenders, in.Weight = true, *netSenders, orZero(weight)
			if isolated != nil {
				in.Isolated = float64(*isolated)
			}
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// WriteBelonging replaces the team_belonging rows of the day window day
// and, when week is not zero, of the week starting on week (a Monday), by
// rows.
func (s *Store) WriteBelonging(ctx context.Context, day, week time.Time, rows []TeamBelonging, k int, now time.Time) error {
	if err := s.clearIfAny(ctx, "team_belonging", "window_days = 1 AND window_start = ?", day); err != nil {
		return err
	}
	if !week.IsZero() {
		if err := s.clearIfAny(ctx, "team_belonging", "window_days = 7 AND window_start = ?", week); err != nil {
			return err
		}
	}
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO team_belonging (window_start, window_days, team, belonging, belonging_z,
		sentiment_z, inclusion_z, load_z, drivers, days, baseline_days, active_members, explanation, k_applied, computed_at)`)
	if err != nil {
		return fmt.Errorf("prepare team_belonging insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, r := range rows {
		drivers := r.Drivers
		if drivers == nil {
			drivers = map[string]float64{}
		}
		if err := b.Append(r.WindowStart, uint16(r.WindowDays), r.Team, r.Belonging, r.Score,
			nullable(r.Sentiment), nullable(r.Inclusion), nullable(r.Load), drivers, uint8(r.Days),
			uint16(r.BaselineDays), r.ActiveMembers, r.Explanation, uint16(k), now); err != nil {
			return fmt.Errorf("append team_belonging row: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d team_belonging rows: %w", len(rows), err)
	}
	return nil
}
