package chtest_test

import (
	"context"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"commpulse/internal/chlocal"
	. "commpulse/internal/chlocal/chtest"
	"commpulse/pipeline/store"
)

func TestMain(m *testing.M) { Main(m) }

func conn(t *testing.T, srv *chlocal.Server, db string) driver.Conn {
	t.Helper()
	st, err := store.Open(store.Config{Addr: []string{srv.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.Conn()
}

func TestDatabasesAreIsolatedAndDropped(t *testing.T) {
	srv := Server(t)
	if again := Server(t); again != srv {
		t.Fatal("Server started a second server in one test binary")
	}
	var names []string
	for _, sub := range []string{"first", "second"} {
		t.Run(sub, func(t *testing.T) {
			db := NewDatabase(t, srv)
			names = append(names, db)
			conn := conn(t, srv, db)
			ctx := context.Background()
			// The same table name in each test's own database.
			if err := conn.Exec(ctx, "CREATE TABLE events (n UInt8) ENGINE = MergeTree ORDER BY n"); err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := conn.Exec(ctx, "INSERT INTO events VALUES (1)"); err != nil {
				t.Fatalf("insert: %v", err)
			}
			var n uint64
			if err := conn.QueryRow(ctx, "SELECT count() FROM events").Scan(&n); err != nil || n != 1 {
				t.Fatalf("count=%d err=%v, want 1 row in this test's database", n, err)
			}
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("database names %v, want two distinct", names)
	}
	conn := conn(t, srv, "default")
	for _, db := range names {
		var n uint64
		if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("database %s still exists after its test ended", db)
		}
	}
}
