package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The reviews of anomalies (migration 0011, table anomaly_reviews): the
// row types and the SQL. The state machine, the suppression rule and the
// API are package pipeline/review's; this file only stores and reads.

// ErrNotFound is returned (wrapped) when no stored anomaly has the key
// asked for.
var ErrNotFound = errors.New("not found")

// ReviewState is the review state of an anomaly. Its values are stored in
// anomaly_reviews.state, except ReviewNew, which is the absence of a row.
type ReviewState string

// The review states (pipeline/review holds the transitions).
const (
	ReviewNew          ReviewState = "new"
	ReviewAcknowledged ReviewState = "acknowledged"
	ReviewConfirmed    ReviewState = "confirmed"
	ReviewDismissed    ReviewState = "dismissed"
)

// DismissReason is why an anomaly was dismissed: one of a fixed list
// (anomaly_reviews.reason, an enum), never free text. ReasonNone goes
// with every state but dismissed.
type DismissReason string

// The dismissal reasons.
const (
	ReasonNone          DismissReason = ""
	ReasonFalsePositive DismissReason = "false_positive" // nothing happened: the detector was wrong
	ReasonExpected      DismissReason = "expected"       // a real change with a known cause (a reorg, a holiday)
	ReasonDuplicate     DismissReason = "duplicate"      // another alert already covers it
	ReasonOther         DismissReason = "other"
)

// AnomalyKey is what identifies an anomaly: the key columns of the
// anomalies table. Its String is Anomaly.Key.
type AnomalyKey struct {
	Team        string
	Metric      string
	Granularity Granularity
	WindowStart time.Time
}

// String is team|metric|granularity|window_start (RFC 3339, UTC), the
// Kafka key of the anomaly's alert.
func (k AnomalyKey) String() string {
	return fmt.Sprintf("%s|%s|%s|%s", k.Team, k.Metric, k.Granularity, k.WindowStart.UTC().Format(time.RFC3339))
}

// KeyFields returns the key of a.
func (a Anomaly) KeyFields() AnomalyKey {
	return AnomalyKey{Team: a.Team, Metric: a.Metric, Granularity: a.Granularity, WindowStart: a.WindowStart.UTC()}
}

// ParseAnomalyKey parses Anomaly.Key. The team is everything before the
// last three fields, so a team name holding a '|' still parses.
func ParseAnomalyKey(s string) (AnomalyKey, error) {
	parts := strings.Split(s, "|")
	if len(parts) < 4 {
		return AnomalyKey{}, fmt.Errorf("anomaly key %q: want team|metric|granularity|window_start", s)
	}
	n := len(parts)
	k := AnomalyKey{Team: strings.Join(parts[:n-3], "|"), Metric: parts[n-3], Granularity: Granularity(parts[n-2])}
	if k.Team == "" || k.Metric == "" {
		return AnomalyKey{}, fmt.Errorf("anomaly key %q: empty team or metric", s)
	}
	if k.Granularity != Hour && k.Granularity != Day {
		return AnomalyKey{}, fmt.Errorf("anomaly key %q: granularity %q: want hour or day", s, k.Granularity)
	}
	ws, err := time.Parse(time.RFC3339, parts[n-1])
	if err != nil {
		return AnomalyKey{}, fmt.Errorf("anomaly key %q: window start: %w", s, err)
	}
	k.WindowStart = ws.UTC()
	return k, nil
}

// Review is one anomaly_reviews row: an anomaly's review state as of
// ReviewedAt. Reviewer is a pseudonym or a label (pipeline/review), never
// a name.
type Review struct {
	AnomalyKey
	State      ReviewState
	Reason     DismissReason
	Reviewer   string
	ReviewedAt time.Time
}

// String is the review in one line (the key's String would otherwise be
// promoted and hide the rest).
func (r Review) String() string {
	s := r.AnomalyKey.String() + " " + string(r.State)
	if r.Reason != ReasonNone {
		s += " (" + string(r.Reason) + ")"
	}
	if r.Reviewer != "" {
		s += " by " + r.Reviewer
	}
	if !r.ReviewedAt.IsZero() {
		s += " at " + r.ReviewedAt.UTC().Format(time.RFC3339Nano)
	}
	return s
}

// ReviewedAnomaly is a stored anomaly with its current review; Review.State
// is ReviewNew (and the rest of Review zero but the key) when it has none.
type ReviewedAnomaly struct {
	Anomaly
	Review Review
}

// ReviewFilter selects anomalies to list: by current state (empty: any)
// and window start in [From, To) (zero: unbounded), newest first, at most
// Limit (0: no limit).
type ReviewFilter struct {
	State    ReviewState
	From, To time.Time
	Limit    int
}

// MetricReview is the review outcome of one metric's anomalies: how many
// are stored and how many are in each state, dismissals by reason.
type MetricReview struct {
	Metric       string
	Anomalies    uint64
	New          uint64
	Acknowledged uint64
	Confirmed    uint64
	Dismissed    map[DismissReason]uint64
}

// DismissedTotal is the dismissals of every reason.
func (m MetricReview) DismissedTotal() uint64 {
	var n uint64
	for _, c := range m.Dismissed {
		n += c
	}
	return n
}

// Precision is the precision as the reviewers judged it: confirmed over
// confirmed plus dismissed as false positives. Dismissals as expected,
// duplicate or other are neither (the detector saw something real, or the
// reviewer did not say), and unjudged anomalies (new, acknowledged) do not
// count. ok is false when nothing was judged either way.
func (m MetricReview) Precision() (p float64, ok bool) {
	d := m.Confirmed + m.Dismissed[ReasonFalsePositive]
	if d == 0 {
		return 0, false
	}
	return float64(m.Confirmed) / float64(d), true
}

// reviewedSelect reads stored anomalies (a subquery of anomalies FINAL
// filtered by where) with their current review (rv_reviewed is 0 when
// there is none). where, on the key columns both tables share, filters
// both sides, so its arguments are given twice (see twice). Columns as scanReviewed reads them; the key and review
// columns are aliased (ws, gran, tm, mt, rv_*) for an outer query.
func reviewedSelect(where string) string {
	return `SELECT a.window_start AS ws, toString(a.granularity) AS gran, toString(a.team) AS tm, toString(a.metric) AS mt,
		a.value, a.expected, a.low, a.high, a.score, toString(a.severity), toString(a.direction), toString(a.detector),
		a.explanation, a.detected_at,
		r.reviewed AS rv_reviewed, toString(r.state) AS rv_state, toString(r.reason) AS rv_reason,
		toString(r.reviewer) AS rv_reviewer, r.reviewed_at AS rv_at
	FROM (SELECT * FROM anomalies FINAL WHERE ` + where + `) AS a
	GLOBAL LEFT JOIN (SELECT window_start, granularity, team, metric, state, reason, reviewer, reviewed_at, toUInt8(1) AS reviewed
		FROM anomaly_reviews FINAL WHERE ` + where + `) AS r
	ON r.granularity = a.granularity AND r.team = a.team AND r.metric = a.metric AND r.window_start = a.window_start`
}

type scanner interface{ Scan(dest ...any) error }

func scanReviewed(row scanner) (ReviewedAnomaly, error) {
	var (
		ra       ReviewedAnomaly
		a        = &ra.Anomaly
		g        string
		severity string
		reviewed uint8
		state    string
		reason   string
		r        = &ra.Review
	)
	if err := row.Scan(&a.WindowStart, &g, &a.Team, &a.Metric, &a.Value, &a.Expected, &a.Low, &a.High, &a.Score,
		&severity, &a.Direction, &a.Detector, &a.Explanation, &a.DetectedAt,
		&reviewed, &state, &reason, &r.Reviewer, &r.ReviewedAt); err != nil {
		return ReviewedAnomaly{}, err
	}
	a.WindowStart, a.DetectedAt = a.WindowStart.UTC(), a.DetectedAt.UTC()
	a.Granularity, a.Severity = Granularity(g), Severity(severity)
	r.AnomalyKey = a.KeyFields()
	if reviewed == 0 {
		r.State, r.Reason, r.Reviewer, r.ReviewedAt = ReviewNew, ReasonNone, "", time.Time{}
	} else {
		r.State, r.Reason, r.ReviewedAt = ReviewState(state), DismissReason(reason), r.ReviewedAt.UTC()
	}
	return ra, nil
}

const keyWhere = "granularity = ? AND team = ? AND metric = ? AND window_start = ?"

func keyArgs(k AnomalyKey) []any {
	return []any{string(k.Granularity), k.Team, k.Metric, k.WindowStart.UTC()}
}

// twice is the arguments of a reviewedSelect filter: once per side.
func twice(args []any) []any { return append(append([]any{}, args...), args...) }

// ReviewedAnomaly returns the stored anomaly of k with its current review,
// or an error wrapping ErrNotFound when no anomaly has that key.
func (s *Store) ReviewedAnomaly(ctx context.Context, k AnomalyKey) (ReviewedAnomaly, error) {
	rows, err := s.conn.Query(ctx, reviewedSelect(keyWhere), twice(keyArgs(k))...)
	if err != nil {
		return ReviewedAnomaly{}, fmt.Errorf("read anomaly %s: %w", k, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return ReviewedAnomaly{}, fmt.Errorf("read anomaly %s: %w", k, err)
		}
		return ReviewedAnomaly{}, fmt.Errorf("anomaly %s: %w", k, ErrNotFound)
	}
	ra, err := scanReviewed(rows)
	if err != nil {
		return ReviewedAnomaly{}, fmt.Errorf("scan anomaly %s: %w", k, err)
	}
	return ra, nil
}

// WriteReview stores r as the anomaly's current review. The anomaly must
// be stored (else an error wrapping ErrNotFound, and nothing is written).
// Whether the transition is allowed is pipeline/review's to decide before;
// the table's constraints refuse a reason on a state other than dismissed,
// a dismissal without one, and a reviewer that is not a pseudonym or a
// label. ReviewedAt must be later than the review it replaces (the latest
// wins).
func (s *Store) WriteReview(ctx context.Context, r Review) error {
	if r.State == ReviewNew || r.State == "" {
		return fmt.Errorf("write review of %s: state %q is not stored", r.AnomalyKey, r.State)
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM anomalies FINAL WHERE "+keyWhere, keyArgs(r.AnomalyKey)...).Scan(&n); err != nil {
		return fmt.Errorf("write review of %s: look up the anomaly: %w", r.AnomalyKey, err)
	}
	if n == 0 {
		return fmt.Errorf("write review of %s: anomaly: %w", r.AnomalyKey, ErrNotFound)
	}
	// A batch, not Exec with parameters: the driver binds a time.Time
	// parameter with whole seconds, and reviewed_at orders the reviews.
	b, err := s.conn.PrepareBatch(ctx, `INSERT INTO anomaly_reviews (window_start, granularity, team, metric, state, reason, reviewer, reviewed_at)`)
	if err != nil {
		return fmt.Errorf("write review of %s: prepare: %w", r.AnomalyKey, err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	if err := b.Append(r.WindowStart.UTC(), string(r.Granularity), r.Team, r.Metric,
		string(r.State), string(r.Reason), r.Reviewer, r.ReviewedAt.UTC()); err != nil {
		return fmt.Errorf("write review of %s: append: %w", r.AnomalyKey, err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write review of %s: %w", r.AnomalyKey, err)
	}
	return nil
}

// ListReviewed returns the stored anomalies f selects with their current
// reviews, newest window first (then team, metric, granularity).
func (s *Store) ListReviewed(ctx context.Context, f ReviewFilter) ([]ReviewedAnomaly, error) {
	where, args := []string{"1"}, []any{}
	if !f.From.IsZero() {
		where, args = append(where, "window_start >= ?"), append(args, f.From.UTC())
	}
	if !f.To.IsZero() {
		where, args = append(where, "window_start < ?"), append(args, f.To.UTC())
	}
	q := reviewedSelect(strings.Join(where, " AND "))
	args = twice(args)
	switch f.State {
	case "":
	case ReviewNew:
		q = "SELECT * FROM (" + q + ") WHERE rv_reviewed = 0"
	default:
		q = "SELECT * FROM (" + q + ") WHERE rv_reviewed = 1 AND rv_state = ?"
		args = append(args, string(f.State))
	}
	q += " ORDER BY ws DESC, tm, mt, gran"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list reviewed anomalies: %w", err)
	}
	defer rows.Close()
	var out []ReviewedAnomaly
	for rows.Next() {
		ra, err := scanReviewed(rows)
		if err != nil {
			return nil, fmt.Errorf("scan reviewed anomaly: %w", err)
		}
		out = append(out, ra)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list reviewed anomalies: %w", err)
	}
	return out, nil
}

// ReviewReport counts, per metric, the stored anomalies with window start
// in [from, to) (zero: unbounded) by current review state, dismissals by
// reason, ordered by metric. Reviews of anomalies no longer stored (a
// re-run that did not find them again) do not count.
func (s *Store) ReviewReport(ctx context.Context, from, to time.Time) ([]MetricReview, error) {
	where, args := []string{"1"}, []any{}
	if !from.IsZero() {
		where, args = append(where, "window_start >= ?"), append(args, from.UTC())
	}
	if !to.IsZero() {
		where, args = append(where, "window_start < ?"), append(args, to.UTC())
	}
	q := `SELECT mt, if(rv_reviewed = 0, 'new', rv_state) AS st, if(rv_reviewed = 0, '', rv_reason) AS rs, count()
	FROM (` + reviewedSelect(strings.Join(where, " AND ")) + `) GROUP BY mt, st, rs ORDER BY mt, st, rs`
	rows, err := s.conn.Query(ctx, q, twice(args)...)
	if err != nil {
		return nil, fmt.Errorf("review report: %w", err)
	}
	defer rows.Close()
	var out []MetricReview
	for rows.Next() {
		var (
			metric, state, reason string
			n                     uint64
		)
		if err := rows.Scan(&metric, &state, &reason, &n); err != nil {
			return nil, fmt.Errorf("scan review report: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Metric != metric {
			out = append(out, MetricReview{Metric: metric, Dismissed: map[DismissReason]uint64{}})
		}
		m := &out[len(out)-1]
		m.Anomalies += n
		switch ReviewState(state) {
		case ReviewNew:
			m.New += n
		case ReviewAcknowledged:
			m.Acknowledged += n
		case ReviewConfirmed:
			m.Confirmed += n
		case ReviewDismissed:
			m.Dismissed[DismissReason(reason)] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("review report: %w", err)
	}
	return out, nil
}

// StandingDismissals returns the reviews whose current state is dismissed,
// of anomalies with window start in [from, to), whether or not the anomaly
// is still stored: what the analyzer's suppression of repeats reads.
func (s *Store) StandingDismissals(ctx context.Context, from, to time.Time) ([]Review, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, toString(granularity), toString(team), toString(metric),
		toString(reason), toString(reviewer), reviewed_at
		FROM anomaly_reviews FINAL WHERE window_start >= ? AND window_start < ? AND state = 'dismissed'
		ORDER BY window_start, team, metric, granularity`, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("read standing dismissals: %w", err)
	}
	defer rows.Close()
	var out []Review
	for rows.Next() {
		var (
			r         = Review{State: ReviewDismissed}
			g, reason string
		)
		if err := rows.Scan(&r.WindowStart, &g, &r.Team, &r.Metric, &reason, &r.Reviewer, &r.ReviewedAt); err != nil {
			return nil, fmt.Errorf("scan standing dismissal: %w", err)
		}
		r.WindowStart, r.ReviewedAt = r.WindowStart.UTC(), r.ReviewedAt.UTC()
		r.Granularity, r.Reason = Granularity(g), DismissReason(reason)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read standing dismissals: %w", err)
	}
	return out, nil
}
