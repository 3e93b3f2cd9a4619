package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// A window clear on a replicated cluster (clearIfAny) decided whether to
// delete from one count through the Distributed table, which reads one
// replica of each shard: the one on the server analyze is connected to,
// when it is a replica of the shard (prefer_localhost_replica). A replica
// behind its shard (restarted, catching up its replication queue, or the
// earlier write went through another server) counts 0 and no DELETE is
// issued; the rows the other replica holds are replicated back, and a
// re-run that withdrew a team (an erasure left it below k) keeps its old
// row published. The clear must ask every replica, as EraseInFlight does.
//
// Here replica 2 of shard 1 holds a team_stats row of the window that
// replica 1, the server the store is connected to, does not; the window is
// then rewritten without that team. A DELETE must be issued on shard 1.
func TestReplicatedClearAsksEveryReplica(t *testing.T) {
	const name = "commpulse_clear"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r1, r2, _, db := twoReplicaCluster(ctx, t, name)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	behind, err := Open(Config{Addr: []string{r2.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer behind.Close()
	if err := behind.Conn().Exec(ctx, `INSERT INTO team_stats_local (window_start, granularity, team, messages, active_members,
		k_applied, epsilon, computed_at) VALUES (?, 'day', 'team-withdrawn', 90, 5, 5, 1, now())`, day); err != nil {
		t.Fatal(err)
	}

	rec := &recorder{}
	st, err := Open(Config{Addr: []string{r1.Addr()}, Database: db, Cluster: Cluster{Name: name, Replicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.trace = func(addr []string, c driver.Conn) driver.Conn { return rec.wrap(addr, c) }
	// Which replica the Distributed count reads is the server's choice
	// (load_balancing, random by default: the clear was skipped on one run
	// in four here); in_order makes it replica 1 every time.
	inOrder := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"load_balancing": "in_order"}))
	if err := st.WriteTeamStats(inOrder, Day, day, day.AddDate(0, 0, 1), nil, 5, time.Now()); err != nil {
		t.Fatalf("rewrite the window without the team: %v", err)
	}
	deleted := false
	for _, l := range rec.lines {
		if strings.Contains(l, "DELETE FROM team_stats_local") {
			deleted = true
		}
	}
	if !deleted {
		t.Errorf("no DELETE of the window on shard 1, whose replica 2 holds a row of it; statements: %q", rec.lines)
	}
}
