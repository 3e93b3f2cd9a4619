package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAnomalyKey(t *testing.T) {
	ws := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	a := Anomaly{Team: "team|x", Metric: "mean_compound", Granularity: Day, WindowStart: ws}
	k, err := ParseAnomalyKey(a.Key())
	if err != nil || k != a.KeyFields() || k.String() != a.Key() {
		t.Fatalf("ParseAnomalyKey(%q) = %+v, %v", a.Key(), k, err)
	}
	for _, bad := range []string{"", "a|b|day", "|m|day|2026-11-10T00:00:00Z", "t||day|2026-11-10T00:00:00Z",
		"t|m|week|2026-11-10T00:00:00Z", "t|m|day|2026-11-10"} {
		if _, err := ParseAnomalyKey(bad); err == nil {
			t.Errorf("ParseAnomalyKey(%q): no error", bad)
		}
	}
}

// Reviews are stored per anomaly, the latest wins, a review of an anomaly
// that is not stored is refused (ErrNotFound, nothing written), the table
// refuses what is not a fixed value, and the report counts per metric.
func TestReviewsStore(t *testing.T) {
	st, db := migratedForTest(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(team, metric string, d int) Anomaly {
		return Anomaly{WindowStart: day.AddDate(0, 0, d), Granularity: Day, Team: team, Metric: metric, Value: 1, Expected: 0.5,
			Low: 0.4, High: 0.6, Score: 0.9, Severity: Critical, Direction: "up", Detector: "level", DetectedAt: now}
	}
	as := []Anomaly{mk("alpha", "messages", 0), mk("alpha", "messages", 1), mk("beta", "messages", 0),
		mk("alpha", "negative_share", 0), mk("beta", "negative_share", 2)}
	if err := st.WriteAnomalies(ctx, Day, day, day.AddDate(0, 0, 3), as); err != nil {
		t.Fatal(err)
	}
	count := func(q string) uint64 {
		t.Helper()
		var n uint64
		if err := st.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A review of an anomaly not stored: refused, nothing written.
	ghost := Review{AnomalyKey: mk("gamma", "messages", 0).KeyFields(), State: ReviewAcknowledged, Reviewer: "cli", ReviewedAt: now}
	if err := st.WriteReview(ctx, ghost); !errors.Is(err, ErrNotFound) {
		t.Fatalf("review of a missing anomaly: %v; want ErrNotFound", err)
	}
	if _, err := st.ReviewedAnomaly(ctx, ghost.AnomalyKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReviewedAnomaly of a missing anomaly: %v; want ErrNotFound", err)
	}

	write := func(a Anomaly, s ReviewState, r DismissReason, at time.Time) {
		t.Helper()
		if err := st.WriteReview(ctx, Review{AnomalyKey: a.KeyFields(), State: s, Reason: r, Reviewer: "tok_0123456789ab", ReviewedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	write(as[0], ReviewAcknowledged, ReasonNone, now)
	write(as[0], ReviewConfirmed, ReasonNone, now.Add(time.Millisecond))
	write(as[1], ReviewAcknowledged, ReasonNone, now)
	write(as[1], ReviewDismissed, ReasonFalsePositive, now.Add(time.Second))
	write(as[2], ReviewAcknowledged, ReasonNone, now)
	write(as[3], ReviewAcknowledged, ReasonNone, now)
	write(as[3], ReviewDismissed, ReasonExpected, now.Add(time.Second))

	got, err := st.ReviewedAnomaly(ctx, as[0].KeyFields())
	if err != nil || got.Review.State != ReviewConfirmed || got.Review.Reviewer != "tok_0123456789ab" || got.Key() != as[0].Key() || got.Severity != Critical {
		t.Fatalf("ReviewedAnomaly = %+v, %v; want confirmed", got, err)
	}
	if got, err := st.ReviewedAnomaly(ctx, as[4].KeyFields()); err != nil || got.Review.State != ReviewNew || !got.Review.ReviewedAt.IsZero() {
		t.Fatalf("unreviewed anomaly = %+v, %v; want new", got.Review, err)
	}

	for state, want := range map[ReviewState]int{"": 5, ReviewNew: 1, ReviewAcknowledged: 1, ReviewConfirmed: 1, ReviewDismissed: 2} {
		l, err := st.ListReviewed(ctx, ReviewFilter{State: state})
		if err != nil || len(l) != want {
			t.Errorf("ListReviewed(%q): %d, %v; want %d", state, len(l), err, want)
		}
		for _, ra := range l {
			if state != "" && ra.Review.State != state {
				t.Errorf("ListReviewed(%q) returned %s in %s", state, ra.Key(), ra.Review.State)
			}
		}
	}
	if l, err := st.ListReviewed(ctx, ReviewFilter{From: day.AddDate(0, 0, 1), Limit: 1}); err != nil || len(l) != 1 || l[0].Key() != as[4].Key() {
		t.Errorf("ListReviewed(from day 1, limit 1) = %v, %v; want the newest window", l, err)
	}

	rep, err := st.ReviewReport(ctx, time.Time{}, time.Time{})
	if err != nil || len(rep) != 2 {
		t.Fatalf("ReviewReport = %+v, %v", rep, err)
	}
	m, n := rep[0], rep[1]
	if m.Metric != "messages" || m.Anomalies != 3 || m.Confirmed != 1 || m.Acknowledged != 1 || m.Dismissed[ReasonFalsePositive] != 1 || m.New != 0 {
		t.Errorf("messages report %+v", m)
	}
	if p, ok := m.Precision(); !ok || p != 0.5 {
		t.Errorf("messages precision %v %v; want 0.5", p, ok)
	}
	if n.Metric != "negative_share" || n.Anomalies != 2 || n.New != 1 || n.Dismissed[ReasonExpected] != 1 || n.DismissedTotal() != 1 {
		t.Errorf("negative_share report %+v", n)
	}
	if _, ok := n.Precision(); ok {
		t.Error("negative_share: a precision without a confirmed or false-positive review")
	}

	ds, err := st.StandingDismissals(ctx, day, day.AddDate(0, 0, 3))
	if err != nil || len(ds) != 2 || (ds[0].AnomalyKey.String() != as[3].Key() && ds[1].AnomalyKey.String() != as[3].Key()) {
		t.Fatalf("StandingDismissals = %+v, %v", ds, err)
	}

	// The table takes fixed values only, whoever writes.
	for _, bad := range []string{
		"('alpha', 'confirmed', 'false_positive', 'cli')", // a reason on a state other than dismissed
		"('alpha', 'dismissed', '', 'cli')",               // a dismissal without a reason
		"('alpha', 'dismissed', 'Jo is on leave', 'cli')", // free text as a reason
		"('alpha', 'acknowledged', '', 'Jo Bloggs')",      // a name as the reviewer
		"('alpha', 'acknowledged', '', 'tok_XYZ')",
	} {
		q := "INSERT INTO " + db + ".anomaly_reviews (team, state, reason, reviewer) VALUES " + bad
		if err := st.Conn().Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		} else if e := strings.ToLower(err.Error()); !strings.Contains(e, "constraint") && !strings.Contains(e, "enum") {
			t.Errorf("%s: %v; want a constraint or enum refusal", bad, err)
		}
	}
	if n := count("SELECT count() FROM " + db + ".anomaly_reviews FINAL"); n != 4 {
		t.Errorf("%d reviewed anomalies; want the 4 reviewed, no refused row", n)
	}
}
