// Package store is commpulse's ClickHouse edge: migrations, batched inserts
// with retries, and erasure. It speaks the native protocol through
// clickhouse-go/v2.
package store

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config selects and tunes the ClickHouse connection.
type Config struct {
	Addr        []string // host:port of the native protocol
	Database    string
	Username    string
	Password    string
	TLS         *tls.Config
	DialTimeout time.Duration
	// Dial, when set, replaces the driver's TCP dial (a proxy; the tests'
	// fault injection).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// TTLDays is the retention of person-level rows (messages, edges,
	// node_metrics). It is applied when the tables are created.
	TTLDays int
	// Cluster is the sharding layout; the zero value is one server.
	Cluster Cluster
}

// Defaults for Config.
const (
	DefaultDatabase = "commpulse"
	DefaultTTLDays  = 180
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the config and fills defaults.
func (c *Config) Validate() error {
	if len(c.Addr) == 0 {
		return errors.New("clickhouse address: none given")
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if !identRE.MatchString(c.Database) {
		return fmt.Errorf("clickhouse database %q: must match %s", c.Database, identRE)
	}
	if c.TTLDays == 0 {
		c.TTLDays = DefaultTTLDays
	}
	if c.TTLDays < 1 {
		return fmt.Errorf("retention ttl days %d: must be >= 1", c.TTLDays)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	return c.Cluster.Validate()
}

// Store is a ClickHouse connection pool on the configured database, so
// queries name tables without a database: `SELECT ... FROM messages`. Only
// DDL names the database, through the {{db}} placeholder of Render
// (migrations, the access model), because it creates or grants on it.
type Store struct {
	conn driver.Conn
	cfg  Config
	// shard scopes the analyzer's progress and replacing writes
	// (ForAnalyzeShard); zero: a single analyzer.
	shard AnalyzeShard
	// trace, when set, wraps every pool the store opens to other servers
	// of a cluster (openShards, openReplicas), given the pool's addresses:
	// the tests' record of which statement went to which server.
	trace func(addr []string, c driver.Conn) driver.Conn
}

// Open connects (lazily: the first query dials) and validates the config.
// The pool is bound to cfg.Database, which must exist before the first
// query; Migrate creates it through a short-lived bootstrap connection.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := dial(cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	return &Store{conn: conn, cfg: cfg}, nil
}

// dial is the one place commpulse opens a ClickHouse connection pool.
// database "" is the server's default database for the user (the bootstrap
// connection of Migrate).
func dial(cfg Config, database string) (driver.Conn, error) {
	opts := &clickhouse.Options{
		Addr:        cfg.Addr,
		Auth:        clickhouse.Auth{Database: database, Username: cfg.Username, Password: cfg.Password},
		TLS:         cfg.TLS,
		DialContext: cfg.Dial,
		// Short dial timeouts keep an outage from stalling a flush for long:
		// the retry loop, not the driver, decides how long to wait.
		DialTimeout:     cfg.DialTimeout,
		ReadTimeout:     60 * time.Second,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: 10 * time.Minute,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	}
	if cfg.Cluster.Enabled() {
		// An INSERT into a Distributed table returns once every shard has
		// its rows, not when they are queued on the server that took them:
		// ingest commits Kafka offsets after InsertMessages returns, and an
		// erasure must not be overtaken by rows still in a queue.
		//
		// A query on a Distributed table whose JOIN or IN subquery reads
		// another Distributed table is refused by default (code 288,
		// distributed_product_mode = deny). The store's queries say GLOBAL
		// where they join (the right side is computed once and sent to
		// every shard, which is what a join on team across differently
		// sharded tables needs); 'global' makes any other such subquery
		// behave the same rather than fail.
		opts.Settings = clickhouse.Settings{"distributed_foreground_insert": 1, "distributed_product_mode": "global"}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %v: %w", cfg.Addr, err)
	}
	return conn, nil
}

// Conn exposes the driver connection, bound to Database(), for tests and
// ad-hoc checks. Production code goes through the methods of Store, so
// that the SQL of commpulse lives in this package.
func (s *Store) Conn() driver.Conn { return s.conn }

// WithConn returns a Store on the same database whose statements go
// through wrap(conn): a seam for instrumentation (the catch-up benchmark
// times every statement with it). Closing either Store closes the pool.
func (s *Store) WithConn(wrap func(driver.Conn) driver.Conn) *Store {
	return &Store{conn: wrap(s.conn), cfg: s.cfg, shard: s.shard, trace: s.trace}
}

// Database is the database all tables live in.
func (s *Store) Database() string { return s.cfg.Database }

// Close closes the pool.
func (s *Store) Close() error { return s.conn.Close() }

// Ping checks that ClickHouse answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// createDatabase creates the configured database through a bootstrap
// connection on the user's default database: the pool itself cannot
// connect until the database exists.
func (s *Store) createDatabase(ctx context.Context, sch schema) error {
	conn, err := dial(s.cfg, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, s.render(sch.createDatabase())); err != nil {
		return fmt.Errorf("create database %s: %w", s.cfg.Database, err)
	}
	return nil
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     []string // statements, templated
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: splitStatements(string(b))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// splitStatements splits a migration file on semicolons at line ends and
// drops comment-only statements.
func splitStatements(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";\n") {
		var keep []string
		for _, line := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				keep = append(keep, line)
			}
		}
		if stmt := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.Join(keep, "\n")), ";")); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

func (s *Store) render(stmt string) string { return Render(stmt, s.cfg.Database, s.cfg.TTLDays) }

// Render fills a migration statement's placeholders ({{db}}, {{ttl_days}})
// as Migrate does; the privacy report renders the schema with it.
func Render(stmt, database string, ttlDays int) string {
	return strings.NewReplacer("{{db}}", database, "{{ttl_days}}", strconv.Itoa(ttlDays)).Replace(stmt)
}

// Migrate applies every migration not yet recorded in schema_migrations.
// Statements are idempotent (IF NOT EXISTS), so a migration interrupted
// half-way is simply applied again. It returns the versions applied now.
// On a cluster (Config.Cluster) it migrates every shard (see
// migrateCluster).
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	sch, err := s.schema()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if s.cfg.Cluster.Enabled() {
		return s.migrateCluster(ctx, sch)
	}
	return s.migrate(ctx, sch)
}

// migrate applies the pending migrations through s's pool, each statement
// as sch renders it.
func (s *Store) migrate(ctx context.Context, sch schema) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	if err := s.createDatabase(ctx, sch); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := s.conn.Exec(ctx, s.render(sch.createMigrations())); err != nil {
		return nil, fmt.Errorf("migrate: prepare schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := s.conn.Query(ctx, "SELECT version FROM schema_migrations FINAL")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: scan version: %w", err)
		}
		done[int(v)] = true
	}
	rows.Close()
	var applied []int
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.SQL {
			rendered, err := sch.statements(stmt)
			if err != nil {
				return applied, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
			}
			for _, r := range rendered {
				stmts, err := s.perPublishedView(ctx, s.render(r))
				if err != nil {
					return applied, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
				}
				for _, q := range stmts {
					if err := s.conn.Exec(ctx, q); err != nil {
						return applied, fmt.Errorf("migration %s statement %d: %w", m.Name, i+1, err)
					}
				}
			}
		}
		if err := s.conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", uint32(m.Version), m.Name); err != nil {
			return applied, fmt.Errorf("migration %s: record: %w", m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	if err := s.CheckPublishedViews(ctx); err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

// publishedViewVar in a migration statement makes it run once per
// published view that exists (see migrations/0005_roles.sql).
const publishedViewVar = "{{published_view}}"

// perPublishedView expands a rendered statement: without publishedViewVar
// it is returned as is; with it, once for each name in PublishedViews that
// exists in the database, in list order (none: nothing to run).
func (s *Store) perPublishedView(ctx context.Context, stmt string) ([]string, error) {
	if !strings.Contains(stmt, publishedViewVar) {
		return []string{stmt}, nil
	}
	existing, err := s.publishedViews(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range PublishedViews {
		if _, ok := existing[v]; ok {
			out = append(out, strings.ReplaceAll(stmt, publishedViewVar, v))
		}
	}
	return out, nil
}

// publishedViews maps each published view that exists to its CREATE
// statement.
func (s *Store) publishedViews(ctx context.Context) (map[string]string, error) {
	tables, err := s.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list published views: %w", err)
	}
	out := map[string]string{}
	for _, v := range PublishedViews {
		if t, ok := tables[v]; ok {
			out[v] = t.Create
		}
	}
	return out, nil
}

// CheckPublishedViews fails when a published view that exists runs with
// invoker security: analysts hold SELECT on the views only, so such a view
// would refuse them. A view that does not exist (yet) is not an error.
func (s *Store) CheckPublishedViews(ctx context.Context) error {
	views, err := s.publishedViews(ctx)
	if err != nil {
		return err
	}
	var bad []string
	for _, v := range PublishedViews {
		if create, ok := views[v]; ok && !strings.Contains(create, "SQL SECURITY DEFINER") {
			bad = append(bad, v)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("published views %v of %s lack definer security; create them with `DEFINER = CURRENT_USER SQL SECURITY DEFINER` or ALTER ... MODIFY SQL SECURITY DEFINER", bad, s.cfg.Database)
	}
	return nil
}
