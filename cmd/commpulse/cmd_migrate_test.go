package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --print-roles-sql prints the access model without connecting (the
// address is unreachable), with users only for the password files given,
// taken from COMMPULSE_* like every flag, and no plain password.
func TestMigratePrintRolesSQL(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "analyst")
	if err := os.WriteFile(pwFile, []byte("analyst-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COMMPULSE_ROLES_ANALYST_PASSWORD_FILE", pwFile)
	var out strings.Builder
	err := runMigrate(context.Background(), []string{"--print-roles-sql", "--ch-addr", "127.0.0.1:1", "--ch-database", "cpx"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"CREATE ROLE IF NOT EXISTS cpx_analyst_role;",
		"GRANT SELECT ON cpx.team_stats_k TO cpx_analyst_role;",
		"ALTER ROLE cpx_analyst_role SETTINGS readonly = 2, additional_table_filters CONST;",
		"CREATE USER IF NOT EXISTS cpx_analyst IDENTIFIED WITH sha256_hash BY '",
		"GRANT cpx_analyst_role TO cpx_analyst;",
		"CREATE ROLE IF NOT EXISTS cpx_writer_role;",
		"-- no password for the writer role",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "analyst-secret") || strings.Contains(s, "USER IF NOT EXISTS cpx_writer") {
		t.Errorf("plain password or a user without a password file:\n%s", s)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	if err := runMigrate(context.Background(), []string{"--print-roles-sql", "--roles-writer-password-file", empty}, io.Discard, io.Discard); err == nil {
		t.Error("an empty password file was accepted")
	}
	if err := runMigrate(context.Background(), []string{"--print-roles-sql", "--roles-writer-password-file", filepath.Join(dir, "missing")}, io.Discard, io.Discard); err == nil {
		t.Error("a missing password file was accepted")
	}
}

// --print-sql prints the schema without connecting: for a replicated
// cluster, every statement ON CLUSTER with Replicated local tables.
func TestMigratePrintSQL(t *testing.T) {
	var out strings.Builder
	err := runMigrate(context.Background(), []string{"--print-sql", "--ch-addr", "127.0.0.1:1", "--ch-database", "cpx", "--cluster", "prod", "--replicated"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"CREATE DATABASE IF NOT EXISTS cpx ON CLUSTER prod;",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/messages_local', '{replica}', ingested_at)",
		"ENGINE = Distributed(prod, cpx, messages_local, cityHash64(event_id));",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if err := runMigrate(context.Background(), []string{"--print-sql", "--replicated"}, io.Discard, io.Discard); err == nil {
		t.Error("--replicated without --cluster accepted")
	}
}

// --print-roles-sql with --cluster: the cluster's access model (grants on
// the local tables, the Distributed engine), ON CLUSTER with --replicated
// only.
func TestMigratePrintRolesSQLCluster(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "interserver")
	if err := os.WriteFile(pwFile, []byte("interserver-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		on   string
	}{
		{[]string{"--cluster", "prod"}, ""},
		{[]string{"--cluster", "prod", "--replicated"}, " ON CLUSTER prod"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out strings.Builder
			args := append([]string{"--print-roles-sql", "--ch-addr", "127.0.0.1:1", "--ch-database", "cpx", "--roles-interserver-password-file", pwFile}, tc.args...)
			if err := runMigrate(context.Background(), args, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			s := out.String()
			for _, want := range []string{
				"CREATE ROLE IF NOT EXISTS cpx_writer_role" + tc.on + ";",
				"GRANT" + tc.on + " SELECT, INSERT, ALTER DELETE, ALTER UPDATE ON cpx.messages_local TO cpx_writer_role;",
				"GRANT" + tc.on + " TABLE ENGINE ON Distributed TO cpx_admin_role;",
				"GRANT" + tc.on + " SELECT, INSERT ON cpx.team_stats_local TO cpx_interserver_role;",
				"CREATE USER IF NOT EXISTS cpx_interserver" + tc.on + " IDENTIFIED WITH sha256_hash BY '",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
			if tc.on == "" && strings.Contains(s, "ON CLUSTER") {
				t.Errorf("ON CLUSTER without --replicated:\n%s", s)
			}
		})
	}
	if err := runMigrate(context.Background(), []string{"--print-roles-sql", "--replicated"}, io.Discard, io.Discard); err == nil {
		t.Error("--replicated without --cluster was accepted")
	}
	if err := runMigrate(context.Background(), []string{"--print-roles-sql", "--roles-interserver-password-file", pwFile}, io.Discard, io.Discard); err == nil {
		t.Error("an interserver password without --cluster was accepted")
	}
}
