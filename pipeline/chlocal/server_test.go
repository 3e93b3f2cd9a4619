package chlocal

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// startServer starts a server on a fresh data dir (or dir when non-empty),
// fetching the engine through EnsureLib like a fresh machine would.
func startServer(t *testing.T, dir string) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a ClickHouse engine; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lib, err := EnsureLib(ctx, DefaultCacheDir(), testWriter{t})
	if err != nil {
		t.Fatalf("EnsureLib: %v", err)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	srv, err := Start(ctx, Config{LibPath: lib, DataDir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Logf("%s", p); return len(p), nil }

func connect(t *testing.T, srv *Server, dial func(ctx context.Context, addr string) (net.Conn, error)) driver.Conn {
	t.Helper()
	opts := &clickhouse.Options{
		Addr:        []string{srv.Addr()},
		DialTimeout: 2 * time.Second,
		DialContext: dial,
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func count(t *testing.T, conn driver.Conn, table string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestInsertAndReadBack(t *testing.T) {
	srv := startServer(t, "")
	conn := connect(t, srv, nil)
	ctx := context.Background()
	if err := conn.Exec(ctx, `CREATE TABLE m (id UInt64, at DateTime64(3), team LowCardinality(String), score Float64)
		ENGINE = ReplacingMergeTree ORDER BY id`); err != nil {
		t.Fatalf("create: %v", err)
	}
	const rows = 5000
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO m")
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	var wantSum float64
	for i := range rows {
		score := float64(i%7) / 7
		wantSum += score
		if err := batch.Append(uint64(i), base.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("t%d", i%5), score); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("send: %v", err)
	}
	var (
		n     uint64
		teams uint64
		sum   float64
		maxAt time.Time
	)
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(team), sum(score), max(at) FROM m").Scan(&n, &teams, &sum, &maxAt); err != nil {
		t.Fatalf("select: %v", err)
	}
	if n != rows || teams != 5 {
		t.Errorf("count=%d teams=%d, want %d and 5", n, teams, rows)
	}
	if d := sum - wantSum; d > 1e-6 || d < -1e-6 {
		t.Errorf("sum=%v, want %v", sum, wantSum)
	}
	if want := base.Add((rows - 1) * time.Millisecond); !maxAt.Equal(want) {
		t.Errorf("max(at)=%v, want %v", maxAt, want)
	}
}
