package store

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"commpulse/internal/chlocal"
	"commpulse/internal/chlocal/chtest"
)

// replicaProxy is a second native address of one server: a replica that
// is always in step with the first, which is what the replicas of a shard
// are meant to be once a quorum insert or a mutations_sync = 2 mutation
// returns. Close makes the address unreachable (new dials refused, open
// connections cut). It forwards to the server's shield, which turns any
// reset into an orderly close before the engine sees it.
type replicaProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	conns    []net.Conn
}

func newReplicaProxy(t *testing.T) *replicaProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replicaProxy{ln: ln}
	t.Cleanup(p.Close)
	return p
}

func (p *replicaProxy) Addr() string { return p.ln.Addr().String() }

// serve forwards every connection to upstream until Close.
func (p *replicaProxy) serve(upstream string) {
	p.upstream = upstream
	go func() {
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *replicaProxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// recorder keeps every statement sent through the pools it wraps, with the
// pool's addresses.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) wrap(addr []string, c driver.Conn) driver.Conn {
	return &recordingConn{Conn: c, at: strings.Join(addr, ","), r: r}
}

func (r *recorder) add(at, kind, q string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, at+" "+kind+" "+strings.Join(strings.Fields(q), " "))
}

type recordingConn struct {
	driver.Conn
	at string
	r  *recorder
}

func (c *recordingConn) Exec(ctx context.Context, q string, args ...any) error {
	c.r.add(c.at, "exec", q)
	return c.Conn.Exec(ctx, q, args...)
}

func (c *recordingConn) Query(ctx context.Context, q string, args ...any) (driver.Rows, error) {
	c.r.add(c.at, "query", q)
	return c.Conn.Query(ctx, q, args...)
}

func (c *recordingConn) QueryRow(ctx context.Context, q string, args ...any) driver.Row {
	c.r.add(c.at, "query", q)
	return c.Conn.QueryRow(ctx, q, args...)
}

func (c *recordingConn) PrepareBatch(ctx context.Context, q string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	c.r.add(c.at, "insert", q)
	return c.Conn.PrepareBatch(ctx, q, opts...)
}

// The replicated erasure path (Cluster.Replicated), end to end on a real
// two-shard cluster whose shard 1 has two replicas in system.clusters (its
// server and a proxy to it) and shard 2 one: erasure writes the batch with
// a quorum of each shard's replica count, mutates each shard's local tables
// once with allow_nondeterministic_mutations, checks all three replicas and
// marks the erasure done; the person is gone from both shards and everyone
// else's rows remain; EraseInFlight likewise. Every statement, with its
// settings and the server it went to, is compared with
// testdata/replicated_erasure.txt. Then replica 2 of shard 1 becomes
// unreachable: the erasure fails naming it and is not done anywhere; and
// a --cluster-shards list missing a replica is refused.
//
// The tables are plain MergeTree (no Keeper here), on which the quorum and
// allow_nondeterministic_mutations settings are accepted and have no
// effect; what this cannot run is replication itself.
func TestReplicatedErasureChecksEveryReplica(t *testing.T) {
	const name = "commpulse_repl"
	proxy := newReplicaProxy(t)
	cl := chtest.StartCluster(t, chtest.ClusterOptions{Name: name, Servers: []int{1, 1}, Extra: map[int][]string{0: {proxy.Addr()}}})
	srvs := []*chlocal.Server{cl[0][0], cl[1][0]}
	proxy.serve(srvs[0].Addr())
	db := chtest.ClusterDatabase(t, srvs)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	plain, err := Open(Config{Addr: []string{srvs[0].Addr()}, Database: db, Cluster: Cluster{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var shards []*Store
	for _, srv := range srvs {
		sh, err := Open(Config{Addr: []string{srv.Addr()}, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		defer sh.Close()
		shards = append(shards, sh)
	}
	const p = "p_erasethis"
	now := time.Now().UTC().Truncate(time.Hour)
	if err := plain.InsertMessages(ctx, erasureFixture(p, now, 60)); err != nil {
		t.Fatal(err)
	}
	if err := plain.Conn().Exec(ctx, "INSERT INTO edges (window_start, window_days, src, dst) VALUES (now(), 1, 'p_erasethis', 'p_other'), (now(), 1, 'p_other', 'p_erasethis'), (now(), 1, 'p_other', 'p_x')"); err != nil {
		t.Fatal(err)
	}
	if err := plain.Conn().Exec(ctx, "INSERT INTO node_metrics (window_start, window_days, person) SELECT now(), 1, 'p_' || toString(number) FROM numbers(40) UNION ALL SELECT now(), 1, 'p_erasethis'"); err != nil {
		t.Fatal(err)
	}
	personRows := func(sh *Store) uint64 {
		return countOn(t, sh, "SELECT count() FROM messages_local WHERE sender = 'p_erasethis' OR has(recipients, 'p_erasethis') SETTINGS apply_deleted_mask = 0") +
			countOn(t, sh, "SELECT count() FROM edges_local WHERE src = 'p_erasethis' OR dst = 'p_erasethis' SETTINGS apply_deleted_mask = 0") +
			countOn(t, sh, "SELECT count() FROM node_metrics_local WHERE person = 'p_erasethis' SETTINGS apply_deleted_mask = 0")
	}
	othersRows := func(sh *Store) uint64 {
		return countOn(t, sh, "SELECT count() FROM messages_local WHERE sender = 'p_other'") +
			countOn(t, sh, "SELECT count() FROM node_metrics_local WHERE person != 'p_erasethis'")
	}
	others := make([]uint64, len(shards))
	for i, sh := range shards {
		if n := countOn(t, sh, "SELECT count() FROM messages_local WHERE sender = 'p_erasethis' OR has(recipients, 'p_erasethis')"); n == 0 {
			t.Fatalf("shard %d holds none of the person's messages before the erasure", i+1)
		}
		others[i] = othersRows(sh)
	}

	rec := &recorder{}
	st, err := Open(Config{Addr: []string{srvs[0].Addr()}, Database: db, Cluster: Cluster{Name: name, Replicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.trace = rec.wrap
	if err := st.ErasePersons(ctx, []string{p}); err != nil {
		t.Fatalf("replicated erasure: %v", err)
	}
	for i, sh := range shards {
		if n := personRows(sh); n != 0 {
			t.Errorf("shard %d: %d rows of the person left", i+1, n)
		}
		if n := othersRows(sh); n != others[i] {
			t.Errorf("shard %d: other people's rows %d, want %d", i+1, n, others[i])
		}
		if done, err := sh.Erased(ctx, []string{p}); err != nil || !done[p] {
			t.Errorf("shard %d: erasure not recorded done: %v, %v", i+1, done, err)
		}
		if n := countOn(t, sh, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND position(command, 'p_erasethis') > 0"); n != 0 {
			t.Errorf("shard %d: %d mutations name the person", i+1, n)
		}
	}

	// p_late's node row of the day was written after their erasure began.
	day := now.Truncate(24 * time.Hour)
	if err := plain.Conn().Exec(ctx, "INSERT INTO node_metrics (window_start, window_days, person) VALUES (?, 1, 'p_late')", day); err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		if err := sh.Conn().Exec(ctx, "INSERT INTO erasures (person, erased_at, batch, done) VALUES ('p_late', now64(3), 'b', false)"); err != nil {
			t.Fatal(err)
		}
	}
	erased, err := st.EraseInFlight(ctx, time.Now().Add(-time.Minute), day, 1)
	if err != nil || erased["node_metrics"] != 1 {
		t.Fatalf("EraseInFlight = %v, %v; want 1 node_metrics row", erased, err)
	}
	if n := countOn(t, plain, "SELECT count() FROM node_metrics WHERE person = 'p_late'"); n != 0 {
		t.Errorf("%d in-flight rows left", n)
	}
	checkTranscript(t, rec, map[string]string{srvs[0].Addr(): "s1r1", proxy.Addr(): "s1r2", srvs[1].Addr(): "s2r1"})

	// --cluster-shards naming one of shard 1's two replicas: refused, as
	// the proof would miss the other.
	short, err := Open(Config{Addr: []string{srvs[0].Addr()}, Database: db,
		Cluster: Cluster{Name: name, Replicated: true, Shards: [][]string{{srvs[0].Addr()}, {srvs[1].Addr()}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	if err := short.ErasePersons(ctx, []string{"p_x"}); err == nil || !strings.Contains(err.Error(), "shard 1: 1 replica addresses configured, the server lists 2") {
		t.Errorf("erasure with a replica left out of --cluster-shards: %v", err)
	}

	// Replica 2 of shard 1 unreachable: the erasure fails naming it, and
	// is done nowhere.
	proxy.Close()
	err = st.ErasePersons(ctx, []string{"p_x"})
	if err == nil || !strings.Contains(err.Error(), "shard 1 replica 2 "+proxy.Addr()) {
		t.Fatalf("erasure with shard 1 replica 2 down: %v, want an error naming it", err)
	}
	t.Logf("with a replica down: %v", err)
	for i, sh := range shards {
		if done, err := sh.Erased(ctx, []string{"p_x"}); err != nil || done["p_x"] {
			t.Errorf("shard %d: a failed erasure is recorded done: %v, %v", i+1, done, err)
		}
	}
}

var (
	batchRE = regexp.MustCompile(`'[0-9a-f]{32}'`)
	timeRE  = regexp.MustCompile(`toDateTime(64)?\('[0-9: .-]+'`)
	addrRE  = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

// checkTranscript compares the recorded statements, servers named by
// names, batch ids and times replaced, with testdata/replicated_erasure.txt
// (rewritten with -update).
func checkTranscript(t *testing.T, rec *recorder, names map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Statements of a replicated erasure (ErasePersons, then EraseInFlight) on a cluster whose\n" +
		"# shard 1 has replicas s1r1, s1r2 and shard 2 has s2r1; a line is the pool's replicas, the call, the SQL.\n" +
		"# Written by TestReplicatedErasureChecksEveryReplica (-update), reviewed by hand.\n")
	for _, l := range rec.lines {
		l = addrRE.ReplaceAllStringFunc(l, func(a string) string {
			if n, ok := names[a]; ok {
				return n
			}
			return a
		})
		l = batchRE.ReplaceAllString(l, "'<batch>'")
		l = timeRE.ReplaceAllString(l, "toDateTime$1('<time>'")
		b.WriteString(l + "\n")
	}
	got := b.String()
	const golden = "testdata/replicated_erasure.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("replicated erasure statements differ from %s (run with -update after reviewing):\n%s", golden, got)
	}
	// The rules the transcript must keep, whatever else changes.
	lines := strings.Split(got, "\n")
	has := func(prefix string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	for _, l := range lines {
		switch {
		case strings.Contains(l, "p_erasethis") || strings.Contains(l, "p_late"):
			t.Errorf("a statement names a person: %s", l)
		case strings.Contains(l, "INSERT INTO erasures") && !strings.Contains(l, "insert_quorum_parallel = 0"):
			t.Errorf("erasures insert without a quorum: %s", l)
		case strings.Contains(l, " ALTER TABLE ") && !strings.HasSuffix(l, "SETTINGS mutations_sync = 2, allow_nondeterministic_mutations = 1"):
			t.Errorf("mutation without its replicated settings: %s", l)
		}
	}
	for _, want := range []string{
		"s1r1,s1r2 insert INSERT INTO erasures (person, erased_at, batch, done) SETTINGS insert_quorum = 2,",
		"s2r1 insert INSERT INTO erasures (person, erased_at, batch, done) SETTINGS insert_quorum = 1,",
		"s1r1,s1r2 exec ALTER TABLE messages_local ", "s2r1 exec ALTER TABLE node_metrics_local ",
	} {
		if !has(want) {
			t.Errorf("no statement %q", want)
		}
	}
	for _, r := range []string{"s1r1", "s1r2", "s2r1"} {
		for _, tb := range ErasableTables() {
			if !has(r + " query SELECT count() FROM " + LocalTable(tb) + " WHERE ") {
				t.Errorf("replica %s: %s not checked", r, LocalTable(tb))
			}
		}
	}
}

// The statements a replicated erasure builds, for shards of any replica
// count (the transcript above covers 1 and 2), without a server.
func TestReplicatedErasureStatements(t *testing.T) {
	for _, tc := range []struct {
		quorum int
		want   string
	}{
		{0, "INSERT INTO erasures (person, erased_at, batch, done)"},
		{1, "INSERT INTO erasures (person, erased_at, batch, done) SETTINGS insert_quorum = 1, insert_quorum_parallel = 0, insert_quorum_timeout = 120000"},
		{3, "INSERT INTO erasures (person, erased_at, batch, done) SETTINGS insert_quorum = 3, insert_quorum_parallel = 0, insert_quorum_timeout = 120000"},
	} {
		t.Run(fmt.Sprintf("quorum %d", tc.quorum), func(t *testing.T) {
			if got := erasuresInsert(tc.quorum); got != tc.want {
				t.Errorf("erasuresInsert(%d) = %q, want %q", tc.quorum, got, tc.want)
			}
		})
	}
	for _, table := range ErasableTables() {
		t.Run(table, func(t *testing.T) {
			sel := batchSelect("0123456789abcdef0123456789abcdef")
			got := eraseSQLWith(table, storedIn(table), sel, "", replicatedMutationSettings)
			want := strings.TrimSuffix(eraseSQL(table, storedIn(table), sel, ""), "SETTINGS mutations_sync = 2") +
				"SETTINGS mutations_sync = 2, allow_nondeterministic_mutations = 1"
			if got != want || !strings.HasPrefix(got, "ALTER TABLE "+LocalTable(table)+" ") {
				t.Errorf("replicated mutation of %s:\n got %s\nwant %s", table, got, want)
			}
		})
	}
}

// plantingConn stands for a replica that the quorum insert reached but the
// mutation did not: before the proof's first query on it, it receives the
// batch's erasures row (the batch id read from that query's text).
type plantingConn struct {
	driver.Conn
	person string
	once   sync.Once
}

var batchIDRE = regexp.MustCompile(`batch = '([0-9a-f]{32})'`)

func (c *plantingConn) QueryRow(ctx context.Context, q string, args ...any) driver.Row {
	if m := batchIDRE.FindStringSubmatch(q); m != nil {
		c.once.Do(func() {
			_ = c.Conn.Exec(ctx, "INSERT INTO erasures (person, erased_at, batch, done) VALUES (?, now64(3), ?, false)", c.person, m[1])
		})
	}
	return c.Conn.QueryRow(ctx, q, args...)
}

// A replica left behind fails the replicated erasure by name, and the
// erasure is done nowhere. Shard 1 has two real servers as its replicas,
// with tables of their own (no Keeper, so no replication): the mutation,
// issued on replica 1, never reaches replica 2, which holds a message of
// the person. Replica 2 without the batch in its erasures (a quorum that
// did not reach it) fails the proof's first check; replica 2 holding the
// batch but still the person's row (a mutation that did not reach it)
// fails the count.
func TestReplicatedErasureFailsOnAReplicaLeftBehind(t *testing.T) {
	const name = "commpulse_behind"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r1, r2, s2, db := twoReplicaCluster(ctx, t, name)
	const p = "p_behind"
	var servers []*Store
	for _, srv := range []*chlocal.Server{r1, r2, s2} {
		local, err := Open(Config{Addr: []string{srv.Addr()}, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		defer local.Close()
		if err := local.Conn().Exec(ctx, "INSERT INTO messages_local (event_id, occurred_at, ingested_at, sender, recipients) VALUES ('e1', now64(3), now64(3), ?, ['p_other'])", p); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, local)
	}

	for _, tc := range []struct {
		name  string
		plant bool
		want  string
	}{
		{"batch not on the replica", false, "shard 1 replica 2 " + r2.Addr() + ": its erasures hold 0 of the 1 persons of the batch"},
		{"mutation not on the replica", true, "shard 1 replica 2 " + r2.Addr() + ": 1 rows of messages_local still name an erased person"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Open(Config{Addr: []string{r1.Addr()}, Database: db, Cluster: Cluster{Name: name, Replicated: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			st.trace = func(addr []string, c driver.Conn) driver.Conn {
				if tc.plant && len(addr) == 1 && addr[0] == r2.Addr() {
					return &plantingConn{Conn: c, person: p}
				}
				return c
			}
			err = st.ErasePersons(ctx, []string{p})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("erasure with replica 2 of shard 1 left behind: %v, want %q", err, tc.want)
			}
			for i, sh := range servers {
				if done, err := sh.Erased(ctx, []string{p}); err != nil || done[p] {
					t.Errorf("server %d: a failed erasure is recorded done: %v, %v", i+1, done, err)
				}
			}
			// Replica 1 of shard 1 and shard 2 were erased; replica 2 kept the row.
			for i, want := range []uint64{0, 1, 0} {
				if n := countOn(t, servers[i], "SELECT count() FROM messages_local WHERE sender = ?", p); n != want {
					t.Errorf("server %d: %d messages of the person, want %d", i+1, n, want)
				}
			}
		})
	}
}

// twoReplicaCluster starts a private cluster name of two shards, shard 1
// with two servers posing as its replicas (r1, r2: tables of their own, no
// replication) and shard 2 with one (s2), and migrates the cluster's
// schema on each server, replica 2 included (Migrate would reach one
// replica per shard). db is the database, dropped with the test.
func twoReplicaCluster(ctx context.Context, t *testing.T, name string) (r1, r2, s2 *chlocal.Server, db string) {
	t.Helper()
	cl := chtest.StartCluster(t, chtest.ClusterOptions{Name: name, Servers: []int{2, 1}})
	r1, r2, s2 = cl[0][0], cl[0][1], cl[1][0]
	db = chtest.ClusterDatabase(t, []*chlocal.Server{r1, r2, s2})
	for _, srv := range []*chlocal.Server{r1, r2, s2} {
		st, err := Open(Config{Addr: []string{srv.Addr()}, Database: db, Cluster: Cluster{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.migrate(ctx, mustClusterSchema(t, Cluster{Name: name})); err != nil {
			t.Fatalf("migrate %s: %v", srv.Addr(), err)
		}
	}
	return r1, r2, s2, db
}

func mustClusterSchema(t *testing.T, c Cluster) schema {
	t.Helper()
	cs, err := newClusterSchema(c)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
