package store

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal/chtest"
	"commpulse/internal/securitytest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Addr: []string{"x:9000"}}, true},
		{"no address", Config{}, false},
		{"bad database", Config{Addr: []string{"x:9000"}, Database: "drop table;"}, false},
		{"negative ttl", Config{Addr: []string{"x:9000"}, TTLDays: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestMigrationsAreOrderedAndSplit(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 || ms[0].Version != 1 {
		t.Fatalf("migrations %+v", ms)
	}
	for _, m := range ms {
		for _, stmt := range m.SQL {
			if stmt == "" || stmt[len(stmt)-1] == ';' {
				t.Fatalf("%s: bad statement split %q", m.Name, stmt)
			}
		}
	}
}

// Migrate is idempotent, and the connection works over TLS (through a
// TLS-terminating proxy, since the local test server speaks plain TCP).
func TestMigrateOverTLSIsIdempotent(t *testing.T) {
	srv := chtest.Server(t)
	db := chtest.NewDatabase(t, srv)
	addr, pool := securitytest.TLSProxy(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	plain, err := Open(Config{Addr: []string{addr}, Database: db, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Ping(ctx); err == nil {
		t.Fatal("a plain connection to the TLS port worked")
	}

	st, err := Open(Config{Addr: []string{addr}, Database: db, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first, err := st.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	if len(first) != len(ms) {
		t.Fatalf("first Migrate applied %v of %d", first, len(ms))
	}
	again, err := st.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, %v", again, err)
	}
	rows := []Message{{EventID: "e1", OccurredAt: time.Now(), IngestedAt: time.Now(), Channel: "chat", Sender: "p_1",
		Recipients: []string{"p_2"}, RecipientTeams: []string{"t"}, Status: "scored", Scored: true, Compound: 0.5, Label: 1}}
	if err := st.InsertMessages(ctx, rows); err != nil {
		t.Fatalf("insert over TLS: %v", err)
	}
	var n uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".messages WHERE compound > 0.4").Scan(&n); err != nil || n != 1 {
		t.Fatalf("read back over TLS: %d rows, %v", n, err)
	}
}

// Credentials reach the server (a wrong user is refused) and the error does
// not echo the password. The local test server has no access management,
// so a successful password login cannot be shown here.
func TestCredentialsAreSentNotEchoed(t *testing.T) {
	srv := chtest.Server(t)
	st, err := Open(Config{Addr: []string{srv.Addr()}, Username: "commpulse_nobody", Password: "pw-that-must-not-leak"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Ping(context.Background())
	if err == nil {
		t.Fatal("an unknown user was accepted")
	}
	if strings.Contains(err.Error(), "pw-that-must-not-leak") {
		t.Fatalf("error echoes the password: %v", err)
	}
	if !strings.Contains(err.Error(), "Authentication failed") && !strings.Contains(err.Error(), "516") {
		t.Fatalf("want an authentication error, got %v", err)
	}
}
