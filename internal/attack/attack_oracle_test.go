package attack

// The published views run with definer security: the analyst reads
// team_stats_k, anomalies_k and the rest without any grant on the tables
// under them, which hold the rows the views hide (team-windows below k, a
// team a re-run withdrew). The analyst's profile is readonly = 2, which
// lets it change settings. One of them, additional_table_filters, adds a
// filter the server evaluates on the rows of the named table as it reads
// them, inside the definer's query and before the view's own WHERE: with
// throwIf it is an error oracle over every hidden row. Here the analyst
// learns that team lowk, which no view shows, has exactly four senders on
// the day.

import (
	"context"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/store"
)

// TestAttackAnalystFilterOracle: whatever additional_table_filters the
// analyst sets, the answer must not depend on rows the views hide: a
// predicate true of the hidden row and one false of it must get the same
// answer (both refused, or the same count), through team_stats_k and
// through anomalies_k's re-check of team_stats.
func TestAttackAnalystFilterOracle(t *testing.T) {
	s := rolesStart(t)
	ctx := context.Background()
	w := s.conn(t, store.RoleWriter)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	if err := w.Exec(ctx, "INSERT INTO "+s.db+`.team_stats (window_start, granularity, team, messages, active_members,
		k_applied, epsilon, computed_at) VALUES (?, 'day', 'lowk', 40, 4, 5, 1, now()), (?, 'day', 'big', 90, 8, 5, 1, now())`, day, day); err != nil {
		t.Fatalf("writer: team_stats: %v", err)
	}
	an := s.conn(t, store.RoleAnalyst)
	answer := func(view, predicate string) string {
		t.Helper()
		q := "SELECT count() FROM " + s.db + "." + view + " SETTINGS additional_table_filters = {'" + s.db +
			".team_stats': '" + strings.ReplaceAll(predicate, "'", `\'`) + "'}"
		var n uint64
		if err := an.QueryRow(ctx, q).Scan(&n); err != nil {
			if strings.Contains(err.Error(), "throwIf") {
				return "oracle: " + err.Error()
			}
			return "refused"
		}
		return "count " + string(rune('0'+n))
	}
	for _, view := range []string{"team_stats_k", "anomalies_k"} {
		t.Run(view, func(t *testing.T) {
			hit := answer(view, "throwIf(team = 'lowk' AND active_members = 4) = 0")
			miss := answer(view, "throwIf(team = 'lowk' AND active_members = 3) = 0")
			if hit != miss {
				t.Errorf("the analyst tells a hidden row's figure through %s: %q for the true value, %q for a false one", view, hit, miss)
			}
		})
	}
}
