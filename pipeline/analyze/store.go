package analyze

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"commpulse/network"
	"commpulse/pipeline/publish"
)

// TeamStats is one published team_stats row (publish.DayRelease for days;
// for hours only Messages, the sentiment fields NaN): what detectors,
// alerts and dashboards see. Figures are noisy, hence real-valued.
type TeamStats struct {
	WindowStart     time.Time
	Granularity     Granularity
	Team            string
	Messages        float64
	ActiveMembers   uint32
	ScoredMessages  float64
	MeanCompound    float64
	NegativeShare   float64
	PositiveShare   float64
	AfterHoursShare float64
	// Epsilon is the privacy loss of the window's releases so far (written
	// to team_stats.epsilon).
	Epsilon float64
}

// db runs the analyzer's queries against one database.
type db struct {
	conn driver.Conn
	name string
}

func (d db) q(s string) string { return strings.ReplaceAll(s, "{db}", d.name) }

// earliestMessage returns the occurred_at of the oldest stored message, or
// ok=false when there is none.
func (d db) earliestMessage(ctx context.Context) (time.Time, bool, error) {
	var (
		n  uint64
		at time.Time
	)
	if err := d.conn.QueryRow(ctx, d.q("SELECT count(), min(occurred_at) FROM {db}.messages")).Scan(&n, &at); err != nil {
		return time.Time{}, false, fmt.Errorf("read earliest message: %w", err)
	}
	return at, n > 0, nil
}

// generations returns, for each window of g in [from, to) that was
// released before, the generation its next release takes (the stored one
// plus one). Windows never released are absent: their release is
// generation 0. A window whose release was interrupted before it was
// marked done keeps its generation, so the retry republishes the same
// figures.
func (d db) generations(ctx context.Context, g Granularity, from, to time.Time) (map[time.Time]uint32, error) {
	rows, err := d.conn.Query(ctx, d.q(`SELECT window_start, generation FROM {db}.analyzer_windows FINAL
		WHERE granularity = ? AND window_start >= ? AND window_start < ?`), string(g), from, to)
	if err != nil {
		return nil, fmt.Errorf("read release generations: %w", err)
	}
	defer rows.Close()
	out := map[time.Time]uint32{}
	for rows.Next() {
		var (
			w   time.Time
			gen uint32
		)
		if err := rows.Scan(&w, &gen); err != nil {
			return nil, fmt.Errorf("scan release generation: %w", err)
		}
		out[w.UTC()] = gen + 1
	}
	return out, rows.Err()
}

// lastDone returns the newest processed window of g, or ok=false.
func (d db) lastDone(ctx context.Context, g Granularity) (time.Time, bool, error) {
	var (
		n  uint64
		at time.Time
	)
	err := d.conn.QueryRow(ctx, d.q("SELECT count(), max(window_start) FROM {db}.analyzer_windows FINAL WHERE granularity = ?"), string(g)).Scan(&n, &at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read analyzer progress: %w", err)
	}
	return at, n > 0, nil
}

// dayCells reads the exact, contribution-bounded input of every team-day
// in [from, to) (whole days) from the deduplicated messages, for every team
// including those below k (publish decides). A sender's weight is bounded
// per day over all teams: volume figures count each of their messages at
// min(1, capVolume/n), sentiment figures at min(1, capSentiment/scored).
func (d db) dayCells(ctx context.Context, from, to time.Time, capVolume, capSentiment float64, workStart, workEnd int) ([]publish.DayCell, error) {
	q := d.q(`SELECT ws, tm, toUInt32(count()) AS senders,
		sum(n * wv), sum(ah * wv), sum(sc * wsn), sum(sumc * wsn), sum(neg * wsn), sum(pos * wsn)
	FROM (
		SELECT ws, tm, n, ah, sc, sumc, neg, pos,
			least(1.0, ? / sum(n) OVER (PARTITION BY ws, sender)) AS wv,
			least(1.0, ? / greatest(sum(sc) OVER (PARTITION BY ws, sender), 1)) AS wsn
		FROM (
			SELECT toDateTime(toStartOfDay(occurred_at, 'UTC'), 'UTC') AS ws, toString(team) AS tm, sender,
				count() AS n, countIf(` + afterHoursSQL(workStart, workEnd) + `) AS ah,
				countIf(compound IS NOT NULL) AS sc, sum(ifNull(toFloat64(compound), 0)) AS sumc,
				countIf(label = 'negative' AND compound IS NOT NULL) AS neg, countIf(label = 'positive' AND compound IS NOT NULL) AS pos
			FROM {db}.messages FINAL
			WHERE occurred_at >= ? AND occurred_at < ? AND team != ''
			GROUP BY ws, tm, sender))
	GROUP BY ws, tm ORDER BY ws, tm`)
	rows, err := d.conn.Query(ctx, q, capVolume, capSentiment, from, to)
	if err != nil {
		return nil, fmt.Errorf("aggregate team days %s: %w", from.Format(time.RFC3339), err)
	}
	defer rows.Close()
	var out []publish.DayCell
	for rows.Next() {
		var (
			c       publish.DayCell
			senders uint32
		)
		if err := rows.Scan(&c.Window, &c.Team, &senders, &c.Messages, &c.AfterHours, &c.Scored, &c.SumCompound, &c.Negative, &c.Positive); err != nil {
			return nil, fmt.Errorf("scan team days: %w", err)
		}
		c.Senders = int(senders)
		out = append(out, c)
	}
	return out, rows.Err()
}

// hourCells reads the exact input of every team-hour in [from, to): its
// senders and its messages, each sender's first capVolume messages of the
// UTC day counting (a prefix rule, so an hour's figure does not change as
// later hours of its day arrive, and one person's weight over all the
// hours of a day is at most capVolume). The query reads whole days so the
// prefix is known for a chunk that starts mid-day.
func (d db) hourCells(ctx context.Context, from, to time.Time, capVolume float64) ([]publish.HourCell, error) {
	q := d.q(`SELECT hs, tm, toUInt32(count()) AS senders, sum(least(toFloat64(n), greatest(0.0, ? - before)))
	FROM (
		SELECT hs, tm, n, ifNull(sum(n) OVER (PARTITION BY toStartOfDay(hs, 'UTC'), sender ORDER BY hs, tm
			ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
		FROM (
			SELECT toDateTime(toStartOfHour(occurred_at, 'UTC'), 'UTC') AS hs, toString(team) AS tm, sender, count() AS n
			FROM {db}.messages FINAL
			WHERE occurred_at >= toStartOfDay(toDateTime(?, 'UTC'), 'UTC') AND occurred_at < ? AND team != ''
			GROUP BY hs, tm, sender))
	WHERE hs >= ?
	GROUP BY hs, tm ORDER BY hs, tm`)
	rows, err := d.conn.Query(ctx, q, capVolume, from, to, from)
	if err != nil {
		return nil, fmt.Errorf("aggregate team hours %s: %w", from.Format(time.RFC3339), err)
	}
	defer rows.Close()
	var out []publish.HourCell
	for rows.Next() {
		var (
			c       publish.HourCell
			senders uint32
		)
		if err := rows.Scan(&c.Window, &c.Team, &senders, &c.Messages); err != nil {
			return nil, fmt.Errorf("scan team hours: %w", err)
		}
		c.Senders = int(senders)
		out = append(out, c)
	}
	return out, rows.Err()
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func nullable(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// statsHistory returns the stored team_stats rows of g before 'before', in
// window order: the history detectors are rebuilt from.
func (d db) statsHistory(ctx context.Context, g Granularity, before time.Time) ([]TeamStats, error) {
	rows, err := d.conn.Query(ctx, d.q(`SELECT window_start, toString(team), messages, scored_messages, mean_compound, negative_share
		FROM {db}.team_stats FINAL WHERE granularity = ? AND window_start < ? ORDER BY window_start, team`), string(g), before)
	if err != nil {
		return nil, fmt.Errorf("read team_stats history: %w", err)
	}
	defer rows.Close()
	var out []TeamStats
	for rows.Next() {
		var (
			s                 TeamStats
			scored, mean, neg *float64
		)
		if err := rows.Scan(&s.WindowStart, &s.Team, &s.Messages, &scored, &mean, &neg); err != nil {
			return nil, fmt.Errorf("scan team_stats history: %w", err)
		}
		s.Granularity, s.ScoredMessages, s.MeanCompound, s.NegativeShare = g, orZero(scored), orNaN(mean), orNaN(neg)
		out = append(out, s)
	}
	return out, rows.Err()
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// networkPoint is one published team_network value of a day window, with
// the messages the team published that day (its team_stats row; 0
// without one).
type networkPoint struct {
	WindowStart time.Time
	Team        string
	External    float64
	Weight      float64
	Messages    float64
}

func (d db) networkHistory(ctx context.Context, before time.Time) ([]networkPoint, error) {
	rows, err := d.conn.Query(ctx, d.q(`SELECT n.window_start, toString(n.team), n.external_share, n.weight, s.messages
		FROM {db}.team_network AS n FINAL
		LEFT JOIN (SELECT window_start, team, messages FROM {db}.team_stats FINAL WHERE granularity = 'day') AS s
			ON s.window_start = n.window_start AND s.team = n.team
		WHERE n.window_days = 1 AND n.window_start < ? ORDER BY n.window_start, n.team`), before)
	if err != nil {
		return nil, fmt.Errorf("read team_network history: %w", err)
	}
	defer rows.Close()
	var out []networkPoint
	for rows.Next() {
		var (
			p   networkPoint
			ext *float64
		)
		if err := rows.Scan(&p.WindowStart, &p.Team, &ext, &p.Weight, &p.Messages); err != nil {
			return nil, fmt.Errorf("scan team_network history: %w", err)
		}
		p.External = orNaN(ext)
		out = append(out, p)
	}
	return out, rows.Err()
}

// clearIfAny deletes the rows of table matching where (with args) when any
// exist. The count first keeps the common case (a window never written)
// free of mutations.
func (d db) clearIfAny(ctx context.Context, table, where string, args ...any) error {
	var n uint64
	if err := d.conn.QueryRow(ctx, d.q("SELECT count() FROM {db}."+table+" WHERE "+where), args...).Scan(&n); err != nil {
		return fmt.Errorf("count %s rows to replace: %w", table, err)
	}
	if n == 0 {
		return nil
	}
	// Asynchronous: a lightweight DELETE masks the rows of the parts that
	// exist when it is issued, never those of parts inserted after it, so
	// the insert that follows is safe without waiting (waiting cost about a
	// second per statement on the test server).
	if err := d.conn.Exec(ctx, d.q("DELETE FROM {db}."+table+" WHERE "+where+" SETTINGS lightweight_deletes_sync = 0"), args...); err != nil {
		return fmt.Errorf("delete %s rows to replace: %w", table, err)
	}
	return nil
}

// writeTeamStats replaces the team_stats rows of g in [from, to) by the
// released rows.
func (d db) writeTeamStats(ctx context.Context, g Granularity, from, to time.Time, rows []TeamStats, k int, now time.Time) error {
	if err := d.clearIfAny(ctx, "team_stats", "granularity = ? AND window_start >= ? AND window_start < ?", string(g), from, to); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	b, err := d.conn.PrepareBatch(ctx, d.q(`INSERT INTO {db}.team_stats (window_start, granularity, team, messages, active_members,
		scored_messages, mean_compound, negative_share, positive_share, after_hours_share, k_applied, epsilon, computed_at)`))
	if err != nil {
		return fmt.Errorf("prepare team_stats insert: %w", err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	for _, s := range rows {
		scored, active := nullable(s.ScoredMessages), &s.ActiveMembers
		if g == Hour {
			scored, active = nil, nil // not published per hour
		}
		if err := b.Append(s.WindowStart, string(g), s.Team, s.Messages, active, scored,
			nullable(s.MeanCompound), nullable(s.NegativeShare), nullable(s.PositiveShare),
			nullable(s.AfterHoursShare), uint16(k), s.Epsilon, now); err != nil {
			return fmt.Errorf("append team_stats row: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d team_stats rows: %w", len(rows), err)
	}
	return nil
}

// teamWeight is one sender's outgoing pair-messages of a window under one
// team: the team the sender's messages carried (the directory at ingest
// time), split by whether each recipient's recorded team was the same.
type teamWeight struct {
	sender, team       string
	internal, external uint64
}

// teamWeights reads, per sender and team of [from, to), the outgoing
// pair-messages to members and to non-members, classified by the teams
// recorded on each message (messages.team and recipient_teams), never by
// a window-wide team map: with one, a person's last day could decide their
// team for the whole window, and so how every colleague's messages to them
// are classified, which no bound on that person's own messages controls.
// Rows come ordered by sender.
func (d db) teamWeights(ctx context.Context, from, to time.Time) ([]teamWeight, error) {
	// LEFT ARRAY JOIN keeps a sender whose messages had no recipient: they
	// still count as a sender of their team.
	rows, err := d.conn.Query(ctx, d.q(`SELECT sender, toString(team) AS tm,
		countIf(dst != sender AND dst != '' AND toString(rt) = tm) AS internal,
		countIf(dst != sender AND dst != '' AND toString(rt) != tm) AS external
	FROM {db}.messages FINAL LEFT ARRAY JOIN recipients AS dst, recipient_teams AS rt
	WHERE occurred_at >= ? AND occurred_at < ? AND team != ''
	GROUP BY sender, tm ORDER BY sender, tm`), from, to)
	if err != nil {
		return nil, fmt.Errorf("read team weights: %w", err)
	}
	defer rows.Close()
	var out []teamWeight
	for rows.Next() {
		var w teamWeight
		if err := rows.Scan(&w.sender, &w.team, &w.internal, &w.external); err != nil {
			return nil, fmt.Errorf("scan team weights: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// windowInput reads the network input of [from, to) from the deduplicated
// messages. Pairs are aggregated in ClickHouse (GROUP BY sender, recipient),
// so the Go side sees one row per directed pair however many messages there
// were, and passes it on as one network.Pair: its message count (also its
// weight) and how many of those messages were in threads of at most
// cfg.SmallThreadMaxSize participants. A message's recipients are
// de-duplicated and the sender is never their own recipient. Rows come
// ordered by (sender, recipient), bytewise like Go's string order, which is
// the order network.Compute sorts pairs into: its sort finds them sorted.
func (d db) windowInput(ctx context.Context, from, to time.Time, cfg network.Config) (network.Input, error) {
	small, broadcast := cfg.SmallThreadMaxSize, cfg.BroadcastMaxRecipients
	if small == 0 {
		small = network.DefaultSmallThreadMaxSize
	}
	if broadcast == 0 {
		broadcast = network.DefaultBroadcastMaxRecipients
	}
	q := d.q(`WITH
		msgs AS (SELECT sender, recipients, thread_id FROM {db}.messages FINAL
			WHERE occurred_at >= ? AND occurred_at < ?),
		threads AS (SELECT thread_id, uniqExact(p) AS size FROM msgs ARRAY JOIN arrayPushBack(recipients, sender) AS p
			WHERE thread_id != '' GROUP BY thread_id),
		sized AS (SELECT m.sender AS sender, m.recipients AS recipients,
			if(m.thread_id = '', length(arrayDistinct(arrayPushBack(m.recipients, m.sender))), t.size) AS size
			FROM msgs AS m LEFT JOIN threads AS t ON m.thread_id = t.thread_id)
	SELECT sender, dst, count() AS n, countIf(size <= ?) AS ns
	FROM sized ARRAY JOIN arrayDistinct(recipients) AS dst
	WHERE dst != sender AND dst != '' AND length(arrayDistinct(recipients)) <= ?
	GROUP BY sender, dst ORDER BY sender, dst`)
	// A broadcast (more distinct recipients than BroadcastMaxRecipients)
	// adds no pair: it still counts for volume (team_stats) and makes its
	// sender active.
	rows, err := d.conn.Query(ctx, q, from, to, uint64(small), uint64(broadcast))
	if err != nil {
		return network.Input{}, fmt.Errorf("read window pairs: %w", err)
	}
	var in network.Input
	for rows.Next() {
		var (
			src, dst string
			n, ns    uint64
		)
		if err := rows.Scan(&src, &dst, &n, &ns); err != nil {
			rows.Close()
			return network.Input{}, fmt.Errorf("scan window pairs: %w", err)
		}
		in.Pairs = append(in.Pairs, network.Pair{Src: src, Dst: dst, Count: int(n), Weight: float64(n), Small: int(ns)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return network.Input{}, fmt.Errorf("read window pairs: %w", err)
	}

	// The team of every person seen in the window (the latest one, should a
	// person have moved during it), and the senders: active even when every
	// recipient of theirs was erased.
	q = d.q(`WITH msgs AS (SELECT sender, team, recipients, recipient_teams, occurred_at FROM {db}.messages FINAL
			WHERE occurred_at >= ? AND occurred_at < ?)
	SELECT p, argMaxIf(t, ts, t != ''), max(sent) FROM (
		SELECT sender AS p, toString(team) AS t, occurred_at AS ts, 1 AS sent FROM msgs
		UNION ALL
		SELECT r AS p, toString(rt) AS t, occurred_at AS ts, 0 AS sent FROM msgs ARRAY JOIN recipients AS r, recipient_teams AS rt
	) GROUP BY p`)
	rows, err = d.conn.Query(ctx, q, from, to)
	if err != nil {
		return network.Input{}, fmt.Errorf("read window teams: %w", err)
	}
	defer rows.Close()
	in.Teams = map[string]string{}
	for rows.Next() {
		var (
			p, t string
			sent uint8
		)
		if err := rows.Scan(&p, &t, &sent); err != nil {
			return network.Input{}, fmt.Errorf("scan window teams: %w", err)
		}
		if t != "" {
			in.Teams[p] = t
		}
		if sent == 1 {
			in.Active = append(in.Active, p)
		}
	}
	return in, rows.Err()
}
