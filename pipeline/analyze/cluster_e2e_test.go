package analyze

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/chlocal/chtest"
	"commpulse/internal/kafkatest"
	"commpulse/internal/synth"
	"commpulse/network"
	"commpulse/nlp"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// clusterStore migrates a fresh database on the shared two-shard test
// cluster and returns a store on it through shard 1.
func clusterStore(t *testing.T) *store.Store {
	t.Helper()
	srvs := chtest.Cluster(t)
	db := chtest.ClusterDatabase(t, srvs)
	st, err := store.Open(store.Config{Addr: []string{srvs[0].Addr()}, Database: db, Cluster: store.Cluster{Name: chtest.ClusterName}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s on the cluster: %v", db, err)
	}
	return st
}

// ingestReplicas runs n ingest replicas of one consumer group into st
// until messages FINAL holds want events (all of them: a rebalance may
// redeliver, which dedup absorbs; want < 0: no count) and every record
// was handled, and returns how long it took.
func ingestReplicas(t *testing.T, st *store.Store, brokers []string, group string, n, total, want int) time.Duration {
	t.Helper()
	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Group = brokers, group
	cfg.BatchRows, cfg.BatchInterval = 5000, 200*time.Millisecond
	cfg.SessionTimeout, cfg.LagInterval, cfg.RetryMax = 4*time.Second, 500*time.Millisecond, time.Second
	cfg.Logger = testLogger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		ins  []*ingest.Ingest
		errs = make(chan error, n)
	)
	t0 := time.Now()
	for range n {
		in, err := ingest.New(cfg, st, nlp.New(), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
		go func() { errs <- in.Run(ctx) }()
	}
	deadline := t0.Add(5 * time.Minute)
	for {
		var handled int64
		for _, in := range ins {
			handled += in.Counts().Handled()
		}
		if handled >= int64(total) {
			if want < 0 {
				break
			}
			if got, _, err := st.MessageTotals(ctx); err == nil && int(got) == want {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ingest replicas handled %d of %d events in 5 minutes", n, handled, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(t0)
	cancel()
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	return took
}

// publishedRows reads every row of the tables analyze publishes or writes
// for the organisation, one TSV line each, sorted, per table.
func publishedRows(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range []string{"team_stats", "team_network", "anomalies", "team_themes", "team_belonging", "graph_metrics", "node_metrics", "edges"} {
		cols := "*"
		if table == "team_belonging" {
			cols = "* REPLACE (mapSort(drivers) AS drivers)" // a Map keeps the insertion order, a Go map's iteration order
		}
		rows, err := st.Conn().Query(context.Background(), "SELECT formatRowNoNewline('TSV', "+cols+") FROM "+table+" FINAL")
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], s)
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}

// nearTables are the unpublished person-level and graph tables, whose
// PageRank and the figures derived from it differ in the last bits
// between any two computations of the same window, on one node too:
// gonum's PageRankSparse sums over its graph's maps in their random
// order. They are compared to 1e-9, the published team tables exactly.
var nearTables = map[string]bool{"node_metrics": true, "graph_metrics": true}

// nearRow reports whether two TSV rows have the same fields, numbers
// within 1e-9 (relative).
func nearRow(a, b string) bool {
	fa, fb := strings.Split(a, "\t"), strings.Split(b, "\t")
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] == fb[i] {
			continue
		}
		x, err1 := strconv.ParseFloat(fa[i], 64)
		y, err2 := strconv.ParseFloat(fb[i], 64)
		if err1 != nil || err2 != nil || math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(x)) {
			return false
		}
	}
	return true
}

// sameRows fails unless got holds exactly want's rows, table by table.
func sameRows(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for table, w := range want {
		g := got[table]
		if slices.Equal(g, w) {
			continue
		}
		if nearTables[table] && len(g) == len(w) {
			near := true
			for i := range g {
				near = near && nearRow(g[i], w[i])
			}
			if near {
				continue
			}
		}
		extra, missing := 0, 0
		var first []string
		for _, r := range g {
			if !slices.Contains(w, r) {
				extra++
				if len(first) < 3 {
					first = append(first, "+ "+r)
				}
			}
		}
		for _, r := range w {
			if !slices.Contains(g, r) {
				missing++
				if len(first) < 6 {
					first = append(first, "- "+r)
				}
			}
		}
		t.Errorf("%s: %s has %d rows, the single node %d (%d not on the single node, %d missing):\n%s",
			what, table, len(g), len(w), extra, missing, strings.Join(first, "\n"))
	}
}

// killAfter is a store that cancels its analyzer's context once the
// analyzer has marked n day windows done: a shard killed between two
// windows.
type killAfter struct {
	Store
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	days   int
}

func (k *killAfter) MarkDone(ctx context.Context, ws []store.WindowDone, now time.Time) error {
	err := k.Store.MarkDone(ctx, ws, now)
	if err == nil && len(ws) > 0 && ws[0].Granularity == Day {
		k.mu.Lock()
		if k.days++; k.days == k.n {
			k.cancel()
		}
		k.mu.Unlock()
	}
	return err
}

// killAtNetwork is shard 0's store: it counts the day networks written
// (by every instance sharing counts) and cancels its analyzer's context
// right after the day_network mark of the n-th day, before the day's
// other rows: shard 0 killed in the middle of a day window, its network
// done.
type killAtNetwork struct {
	Store
	n      int
	cancel context.CancelFunc
	counts *sync.Map // day -> *int: day networks written
	marks  int
	killed time.Time
}

func (k *killAtNetwork) WriteNetwork(ctx context.Context, start time.Time, days int, res *network.Result,
	teams []publish.NetRelease, graph store.GraphRelease, kk int, eps float64, now time.Time) error {
	if days == 1 {
		v, _ := k.counts.LoadOrStore(start.UTC(), new(int))
		*v.(*int)++
	}
	return k.Store.WriteNetwork(ctx, start, days, res, teams, graph, kk, eps, now)
}

func (k *killAtNetwork) MarkStage(ctx context.Context, stage string, day time.Time, now time.Time) error {
	err := k.Store.MarkStage(ctx, stage, day, now)
	if err == nil && stage == store.StageDayNetwork && k.cancel != nil {
		if k.marks++; k.marks == k.n {
			k.killed = day
			k.cancel()
		}
	}
	return err
}

// runShards runs one Step of every analyzer at once (a sharded day window
// waits for the others) and returns their errors.
func runShards(ctx context.Context, as []*Analyzer, ctxs []context.Context) []error {
	errs := make([]error, len(as))
	var wg sync.WaitGroup
	for i, a := range as {
		c := ctx
		if ctxs != nil && ctxs[i] != nil {
			c = ctxs[i]
		}
		wg.Go(func() { _, errs[i] = a.Step(c) })
	}
	wg.Wait()
	return errs
}

func shardAnalyzer(t *testing.T, st Store, base Config, shard int) *Analyzer {
	t.Helper()
	cfg := base
	cfg.Shards, cfg.Shard, cfg.ShardPoll = 2, shard, 20*time.Millisecond
	a, err := New(cfg, st, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Issue 16, acceptance 1 and 2. The same generated organisation goes
// through Kafka twice: one ingest into one ClickHouse server, analyzed by
// one analyzer; and two ingest replicas into two ClickHouse shards,
// analyzed by two analyze shards. Every published row (team_stats,
// team_network, anomalies, and the themes, belonging, graph and person
// tables) is the same in both, to the last bit: the noise is keyed by
// window, team and generation under one key, so the same key gives the
// same released values whichever shard releases them. Then the cluster is
// analyzed again with shard 1 killed after its third day window and
// restarted: it resumes from its own progress and the rows are the same.
func TestClusterShardedAnalyzeMatchesSingleNode(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end through Kafka and two ClickHouse shards")
	}
	_, brokers := kafkatest.Start(t)
	scen, err := synth.ParseScenarios("drop:team-2:2026-11-09:3d,silo:team-3:2026-11-10:3d,spike:team-4:2026-11-11T10:00:4h,isolated:team-5:2026-11-10:3d")
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(synth.Config{Seed: 16, Teams: 8, Start: e2eStart, Days: 28, Scenarios: scen})
	total := produce(t, brokers, org, "")

	single := newCH(t).st
	cluster := clusterStore(t)
	took1 := ingestReplicas(t, single, brokers, "single", 1, total, -1)
	want, _, _ := single.MessageTotals(context.Background())
	took2 := ingestReplicas(t, cluster, brokers, "cluster", 2, total, int(want))
	t.Logf("%d events, %d stored: 1 ingest into 1 server %s (%.0f events/s), 2 ingest replicas into 2 shards %s (%.0f events/s)",
		total, want, took1.Round(time.Millisecond), float64(total)/took1.Seconds(), took2.Round(time.Millisecond), float64(total)/took2.Seconds())

	clock := &fixedClock{t: org.Config().End().Add(2 * time.Hour)}
	base := Config{Privacy: e2ePrivacy(t), Now: clock.Now, Logger: testLogger()}
	base.Privacy.Key = testNoiseKey
	ctx := context.Background()
	a, err := New(base, single, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	n, err := a.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("single node: %d windows in %s", n, time.Since(t0).Round(time.Millisecond))
	wantRows := publishedRows(t, single)
	for _, table := range []string{"team_stats", "team_network", "anomalies"} {
		if len(wantRows[table]) == 0 {
			t.Fatalf("the single node published no %s row: nothing to compare", table)
		}
	}
	t.Logf("single node: %d team_stats, %d team_network, %d anomalies rows", len(wantRows["team_stats"]), len(wantRows["team_network"]), len(wantRows["anomalies"]))

	shards := []*Analyzer{
		shardAnalyzer(t, cluster.ForAnalyzeShard(store.AnalyzeShard{Shard: 0, Shards: 2}), base, 0),
		shardAnalyzer(t, cluster.ForAnalyzeShard(store.AnalyzeShard{Shard: 1, Shards: 2}), base, 1),
	}
	t0 = time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for i, err := range runShards(wctx, shards, nil) {
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	t.Logf("two analyze shards on two ClickHouse shards: %s", time.Since(t0).Round(time.Millisecond))
	owners := map[int]int{}
	for _, r := range wantRows["team_stats"] {
		owners[store.TeamShard(strings.Split(r, "\t")[2], 2)]++
	}
	if owners[0] == 0 || owners[1] == 0 {
		t.Fatalf("team rows per shard %v: the test needs teams on both shards", owners)
	}
	sameRows(t, "two shards", publishedRows(t, cluster), wantRows)

	t.Run("restart", func(t *testing.T) {
		again := clusterStore(t)
		q := fmt.Sprintf("INSERT INTO messages SELECT * FROM %s.messages", cluster.Database())
		if err := again.Conn().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		if n, _, err := again.MessageTotals(ctx); err != nil || n != want {
			t.Fatalf("copied %d of %d messages: %v", n, want, err)
		}
		kctx, kill := context.WithCancel(wctx)
		victim := &killAfter{Store: again.ForAnalyzeShard(store.AnalyzeShard{Shard: 1, Shards: 2}), n: 3, cancel: kill}
		s0 := shardAnalyzer(t, again.ForAnalyzeShard(store.AnalyzeShard{Shard: 0, Shards: 2}), base, 0)
		s1 := shardAnalyzer(t, victim, base, 1)
		var wg sync.WaitGroup
		var err0 error
		wg.Go(func() { _, err0 = s0.Step(wctx) })
		if _, err := s1.Step(kctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("shard 1 was not killed: %v", err)
		}
		last, _, err := victim.LastDone(ctx, Day)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("shard 1 killed after day %s; restarting it", last.Format(time.DateOnly))
		restarted := shardAnalyzer(t, again.ForAnalyzeShard(store.AnalyzeShard{Shard: 1, Shards: 2}), base, 1)
		if _, err := restarted.Step(wctx); err != nil {
			t.Fatalf("restarted shard 1: %v", err)
		}
		wg.Wait()
		if err0 != nil {
			t.Fatalf("shard 0: %v", err0)
		}
		sameRows(t, "two shards, shard 1 restarted", publishedRows(t, again), wantRows)
	})

	// Shard 0 killed in the middle of a day window, after it wrote and
	// marked the day's network: the restarted shard 0 reads that network
	// back instead of computing it again, so every day network is written
	// exactly once and every network row is the single node's. The day's
	// own team rows of shard 0 were begun and are released again on the
	// same inputs, so at the same generation (the same figures, one
	// release counted, as on one node); everything of shard 1's teams is
	// the single node's.
	t.Run("restart shard 0 mid-day", func(t *testing.T) {
		again := clusterStore(t)
		q := fmt.Sprintf("INSERT INTO messages SELECT * FROM %s.messages", cluster.Database())
		if err := again.Conn().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		counts := &sync.Map{}
		kctx, kill := context.WithCancel(wctx)
		victim := &killAtNetwork{Store: again.ForAnalyzeShard(store.AnalyzeShard{Shard: 0, Shards: 2}), n: 5, cancel: kill, counts: counts}
		s0 := shardAnalyzer(t, victim, base, 0)
		s1 := shardAnalyzer(t, again.ForAnalyzeShard(store.AnalyzeShard{Shard: 1, Shards: 2}), base, 1)
		var wg sync.WaitGroup
		var err1 error
		wg.Go(func() { _, err1 = s1.Step(wctx) })
		if _, err := s0.Step(kctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("shard 0 was not killed: %v", err)
		}
		t.Logf("shard 0 killed in day %s after its network; restarting it", victim.killed.Format(time.DateOnly))
		restarted := shardAnalyzer(t, &killAtNetwork{Store: again.ForAnalyzeShard(store.AnalyzeShard{Shard: 0, Shards: 2}), counts: counts}, base, 0)
		if _, err := restarted.Step(wctx); err != nil {
			t.Fatalf("restarted shard 0: %v", err)
		}
		wg.Wait()
		if err1 != nil {
			t.Fatalf("shard 1: %v", err1)
		}
		days := 0
		counts.Range(func(k, v any) bool {
			days++
			if n := *v.(*int); n != 1 {
				t.Errorf("the day network of %s was written %d times", k.(time.Time).Format(time.DateOnly), n)
			}
			return true
		})
		if days != 28 {
			t.Errorf("%d day networks written, want 28", days)
		}
		got := publishedRows(t, again)
		net := map[string][]string{}
		for _, table := range []string{"team_network", "edges", "node_metrics", "graph_metrics"} {
			net[table] = wantRows[table]
		}
		sameRows(t, "networks, shard 0 restarted mid-day", got, net)
		killedDay := victim.killed.Format(time.DateTime)
		split := func(rows []string) (own0, rest map[string]string) {
			own0, rest = map[string]string{}, map[string]string{}
			for _, r := range rows {
				f := strings.Split(r, "\t") // window_start, granularity, team, ...
				key := f[0] + " " + f[1] + " " + f[2]
				if store.TeamShard(f[2], 2) == 0 && f[0] == killedDay && f[1] == "day" {
					own0[key] = r
				} else {
					rest[key] = r
				}
			}
			return own0, rest
		}
		wantOwn, _ := split(wantRows["team_stats"])
		gotOwn, _ := split(got["team_stats"])
		if len(wantOwn) == 0 || len(gotOwn) != len(wantOwn) {
			t.Fatalf("shard 0's team_stats rows of %s: %d, single node %d", killedDay, len(gotOwn), len(wantOwn))
		}
		// The restarted shard retries the day on the same inputs, so it
		// reuses the begun generation (generations.go): the single node's
		// rows, figures and epsilon, bit for bit (computed_at aside).
		for key, w := range wantOwn {
			wf, gf := strings.Split(w, "\t"), strings.Split(gotOwn[key], "\t")
			we, _ := strconv.ParseFloat(wf[len(wf)-2], 64) // epsilon, then computed_at
			ge, _ := strconv.ParseFloat(gf[len(gf)-2], 64)
			if math.Abs(ge-we) > 1e-12 {
				t.Errorf("%s: epsilon %g after the restart, single node %g: want one release (same inputs, same generation)", key, ge, we)
			}
			if strings.Join(wf[:len(wf)-1], "\t") != strings.Join(gf[:len(gf)-1], "\t") {
				t.Errorf("%s after the restart:\n%s\nsingle node:\n%s", key, gotOwn[key], w)
			}
		}
		// Shard 1's teams: every row the single node's.
		for _, table := range []string{"team_stats", "team_themes", "anomalies"} {
			var w1, g1 []string
			for _, r := range wantRows[table] {
				if store.TeamShard(strings.Split(r, "\t")[teamColumn[table]], 2) == 1 {
					w1 = append(w1, r)
				}
			}
			for _, r := range got[table] {
				if store.TeamShard(strings.Split(r, "\t")[teamColumn[table]], 2) == 1 {
					g1 = append(g1, r)
				}
			}
			sameRows(t, "shard 1's teams, shard 0 restarted mid-day", map[string][]string{table: g1}, map[string][]string{table: w1})
		}
	})
}

// teamColumn is the position of the team in a TSV row of each table.
var teamColumn = map[string]int{"team_stats": 2, "team_themes": 1, "anomalies": 2}
