// Package storetest gives integration tests a migrated commpulse database of
// their own on the test binary's shared ClickHouse server (see chtest; the
// package's TestMain must call chtest.Main).
package storetest

import (
	"context"
	"testing"
	"time"

	"commpulse/internal/chlocal"
	"commpulse/internal/chlocal/chtest"
	"commpulse/pipeline/store"
)

// Migrated returns a store on a fresh database with every migration
// applied, the server, and the database name. Both close with the test.
func Migrated(t testing.TB) (*store.Store, *chlocal.Server, string) {
	t.Helper()
	srv := chtest.Server(t)
	db := chtest.NewDatabase(t, srv)
	st, err := store.Open(store.Config{Addr: []string{srv.Addr()}, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", db, err)
	}
	return st, srv, db
}
