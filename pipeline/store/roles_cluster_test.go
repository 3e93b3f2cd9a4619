package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal"
	"commpulse/internal/chlocal/chtest"
)

// rolesDeniedErr reports whether err is a refusal by access control (not
// enough privileges, code 497; a readonly user, 164).
func rolesDeniedErr(err error) bool {
	if err == nil {
		return false
	}
	e := strings.ToLower(err.Error())
	return strings.Contains(e, "code: 497") || strings.Contains(e, "code: 164") || strings.Contains(e, "not enough privileges")
}

// The access model on a real two-shard cluster whose servers hold the
// model's users: the admin migrates the cluster, the writer inserts
// through the Distributed tables and erases a person from both shards'
// local tables (ErasePersons, EraseInFlight), the analyst reads the
// published views through either shard and nothing under them, the
// reviewer reads anomalies and writes a review through the Distributed
// tables. Two configurations of remote_servers:
//
//   - without a secret, a shard runs what another shard sends it as the
//     replica's user, the model's interserver user: the grants are checked
//     on the shard the client is connected to, erasure's per-shard
//     connections need the local tables' grants, and the admin cannot read
//     other databases or system tables of the shards through a Distributed
//     table it creates;
//   - with an interserver secret, every shard checks the initial user's
//     grants on the local tables, so the writer's and reviewer's reads and
//     inserts through a Distributed table need them too. The published
//     views then fail for the analyst: a shard checks the analyst, not the
//     views' definer, on the local tables (ClickHouse issue #88009, open),
//     and the model does not grant the analyst the tables under the views
//     (they hold the rows below k). docs/security.md says to run a cluster
//     without a secret; the test pins the refusal so that a fixed server
//     shows up here.
func TestRolesOnCluster(t *testing.T) {
	for _, secret := range []bool{false, true} {
		name := "replica user"
		if secret {
			name = "secret"
		}
		t.Run(name, func(t *testing.T) { testRolesOnCluster(t, secret) })
	}
}

func testRolesOnCluster(t *testing.T, secret bool) {
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	db := "c_roles_" + hex.EncodeToString(rb[:])
	c := Cluster{Name: chtest.ClusterName}
	pw := map[Role]string{}
	for _, r := range append(Roles, ClusterRoles...) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		pw[r] = hex.EncodeToString(b[:])
	}
	m := AccessModel{Database: db, Passwords: pw, Cluster: c}
	dir := t.TempDir()
	users := filepath.Join(dir, "users.xml")
	xml, err := m.UsersXML(users)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users, xml, 0o600); err != nil {
		t.Fatal(err)
	}
	o := chtest.ClusterOptions{UsersXML: users, User: m.UserName(RoleInterserver), Password: pw[RoleInterserver]}
	if secret {
		var sb [16]byte
		_, _ = rand.Read(sb[:])
		o.Secret = hex.EncodeToString(sb[:])
	}
	var srvs []*chlocal.Server
	for _, shard := range chtest.StartCluster(t, o) {
		srvs = append(srvs, shard...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// as opens a store as role r's user through shard i (native, right
	// password: a wrong one would abort the embedded engine).
	as := func(r Role, i int) *Store {
		t.Helper()
		st, err := Open(Config{Addr: []string{srvs[i].Addr()}, Database: db, Cluster: c,
			Username: m.UserName(r), Password: pw[r]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	// engine opens a store as the engine's own user on shard i, to check
	// what each shard holds.
	engine := func(i int) *Store {
		t.Helper()
		st, err := Open(Config{Addr: []string{srvs[i].Addr()}, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}

	if _, err := as(RoleAdmin, 0).Migrate(ctx); err != nil {
		t.Fatalf("migrate the cluster as %s: %v", m.UserName(RoleAdmin), err)
	}
	shards := []*Store{engine(0), engine(1)}
	for i, sh := range shards {
		tables, err := sh.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tables["messages"].Engine != "Distributed" || tables[LocalTable("messages")].Engine != "ReplacingMergeTree" {
			t.Fatalf("shard %d: messages %q, messages_local %q", i+1, tables["messages"].Engine, tables[LocalTable("messages")].Engine)
		}
	}

	const p = "p_erasethis"
	now := time.Now().UTC().Truncate(time.Hour)
	day := now.Truncate(24 * time.Hour)
	t.Run("writer", func(t *testing.T) {
		w := as(RoleWriter, 0)
		if err := w.InsertMessages(ctx, erasureFixture(p, now, 60)); err != nil {
			t.Fatalf("writer: insert messages through the Distributed table: %v", err)
		}
		if err := w.Conn().Exec(ctx, "INSERT INTO node_metrics (window_start, window_days, person) SELECT ?, 1, 'p_' || toString(number) FROM numbers(40) UNION ALL SELECT ?, 1, 'p_erasethis'", day, day); err != nil {
			t.Fatalf("writer: insert node_metrics: %v", err)
		}
		for i, sh := range shards {
			if n := countOn(t, sh, "SELECT count() FROM messages_local WHERE sender = 'p_erasethis'"); n == 0 {
				t.Fatalf("shard %d holds none of the person's messages", i+1)
			}
		}
		// Reads through the Distributed table, from either shard.
		for i := range srvs {
			if n := countOn(t, as(RoleWriter, i), "SELECT count() FROM messages FINAL"); n != 60 {
				t.Errorf("writer reads messages through shard %d: %d rows, want 60", i+1, n)
			}
		}
		if err := w.ErasePersons(ctx, []string{p}); err != nil {
			t.Fatalf("writer: erase: %v", err)
		}
		for i, sh := range shards {
			for _, q := range []string{
				"SELECT count() FROM messages_local WHERE sender = 'p_erasethis' OR has(recipients, 'p_erasethis')",
				"SELECT count() FROM node_metrics_local WHERE person = 'p_erasethis'",
			} {
				if n := countOn(t, sh, q+" SETTINGS apply_deleted_mask = 0"); n != 0 {
					t.Errorf("shard %d after the erasure: %s: %d", i+1, q, n)
				}
			}
			if done, err := sh.Erased(ctx, []string{p}); err != nil || !done[p] {
				t.Errorf("shard %d: erasure not done: %v, %v", i+1, done, err)
			}
		}
		// A late row of a person whose erasure is in flight.
		if err := w.Conn().Exec(ctx, "INSERT INTO node_metrics (window_start, window_days, person) VALUES (?, 1, 'p_late')", day); err != nil {
			t.Fatal(err)
		}
		for _, sh := range shards {
			if err := sh.Conn().Exec(ctx, "INSERT INTO erasures (person, erased_at, batch, done) VALUES ('p_late', now64(3), 'b', false)"); err != nil {
				t.Fatal(err)
			}
		}
		erased, err := w.EraseInFlight(ctx, time.Now().Add(-time.Minute), day, 1)
		if err != nil || erased["node_metrics"] != 1 {
			t.Fatalf("writer: EraseInFlight = %v, %v; want 1 node_metrics row", erased, err)
		}
		if n := countOn(t, w, "SELECT count() FROM node_metrics WHERE person = 'p_late'"); n != 0 {
			t.Errorf("%d in-flight rows left", n)
		}
		// Figures for the views below, as analyze writes them.
		if err := w.Conn().Exec(ctx, `INSERT INTO team_stats (window_start, granularity, team, messages,
			active_members, scored_messages, after_hours_share, k_applied, computed_at) VALUES (?, 'day', 'team-a', 40, 6, 40, 0.1, 5, ?)`, day, now); err != nil {
			t.Fatalf("writer: insert team_stats: %v", err)
		}
		if err := w.Conn().Exec(ctx, `INSERT INTO anomalies (window_start, granularity, team, metric, value, expected, low, high,
			score, severity, direction, detector, detected_at) VALUES (?, 'day', 'team-a', 'messages', 40, 50, 44, 56, 0.8, 'warning', 'down', 'mad', ?)`, day, now); err != nil {
			t.Fatalf("writer: insert anomalies: %v", err)
		}
		for _, q := range []string{
			"SELECT count() FROM team_stats_k",
			"CREATE TABLE x_local (a UInt8) ENGINE = MergeTree ORDER BY a",
			"DROP TABLE messages_local",
			"TRUNCATE TABLE messages_local",
			"INSERT INTO anomaly_reviews_local (team, state, reviewer) VALUES ('t', 'acknowledged', 'cli')",
		} {
			if err := w.Conn().Exec(ctx, q); !rolesDeniedErr(err) {
				t.Errorf("writer: %s: %v; want an access-control refusal", q, err)
			}
		}
	})

	t.Run("analyst", func(t *testing.T) {
		for i := range srvs {
			a := as(RoleAnalyst, i)
			if secret {
				var n uint64
				err := a.Conn().QueryRow(ctx, "SELECT count() FROM team_stats_k").Scan(&n)
				if !rolesDeniedErr(err) || !strings.Contains(err.Error(), "team_stats_local") {
					t.Errorf("analyst through shard %d with a secret: team_stats_k: %v; want the refusal on team_stats_local of ClickHouse #88009 (fixed? update docs/security.md)", i+1, err)
				}
				continue
			}
			if n := countOn(t, a, "SELECT count() FROM team_stats_k WHERE team = 'team-a'"); n != 1 {
				t.Errorf("analyst through shard %d: team_stats_k rows %d, want 1", i+1, n)
			}
			if n := countOn(t, a, "SELECT count() FROM anomalies_k WHERE team = 'team-a'"); n != 1 {
				t.Errorf("analyst through shard %d: anomalies_k rows %d, want 1", i+1, n)
			}
			for _, q := range []string{
				"SELECT count() FROM team_stats",
				"SELECT count() FROM team_stats_local",
				"SELECT count() FROM messages_local",
				"SELECT count() FROM anomalies_local",
				"SELECT count() FROM erasures",
				"INSERT INTO team_stats_local (team) VALUES ('x')",
			} {
				var n uint64
				if err := a.Conn().QueryRow(ctx, q).Scan(&n); !rolesDeniedErr(err) {
					t.Errorf("analyst through shard %d: %s: %v; want an access-control refusal", i+1, q, err)
				}
			}
		}
	})

	t.Run("reviewer", func(t *testing.T) {
		for i := range srvs {
			rv := as(RoleReviewer, i)
			if n := countOn(t, rv, "SELECT count() FROM anomalies FINAL WHERE team = 'team-a'"); n != 1 {
				t.Errorf("reviewer through shard %d: anomalies rows %d, want 1", i+1, n)
			}
			var n uint64
			if err := rv.Conn().QueryRow(ctx, "SELECT count() FROM messages_local").Scan(&n); !rolesDeniedErr(err) {
				t.Errorf("reviewer through shard %d reads messages_local: %v; want a refusal", i+1, err)
			}
		}
		rv := as(RoleReviewer, 1)
		k := AnomalyKey{Team: "team-a", Metric: "messages", Granularity: Day, WindowStart: day}
		if err := rv.WriteReview(ctx, Review{AnomalyKey: k, State: ReviewAcknowledged, Reviewer: "cli", ReviewedAt: now}); err != nil {
			t.Fatalf("reviewer: write a review through the Distributed table: %v", err)
		}
		if n := countOn(t, as(RoleReviewer, 0), "SELECT count() FROM anomaly_reviews WHERE team = 'team-a'"); n != 1 {
			t.Errorf("reviews read through shard 1: %d, want 1", n)
		}
	})

	t.Run("admin", func(t *testing.T) {
		// The admin may create Distributed tables (migrations do), and a
		// shard runs what one sends as the interserver user: through one,
		// nothing outside the local tables of the database is readable.
		other := db + "_other"
		for _, sh := range shards {
			for _, q := range []string{"CREATE DATABASE " + other, "CREATE TABLE " + other + ".t (name String) ENGINE = MergeTree ORDER BY name",
				"INSERT INTO " + other + ".t VALUES ('x')"} {
				if err := sh.Conn().Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
		ad := as(RoleAdmin, 0)
		for i, target := range []string{"system, users", "system, grants", other + ", t"} {
			peek := fmt.Sprintf("peek%d", i)
			column := "name"
			if strings.HasSuffix(target, "grants") {
				column = "user_name"
			}
			if err := ad.Conn().Exec(ctx, "CREATE TABLE "+peek+" ("+column+" String) ENGINE = Distributed("+chtest.ClusterName+", "+target+")"); err != nil {
				t.Fatalf("admin: create a Distributed table over %s: %v", target, err)
			}
			var n uint64
			err := ad.Conn().QueryRow(ctx, "SELECT count() FROM "+peek+" WHERE "+column+" != ''").Scan(&n)
			if !rolesDeniedErr(err) {
				t.Errorf("admin reads %s of the shards through a Distributed table: %d rows, %v; want a refusal", target, n, err)
			}
		}
		if n := countOn(t, ad, "SELECT count() FROM messages_local"); n == 0 {
			t.Error("admin reads no messages_local")
		}
	})

	// migrate --roles on a cluster without replication applies the SQL
	// shard by shard (no ON CLUSTER without Keeper); the embedded engine
	// refuses SQL access control, so it fails on the first shard.
	boot, err := Open(Config{Addr: []string{srvs[0].Addr()}, Database: db, Cluster: c})
	if err != nil {
		t.Fatal(err)
	}
	defer boot.Close()
	if err := boot.ApplyRoles(ctx, AccessModel{Passwords: pw}); err == nil || !strings.Contains(err.Error(), "shard 1") {
		t.Errorf("ApplyRoles on the embedded cluster: %v; want a refusal on shard 1", err)
	} else if strings.Contains(err.Error(), pw[RoleWriter]) {
		t.Errorf("error echoes a password: %v", err)
	}

	for i, srv := range srvs {
		if !srv.Running() || srv.Crashes() != 0 {
			t.Errorf("shard %d: running %v, crashes %d", i+1, srv.Running(), srv.Crashes())
		}
	}
}
