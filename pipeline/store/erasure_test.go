package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal/chtest"
)

// Every statement erasure builds names persons only through the erasures
// table, and the erasure record itself is never erased.
func TestEraseSQLNamesNoPerson(t *testing.T) {
	sel := "SELECT person FROM db.erasures WHERE batch = 'b'"
	for _, table := range ErasableTables() {
		q := EraseSQL(table, sel, "window_days = 1")
		if q == "" {
			t.Fatalf("%s: no statement", table)
		}
		if !strings.Contains(q, "mutations_sync = 2") || strings.Contains(q, "DELETE FROM") {
			t.Fatalf("%s: not a synchronous mutation: %s", table, q)
		}
		if strings.Count(q, "?") != 0 {
			t.Fatalf("%s: placeholders would splice values into the text: %s", table, q)
		}
	}
	if q := EraseSQL("erasures", sel, ""); q != "" {
		t.Fatalf("the erasure record is erasable: %s", q)
	}
	if q := EraseSQL("team_stats", sel, ""); q != "" {
		t.Fatalf("a team-level table is erasable: %s", q)
	}
}

// PersonTables lists exactly the columns of the schema that hold person ids
// (by the names the schema uses for them), and nothing that does not exist.
func TestPersonTablesCoverTheSchema(t *testing.T) {
	st, db := migratedForTest(t)
	ctx := context.Background()
	rows, err := st.Conn().Query(ctx, "SELECT table, name FROM system.columns WHERE database = ? AND table IN (SELECT name FROM system.tables WHERE database = ? AND engine NOT LIKE '%View')", db, db)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	personNames := map[string]bool{"sender": true, "recipients": true, "src": true, "dst": true, "person": true}
	listed := map[string]bool{}
	for _, pc := range PersonTables {
		listed[pc.Table+"."+pc.Column] = true
	}
	seen := map[string]bool{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		key := table + "." + col
		seen[key] = true
		if personNames[col] && !listed[key] {
			t.Errorf("%s holds person ids but is not in PersonTables", key)
		}
	}
	for key := range listed {
		if !seen[key] {
			t.Errorf("PersonTables lists %s, which the schema does not have", key)
		}
	}
}

// ErasePersons leaves no row of the person in any part (masked or not),
// records a finished erasure, and writes no id into system.mutations.
// erasureFixture is n hourly messages before now: every third sent by p,
// the others to p (and p_x), so p is in both person columns.
func erasureFixture(p string, now time.Time, n int) []Message {
	var rows []Message
	for i := range n {
		m := Message{EventID: fmt.Sprintf("e%03d", i), OccurredAt: now.Add(-time.Duration(i) * time.Hour),
			IngestedAt: now, Channel: "chat", Sender: "p_other", Team: "t", Recipients: []string{"p_x", p}, RecipientTeams: []string{"t", "u"}}
		if i%3 == 0 {
			m.Sender, m.Recipients, m.RecipientTeams = p, []string{"p_other"}, []string{"t"}
		}
		rows = append(rows, m)
	}
	return rows
}

func TestErasePersonsIsPhysicalAndNamesNoOne(t *testing.T) {
	st, db := migratedForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const p = "p_erasethis"
	now := time.Now().UTC().Truncate(time.Hour)
	rows := erasureFixture(p, now, 50)
	if err := st.InsertMessages(ctx, rows); err != nil {
		t.Fatal(err)
	}
	c := st.Conn()
	for _, q := range []string{
		"INSERT INTO " + db + ".edges (window_start, window_days, src, dst) VALUES (now(), 1, 'p_erasethis', 'p_other'), (now(), 1, 'p_other', 'p_erasethis'), (now(), 1, 'p_other', 'p_x')",
		"INSERT INTO " + db + ".node_metrics (window_start, window_days, person) VALUES (now(), 1, 'p_erasethis'), (now(), 1, 'p_other')",
	} {
		if err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ErasePersons(ctx, []string{p}); err != nil {
		t.Fatal(err)
	}
	count := func(q string) uint64 {
		var n uint64
		if err := c.QueryRow(ctx, strings.ReplaceAll(q, "{db}", db)+" SETTINGS apply_deleted_mask = 0").Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for name, q := range map[string]string{
		"messages sent":      "SELECT count() FROM {db}.messages WHERE sender = 'p_erasethis'",
		"messages received":  "SELECT count() FROM {db}.messages WHERE has(recipients, 'p_erasethis')",
		"edges":              "SELECT count() FROM {db}.edges WHERE src = 'p_erasethis' OR dst = 'p_erasethis'",
		"node_metrics":       "SELECT count() FROM {db}.node_metrics WHERE person = 'p_erasethis'",
		"bad recipient_team": "SELECT count() FROM {db}.messages WHERE has(recipient_teams, 'u') OR length(recipient_teams) != length(recipients) OR recipient_count != length(recipients)",
	} {
		if n := count(q); n != 0 {
			t.Errorf("%s: %d rows left (masked rows included)", name, n)
		}
	}
	if n := count("SELECT count() FROM {db}.messages WHERE sender = 'p_other' AND has(recipients, 'p_x')"); n == 0 {
		t.Error("other people's messages were lost")
	}
	if n := count("SELECT count() FROM {db}.edges WHERE src = 'p_other' AND dst = 'p_x'"); n != 1 {
		t.Errorf("other people's edges: %d, want 1", n)
	}
	done, err := st.Erased(ctx, []string{p, "p_other"})
	if err != nil || !done[p] || done["p_other"] {
		t.Fatalf("Erased = %v, %v", done, err)
	}
	if n := count("SELECT count() FROM system.mutations WHERE database = '{db}' AND position(command, 'p_erasethis') > 0"); n != 0 {
		t.Errorf("%d mutations name the person", n)
	}
	if n := count("SELECT count() FROM system.mutations WHERE database = '{db}' AND NOT is_done"); n != 0 {
		t.Errorf("%d mutations not done after ErasePersons returned", n)
	}
}

// A crash between the first erasures row and the deletes leaves the
// erasure not done, so that ingest erases the person again at start.
func TestErasureNotDoneUntilDeleted(t *testing.T) {
	st, db := migratedForTest(t)
	ctx := context.Background()
	if err := st.Conn().Exec(ctx, "INSERT INTO "+db+".erasures (person, erased_at, batch, done) VALUES ('p_half', now64(3), 'b', false)"); err != nil {
		t.Fatal(err)
	}
	done, err := st.Erased(ctx, []string{"p_half"})
	if err != nil || done["p_half"] {
		t.Fatalf("a started erasure counts as done: %v, %v", done, err)
	}
}

// migratedForTest is storetest.Migrated for this package's own tests (which
// storetest, importing store, cannot serve). These tests run before
// store_test.go's, whose credentials test makes the engine restart.
func migratedForTest(t *testing.T) (*Store, string) {
	t.Helper()
	srv := chtest.Server(t)
	db := chtest.NewDatabase(t, srv)
	st, err := Open(Config{Addr: []string{srv.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", db, err)
	}
	return st, db
}
