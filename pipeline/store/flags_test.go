package store

import (
	"fmt"
	"strings"
	"testing"

	"commpulse/internal/flagvalue"
	"commpulse/internal/securitytest"
)

func TestFlags(t *testing.T) {
	pwFile := securitytest.SecretFile(t, "s3cret")
	parse := func(t *testing.T, args ...string) (Flags, error) {
		f := DefaultFlags()
		if err := flagvalue.Parse(f.RegisterFlags, args...); err != nil {
			t.Fatal(err)
		}
		return f, f.Validate()
	}
	f, err := parse(t)
	if err != nil || strings.Join(f.Addr, ",") != DefaultAddr || f.Database != DefaultDatabase || f.Username != DefaultUser ||
		f.TTLDays != DefaultTTLDays || f.TLS != nil || f.DialTimeout == 0 {
		t.Fatalf("defaults: %+v, %v", f.Config, err)
	}
	f, err = parse(t, "--ch-addr", "a:1,b:2", "--ch-password-file", pwFile, "--retention-days", "30")
	if err != nil || len(f.Addr) != 2 || f.Password != "s3cret" || f.TTLDays != 30 {
		t.Fatalf("flags: %v %d %v", f.Addr, f.TTLDays, err)
	}
	if _, err := parse(t, "--ch-password", "x", "--ch-password-file", pwFile); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("password and file: %v", err)
	}
	if _, err := parse(t, "--ch-tls-ca-file", pwFile); err == nil || !strings.HasPrefix(err.Error(), "clickhouse: ") {
		t.Fatalf("CA without TLS: %v", err)
	}
	if _, err := parse(t, "--ch-database", "no-dashes"); err == nil {
		t.Fatal("bad database accepted")
	}
	if f.Cluster.Enabled() {
		t.Fatalf("a cluster by default: %+v", f.Cluster)
	}
	f, err = parse(t, "--cluster", "prod", "--cluster-shards", "a:9000, a2:9000;b:9000;", "--replicated")
	if err != nil || f.Cluster.Name != "prod" || !f.Cluster.Replicated ||
		fmt.Sprint(f.Cluster.Shards) != "[[a:9000 a2:9000] [b:9000]]" {
		t.Fatalf("cluster flags: %+v, %v", f.Cluster, err)
	}
	for _, bad := range [][]string{{"--replicated"}, {"--cluster-shards", "a:1"}, {"--cluster", "no-dashes"}} {
		if _, err := parse(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
