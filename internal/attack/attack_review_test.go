package attack

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/review"
	"commpulse/pipeline/store"
)

// TestAttackReviews attacks the human review of anomalies on the embedded
// server with the access model's users (docs/privacy.md#reviews):
//
//   - the reviewer (the review API's user, facing reviewers over the
//     network) reads anomalies and writes reviews, and nothing else: no
//     person-level table, no team table, no published view, no delete;
//   - a review cannot carry free text or a name, whoever writes it: the
//     table's enums and constraints refuse them;
//   - the analyst reads the published view, which shows a review's state,
//     reason and day but not the reviewer's pseudonym or the time of day,
//     and can neither read the table nor write a review;
//   - no value stored in a review is a person id.
func TestAttackReviews(t *testing.T) {
	s := rolesStart(t)
	rolesSeed(t, s)
	ctx := context.Background()
	db := s.db
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	an := store.Anomaly{WindowStart: day, Granularity: store.Day, Team: "team-a", Metric: "mean_compound", Value: -0.3,
		Expected: 0.3, Low: 0.2, High: 0.4, Score: 0.9, Severity: store.Critical, Direction: "down", Detector: "level",
		Explanation: "team-a: mean sentiment fell", DetectedAt: day.Add(25 * time.Hour)}
	w := s.store(t, store.RoleWriter)
	// The team-day is published (anomaly_reviews_k shows a review only
	// while anomalies_k shows its anomaly, which needs the row).
	if err := w.WriteTeamStats(ctx, store.Day, day, day.AddDate(0, 0, 1), []store.TeamStats{{WindowStart: day, Granularity: store.Day,
		Team: "team-a", Messages: 40, ActiveMembers: 6, ScoredMessages: 40, MeanCompound: -0.3, NegativeShare: 0.5, PositiveShare: 0.1,
		AfterHoursShare: 0.1, Epsilon: 1}}, 5, day.Add(25*time.Hour)); err != nil {
		t.Fatalf("writer: write team_stats: %v", err)
	}
	if err := w.WriteAnomalies(ctx, store.Day, day, day.AddDate(0, 0, 1), []store.Anomaly{an}); err != nil {
		t.Fatalf("writer: write anomalies: %v", err)
	}
	token := "attack-review-token-0123456789abcdef0123"
	rv := s.store(t, store.RoleReviewer)
	svc := review.NewService(rv, nil, nil)
	if _, err := svc.Set(ctx, an.Key(), review.Acknowledged, review.NoReason, review.TokenReviewer(token)); err != nil {
		t.Fatalf("reviewer: acknowledge: %v", err)
	}
	if _, err := svc.Set(ctx, an.Key(), review.Dismissed, review.FalsePositive, review.TokenReviewer(token)); err != nil {
		t.Fatalf("reviewer: dismiss: %v", err)
	}

	t.Run("reviewer reads anomalies and writes reviews only", func(t *testing.T) {
		if l, err := svc.List(ctx, store.ReviewFilter{}); err != nil || len(l) != 1 || l[0].Review.State != review.Dismissed {
			t.Errorf("reviewer lists the anomalies: %v, %v", l, err)
		}
		if rep, err := svc.Report(ctx, time.Time{}, time.Time{}); err != nil || len(rep) != 1 {
			t.Errorf("reviewer reports: %v, %v", rep, err)
		}
		c := s.conn(t, store.RoleReviewer)
		deny := []string{
			"INSERT INTO " + db + ".anomalies (team, metric) VALUES ('x', 'y')",
			"ALTER TABLE " + db + ".anomalies DELETE WHERE 1",
			"DELETE FROM " + db + ".anomaly_reviews WHERE 1",
			"ALTER TABLE " + db + ".anomaly_reviews DELETE WHERE 1",
			"ALTER TABLE " + db + ".anomaly_reviews UPDATE reviewer = 'cli' WHERE 1",
			"ALTER TABLE " + db + ".anomaly_reviews DROP CONSTRAINT reviewer_pseudonymous",
			"TRUNCATE TABLE " + db + ".anomaly_reviews",
			"DROP TABLE " + db + ".anomaly_reviews",
			"CREATE TABLE " + db + ".x (a UInt8) ENGINE = MergeTree ORDER BY a",
			"SELECT * FROM system.users",
			"SELECT * FROM file('/etc/passwd', 'LineAsString')",
			"SELECT * FROM remote('" + s.srv.Addr() + "', " + db + ".messages, 'default', '')",
		}
		for _, table := range append([]string{"messages", "edges", "node_metrics", "erasures", "team_stats", "team_themes",
			"team_network", "graph_metrics", "analyzer_windows", "schema_migrations"}, store.PublishedViews...) {
			deny = append(deny, "SELECT count() FROM "+db+"."+table)
		}
		rolesMustDeny(t, c, "reviewer", deny)
	})

	t.Run("no free text and no name in a review", func(t *testing.T) {
		c := s.conn(t, store.RoleReviewer)
		for _, values := range []string{
			"('acknowledged', '', 'Jo Bloggs')",
			"('acknowledged', '', 'jo.bloggs@example.com')",
			"('dismissed', 'Jo is off sick', 'cli')",
			"('dismissed', '', 'cli')",
			"('confirmed', 'other', 'cli')",
			"('on hold: Jo', '', 'cli')",
		} {
			q := "INSERT INTO " + db + ".anomaly_reviews (state, reason, reviewer) VALUES " + values
			err := c.Exec(ctx, q)
			if err == nil || rolesIsDenied(err) {
				t.Errorf("%s: %v; want the table to refuse the value", values, err)
			}
		}
		if _, err := svc.Set(ctx, an.Key(), review.Acknowledged, review.NoReason, "Jo Bloggs"); err == nil {
			t.Error("the service accepted a name as the reviewer")
		}
	})

	t.Run("analyst reads state, reason and day, not the reviewer", func(t *testing.T) {
		a := s.conn(t, store.RoleAnalyst)
		rows, err := a.Query(ctx, "SELECT * FROM "+db+".anomaly_reviews_k")
		if err != nil {
			t.Fatalf("analyst reads anomaly_reviews_k: %v", err)
		}
		cols := rows.Columns()
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		want := []string{"window_start", "granularity", "team", "metric", "state", "reason", "reviewed_on"}
		if !slices.Equal(cols, want) || n != 1 {
			t.Errorf("anomaly_reviews_k: columns %v, %d rows; want %v and the one review", cols, n, want)
		}
		var state, reason string
		if err := a.QueryRow(ctx, "SELECT toString(state), toString(reason) FROM "+db+".anomaly_reviews_k").Scan(&state, &reason); err != nil ||
			state != "dismissed" || reason != "false_positive" {
			t.Errorf("analyst: review %q %q, %v", state, reason, err)
		}
		if err := rolesRun(ctx, a, "SELECT reviewer FROM "+db+".anomaly_reviews_k"); err == nil {
			t.Error("analyst reads the reviewer through the view")
		}
		rolesMustDeny(t, a, "analyst", []string{
			"SELECT * FROM " + db + ".anomaly_reviews",
			"SELECT reviewer, reviewed_at FROM " + db + ".anomaly_reviews",
			"INSERT INTO " + db + ".anomaly_reviews (team, state, reviewer) VALUES ('team-a', 'acknowledged', 'cli')",
			"INSERT INTO " + db + ".anomaly_reviews_k (team, state) VALUES ('team-a', 'acknowledged')",
			"ALTER TABLE " + db + ".anomaly_reviews DELETE WHERE 1",
		})
		if _, err := review.NewService(s.store(t, store.RoleAnalyst), nil, nil).Set(ctx, an.Key(), review.Acknowledged, review.NoReason, review.CLIReviewer); !rolesIsDenied(err) {
			t.Errorf("analyst sets a review: %v; want an access-control refusal", err)
		}
	})

	t.Run("reviews hold no person id", func(t *testing.T) {
		admin := s.conn(t, store.RoleAdmin)
		var cols []string
		rows, err := admin.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = 'anomaly_reviews' ORDER BY position", db)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			_ = rows.Scan(&c)
			cols = append(cols, c)
		}
		rows.Close()
		if want := []string{"window_start", "granularity", "team", "metric", "state", "reason", "reviewer", "reviewed_at"}; !slices.Equal(cols, want) {
			t.Errorf("anomaly_reviews columns %v; want %v (a new column is a privacy decision: docs/privacy.md#reviews)", cols, want)
		}
		people := map[string]bool{"p_1": true, "p_2": true, "p_3": true}
		rows, err = admin.Query(ctx, "SELECT DISTINCT arrayJoin(arrayPushBack(recipients, sender)) FROM "+db+".messages")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var p string
			_ = rows.Scan(&p)
			people[p] = true
		}
		rows.Close()
		rows, err = admin.Query(ctx, "SELECT toString(window_start), toString(granularity), toString(team), toString(metric), toString(state), toString(reason), toString(reviewer), toString(reviewed_at) FROM "+db+".anomaly_reviews")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			vals := make([]string, 8)
			ptrs := make([]any, 8)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			n++
			for i, v := range vals {
				if people[v] || strings.HasPrefix(v, "p_") {
					t.Errorf("anomaly_reviews.%s holds %q, a person id", cols[i], v)
				}
			}
			if vals[6] != review.TokenReviewer(token) || strings.Contains(vals[6], token) {
				t.Errorf("reviewer stored as %q; want the token's pseudonym %s", vals[6], review.TokenReviewer(token))
			}
		}
		if n == 0 {
			t.Fatal("no review rows to check")
		}
	})
}
