package store

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal/chtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata (replicated.sql, replicated_erasure.txt, roles_*.sql)")

// Every statement of every migration renders for a cluster, in both modes,
// and every table a migration creates has a sharding key that is a
// function of its ORDER BY columns (so FINAL, applied per shard, still
// collapses every version of a row).
func TestClusterLayoutCoversTheSchema(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	orderBy := regexp.MustCompile(`(?m)^ORDER BY (.*)$`)
	keyCols := regexp.MustCompile(`cityHash64\(([^)]*)\)`)
	created := map[string]string{} // table -> its latest ORDER BY
	for _, m := range ms {
		for _, stmt := range m.SQL {
			for _, c := range []Cluster{{Name: "c"}, {Name: "c", Replicated: true}} {
				cs, err := newClusterSchema(c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := cs.statements(stmt); err != nil {
					t.Errorf("%s (replicated %v): %v", m.Name, c.Replicated, err)
				}
			}
			if g := createTableRE.FindStringSubmatch(stmt); g != nil {
				o := orderBy.FindStringSubmatch(stmt)
				if o == nil {
					t.Fatalf("%s: %s has no ORDER BY", m.Name, g[2])
				}
				created[g[2]] = o[1]
			}
		}
	}
	for table, order := range created {
		key, ok := ClusterLayout[table]
		if !ok {
			t.Errorf("table %s has no entry in ClusterLayout", table)
			continue
		}
		if key == "" {
			continue
		}
		k := keyCols.FindStringSubmatch(key)
		if k == nil {
			t.Errorf("%s: key %q is not cityHash64 of columns", table, key)
			continue
		}
		cols := regexp.MustCompile(`\w+`).FindAllString(order, -1)
		for _, col := range strings.Split(k[1], ",") {
			if !slices.Contains(cols, strings.TrimSpace(col)) {
				t.Errorf("%s: sharding key column %s is not in ORDER BY (%s)", table, col, order)
			}
		}
	}
	for table := range ClusterLayout {
		if _, ok := created[table]; !ok {
			t.Errorf("ClusterLayout lists %s, which no migration creates", table)
		}
	}
}

// The statement kinds of the migrations, rendered for a cluster.
func TestClusterStatements(t *testing.T) {
	plain, err := newClusterSchema(Cluster{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	repl, err := newClusterSchema(Cluster{Name: "c", Replicated: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cs   *clusterSchema
		in   string
		want []string
	}{
		{plain, "CREATE TABLE IF NOT EXISTS {{db}}.team_stats\n(team String)\nENGINE = ReplacingMergeTree(computed_at)\nORDER BY team",
			[]string{"CREATE TABLE IF NOT EXISTS {{db}}.team_stats_local\n(team String)\nENGINE = ReplacingMergeTree(computed_at)\nORDER BY team",
				"CREATE TABLE IF NOT EXISTS {{db}}.team_stats AS {{db}}.team_stats_local\nENGINE = Distributed(c, {{db}}, team_stats_local, cityHash64(team))"}},
		{repl, "CREATE TABLE IF NOT EXISTS {{db}}.erasures\n(person String)\nENGINE = ReplacingMergeTree(erased_at)\nORDER BY person",
			[]string{"CREATE TABLE IF NOT EXISTS {{db}}.erasures ON CLUSTER c\n(person String)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/erasures', '{replica}', erased_at)\nORDER BY person"}},
		{plain, "ALTER TABLE {{db}}.messages ADD COLUMN IF NOT EXISTS themes UInt16 DEFAULT 0 AFTER after_hours",
			[]string{"ALTER TABLE {{db}}.messages_local ADD COLUMN IF NOT EXISTS themes UInt16 DEFAULT 0 AFTER after_hours",
				"ALTER TABLE {{db}}.messages ADD COLUMN IF NOT EXISTS themes UInt16 DEFAULT 0 AFTER after_hours"}},
		{plain, "ALTER TABLE {{db}}.analyzer_windows ADD COLUMN IF NOT EXISTS shard UInt16 AFTER window_start, MODIFY ORDER BY (granularity, window_start, shard)",
			[]string{"ALTER TABLE {{db}}.analyzer_windows_local ADD COLUMN IF NOT EXISTS shard UInt16 AFTER window_start, MODIFY ORDER BY (granularity, window_start, shard)",
				"ALTER TABLE {{db}}.analyzer_windows ADD COLUMN IF NOT EXISTS shard UInt16 AFTER window_start"}},
		{repl, "ALTER TABLE {{db}}.edges MODIFY TTL window_start + INTERVAL 1 DAY",
			[]string{"ALTER TABLE {{db}}.edges_local ON CLUSTER c MODIFY TTL window_start + INTERVAL 1 DAY"}},
		{repl, "ALTER TABLE {{db}}.{{published_view}} MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER",
			[]string{"ALTER TABLE {{db}}.{{published_view}} ON CLUSTER c MODIFY SQL SECURITY DEFINER DEFINER = CURRENT_USER"}},
		{repl, "CREATE OR REPLACE VIEW {{db}}.anomalies_k DEFINER = CURRENT_USER SQL SECURITY DEFINER AS\nSELECT * FROM {{db}}.anomalies FINAL",
			[]string{"CREATE OR REPLACE VIEW {{db}}.anomalies_k ON CLUSTER c DEFINER = CURRENT_USER SQL SECURITY DEFINER AS\nSELECT * FROM {{db}}.anomalies FINAL"}},
		{plain, "DROP TABLE IF EXISTS {{db}}.anomalies",
			[]string{"DROP TABLE IF EXISTS {{db}}.anomalies", "DROP TABLE IF EXISTS {{db}}.anomalies_local"}},
		{repl, "DROP VIEW IF EXISTS {{db}}.anomalies_k",
			[]string{"DROP VIEW IF EXISTS {{db}}.anomalies_k ON CLUSTER c SYNC"}},
	} {
		got, err := tc.cs.statements(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q:\n got %q, %v\nwant %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"CREATE MATERIALIZED VIEW {{db}}.mv TO {{db}}.x AS SELECT 1",
		"CREATE TABLE IF NOT EXISTS {{db}}.unknown (a UInt8) ENGINE = MergeTree ORDER BY a",
		"ALTER TABLE {{db}}.messages ADD COLUMN x UInt8, MODIFY TTL occurred_at + INTERVAL 1 DAY",
		"INSERT INTO {{db}}.messages SELECT 1",
		"RENAME TABLE {{db}}.a TO {{db}}.b",
	} {
		if got, err := repl.statements(bad); err == nil {
			t.Errorf("%q rendered as %q, want an error", bad, got)
		}
	}
}

// The replicated DDL cannot run here (no Keeper: ClickHouse refuses ON
// CLUSTER and Replicated tables stay read-only), so it is checked as text:
// against the reviewed golden file, and by rule.
func TestReplicatedSchemaScript(t *testing.T) {
	script, err := SchemaScript(Config{Addr: []string{"x:9000"}, Database: "commpulse", TTLDays: 180,
		Cluster: Cluster{Name: "prod", Replicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/replicated.sql"
	if *update {
		if err := os.WriteFile(golden, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if script != string(want) {
		t.Errorf("SchemaScript differs from %s (run with -update after reviewing the change):\n%s", golden, script)
	}
	engine := regexp.MustCompile(`ENGINE = (\w+)\(([^)]*)\)`)
	locals, dists := map[string]bool{}, map[string]bool{}
	for _, stmt := range strings.Split(strings.TrimSpace(script), ";\n") {
		stmt = strings.TrimSpace(stmt)
		for strings.HasPrefix(stmt, "--") {
			_, stmt, _ = strings.Cut(stmt, "\n")
		}
		if !strings.Contains(stmt, " ON CLUSTER prod") {
			t.Errorf("no ON CLUSTER: %s", stmt)
		}
		if strings.HasPrefix(stmt, "DROP ") && !strings.HasSuffix(stmt, " SYNC") {
			t.Errorf("a drop without SYNC leaves the Keeper path to a re-created table: %s", stmt)
		}
		name := regexp.MustCompile(`^\S+ \S+ (?:IF NOT EXISTS |IF EXISTS )?commpulse\.(\w+)`).FindStringSubmatch(stmt)
		for _, e := range engine.FindAllStringSubmatch(stmt, -1) {
			switch {
			case e[1] == "Distributed":
				if !strings.HasPrefix(e[2], "prod, commpulse, ") {
					t.Errorf("Distributed over another cluster: %s", stmt)
				}
				dists[name[1]] = true
			case strings.HasPrefix(e[1], "Replicated") && strings.HasSuffix(e[1], "MergeTree"):
				path := "'/clickhouse/tables/{shard}/{database}/" + name[1] + "', '{replica}'"
				if name[1] == "schema_migrations" {
					path = "'/clickhouse/tables/all/{database}/schema_migrations', '{replica}'"
				}
				if !strings.HasPrefix(e[2], path) {
					t.Errorf("replication path of %s: %s", name[1], e[2])
				}
				locals[name[1]] = true
			default:
				t.Errorf("engine %s is neither Replicated nor Distributed: %s", e[1], stmt)
			}
		}
	}
	for table, key := range ClusterLayout {
		if key == "" {
			if !locals[table] || dists[table] {
				t.Errorf("%s: want one replicated table per shard", table)
			}
		} else if !locals[LocalTable(table)] || !dists[table] {
			t.Errorf("%s: want %s replicated and %s distributed", table, LocalTable(table), table)
		}
	}
	if !strings.Contains(script, "ENGINE = Distributed(prod, commpulse, messages_local, cityHash64(event_id))") {
		t.Error("messages is not sharded by event_id")
	}
}

// Without a cluster the script is the migrations as written.
func TestSingleNodeSchemaScriptIsTheMigrations(t *testing.T) {
	script, err := SchemaScript(Config{Addr: []string{"x:9000"}, Database: "db", TTLDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	for _, m := range ms {
		for _, stmt := range m.SQL {
			if !strings.Contains(stmt, publishedViewVar) && !strings.Contains(script, Render(stmt, "db", 30)+";\n") {
				t.Errorf("%s: statement missing or changed: %s", m.Name, stmt)
			}
		}
	}
	var code []string
	for _, line := range strings.Split(script, "\n") {
		if !strings.HasPrefix(line, "--") {
			code = append(code, line)
		}
	}
	if c := strings.Join(code, "\n"); strings.Contains(c, "_local") || strings.Contains(c, "ON CLUSTER") || strings.Contains(c, "Distributed") {
		t.Error("single-node script has cluster DDL")
	}
}

// clusterForTest migrates a fresh database on the shared two-shard test
// cluster through shard 1 and returns the cluster store and a plain store on
// each shard (to look at one shard's local tables).
func clusterForTest(t *testing.T, c Cluster) (*Store, []*Store, string) {
	t.Helper()
	srvs := chtest.Cluster(t)
	db := chtest.ClusterDatabase(t, srvs)
	c.Name = chtest.ClusterName
	st, err := Open(Config{Addr: []string{srvs[0].Addr()}, Database: db, Cluster: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	applied, err := st.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrate %s on the cluster: %v", db, err)
	}
	t.Logf("migrated %d shards in %s", len(srvs), time.Since(start).Round(time.Millisecond))
	ms, _ := Migrations()
	if len(applied) != len(ms) {
		t.Fatalf("applied %v of %d migrations", applied, len(ms))
	}
	var shards []*Store
	for _, srv := range srvs {
		sh, err := Open(Config{Addr: []string{srv.Addr()}, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sh.Close() })
		shards = append(shards, sh)
	}
	return st, shards, db
}

// migrate --cluster on two real shards: each has every sharded table as a
// local table with its engine and a Distributed table over the local
// tables with the same columns (the ALTERs reached both), the erasures
// table whole, and the published views; a second Migrate applies nothing.
func TestClusterMigrate(t *testing.T) {
	st, shards, db := clusterForTest(t, Cluster{})
	ctx := context.Background()
	for i, sh := range shards {
		tables, err := sh.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for table, key := range ClusterLayout {
			if key == "" {
				if e := tables[table].Engine; e != "ReplacingMergeTree" {
					t.Errorf("shard %d: %s engine %q", i+1, table, e)
				}
				continue
			}
			local, dist := tables[LocalTable(table)], tables[table]
			if local.Engine != "ReplacingMergeTree" || dist.Engine != "Distributed" {
				t.Errorf("shard %d: %s is %q, %s is %q", i+1, LocalTable(table), local.Engine, table, dist.Engine)
			}
			want := fmt.Sprintf("Distributed(%s, %s, %s, %s)", chtest.ClusterName, db, LocalTable(table), key)
			if !strings.Contains(strings.ReplaceAll(dist.EngineFull, "'", ""), want) {
				t.Errorf("shard %d: %s engine %s, want %s", i+1, table, dist.EngineFull, want)
			}
			var lc, dc string
			q := "SELECT arrayStringConcat(groupArray(name || ' ' || type), ', ') FROM (SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ? ORDER BY position)"
			if err := sh.Conn().QueryRow(ctx, q, LocalTable(table)).Scan(&lc); err != nil {
				t.Fatal(err)
			}
			if err := sh.Conn().QueryRow(ctx, q, table).Scan(&dc); err != nil {
				t.Fatal(err)
			}
			if lc != dc || lc == "" {
				t.Errorf("shard %d: columns of %s differ from its local table:\n%s\n%s", i+1, table, dc, lc)
			}
		}
		for _, v := range PublishedViews {
			if tables[v].Engine != "View" {
				t.Errorf("shard %d: view %s missing", i+1, v)
			}
			// A view over Distributed tables must also answer: an IN or
			// JOIN subquery on another Distributed table is refused by
			// default (distributed_product_mode = deny).
			var n uint64
			if err := sh.Conn().QueryRow(ctx, "SELECT count() FROM "+v).Scan(&n); err != nil {
				t.Errorf("shard %d: SELECT from view %s: %v", i+1, v, err)
			}
		}
	}
	again, err := st.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, %v", again, err)
	}
	// A layout naming fewer shards than the servers have is refused: the
	// Distributed tables would write to a shard erasure never reaches.
	bad, err := Open(Config{Addr: st.cfg.Addr, Database: db, Cluster: Cluster{Name: chtest.ClusterName, Shards: [][]string{st.cfg.Addr}}})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "1 shards configured, the server lists 2") {
		t.Fatalf("Migrate with one of two shards: %v", err)
	}
}

func countOn(t *testing.T, st *Store, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Messages inserted through the Distributed table land on both shards, all
// copies of one event on one shard, and a redelivery collapses under FINAL.
func TestClusterMessagesCollapseRedeliveries(t *testing.T) {
	srvs := chtest.Cluster(t)
	addrs := [][]string{{srvs[0].Addr()}, {srvs[1].Addr()}}
	st, shards, _ := clusterForTest(t, Cluster{Shards: addrs})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	var rows []Message
	for i := range 200 {
		rows = append(rows, Message{EventID: fmt.Sprintf("ev%03d", i), OccurredAt: now.Add(-time.Duration(i) * time.Hour),
			IngestedAt: now, Channel: "chat", Sender: fmt.Sprintf("p_%d", i%7), Team: "t", Recipients: []string{"p_x"}, RecipientTeams: []string{"t"}})
	}
	if err := st.InsertMessages(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Kafka redelivers the first 20 events after a restart.
	again := slices.Clone(rows[:20])
	for i := range again {
		again[i].IngestedAt = now.Add(time.Minute)
	}
	if err := st.InsertMessages(ctx, again); err != nil {
		t.Fatal(err)
	}
	var total uint64
	for i, sh := range shards {
		n := countOn(t, sh, "SELECT count() FROM messages_local")
		if n == 0 {
			t.Errorf("shard %d got no messages", i+1)
		}
		t.Logf("shard %d: %d rows", i+1, n)
		total += n
	}
	if total != 220 {
		t.Errorf("the shards hold %d rows right after the inserts returned, want 220 (foreground insert)", total)
	}
	for _, e := range again {
		var where []uint64
		for _, sh := range shards {
			where = append(where, countOn(t, sh, "SELECT count() FROM messages_local WHERE event_id = ?", e.EventID))
		}
		if !slices.Equal(where, []uint64{2, 0}) && !slices.Equal(where, []uint64{0, 2}) {
			t.Errorf("copies of %s per shard: %v, want both on one shard", e.EventID, where)
		}
	}
	for i, sh := range shards {
		if n := countOn(t, sh, "SELECT count() FROM messages FINAL"); n != 200 {
			t.Errorf("FINAL through shard %d's Distributed table: %d rows, want 200", i+1, n)
		}
	}
	if n, _, err := st.MessageTotals(ctx); err != nil || n != 200 {
		t.Errorf("MessageTotals = %d, %v; want 200", n, err)
	}
}

// Re-running a window on the cluster replaces its rows: the DELETE that
// clears them runs on every shard's local table (a Distributed table takes
// none). Also with the store configured for a replicated cluster (on the
// same plain tables: there is no Keeper here, see clearIfAny), which used
// to refuse the DELETE, so that a window that failed half written could
// never be retried there.
func TestClusterWindowRerunReplacesRows(t *testing.T) {
	for _, replicated := range []bool{false, true} {
		t.Run(fmt.Sprintf("replicated=%v", replicated), func(t *testing.T) { testWindowRerun(t, replicated) })
	}
}

func testWindowRerun(t *testing.T, replicated bool) {
	st, shards, db := clusterForTest(t, Cluster{})
	if replicated {
		var err error
		if st, err = Open(Config{Addr: st.cfg.Addr, Database: db, Cluster: Cluster{Name: chtest.ClusterName, Replicated: true}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	write := func(teams int, messages float64) {
		t.Helper()
		var rows []TeamStats
		for i := range teams {
			rows = append(rows, TeamStats{WindowStart: day, Granularity: Day, Team: fmt.Sprintf("team%02d", i), Messages: messages, ActiveMembers: 9})
		}
		if err := st.WriteTeamStats(ctx, Day, day, day.AddDate(0, 0, 1), rows, 5, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	write(12, 1)
	for i, sh := range shards {
		if n := countOn(t, sh, "SELECT count() FROM team_stats_local"); n == 0 {
			t.Errorf("shard %d holds no team", i+1)
		}
	}
	write(5, 2)
	// The DELETE is asynchronous (lightweight_deletes_sync = 0): wait for it.
	deadline := time.Now().Add(30 * time.Second)
	var n uint64
	for {
		if n = countOn(t, st, "SELECT count() FROM team_stats FINAL"); n == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("left after the re-run: %d rows", n)
	if n != 5 {
		t.Errorf("after the re-run: %d rows, want 5", n)
	}
	if n := countOn(t, st, "SELECT count() FROM team_stats FINAL WHERE messages != 2"); n != 0 {
		t.Errorf("%d rows of the first run left", n)
	}
}
