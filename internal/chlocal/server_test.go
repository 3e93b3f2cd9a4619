package chlocal

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"commpulse/pipeline/store"
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
	st, err := store.Open(store.Config{Addr: []string{srv.Addr()}, Database: "default", DialTimeout: 2 * time.Second, Dial: dial})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	conn := st.Conn()
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

func TestOutageKeepsAddressAndData(t *testing.T) {
	srv := startServer(t, "")
	addr, httpAddr := srv.Addr(), srv.HTTPAddr()
	conn := connect(t, srv, nil)
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE TABLE kept (n UInt32) ENGINE = MergeTree ORDER BY n"); err != nil {
		t.Fatalf("create: %v", err)
	}
	insert := func(from, to int) {
		t.Helper()
		if err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO kept SELECT number FROM numbers(%d, %d)", from, to-from)); err != nil {
			t.Fatalf("insert %d..%d: %v", from, to, err)
		}
	}
	insert(0, 100)

	outages := []struct {
		name string
		down func() error
	}{
		{"clean stop", func() error { return srv.Stop(ctx) }},
		{"kill -9", srv.Kill},
	}
	want := uint64(100)
	for i, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			oldPID := srv.PID()
			if err := o.down(); err != nil {
				t.Fatalf("down: %v", err)
			}
			if srv.Running() {
				t.Fatal("Running() after down")
			}
			// While down the address refuses service promptly instead of hanging.
			pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pingCtx)
			hung := pingCtx.Err() != nil
			cancel()
			if err == nil {
				t.Fatal("Ping succeeded while the engine is down")
			}
			if hung {
				t.Fatalf("Ping hung until the deadline instead of failing fast: %v", err)
			}
			if err := srv.Restart(ctx); err != nil {
				t.Fatalf("restart: %v", err)
			}
			if srv.Addr() != addr || srv.HTTPAddr() != httpAddr {
				t.Fatalf("addresses changed: %s %s -> %s %s", addr, httpAddr, srv.Addr(), srv.HTTPAddr())
			}
			if srv.PID() == oldPID {
				t.Fatalf("PID %d unchanged: engine was not restarted", oldPID)
			}
			// The same pool reconnects to the same address.
			if got := count(t, conn, "kept"); got != want {
				t.Fatalf("after restart count=%d, want %d", got, want)
			}
			insert(1000*(i+1), 1000*(i+1)+50)
			want += 50
			if got := count(t, conn, "kept"); got != want {
				t.Fatalf("after insert count=%d, want %d", got, want)
			}
		})
	}
}

// TestClientResetDoesNotKillServer resets client connections (RST) in the
// states that made the unshielded engine abort its process: idle, in a pooled
// session and while a large result streams.
func TestClientResetDoesNotKillServer(t *testing.T) {
	srv := startServer(t, "")
	pid := srv.PID()
	ctx := context.Background()
	reset := func(c net.Conn) {
		tc := c.(*net.TCPConn)
		_ = tc.SetLinger(0) // close sends RST
		_ = tc.Close()
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"idle after connect", func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			reset(c)
		}},
		{"pooled session reset", func(t *testing.T) {
			var mu sync.Mutex
			var raw []net.Conn
			conn := connect(t, srv, func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err == nil {
					mu.Lock()
					raw = append(raw, c)
					mu.Unlock()
				}
				return c, err
			})
			if err := conn.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range raw {
				reset(c)
			}
		}},
		{"reset while streaming", func(t *testing.T) {
			var mu sync.Mutex
			var raw []net.Conn
			conn := connect(t, srv, func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err == nil {
					mu.Lock()
					raw = append(raw, c)
					mu.Unlock()
				}
				return c, err
			})
			rows, err := conn.Query(ctx, "SELECT number, toString(number) FROM system.numbers LIMIT 50000000")
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10 && rows.Next(); i++ {
			}
			mu.Lock()
			for _, c := range raw {
				reset(c)
			}
			mu.Unlock()
			_ = rows.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 {
				tc.run(t)
			}
			// The engine survived and serves a fresh client.
			conn := connect(t, srv, nil)
			var one uint8
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("query after resets: %v (got %d)", err, one)
			}
			if !srv.Running() || srv.PID() != pid {
				t.Fatalf("engine restarted or died: running=%v pid %d -> %d", srv.Running(), pid, srv.PID())
			}
		})
	}
}

// TestAutoRestartAfterEngineAbort provokes the abort the proxy cannot hide (a
// client that dies halfway through a packet) and checks that AutoRestart
// brings the engine back on the same address with the data.
func TestAutoRestartAfterEngineAbort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ClickHouse engine; skipped with -short")
	}
	ctx := context.Background()
	lib, err := EnsureLib(ctx, DefaultCacheDir(), testWriter{t})
	if err != nil {
		t.Fatalf("EnsureLib: %v", err)
	}
	srv, err := Start(ctx, Config{LibPath: lib, AutoRestart: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	conn := connect(t, srv, nil)
	if err := conn.Exec(ctx, "CREATE TABLE survivors ENGINE = MergeTree ORDER BY n AS SELECT number AS n FROM numbers(10)"); err != nil {
		t.Fatalf("create: %v", err)
	}

	// A Hello packet cut short: packet type 0, then a string length of 10
	// followed by 3 bytes, then the client vanishes.
	deadline := time.Now().Add(30 * time.Second)
	for srv.Crashes() == 0 && time.Now().Before(deadline) {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte{0, 10, 'c', 'l', 'i'})
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
		time.Sleep(100 * time.Millisecond)
	}
	if srv.Crashes() == 0 {
		t.Skip("this engine build no longer aborts on a truncated packet")
	}
	var n uint64
	for time.Now().Before(deadline) {
		if err = conn.QueryRow(ctx, "SELECT count() FROM survivors").Scan(&n); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || n != 10 {
		t.Fatalf("after automatic restart: count=%d err=%v, want 10", n, err)
	}
}

// A config file with XML users turns access control on: the users and their
// grants are enforced over HTTP, and the file is read again at Restart.
// Wrong credentials are tried over HTTP only: over the native protocol a
// wrong password aborts the embedded engine.
func TestConfigFileEnforcesUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a ClickHouse engine; skipped with -short")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "users.xml")
	conf := `<clickhouse>
 <user_directories><users_xml><path>` + cfgPath + `</path></users_xml></user_directories>
 <profiles><default/><ro><readonly>2</readonly></ro></profiles><quotas><default/></quotas>
 <users>
  <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota><access_management>1</access_management></default>
  <reader><password>pw-reader</password><networks><ip>127.0.0.1</ip></networks><profile>ro</profile><quota>default</quota>
   <grants><query>GRANT SELECT ON db.v</query></grants></reader>
 </users>
</clickhouse>
`
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lib, err := EnsureLib(ctx, DefaultCacheDir(), testWriter{t})
	if err != nil {
		t.Fatalf("EnsureLib: %v", err)
	}
	srv, err := Start(ctx, Config{LibPath: lib, DataDir: filepath.Join(dir, "data"), Logf: t.Logf, ConfigFile: cfgPath})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer srv.Close(context.Background())
	query := func(user, pw, q string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.HTTPAddr()+"/", strings.NewReader(q))
		req.SetBasicAuth(user, pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, q := range []string{"CREATE DATABASE db ENGINE = Atomic", "CREATE TABLE db.t (a UInt8) ENGINE = MergeTree ORDER BY a",
		"INSERT INTO db.t VALUES (7)", "CREATE VIEW db.v DEFINER = default SQL SECURITY DEFINER AS SELECT a FROM db.t"} {
		if code, body := query("default", "", q); code != http.StatusOK {
			t.Fatalf("default: %s: %d %s", q, code, body)
		}
	}
	check := func() {
		t.Helper()
		if code, body := query("reader", "pw-reader", "SELECT a FROM db.v"); code != http.StatusOK || strings.TrimSpace(body) != "7" {
			t.Errorf("reader on the granted view: %d %q", code, body)
		}
		if code, body := query("reader", "pw-reader", "SELECT a FROM db.t"); code == http.StatusOK || !strings.Contains(body, "ACCESS_DENIED") {
			t.Errorf("reader on the table: %d %q; want ACCESS_DENIED", code, body)
		}
		if code, _ := query("reader", "wrong", "SELECT 1"); code != http.StatusForbidden {
			t.Errorf("wrong password over HTTP: %d; want 403", code)
		}
	}
	check()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	check()
	if _, err := Start(ctx, Config{LibPath: lib, ConfigFile: filepath.Join(dir, "missing.xml")}); err == nil {
		t.Error("Start with a missing config file: no error")
	}
}
