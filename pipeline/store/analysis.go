package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"commpulse/network"
	"commpulse/nlp"
	"commpulse/pipeline/publish"
)

// The analyzer's tables: what it reads (messages, its own history) and
// what it writes (team_stats, team_themes, team_network, graph_metrics, edges,
// node_metrics, anomalies, analyzer_windows). The row types live here, as
// Message does for ingest, so that analyze depends on an interface
// (analyze.Store) and this package stays the one place that speaks SQL.

// Granularity is the length of a team_stats window.
type Granularity string

// The two granularities. Their string values are stored in ClickHouse.
const (
	Hour Granularity = "hour"
	Day  Granularity = "day"
)

// Step is the length of a window of g.
func (g Granularity) Step() time.Duration {
	if g == Day {
		return 24 * time.Hour
	}
	return time.Hour
}

// Floor is the start of the window of g that contains t (UTC-aligned).
func (g Granularity) Floor(t time.Time) time.Time {
	return t.UTC().Truncate(g.Step())
}

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

// TeamTheme is one published team_themes row (publish.ThemeRelease): a
// theme's noisy message count of a team-day, what dashboards show as the
// drivers of the team's sentiment.
type TeamTheme struct {
	WindowStart time.Time
	Team        string
	Theme       string // a name of nlp.ThemeNames
	Messages    float64
	// Epsilon is the privacy loss of the team-day's theme releases so far
	// (publish.Policy.ThemesEpsilon times the releases).
	Epsilon float64
}

// Severity of an anomaly.
type Severity string

// Severities, from the detector score in [0, 1] (analyze.SeverityOf).
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Anomaly is one row of the anomalies table and one alert.
type Anomaly struct {
	WindowStart time.Time   `json:"window_start"`
	Granularity Granularity `json:"granularity"`
	Team        string      `json:"team"`
	Metric      string      `json:"metric"`
	Value       float64     `json:"value"`
	Expected    float64     `json:"expected"`
	Low         float64     `json:"low"`
	High        float64     `json:"high"`
	Score       float64     `json:"score"`
	Severity    Severity    `json:"severity"`
	Direction   string      `json:"direction"`
	Detector    string      `json:"detector"`
	// Explanation says in words what moved, against which baseline and
	// by how much, from the row's own figures (analyze's explain).
	Explanation string `json:"explanation"`
	// Onset is the first window of the change the anomaly is part of: for
	// a drift, the day its run began (anomaly.DriftVerdict.Onset), so a
	// decline found on its fifth day says since when it has been building;
	// for every other detector the anomaly's own window. Zero is written
	// as WindowStart.
	Onset      time.Time `json:"onset"`
	DetectedAt time.Time `json:"detected_at"`
}

// Key identifies the anomaly for de-duplication: one per granularity, team,
// metric and window. It is the Kafka key of its alert.
func (a Anomaly) Key() string {
	return fmt.Sprintf("%s|%s|%s|%s", a.Team, a.Metric, a.Granularity, a.WindowStart.UTC().Format(time.RFC3339))
}

// NetworkPoint is one published team_network value of a day window, with
// the messages the team published that day (its team_stats row; 0
// without one).
type NetworkPoint struct {
	WindowStart time.Time
	Team        string
	External    float64
	Weight      float64
	Messages    float64
}

// TeamWeight is one sender's outgoing pair-messages of a window under one
// team: the team the sender's messages carried (the directory at ingest
// time), split by whether each recipient's recorded team was the same.
type TeamWeight struct {
	Sender, Team       string
	Internal, External uint64
}

// PastDay is one day of a person's record before a day window: that
// they were a node of the day network, whether they sent anything (an
// out-degree: a receiver who wrote nothing did not), and whether they were
// isolated (no reciprocated tie).
type PastDay struct {
	Day            time.Time
	Sent, Isolated bool
}

// GraphRelease is the published graph_metrics row of a window: a noisy
// count of the window's senders, and the structural indices (nil when
// not published).
type GraphRelease struct {
	Nodes                                              float64
	Modularity, FormalModularity, NMI, MeanBestJaccard *float64
}

// WindowDone is one analyzer_windows row: a window processed, the
// generation of its release and what it published.
type WindowDone struct {
	Granularity Granularity
	Start       time.Time
	Generation  uint32
	Teams       uint32
	Suppressed  uint32
	Anomalies   uint32
	// Inputs is the keyed digest of the exact inputs of the window's
	// release (BegunWindows), "" when not computed.
	Inputs string
}

// afterHoursSQL is the ClickHouse condition "the message is after hours":
// the flag ingest stamped in the sender's local working hours when the
// directory gives their time zone (messages.after_hours), else the
// organisation default on occurred_at in UTC: before start, at or after
// end, or on a weekend (toDayOfWeek is 1 = Monday .. 7 = Sunday). The
// analyze tests hold a Go model of it.
func afterHoursSQL(start, end int) string {
	return fmt.Sprintf("ifNull(after_hours, toUInt8(toDayOfWeek(occurred_at, 0, 'UTC') >= 6 OR toHour(occurred_at, 'UTC') < %d OR toHour(occurred_at, 'UTC') >= %d)) = 1", start, end)
}

// themeCountsSQL is the aggregate "per theme, how many of the group's
// messages carry it": an array with one count per theme of
// nlp.ThemeNames, bit i of messages.themes being theme i (the one place
// the bit order is kept is nlp/lexicon/themes.txt; ingest stores the bits
// nlp computed).
func themeCountsSQL() string {
	return fmt.Sprintf("sumForEach(arrayMap(i -> toUInt64(bitTest(themes, i)), range(%d)))", len(nlp.ThemeNames()))
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func orZero(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func nullable(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// EarliestMessage returns the occurred_at of the oldest stored message, or
// ok=false when there is none.
func (s *Store) EarliestMessage(ctx context.Context) (time.Time, bool, error) {
	var (
		n  uint64
		at time.Time
	)
	if err := s.conn.QueryRow(ctx, "SELECT count(), min(occurred_at) FROM messages").Scan(&n, &at); err != nil {
		return time.Time{}, false, fmt.Errorf("read earliest message: %w", err)
	}
	return at, n > 0, nil
}

// Generations returns, for each window of g in [from, to) that was
// released before, the generation its next release takes: one more than
// the highest generation of the window among this shard's rows under the
// current number of shards and every row under any other number (rows of
// the other shards of the same count are theirs: under a fixed count each
// team has one owner, so they never released this shard's teams). Windows
// never released are absent: their release is generation 0. A window
// whose release was begun (MarkBegun) and cut short counts as released:
// the retry takes the next generation, unless its inputs are the same
// (BegunWindows).
//
// Counting the other counts' rows is what keeps a change of the number of
// shards safe: a team that moves to a shard that never released it still
// takes a generation above every one its old owner used, so no figure is
// ever released twice at one generation (docs/privacy.md, finding 1 of
// the generations review).
func (s *Store) Generations(ctx context.Context, g Granularity, from, to time.Time) (map[time.Time]uint32, error) {
	a := s.AnalyzeShard()
	rows, err := s.conn.Query(ctx, `SELECT window_start, max(generation) FROM analyzer_windows FINAL
		WHERE granularity = ? AND window_start >= ? AND window_start < ?
			AND ((shard = ? AND `+shardsSQL+` = ?) OR `+shardsSQL+` != ?)
		GROUP BY window_start`, string(g), from, to, uint16(a.Shard), uint16(a.Shards), uint16(a.Shards))
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

// Begun is a window whose newest progress row is a begun mark: its
// release at Generation was cut short, on inputs whose keyed digest is
// Inputs (WindowDone.Inputs).
type Begun struct {
	Generation uint32
	Inputs     string
}

// BegunWindows returns the windows of g in [from, to) whose newest row of
// this shard (under the current number of shards) is a begun mark. A
// retry whose inputs have the same digest may reuse the generation: the
// same inputs at the same generation give the same figures bit for bit,
// so the retry tells nothing the cut-short release did not, and costs no
// epsilon (without it a window failing after its rows are written is
// released again on every tick: finding 2 of the generations review).
func (s *Store) BegunWindows(ctx context.Context, g Granularity, from, to time.Time) (map[time.Time]Begun, error) {
	a := s.AnalyzeShard()
	rows, err := s.conn.Query(ctx, `SELECT window_start, argMax(generation, computed_at), argMax(inputs, computed_at)
		FROM analyzer_windows
		WHERE granularity = ? AND window_start >= ? AND window_start < ? AND shard = ? AND `+shardsSQL+` = ?
		GROUP BY window_start HAVING NOT argMax(done, computed_at)`, string(g), from, to, uint16(a.Shard), uint16(a.Shards))
	if err != nil {
		return nil, fmt.Errorf("read begun windows: %w", err)
	}
	defer rows.Close()
	out := map[time.Time]Begun{}
	for rows.Next() {
		var (
			w time.Time
			b Begun
		)
		if err := rows.Scan(&w, &b.Generation, &b.Inputs); err != nil {
			return nil, fmt.Errorf("scan begun window: %w", err)
		}
		out[w.UTC()] = b
	}
	return out, rows.Err()
}

// LastDone returns the newest processed window of g, or ok=false. A
// window begun and not done is not processed. Progress is the analyze
// shard's own (ForAnalyzeShard) under the current number of shards; the
// progress under another number is ShardsLastDone's.
func (s *Store) LastDone(ctx context.Context, g Granularity) (time.Time, bool, error) {
	a := s.AnalyzeShard()
	last, err := s.lastDone(ctx, g, a.Shards, []int{a.Shard})
	if err != nil {
		return time.Time{}, false, err
	}
	at, ok := last[a.Shard]
	return at, ok, nil
}

// lastDone returns the newest processed window of g of each of the given
// shards of count shards that has one.
func (s *Store) lastDone(ctx context.Context, g Granularity, shards int, of []int) (map[int]time.Time, error) {
	ids := make([]uint16, len(of))
	for i, v := range of {
		ids[i] = uint16(v)
	}
	// A window whose newest row is a begun mark (MarkBegun) is not done:
	// argMax reads each window's newest row, whatever WHERE and FINAL
	// would filter first.
	rows, err := s.conn.Query(ctx, `SELECT shard, max(window_start) FROM (
		SELECT shard, window_start, argMax(done, computed_at) AS d FROM analyzer_windows
		WHERE granularity = ? AND `+shardsSQL+` = ? AND has(?, shard) GROUP BY shard, window_start)
		WHERE d GROUP BY shard`, string(g), uint16(shards), ids)
	if err != nil {
		return nil, fmt.Errorf("read analyzer progress: %w", err)
	}
	defer rows.Close()
	out := map[int]time.Time{}
	for rows.Next() {
		var (
			sh uint16
			at time.Time
		)
		if err := rows.Scan(&sh, &at); err != nil {
			return nil, fmt.Errorf("scan analyzer progress: %w", err)
		}
		out[int(sh)] = at.UTC()
	}
	return out, rows.Err()
}

// DayCells reads the exact, contribution-bounded input of every team-day
// in [from, to) (whole days) from the deduplicated messages, for every team
// including those below k (publish decides). A sender's weight is bounded
// per day over all teams: volume figures count each of their messages at
// min(1, capVolume/n), sentiment figures at min(1, capSentiment/scored),
// and the theme counts (DayCell.Themes, one per bit of messages.themes in
// nlp.ThemeNames order, every theme present, zeros included) at their own
// weight min(1, capThemes/n), over the same n: a message carrying a theme
// counts at the sender's theme weight, so one person adds at most
// capThemes to any theme count of a day.
func (s *Store) DayCells(ctx context.Context, from, to time.Time, capVolume, capSentiment, capThemes float64, workStart, workEnd int) ([]publish.DayCell, error) {
	q := `SELECT ws, tm, toUInt32(count()) AS senders,
		sum(n * wv), sum(ah * wv), sum(sc * wsn), sum(sumc * wsn), sum(neg * wsn), sum(pos * wsn),
		sumForEach(arrayMap(x -> x * wth, th))
	FROM (
		SELECT ws, tm, n, ah, sc, sumc, neg, pos, th,
			least(1.0, ? / sum(n) OVER (PARTITION BY ws, sender)) AS wv,
			least(1.0, ? / greatest(sum(sc) OVER (PARTITION BY ws, sender), 1)) AS wsn,
			least(1.0, ? / sum(n) OVER (PARTITION BY ws, sender)) AS wth
		FROM (
			SELECT toDateTime(toStartOfDay(occurred_at, 'UTC'), 'UTC') AS ws, toString(team) AS tm, sender,
				count() AS n, countIf(` + afterHoursSQL(workStart, workEnd) + `) AS ah,
				countIf(compound IS NOT NULL) AS sc, sum(ifNull(toFloat64(compound), 0)) AS sumc,
				countIf(label = 'negative' AND compound IS NOT NULL) AS neg, countIf(label = 'positive' AND compound IS NOT NULL) AS pos,
				` + themeCountsSQL() + ` AS th
			FROM messages FINAL
			WHERE occurred_at >= ? AND occurred_at < ? AND team != ''
			GROUP BY ws, tm, sender))
	GROUP BY ws, tm ORDER BY ws, tm`
	rows, err := s.conn.Query(ctx, q, capVolume, capSentiment, capThemes, from, to)
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
		if err := rows.Scan(&c.Window, &c.Team, &senders, &c.Messages, &c.AfterHours, &c.Scored, &c.SumCompound, &c.Negative, &c.Positive, &c.Themes); err != nil {
			return nil, fmt.Errorf("scan team days: %w", err)
		}
		c.Senders = int(senders)
		out = append(out, c)
	}
	return out, rows.Err()
}

// HourCells reads the exact input of every team-hour in [from, to): its
// senders and its messages, each sender's first capVolume messages of the
// UTC day counting (a prefix rule, so an hour's figure does not change as
// later hours of its day arrive, and one person's weight over all the
// hours of a day is at most capVolume). The query reads whole days so the
// prefix is known for a chunk that starts mid-day.
func (s *Store) HourCells(ctx context.Context, from, to time.Time, capVolume float64) ([]publish.HourCell, error) {
	q := `SELECT hs, tm, toUInt32(count()) AS senders, sum(least(toFloat64(n), greatest(0.0, ? - before)))
	FROM (
		SELECT hs, tm, n, ifNull(sum(n) OVER (PARTITION BY toStartOfDay(hs, 'UTC'), sender ORDER BY hs, tm
			ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
		FROM (
			SELECT toDateTime(toStartOfHour(occurred_at, 'UTC'), 'UTC') AS hs, toString(team) AS tm, sender, count() AS n
			FROM messages FINAL
			WHERE occurred_at >= toStartOfDay(toDateTime(?, 'UTC'), 'UTC') AND occurred_at < ? AND team != ''
			GROUP BY hs, tm, sender))
	WHERE hs >= ?
	GROUP BY hs, tm ORDER BY hs, tm`
	rows, err := s.conn.Query(ctx, q, capVolume, from, to, from)
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

// StatsHistory returns the stored team_stats rows of g before 'before', in
// window order: the history detectors are rebuilt from.
func (s *Store) StatsHistory(ctx context.Context, g Granularity, before time.Time) ([]TeamStats, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), messages, scored_messages, mean_compound, negative_share
		FROM team_stats FINAL WHERE granularity = ? AND window_start < ? ORDER BY window_start, team`, string(g), before)
	if err != nil {
		return nil, fmt.Errorf("read team_stats history: %w", err)
	}
	defer rows.Close()
	var out []TeamStats
	for rows.Next() {
		var (
			r                 TeamStats
			scored, mean, neg *float64
		)
		if err := rows.Scan(&r.WindowStart, &r.Team, &r.Messages, &scored, &mean, &neg); err != nil {
			return nil, fmt.Errorf("scan team_stats history: %w", err)
		}
		r.Granularity, r.ScoredMessages, r.MeanCompound, r.NegativeShare = g, orZero(scored), orNaN(mean), orNaN(neg)
		out = append(out, r)
	}
	return out, rows.Err()
}

// NetworkHistory returns the published day team_network rows before
// 'before', in window order, each with its team's published messages of
// the day: the history the silo detectors are rebuilt from.
func (s *Store) NetworkHistory(ctx context.Context, before time.Time) ([]NetworkPoint, error) {
	rows, err := s.conn.Query(ctx, `SELECT n.window_start, toString(n.team), n.external_share, n.weight, s.messages
		FROM team_network AS n FINAL
		GLOBAL LEFT JOIN (SELECT window_start, team, messages FROM team_stats FINAL WHERE granularity = 'day') AS s
			ON s.window_start = n.window_start AND s.team = n.team
		WHERE n.window_days = 1 AND n.window_start < ? ORDER BY n.window_start, n.team`, before)
	if err != nil {
		return nil, fmt.Errorf("read team_network history: %w", err)
	}
	defer rows.Close()
	var out []NetworkPoint
	for rows.Next() {
		var (
			p   NetworkPoint
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

// TeamWeights reads, per sender and team of [from, to), the outgoing
// pair-messages to members and to non-members, classified by the teams
// recorded on each message (messages.team and recipient_teams), never by
// a window-wide team map: with one, a person's last day could decide their
// team for the whole window, and so how every colleague's messages to them
// are classified, which no bound on that person's own messages controls.
// A broadcast (more distinct recipients than cfg.BroadcastMaxRecipients,
// the rule of WindowInput) adds no pair-message here either, so an
// all-hands mail moves neither the ties nor a team's external share.
// Rows come ordered by sender.
func (s *Store) TeamWeights(ctx context.Context, from, to time.Time, cfg network.Config) ([]TeamWeight, error) {
	broadcast := cfg.BroadcastMaxRecipients
	if broadcast == 0 {
		broadcast = network.DefaultBroadcastMaxRecipients
	}
	// LEFT ARRAY JOIN keeps a sender whose messages had no recipient (or
	// were broadcasts): they still count as a sender of their team.
	rows, err := s.conn.Query(ctx, `SELECT sender, toString(team) AS tm,
		countIf(dst != sender AND dst != '' AND toString(rt) = tm) AS internal,
		countIf(dst != sender AND dst != '' AND toString(rt) != tm) AS external
	FROM messages FINAL LEFT ARRAY JOIN
		if(length(arrayDistinct(recipients)) <= ?, recipients, []) AS dst,
		if(length(arrayDistinct(recipients)) <= ?, recipient_teams, []) AS rt
	WHERE occurred_at >= ? AND occurred_at < ? AND team != ''
	GROUP BY sender, tm ORDER BY sender, tm`, uint64(broadcast), uint64(broadcast), from, to)
	if err != nil {
		return nil, fmt.Errorf("read team weights: %w", err)
	}
	defer rows.Close()
	var out []TeamWeight
	for rows.Next() {
		var w TeamWeight
		if err := rows.Scan(&w.Sender, &w.Team, &w.Internal, &w.External); err != nil {
			return nil, fmt.Errorf("scan team weights: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WindowInput reads the network input of [from, to) from the deduplicated
// messages. Pairs are aggregated in ClickHouse (GROUP BY sender, recipient),
// so the Go side sees one row per directed pair however many messages there
// were, and passes it on as one network.Pair: its message count (also its
// weight) and how many of those messages were in threads of at most
// cfg.SmallThreadMaxSize participants. A message's recipients are
// de-duplicated and the sender is never their own recipient. Rows come
// ordered by (sender, recipient), bytewise like Go's string order, which is
// the order network.Compute sorts pairs into: its sort finds them sorted.
func (s *Store) WindowInput(ctx context.Context, from, to time.Time, cfg network.Config) (network.Input, error) {
	small, broadcast := cfg.SmallThreadMaxSize, cfg.BroadcastMaxRecipients
	if small == 0 {
		small = network.DefaultSmallThreadMaxSize
	}
	if broadcast == 0 {
		broadcast = network.DefaultBroadcastMaxRecipients
	}
	q := `WITH
		msgs AS (SELECT sender, recipients, thread_id FROM messages FINAL
			WHERE occurred_at >= ? AND occurred_at < ?),
		threads AS (SELECT thread_id, uniqExact(p) AS size FROM msgs ARRAY JOIN arrayPushBack(recipients, sender) AS p
			WHERE thread_id != '' GROUP BY thread_id),
		sized AS (SELECT m.sender AS sender, m.recipients AS recipients,
			if(m.thread_id = '', length(arrayDistinct(arrayPushBack(m.recipients, m.sender))), t.size) AS size
			FROM msgs AS m GLOBAL LEFT JOIN threads AS t ON m.thread_id = t.thread_id)
	SELECT sender, dst, count() AS n, countIf(size <= ?) AS ns
	FROM sized ARRAY JOIN arrayDistinct(recipients) AS dst
	WHERE dst != sender AND dst != '' AND length(arrayDistinct(recipients)) <= ?
	GROUP BY sender, dst ORDER BY sender, dst`
	// A broadcast (more distinct recipients than BroadcastMaxRecipients)
	// adds no pair: it still counts for volume (team_stats) and makes its
	// sender active.
	rows, err := s.conn.Query(ctx, q, from, to, uint64(small), uint64(broadcast))
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
	q = `WITH msgs AS (SELECT sender, team, recipients, recipient_teams, occurred_at FROM messages FINAL
			WHERE occurred_at >= ? AND occurred_at < ?)
	SELECT p, argMaxIf(t, ts, t != ''), max(sent) FROM (
		SELECT sender AS p, toString(team) AS t, occurred_at AS ts, 1 AS sent FROM msgs
		UNION ALL
		SELECT r AS p, toString(rt) AS t, occurred_at AS ts, 0 AS sent FROM msgs ARRAY JOIN recipients AS r, recipient_teams AS rt
	) GROUP BY p`
	rows, err = s.conn.Query(ctx, q, from, to)
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

// IsolationHistory reads, for every person, their PastDay records over
// the working days (Monday to Friday) of the day windows [day-histDays,
// day), oldest first: the node_metrics rows with window_days = 1 in that
// range, a range of the table's key (window_days, window_start, person).
// It reads histDays days of rows whatever the length of the stored
// history, so a catch-up over n days costs n times one day's read. The day
// itself is not read: its figures come from the network just computed.
// The query names no person; every person of those days comes back.
func (s *Store) IsolationHistory(ctx context.Context, day time.Time, histDays int) (map[string][]PastDay, error) {
	rows, err := s.conn.Query(ctx, `SELECT person, window_start, toBool(out_degree > 0), isolated
	FROM node_metrics FINAL
	WHERE window_days = 1 AND window_start >= ? AND window_start < ? AND toDayOfWeek(window_start, 0, 'UTC') <= 5
	ORDER BY person, window_start`, day.AddDate(0, 0, -histDays), day)
	if err != nil {
		return nil, fmt.Errorf("read isolation history: %w", err)
	}
	defer rows.Close()
	out := map[string][]PastDay{}
	for rows.Next() {
		var (
			person string
			d      PastDay
		)
		if err := rows.Scan(&person, &d.Day, &d.Sent, &d.Isolated); err != nil {
			return nil, fmt.Errorf("scan isolation history: %w", err)
		}
		d.Day = d.Day.UTC()
		out[person] = append(out[person], d)
	}
	return out, rows.Err()
}

// StoredAnomalies returns the keys of the anomalies already stored for the
// windows of g in [from, to).
func (s *Store) StoredAnomalies(ctx context.Context, g Granularity, from, to time.Time) (map[string]bool, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(team), toString(metric) FROM anomalies FINAL
		WHERE granularity = ? AND window_start >= ? AND window_start < ?`, string(g), from, to)
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

// InputFingerprint returns a summary of the stored messages that occurred
// in [from, to) (the deduplicated rows: the columns WindowInput and
// TeamWeights read) and of the erasure record: any change to the inputs of
// a window's network (a late message, a team moved, an erasure) changes
// it. The other figures of a day are its DayCells, digested as such. It is for the keyed digest
// of a release's inputs (WindowDone.Inputs) only: an unkeyed hash of
// exact data, never to be stored or published as is.
func (s *Store) InputFingerprint(ctx context.Context, from, to time.Time) (string, error) {
	var (
		n, sum, erased uint64
		last           time.Time
	)
	if err := s.conn.QueryRow(ctx, `SELECT count(), sum(cityHash64(event_id, sender, team, recipients, recipient_teams, thread_id, occurred_at)) FROM messages FINAL
		WHERE occurred_at >= ? AND occurred_at < ?`, from, to).Scan(&n, &sum); err != nil {
		return "", fmt.Errorf("read input fingerprint: %w", err)
	}
	if err := s.conn.QueryRow(ctx, `SELECT count(), max(erased_at) FROM erasures`).Scan(&erased, &last); err != nil {
		return "", fmt.Errorf("read erasure fingerprint: %w", err)
	}
	return fmt.Sprintf("%d:%x;%d:%d", n, sum, erased, last.UnixMilli()), nil
}
