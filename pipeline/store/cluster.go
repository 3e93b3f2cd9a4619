package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Cluster is the sharding layout of a ClickHouse cluster (issue 16). The
// zero value is a single server, the default: nothing below applies to it.
//
// On a cluster every sharded table of the schema is two tables on each
// shard: <table>_local, which holds the shard's rows with the table's own
// engine, and <table>, a Distributed table over the <table>_local of every
// shard, which is what queries and inserts name (so the rest of the store
// runs unchanged). Rows go to a shard by the table's key in ClusterLayout.
// Views read the Distributed tables.
type Cluster struct {
	// Name is the cluster as the servers' remote_servers configuration
	// names it (the first argument of every Distributed table). "" is a
	// single server.
	Name string
	// Shards lists, per shard, the native addresses of its replicas. Migrate
	// (without Replicated) and erasure connect to every shard through them;
	// a replicated erasure also checks every replica through them, so with
	// Replicated a shard must list every replica system.clusters lists.
	// Empty: read from system.clusters on Config.Addr, which then must be
	// reachable at the host:port the servers list each other by. Either way
	// the number of shards must be the one system.clusters reports, so that
	// nothing reaches fewer shards than the Distributed tables write to.
	Shards [][]string
	// Replicated makes the local tables Replicated*MergeTree (path
	// /clickhouse/tables/{shard}/{database}/<table>, replica {replica}) and
	// every DDL statement ON CLUSTER, run once through Config.Addr. It needs
	// ClickHouse Keeper and the {shard} and {replica} macros, which the
	// embedded test server does not have, so the DDL of this mode is
	// checked as generated text only (SchemaScript,
	// testdata/replicated.sql). Erasure with Replicated writes its record
	// with a quorum, mutates one replica per shard and checks every replica
	// (erasePersonsReplicated); that path runs on the embedded cluster too,
	// whose plain MergeTree tables accept its settings and ignore them.
	Replicated bool
}

// Enabled reports whether c is a cluster (a name is set).
func (c Cluster) Enabled() bool { return c.Name != "" }

// Validate checks the layout.
func (c Cluster) Validate() error {
	if !c.Enabled() {
		if c.Replicated || len(c.Shards) > 0 {
			return errors.New("cluster: --replicated and --cluster-shards need --cluster NAME")
		}
		return nil
	}
	if !identRE.MatchString(c.Name) {
		return fmt.Errorf("cluster name %q: must match %s", c.Name, identRE)
	}
	for i, sh := range c.Shards {
		if len(sh) == 0 || slices.Contains(sh, "") {
			return fmt.Errorf("cluster %s: shard %d has an empty address", c.Name, i+1)
		}
	}
	return nil
}

// ClusterLayout maps every table of the schema to its sharding key on a
// cluster: the expression of the Distributed table that picks a row's
// shard. Two rules choose the keys:
//
//   - the key is a function of the table's ORDER BY columns, so that every
//     version of a ReplacingMergeTree row lands on one shard and FINAL,
//     which each shard applies to its own rows, still collapses them
//     (messages: a redelivered event has the same event_id);
//   - among those, the key that keeps the usual query on one shard: team
//     for the published team tables, the person for person-level analyze
//     outputs (a person's isolation history, their export).
//
// "" means not sharded: every shard holds the whole table, written to each
// shard by the store (the erasures record, which every shard's erasure
// mutation reads locally). A table that a migration creates must be listed
// here (TestClusterLayoutCoversTheSchema fails otherwise).
var ClusterLayout = map[string]string{
	"messages":         "cityHash64(event_id)",
	"edges":            "cityHash64(src)",
	"node_metrics":     "cityHash64(person)",
	"team_stats":       "cityHash64(team)",
	"team_network":     "cityHash64(team)",
	"anomalies":        "cityHash64(team)",
	"team_themes":      "cityHash64(team)",
	"anomaly_reviews":  "cityHash64(team)", // with its anomalies
	"team_belonging":   "cityHash64(team)",
	"team_forecasts":   "cityHash64(team)",
	"graph_metrics":    "cityHash64(window_days, window_start)",
	"analyzer_windows": "cityHash64(granularity, window_start)",
	"erasures":         "",
}

// LocalTable is the name of a sharded table's per-shard table.
func LocalTable(table string) string { return table + "_local" }

// schema turns migration statements (templated, before Render) into the
// statements a deployment runs.
type schema interface {
	createDatabase() string
	createMigrations() string
	statements(stmt string) ([]string, error)
}

// singleNode is today's schema: every statement as written.
type singleNode struct{}

func (singleNode) createDatabase() string { return "CREATE DATABASE IF NOT EXISTS {{db}}" }

func (singleNode) createMigrations() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations
		 (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
		 ENGINE = ReplacingMergeTree ORDER BY version`
}

func (singleNode) statements(stmt string) ([]string, error) { return []string{stmt}, nil }

func (s *Store) schema() (schema, error) {
	if !s.cfg.Cluster.Enabled() {
		return singleNode{}, nil
	}
	return newClusterSchema(s.cfg.Cluster)
}

// clusterSchema renders the migrations for a cluster.
type clusterSchema struct {
	c     Cluster
	views map[string]bool // views any migration creates
}

func newClusterSchema(c Cluster) (*clusterSchema, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	cs := &clusterSchema{c: c, views: map[string]bool{publishedViewVar: true}}
	for _, v := range PublishedViews {
		cs.views[v] = true
	}
	for _, m := range ms {
		for _, stmt := range m.SQL {
			if g := createViewRE.FindStringSubmatch(stmt); g != nil {
				cs.views[g[3]] = true
			}
		}
	}
	return cs, nil
}

func (cs *clusterSchema) on() string {
	if cs.c.Replicated {
		return " ON CLUSTER " + cs.c.Name
	}
	return ""
}

func (cs *clusterSchema) createDatabase() string {
	return "CREATE DATABASE IF NOT EXISTS {{db}}" + cs.on()
}

// createMigrations: without replication each shard records what it
// applied; with it, one table replicated to every host of the cluster (its
// path has no {shard}), so any host knows.
func (cs *clusterSchema) createMigrations() string {
	if !cs.c.Replicated {
		return singleNode{}.createMigrations()
	}
	return "CREATE TABLE IF NOT EXISTS {{db}}.schema_migrations" + cs.on() + "\n" +
		"(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))\n" +
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{replica}')\n" +
		"ORDER BY version"
}

var (
	createTableRE = regexp.MustCompile(`^CREATE TABLE (IF NOT EXISTS )?\{\{db\}\}\.(\w+)\b`)
	createViewRE  = regexp.MustCompile(`^CREATE (OR REPLACE )?VIEW (IF NOT EXISTS )?\{\{db\}\}\.(\w+)\b`)
	dropRE        = regexp.MustCompile(`^DROP (TABLE|VIEW) (IF EXISTS )?\{\{db\}\}\.(\w+)\b(.*)$`)
	alterRE       = regexp.MustCompile(`(?s)^ALTER TABLE \{\{db\}\}\.(\w+|\{\{published_view\}\})\s+(.*)$`)
	engineRE      = regexp.MustCompile(`\bENGINE\s*=\s*(\w+)(?:\(([^()]*)\))?`)
	columnCmdRE   = regexp.MustCompile(`^(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR) COLUMN\b`)
	orderByCmdRE  = regexp.MustCompile(`^MODIFY ORDER BY\b`)
)

// statements renders one migration statement for the cluster:
//
//   - CREATE TABLE t: t_local with t's engine (Replicated when asked), then t
//     as Distributed over t_local with its ClusterLayout key; a table laid
//     out unsharded stays one table per shard;
//   - CREATE [OR REPLACE] VIEW: as written (it reads the Distributed tables);
//   - ALTER TABLE t of column commands (ADD COLUMN, ...): on t_local, then
//     on t, which must list the same columns; any other ALTER (a mutation,
//     TTL, settings) on t_local only, since Distributed tables have no data;
//     column commands with MODIFY ORDER BY (a key gaining a new column):
//     all on t_local, the column commands on t;
//     ALTER of a view as written;
//   - DROP TABLE t: t, then t_local; DROP VIEW as written.
//
// With Replicated every statement gets ON CLUSTER (and drops SYNC, so that
// a table re-created at once does not find its Keeper path taken). Any
// other statement is an error: a new kind must be taught here rather than
// run wrongly on a cluster.
func (cs *clusterSchema) statements(stmt string) ([]string, error) {
	switch {
	case strings.HasPrefix(stmt, "CREATE MATERIALIZED VIEW"):
		return nil, errors.New("cluster: materialized views are not supported yet (they must read and write the _local tables)")
	case createTableRE.MatchString(stmt):
		return cs.createTable(stmt)
	case createViewRE.MatchString(stmt):
		loc := createViewRE.FindStringIndex(stmt)
		return []string{stmt[:loc[1]] + cs.on() + stmt[loc[1]:]}, nil
	case dropRE.MatchString(stmt):
		g := dropRE.FindStringSubmatch(stmt)
		kind, ifExists, name, rest := g[1], g[2], g[3], g[4]
		suffix := cs.on() + rest
		if cs.c.Replicated && !strings.Contains(rest, "SYNC") {
			suffix += " SYNC"
		}
		drop := func(n string) string { return "DROP " + kind + " " + ifExists + "{{db}}." + n + suffix }
		if kind == "VIEW" {
			return []string{drop(name)}, nil
		}
		key, err := cs.layout(name)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return []string{drop(name)}, nil
		}
		return []string{drop(name), drop(LocalTable(name))}, nil
	case alterRE.MatchString(stmt):
		g := alterRE.FindStringSubmatch(stmt)
		name, cmds := g[1], g[2]
		alter := func(n string) string { return "ALTER TABLE {{db}}." + n + cs.on() + " " + cmds }
		if cs.views[name] {
			return []string{alter(name)}, nil
		}
		key, err := cs.layout(name)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return []string{alter(name)}, nil
		}
		parts := splitTopLevel(cmds)
		var columns []string
		orderBy := 0
		for _, p := range parts {
			switch {
			case columnCmdRE.MatchString(p):
				columns = append(columns, p)
			case orderByCmdRE.MatchString(p):
				orderBy++
			}
		}
		switch {
		case len(columns) == len(parts):
			return []string{alter(LocalTable(name)), alter(name)}, nil
		case len(columns) == 0:
			return []string{alter(LocalTable(name))}, nil
		case len(columns)+orderBy == len(parts):
			// ADD COLUMN c, MODIFY ORDER BY (..., c): a sorting key may only
			// gain a column added by the same statement, so both go to the
			// local table together; the Distributed table, which has no
			// key, takes the column commands.
			return []string{alter(LocalTable(name)),
				"ALTER TABLE {{db}}." + name + cs.on() + " " + strings.Join(columns, ", ")}, nil
		}
		return nil, fmt.Errorf("cluster: ALTER TABLE %s mixes column commands with others; split it", name)
	}
	return nil, fmt.Errorf("cluster: statement not supported on a cluster: %.60q", stmt)
}

func (cs *clusterSchema) layout(table string) (string, error) {
	key, ok := ClusterLayout[table]
	if !ok {
		return "", fmt.Errorf("cluster: table %s has no sharding key in store.ClusterLayout", table)
	}
	return key, nil
}

func (cs *clusterSchema) createTable(stmt string) ([]string, error) {
	g := createTableRE.FindStringSubmatch(stmt)
	name := g[2]
	key, err := cs.layout(name)
	if err != nil {
		return nil, err
	}
	head, body := stmt[:len(g[0])-len(name)], stmt[len(g[0]):]
	local := name
	if key != "" {
		local = LocalTable(name)
	}
	e := engineRE.FindStringSubmatchIndex(body)
	if e == nil {
		return nil, fmt.Errorf("cluster: CREATE TABLE %s has no ENGINE", name)
	}
	engine := body[e[2]:e[3]]
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil, fmt.Errorf("cluster: table %s: engine %s, want a non-replicated MergeTree", name, engine)
	}
	if cs.c.Replicated {
		args := "'/clickhouse/tables/{shard}/{database}/" + local + "', '{replica}'"
		if e[4] >= 0 && strings.TrimSpace(body[e[4]:e[5]]) != "" {
			args += ", " + body[e[4]:e[5]]
		}
		body = body[:e[0]] + "ENGINE = Replicated" + engine + "(" + args + ")" + body[e[1]:]
	}
	out := []string{head + local + cs.on() + body}
	if key != "" {
		out = append(out, head+name+cs.on()+" AS {{db}}."+local+
			"\nENGINE = Distributed("+cs.c.Name+", {{db}}, "+local+", "+key+")")
	}
	return out, nil
}

// splitTopLevel splits ALTER commands on the commas outside parentheses
// and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, quote, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote:
			if c == '\\' {
				i++
			} else if c == '\'' {
				quote = false
			}
		case c == '\'':
			quote = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// SchemaScript renders every migration as the statements Migrate runs on a
// fresh database of cfg's deployment, as a script for review (`commpulse
// migrate --print-sql`) and for the replicated golden file: the database,
// schema_migrations, then each migration under a comment naming it. A
// statement per published view (migration 0005) is listed once per view in
// PublishedViews, all of which exist by then on a fresh database.
func SchemaScript(cfg Config) (string, error) {
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	st := &Store{cfg: cfg}
	sch, err := st.schema()
	if err != nil {
		return "", err
	}
	ms, err := Migrations()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	emit := func(stmt string) { b.WriteString(st.render(stmt) + ";\n") }
	emit(sch.createDatabase())
	emit(sch.createMigrations())
	for _, m := range ms {
		fmt.Fprintf(&b, "\n-- %s\n", m.Name)
		for i, stmt := range m.SQL {
			out, err := sch.statements(stmt)
			if err != nil {
				return "", fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
			for _, q := range out {
				if !strings.Contains(q, publishedViewVar) {
					emit(q)
					continue
				}
				for _, v := range PublishedViews {
					emit(strings.ReplaceAll(q, publishedViewVar, v))
				}
			}
		}
	}
	return b.String(), nil
}

// shard is one shard's connection, bound to the store's database.
type shard struct {
	num  int
	addr []string // its replicas' addresses: configured, or system.clusters'
	// listed is the number of replicas system.clusters lists for the
	// shard (the quorum of a replicated erasure's inserts).
	listed int
	st     *Store
}

func (sh shard) String() string { return fmt.Sprintf("shard %d %v", sh.num, sh.addr) }

// dialTo opens a pool on the store's database at addr, traced when the
// store is.
func (s *Store) dialTo(addr []string, database string) (*Store, error) {
	cfg := s.cfg
	cfg.Addr = addr
	conn, err := dial(cfg, database)
	if err != nil {
		return nil, err
	}
	if s.trace != nil {
		conn = s.trace(addr, conn)
	}
	return &Store{conn: conn, cfg: cfg, trace: s.trace}, nil
}

// openShards opens a pool per shard of the cluster (lazily: the first
// statement dials), after checking the layout against system.clusters on
// the store's own server. The caller closes them.
func (s *Store) openShards(ctx context.Context) ([]shard, error) {
	c := s.cfg.Cluster
	boot, err := s.dialTo(s.cfg.Addr, "")
	if err != nil {
		return nil, err
	}
	defer boot.Close()
	rows, err := boot.conn.Query(ctx, `SELECT shard_num, groupArray(concat(host_name, ':', toString(port)))
		FROM (SELECT shard_num, host_name, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num)
		GROUP BY shard_num ORDER BY shard_num`, c.Name)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: read system.clusters: %w", c.Name, err)
	}
	var listed [][]string
	for rows.Next() {
		var n uint32
		var addrs []string
		if err := rows.Scan(&n, &addrs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cluster %s: read system.clusters: %w", c.Name, err)
		}
		listed = append(listed, addrs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster %s: read system.clusters: %w", c.Name, err)
	}
	if len(listed) == 0 {
		return nil, fmt.Errorf("cluster %s: not defined on %v (remote_servers)", c.Name, s.cfg.Addr)
	}
	addrs := c.Shards
	if len(addrs) == 0 {
		addrs = listed
	} else if len(addrs) != len(listed) {
		return nil, fmt.Errorf("cluster %s: %d shards configured, the server lists %d", c.Name, len(addrs), len(listed))
	}
	var out []shard
	for i, a := range addrs {
		st, err := s.dialTo(a, s.cfg.Database)
		if err != nil {
			closeShards(out)
			return nil, err
		}
		out = append(out, shard{num: i + 1, addr: a, listed: len(listed[i]), st: st})
	}
	return out, nil
}

func closeShards(shs []shard) {
	for _, sh := range shs {
		_ = sh.st.Close()
	}
}

// replica is one replica of a shard, with a pool of its own (no failover
// to the shard's other replicas): what a replicated erasure's proof
// checks.
type replica struct {
	shard, num int
	addr       string
	st         *Store
}

func (r replica) String() string {
	return fmt.Sprintf("shard %d replica %d %s", r.shard, r.num, r.addr)
}

// openReplicas opens a pool per replica of every shard of shs. Each shard
// must be given as many replica addresses as system.clusters lists for it
// (with --cluster-shards, every replica of every shard), so that the proof
// of an erasure misses none. The caller closes them.
func (s *Store) openReplicas(shs []shard) ([]replica, error) {
	var out []replica
	for _, sh := range shs {
		if len(sh.addr) != sh.listed {
			closeReplicas(out)
			return nil, fmt.Errorf("cluster %s: shard %d: %d replica addresses configured, the server lists %d (every replica must be reachable)",
				s.cfg.Cluster.Name, sh.num, len(sh.addr), sh.listed)
		}
		for j, a := range sh.addr {
			st, err := s.dialTo([]string{a}, s.cfg.Database)
			if err != nil {
				closeReplicas(out)
				return nil, err
			}
			out = append(out, replica{shard: sh.num, num: j + 1, addr: a, st: st})
		}
	}
	return out, nil
}

func closeReplicas(rs []replica) {
	for _, r := range rs {
		_ = r.st.Close()
	}
}

// migrateCluster applies the migrations to a cluster: with replication
// once, ON CLUSTER, through the store's server; without, on every shard in
// turn (local tables, then the Distributed tables over them, so that any
// shard can be queried), each shard recording its own schema_migrations.
// It returns the versions applied now on any shard.
func (s *Store) migrateCluster(ctx context.Context, sch schema) ([]int, error) {
	if s.cfg.Cluster.Replicated {
		return s.migrate(ctx, sch)
	}
	shs, err := s.openShards(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer closeShards(shs)
	var all []int
	for _, sh := range shs {
		applied, err := sh.st.migrate(ctx, sch)
		all = append(all, applied...)
		if err != nil {
			return sortedUnique(all), fmt.Errorf("%s: %w", sh, err)
		}
	}
	return sortedUnique(all), nil
}

func sortedUnique(vs []int) []int {
	slices.Sort(vs)
	return slices.Compact(vs)
}
