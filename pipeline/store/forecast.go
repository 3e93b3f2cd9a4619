package store

import (
	"context"
	"fmt"
	"time"
)

// Early warning (issue 15, migration 0014, docs/forecast.md): analyze
// forecasts each team's released daily series from published figures
// only, read here with the filters of the published views, writes the
// forecasts to team_forecasts and the warnings to anomalies (detector
// DetectorForecast).

// The series forecast, as team_forecasts.metric names them, and the
// anomalies.metric of their warnings.
const (
	ForecastMeanCompound = "mean_compound" // team_stats.mean_compound
	ForecastBelonging    = "belonging"     // team_belonging.belonging, day rows
	// DetectorForecast is anomalies.detector of an early warning.
	DetectorForecast = "forecast"
	// WarningMetricPrefix prefixes a series' name in anomalies.metric:
	// forecast_mean_compound, forecast_belonging.
	WarningMetricPrefix = "forecast_"
	// WarningMeanCompound and WarningBelonging are the anomalies.metric
	// of the two series' warnings.
	WarningMeanCompound = WarningMetricPrefix + ForecastMeanCompound
	WarningBelonging    = WarningMetricPrefix + ForecastBelonging
)

// ForecastPoint is one published day of a series a forecast reads.
type ForecastPoint struct {
	Day    time.Time
	Team   string
	Metric string // ForecastMeanCompound or ForecastBelonging
	Value  float64
}

// TeamForecast is one team_forecasts row: the forecast made on OriginDay
// of a team's series for Day = OriginDay + Step days.
type TeamForecast struct {
	OriginDay          time.Time
	Team, Metric       string
	Step               int
	Day                time.Time
	Mean, Lower, Upper float64
	Level              float64 // coverage of [Lower, Upper]
	Observed           int     // published days the fit used
	Warn               bool    // the whole interval is past the metric's threshold
}

// ForecastInputs returns the published points of the forecast series in
// the day windows [from, to), ordered by metric, team and day:
//
//   - mean_compound of every team_stats day row that team_stats_k shows,
//     with at least minScored scored messages (a mean of a dozen weekend
//     messages is mostly noise) and a published mean;
//   - belonging of every team_belonging day row that team_belonging_k
//     shows.
//
// The filters are the views' own (the writer does not read the views), so
// the forecast reads exactly what an analyst reads.
func (s *Store) ForecastInputs(ctx context.Context, from, to time.Time, minScored float64) ([]ForecastPoint, error) {
	rows, err := s.conn.Query(ctx, `SELECT metric, team, day, value FROM (
		SELECT 'mean_compound' AS metric, toString(team) AS team, window_start AS day, assumeNotNull(mean_compound) AS value
		FROM team_stats FINAL
		WHERE granularity = 'day' AND window_start >= ? AND window_start < ? AND k_applied >= 5 AND active_members >= k_applied
			AND scored_messages >= ? AND mean_compound IS NOT NULL
		UNION ALL
		SELECT 'belonging', toString(team), window_start, belonging
		FROM team_belonging FINAL
		WHERE window_days = 1 AND window_start >= ? AND window_start < ? AND k_applied >= 5 AND active_members >= k_applied
			AND (window_start, team) GLOBAL IN (
				SELECT window_start, team FROM team_stats FINAL
				WHERE granularity = 'day' AND window_start >= ? AND window_start < ? AND k_applied >= 5 AND active_members >= k_applied))
	ORDER BY metric, team, day`, from, to, minScored, from, to, from, to)
	if err != nil {
		return nil, fmt.Errorf("read forecast inputs: %w", err)
	}
	defer rows.Close()
	var out []ForecastPoint
	for rows.Next() {
		var p ForecastPoint
		if err := rows.Scan(&p.Metric, &p.Team, &p.Day, &p.Value); err != nil {
			return nil, fmt.Errorf("scan forecast inputs: %w", err)
		}
		p.Day = p.Day.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// WriteForecasts replaces the team_forecasts rows of origin day by rows.
func (s *Store) WriteForecasts(ctx context.Context, origin time.Time, rows []TeamForecast, k int, now time.Time) error {
	if err := s.clearIfAny(ctx, "team_forecasts", "origin_day = ?", origin); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO team_forecasts (origin_day, team, metric, step, day, mean, lower, upper,
		level, observed, warn, k_applied, computed_at)`)
	if err != nil {
		return fmt.Errorf("prepare team_forecasts insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, r := range rows {
		if err := b.Append(r.OriginDay, r.Team, r.Metric, uint8(r.Step), r.Day, r.Mean, r.Lower, r.Upper,
			r.Level, uint16(r.Observed), r.Warn, uint16(k), now); err != nil {
			return fmt.Errorf("append team_forecasts row: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d team_forecasts rows: %w", len(rows), err)
	}
	return nil
}

// Forecasts reads the published forecasts (team_forecasts_k) made on the
// origin days in [from, to), ordered by origin day, metric, team and step.
func (s *Store) Forecasts(ctx context.Context, from, to time.Time) ([]TeamForecast, error) {
	rows, err := s.conn.Query(ctx, `SELECT origin_day, toString(team), toString(metric), step, day, mean, lower, upper, level, observed, warn
		FROM team_forecasts_k WHERE origin_day >= ? AND origin_day < ?
		ORDER BY origin_day, metric, team, step`, from, to)
	if err != nil {
		return nil, fmt.Errorf("read forecasts: %w", err)
	}
	defer rows.Close()
	var out []TeamForecast
	for rows.Next() {
		var (
			r        TeamForecast
			step     uint8
			observed uint16
		)
		if err := rows.Scan(&r.OriginDay, &r.Team, &r.Metric, &step, &r.Day, &r.Mean, &r.Lower, &r.Upper, &r.Level, &observed, &r.Warn); err != nil {
			return nil, fmt.Errorf("scan forecasts: %w", err)
		}
		r.OriginDay, r.Day, r.Step, r.Observed = r.OriginDay.UTC(), r.Day.UTC(), int(step), int(observed)
		out = append(out, r)
	}
	return out, rows.Err()
}

// EarlyWarnings reads the early warnings raised on the origin days in
// [from, to): DayAnomaliesBy of detector DetectorForecast.
func (s *Store) EarlyWarnings(ctx context.Context, from, to time.Time) ([]Anomaly, error) {
	return s.DayAnomaliesBy(ctx, DetectorForecast, from, to)
}

// DayAnomaliesBy reads the day anomalies of one detector in [from, to),
// ordered by day, team and metric. It reads the anomalies table, which
// anomalies_k shows unchanged, so that the writer (analyze, alerting a
// warning or a drift that continues from earlier days once) and the
// reviewer can call it.
func (s *Store) DayAnomaliesBy(ctx context.Context, detector string, from, to time.Time) ([]Anomaly, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), toString(metric), value, expected, low, high,
		score, toString(severity), toString(direction), explanation, onset, detected_at
		FROM anomalies FINAL
		WHERE granularity = 'day' AND detector = ? AND window_start >= ? AND window_start < ?
		ORDER BY window_start, team, metric`, detector, from, to)
	if err != nil {
		return nil, fmt.Errorf("read %s anomalies: %w", detector, err)
	}
	defer rows.Close()
	var out []Anomaly
	for rows.Next() {
		a := Anomaly{Granularity: Day, Detector: detector}
		var sev string
		if err := rows.Scan(&a.WindowStart, &a.Team, &a.Metric, &a.Value, &a.Expected, &a.Low, &a.High,
			&a.Score, &sev, &a.Direction, &a.Explanation, &a.Onset, &a.DetectedAt); err != nil {
			return nil, fmt.Errorf("scan %s anomalies: %w", detector, err)
		}
		a.WindowStart, a.Onset, a.DetectedAt, a.Severity = a.WindowStart.UTC(), a.Onset.UTC(), a.DetectedAt.UTC(), Severity(sev)
		out = append(out, a)
	}
	return out, rows.Err()
}
