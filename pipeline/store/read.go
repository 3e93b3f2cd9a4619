package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// The reads of the commands (demo summary, person export, privacy report)
// live here, next to the schema they depend on, so cmd holds no SQL. Team
// figures are read from the k-safe views only (team_stats_k, anomalies_k),
// never from messages, so what a command prints passed the publication
// layer like every other team-level output.

// Table is one table or view of the database, as system.tables lists it.
type Table struct {
	Name       string
	Engine     string // MergeTree, View, ...
	EngineFull string // engine with its ORDER BY, TTL and SETTINGS clauses
	Create     string // create_table_query
}

// Tables lists the database's tables and views by name.
func (s *Store) Tables(ctx context.Context) (map[string]Table, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, engine, engine_full, create_table_query FROM system.tables WHERE database = currentDatabase()")
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	out := map[string]Table{}
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Name, &t.Engine, &t.EngineFull, &t.Create); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out[t.Name] = t
	}
	return out, rows.Err()
}

// FormatQuery returns the server's one-line normal form of q
// (formatQuerySingleLine), to compare SQL fragments as the server spells
// them.
func (s *Store) FormatQuery(ctx context.Context, q string) (string, error) {
	var out string
	if err := s.conn.QueryRow(ctx, "SELECT formatQuerySingleLine(?)", q).Scan(&out); err != nil {
		return "", fmt.Errorf("format query: %w", err)
	}
	return out, nil
}

// MessageTotals counts the stored (deduplicated) messages and those with a
// sentiment score.
func (s *Store) MessageTotals(ctx context.Context) (rows, scored uint64, err error) {
	if err := s.conn.QueryRow(ctx, "SELECT count(), countIf(compound IS NOT NULL) FROM messages FINAL").Scan(&rows, &scored); err != nil {
		return 0, 0, fmt.Errorf("count messages: %w", err)
	}
	return rows, scored, nil
}

// TeamSummary is one team's published day figures over all its published
// days: means weighted by the scored messages of each day.
type TeamSummary struct {
	Team          string
	Days          uint64
	Messages      float64
	MeanCompound  float64
	NegativeShare float64
}

// TeamDaySummaries reads, per team, the published day figures (team_stats_k)
// of the days with scored messages, in team order.
func (s *Store) TeamDaySummaries(ctx context.Context) ([]TeamSummary, error) {
	rows, err := s.conn.Query(ctx, `SELECT team, count(), round(sum(messages)),
		round(sum(mean_compound * scored_messages) / sum(scored_messages), 3),
		round(sum(negative_share * scored_messages) / sum(scored_messages), 3)
		FROM team_stats_k WHERE granularity = 'day' AND scored_messages > 0 GROUP BY team ORDER BY team`)
	if err != nil {
		return nil, fmt.Errorf("read team summaries: %w", err)
	}
	defer rows.Close()
	var out []TeamSummary
	for rows.Next() {
		var t TeamSummary
		if err := rows.Scan(&t.Team, &t.Days, &t.Messages, &t.MeanCompound, &t.NegativeShare); err != nil {
			return nil, fmt.Errorf("read team summaries: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PublishedAnomaly is one row of anomalies_k, as the demo prints it.
type PublishedAnomaly struct {
	Day                 time.Time
	Team, Metric        string
	Direction, Severity string
	Value, Expected     float64
	Explanation         string
}

// DayAnomalies reads the published day anomalies at warning or critical
// severity, in time, team and metric order.
func (s *Store) DayAnomalies(ctx context.Context) ([]PublishedAnomaly, error) {
	rows, err := s.conn.Query(ctx, `SELECT toDate(window_start), team, metric, direction, severity, round(value, 3), round(expected, 3), explanation
		FROM anomalies_k WHERE granularity = 'day' AND severity != 'info'
		ORDER BY window_start, team, metric`)
	if err != nil {
		return nil, fmt.Errorf("read anomalies: %w", err)
	}
	defer rows.Close()
	var out []PublishedAnomaly
	for rows.Next() {
		var a PublishedAnomaly
		if err := rows.Scan(&a.Day, &a.Team, &a.Metric, &a.Direction, &a.Severity, &a.Value, &a.Expected, &a.Explanation); err != nil {
			return nil, fmt.Errorf("read anomalies: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ExportPerson calls emit with every stored row that names id in a column
// of PersonTables (the one list of person columns), as a JSONEachRow
// object, and returns the number of rows. Rows are read without FINAL: a
// redelivered event not merged yet is shown as often as it is stored. The
// id travels as a server-side query parameter, not spliced into the
// statement text.
func (s *Store) ExportPerson(ctx context.Context, id string, emit func(pc PersonColumn, row json.RawMessage) error) (int, error) {
	existing, err := s.Tables(ctx)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	pctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"id": id}))
	n := 0
	for _, pc := range PersonTables {
		if _, ok := existing[pc.Table]; !ok {
			continue
		}
		cond := pc.Column + " = {id:String}"
		if pc.Array {
			cond = "has(" + pc.Column + ", {id:String})"
		}
		k, err := s.exportRows(pctx, pc, cond, emit)
		n += k
		if err != nil {
			return n, fmt.Errorf("export from %s.%s: %w", pc.Table, pc.Column, err)
		}
	}
	return n, nil
}

func (s *Store) exportRows(ctx context.Context, pc PersonColumn, cond string, emit func(PersonColumn, json.RawMessage) error) (int, error) {
	rows, err := s.conn.Query(ctx, "SELECT formatRowNoNewline('JSONEachRow', *) FROM "+pc.Table+" WHERE "+cond)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			return n, err
		}
		if err := emit(pc, json.RawMessage(row)); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
