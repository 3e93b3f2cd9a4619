package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

// The reads of `commpulse report` (issue 15, package pipeline/report).
// Every one of them reads the published views only (team_stats_k,
// team_belonging_k, team_network_k, team_themes_k, anomalies_k,
// anomaly_reviews_k), never a table, so the report runs as the analyst
// role, which may read nothing else (roles.go), and shows nothing the
// publication layer did not release. Each returns rows with window start
// in [from, to); the report adds or averages them, it never asks the
// server for a figure the views do not hold row by row.

// Early warnings are anomalies rows written by the forecast detector
// (package forecast wired into analyze): detector DetectorForecast, metric
// WarningMeanCompound or WarningBelonging, the explanation in the explanation column. ReportWarnings
// reads them and ReportAnomalies leaves them out, so a warning is shown
// once, as a warning.
const forecastWarningFilter = "detector = '" + DetectorForecast + "' AND metric IN ('" + WarningMeanCompound + "', '" + WarningBelonging + "')"

// ReportDay is one team_stats_k day row: what a team published of a day.
// MeanCompound and NegativeShare are NaN when published as NULL.
type ReportDay struct {
	Day           time.Time
	Team          string
	Messages      float64
	ActiveMembers uint32
	MeanCompound  float64
	NegativeShare float64
}

// ReportBelongingDay is one team_belonging_k day row.
type ReportBelongingDay struct {
	Day         time.Time
	Team        string
	Belonging   float64 // 0..100
	Score       float64 // belonging_z
	Explanation string
}

// ReportNetwork is one team_network_k row: a team's published network
// figures over a window of Days days (1, or the rolling window). Shares
// are NaN when published as NULL. No row says which team talks to which:
// team_network_k publishes no team-pair figure.
type ReportNetwork struct {
	WindowStart   time.Time
	Days          int
	Team          string
	MembersActive uint32
	ExternalShare float64
	EIIndex       float64
}

// ReportTheme is one team_themes_k row: a theme's published message count
// of a team-day.
type ReportTheme struct {
	Day      time.Time
	Team     string
	Theme    string
	Messages float64
}

// ReportAnomaly is one anomalies_k row with its current review as
// anomaly_reviews_k shows it (State ReviewNew without one). The view shows
// no reviewer and no time of review, so neither is here.
type ReportAnomaly struct {
	Anomaly
	State  ReviewState
	Reason DismissReason
}

func reportRange(from, to time.Time) []any { return []any{from.UTC(), to.UTC()} }

func nanIfNull(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// ReportStats returns the team_stats_k day rows of [from, to), by team and
// day.
func (s *Store) ReportStats(ctx context.Context, from, to time.Time) ([]ReportDay, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), messages, ifNull(active_members, 0), mean_compound, negative_share
		FROM team_stats_k WHERE granularity = 'day' AND window_start >= ? AND window_start < ?
		ORDER BY team, window_start`, reportRange(from, to)...)
	if err != nil {
		return nil, fmt.Errorf("report: read team_stats_k: %w", err)
	}
	defer rows.Close()
	var out []ReportDay
	for rows.Next() {
		var (
			d        ReportDay
			mean, ng *float64
		)
		if err := rows.Scan(&d.Day, &d.Team, &d.Messages, &d.ActiveMembers, &mean, &ng); err != nil {
			return nil, fmt.Errorf("report: scan team_stats_k: %w", err)
		}
		d.Day, d.MeanCompound, d.NegativeShare = d.Day.UTC(), nanIfNull(mean), nanIfNull(ng)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: read team_stats_k: %w", err)
	}
	return out, nil
}

// ReportBelonging returns the team_belonging_k day rows of [from, to), by
// team and day.
func (s *Store) ReportBelonging(ctx context.Context, from, to time.Time) ([]ReportBelongingDay, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), belonging, belonging_z, explanation
		FROM team_belonging_k WHERE window_days = 1 AND window_start >= ? AND window_start < ?
		ORDER BY team, window_start`, reportRange(from, to)...)
	if err != nil {
		return nil, fmt.Errorf("report: read team_belonging_k: %w", err)
	}
	defer rows.Close()
	var out []ReportBelongingDay
	for rows.Next() {
		var b ReportBelongingDay
		if err := rows.Scan(&b.Day, &b.Team, &b.Belonging, &b.Score, &b.Explanation); err != nil {
			return nil, fmt.Errorf("report: scan team_belonging_k: %w", err)
		}
		b.Day = b.Day.UTC()
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: read team_belonging_k: %w", err)
	}
	return out, nil
}

// ReportNetworks returns the team_network_k rows (day and rolling windows)
// with window start in [from, to), by team, window length and start.
func (s *Store) ReportNetworks(ctx context.Context, from, to time.Time) ([]ReportNetwork, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, window_days, toString(team), members_active, external_share, ei_index
		FROM team_network_k WHERE window_start >= ? AND window_start < ?
		ORDER BY team, window_days, window_start`, reportRange(from, to)...)
	if err != nil {
		return nil, fmt.Errorf("report: read team_network_k: %w", err)
	}
	defer rows.Close()
	var out []ReportNetwork
	for rows.Next() {
		var (
			n       ReportNetwork
			days    uint16
			ext, ei *float64
		)
		if err := rows.Scan(&n.WindowStart, &days, &n.Team, &n.MembersActive, &ext, &ei); err != nil {
			return nil, fmt.Errorf("report: scan team_network_k: %w", err)
		}
		n.WindowStart, n.Days, n.ExternalShare, n.EIIndex = n.WindowStart.UTC(), int(days), nanIfNull(ext), nanIfNull(ei)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: read team_network_k: %w", err)
	}
	return out, nil
}

// ReportThemes returns the team_themes_k rows of [from, to), by team,
// theme and day.
func (s *Store) ReportThemes(ctx context.Context, from, to time.Time) ([]ReportTheme, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), toString(theme), messages
		FROM team_themes_k WHERE window_start >= ? AND window_start < ?
		ORDER BY team, theme, window_start`, reportRange(from, to)...)
	if err != nil {
		return nil, fmt.Errorf("report: read team_themes_k: %w", err)
	}
	defer rows.Close()
	var out []ReportTheme
	for rows.Next() {
		var th ReportTheme
		if err := rows.Scan(&th.Day, &th.Team, &th.Theme, &th.Messages); err != nil {
			return nil, fmt.Errorf("report: scan team_themes_k: %w", err)
		}
		th.Day = th.Day.UTC()
		out = append(out, th)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: read team_themes_k: %w", err)
	}
	return out, nil
}

// ReportAnomalies returns the anomalies_k rows of [from, to) that are not
// early warnings, with their review state, by window, team and metric.
func (s *Store) ReportAnomalies(ctx context.Context, from, to time.Time) ([]ReportAnomaly, error) {
	return s.reportAnomalies(ctx, "NOT ("+forecastWarningFilter+")", from, to)
}

// ReportWarnings returns the early warnings of [from, to): the anomalies_k
// rows of the forecast detector (DetectorForecast, metrics
// WarningMeanCompound and WarningBelonging), with their review state, by
// window, team and metric.
func (s *Store) ReportWarnings(ctx context.Context, from, to time.Time) ([]ReportAnomaly, error) {
	return s.reportAnomalies(ctx, forecastWarningFilter, from, to)
}

// reportAnomalies joins anomalies_k with anomaly_reviews_k on the key
// columns, both filtered by the period. The join runs where the query is
// sent (both sides are views), as reviewedSelect's does.
func (s *Store) reportAnomalies(ctx context.Context, filter string, from, to time.Time) ([]ReportAnomaly, error) {
	const period = "window_start >= ? AND window_start < ?"
	q := `SELECT a.window_start, toString(a.granularity), toString(a.team), toString(a.metric),
		a.value, a.expected, a.low, a.high, a.score, toString(a.severity), toString(a.direction), toString(a.detector),
		a.explanation, a.detected_at, r.reviewed, toString(r.state), toString(r.reason)
	FROM (SELECT * FROM anomalies_k WHERE ` + period + ` AND (` + filter + `)) AS a
	LEFT JOIN (SELECT window_start, granularity, team, metric, state, reason, toUInt8(1) AS reviewed
		FROM anomaly_reviews_k WHERE ` + period + `) AS r
	ON r.granularity = a.granularity AND r.team = a.team AND r.metric = a.metric AND r.window_start = a.window_start
	ORDER BY a.window_start, a.team, a.metric, a.granularity`
	rows, err := s.conn.Query(ctx, q, twice(reportRange(from, to))...)
	if err != nil {
		return nil, fmt.Errorf("report: read anomalies_k: %w", err)
	}
	defer rows.Close()
	var out []ReportAnomaly
	for rows.Next() {
		var (
			ra                 ReportAnomaly
			a                  = &ra.Anomaly
			g, sev, state, rsn string
			reviewed           uint8
		)
		if err := rows.Scan(&a.WindowStart, &g, &a.Team, &a.Metric, &a.Value, &a.Expected, &a.Low, &a.High, &a.Score,
			&sev, &a.Direction, &a.Detector, &a.Explanation, &a.DetectedAt, &reviewed, &state, &rsn); err != nil {
			return nil, fmt.Errorf("report: scan anomalies_k: %w", err)
		}
		a.WindowStart, a.DetectedAt = a.WindowStart.UTC(), a.DetectedAt.UTC()
		a.Granularity, a.Severity = Granularity(g), Severity(sev)
		ra.State, ra.Reason = ReviewNew, ReasonNone
		if reviewed == 1 {
			ra.State, ra.Reason = ReviewState(state), DismissReason(rsn)
		}
		out = append(out, ra)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: read anomalies_k: %w", err)
	}
	return out, nil
}
