package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal"
	"commpulse/internal/chlocal/chtest"
)

// Erasure on the cluster removes the person from every shard's local
// tables (each shard checked directly), keeps everyone else's rows, marks
// the erasure done on every shard, and a shard that is down fails the
// erasure by name without marking it done.
func TestClusterErasureReachesEveryShard(t *testing.T) {
	st, shards, _ := clusterForTest(t, Cluster{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const p = "p_erasethis"
	now := time.Now().UTC().Truncate(time.Hour)
	rows := erasureFixture(p, now, 60)
	if err := st.InsertMessages(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Edges of p are on the shard of cityHash64(p); node_metrics rows of
	// many people spread over both.
	if err := st.Conn().Exec(ctx, "INSERT INTO edges (window_start, window_days, src, dst) VALUES (now(), 1, 'p_erasethis', 'p_other'), (now(), 1, 'p_other', 'p_erasethis'), (now(), 1, 'p_other', 'p_x')"); err != nil {
		t.Fatal(err)
	}
	if err := st.Conn().Exec(ctx, "INSERT INTO node_metrics (window_start, window_days, person) SELECT now(), 1, 'p_' || toString(number) FROM numbers(40) UNION ALL SELECT now(), 1, 'p_erasethis'"); err != nil {
		t.Fatal(err)
	}
	personRows := func(sh *Store) map[string]uint64 {
		out := map[string]uint64{}
		for name, q := range map[string]string{
			"messages sent":     "SELECT count() FROM messages_local WHERE sender = 'p_erasethis'",
			"messages received": "SELECT count() FROM messages_local WHERE has(recipients, 'p_erasethis')",
			"edges":             "SELECT count() FROM edges_local WHERE src = 'p_erasethis' OR dst = 'p_erasethis'",
			"node_metrics":      "SELECT count() FROM node_metrics_local WHERE person = 'p_erasethis'",
			"bad recipients":    "SELECT count() FROM messages_local WHERE has(recipient_teams, 'u') OR length(recipient_teams) != length(recipients) OR recipient_count != length(recipients)",
		} {
			out[name] = countOn(t, sh, q+" SETTINGS apply_deleted_mask = 0")
		}
		return out
	}
	for i, sh := range shards {
		before := personRows(sh)
		if before["messages sent"] == 0 || before["messages received"] == 0 {
			t.Fatalf("shard %d holds none of the person's messages before the erasure: %v", i+1, before)
		}
	}
	others := make([]uint64, len(shards))
	for i, sh := range shards {
		others[i] = countOn(t, sh, "SELECT count() FROM messages_local WHERE sender = 'p_other'") +
			countOn(t, sh, "SELECT count() FROM node_metrics_local WHERE person != 'p_erasethis'")
	}

	start := time.Now()
	if err := st.ErasePersons(ctx, []string{p}); err != nil {
		t.Fatal(err)
	}
	t.Logf("erased on %d shards in %s", len(shards), time.Since(start).Round(time.Millisecond))
	for i, sh := range shards {
		for name, n := range personRows(sh) {
			if n != 0 {
				t.Errorf("shard %d: %s: %d rows left", i+1, name, n)
			}
		}
		if n := countOn(t, sh, "SELECT count() FROM messages_local WHERE sender = 'p_other'") +
			countOn(t, sh, "SELECT count() FROM node_metrics_local WHERE person != 'p_erasethis'"); n != others[i] {
			t.Errorf("shard %d: other people's rows %d, want %d", i+1, n, others[i])
		}
		done, err := sh.Erased(ctx, []string{p})
		if err != nil || !done[p] {
			t.Errorf("shard %d: erasure not recorded done: %v, %v", i+1, done, err)
		}
		if n := countOn(t, sh, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND position(command, 'p_erasethis') > 0"); n != 0 {
			t.Errorf("shard %d: %d mutations name the person", i+1, n)
		}
	}
	if n := countOn(t, st, "SELECT count() FROM edges WHERE src = 'p_other' AND dst = 'p_x'"); n != 1 {
		t.Errorf("other people's edges: %d, want 1", n)
	}

	// A rerun of the window's analysis wrote p_late's node row after their
	// erasure began: EraseInFlight removes it from whichever shard has it.
	day := now.Truncate(24 * time.Hour)
	if err := st.Conn().Exec(ctx, "INSERT INTO node_metrics (window_start, window_days, person) VALUES (?, 1, 'p_late')", day); err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		if err := sh.Conn().Exec(ctx, "INSERT INTO erasures (person, erased_at, batch, done) VALUES ('p_late', now64(3), 'b', false)"); err != nil {
			t.Fatal(err)
		}
	}
	since := time.Now().Add(-time.Minute)
	erased, err := st.EraseInFlight(ctx, since, day, 1)
	if err != nil || erased["node_metrics"] != 1 {
		t.Fatalf("EraseInFlight = %v, %v; want 1 node_metrics row", erased, err)
	}
	if n := countOn(t, st, "SELECT count() FROM node_metrics WHERE person = 'p_late'"); n != 0 {
		t.Errorf("%d in-flight rows left", n)
	}

	// A shard that is down: the erasure fails naming it, and is not done.
	srv := chtest.Cluster(t)[1]
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	defer restart(t, srv)
	err = st.ErasePersons(ctx, []string{"p_x"})
	if err == nil || !strings.Contains(err.Error(), "shard 2") {
		t.Fatalf("erasure with shard 2 down: %v, want an error naming shard 2", err)
	}
	if done, err := shards[0].Erased(ctx, []string{"p_x"}); err != nil || done["p_x"] {
		t.Fatalf("a failed erasure is recorded done on shard 1: %v, %v", done, err)
	}
}

func restart(t *testing.T, srv *chlocal.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("restart shard: %v", err)
	}
}
