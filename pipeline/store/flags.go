package store

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"commpulse/internal/flagvalue"
	"commpulse/pipeline/security"
)

// Connection defaults of the flags (see DefaultDatabase and DefaultTTLDays
// for the others).
const (
	DefaultAddr = "localhost:9000"
	DefaultUser = "default"
)

// Flags is a Config as flags set it: the password may come from a file and
// TLS from file names, which Validate resolves into the Config.
type Flags struct {
	Config
	PasswordFile string
	TLSFiles     security.TLS
}

// DefaultFlags returns the default connection (the one place the flag
// defaults live).
func DefaultFlags() Flags {
	return Flags{Config: Config{Addr: []string{DefaultAddr}, Database: DefaultDatabase, Username: DefaultUser, TTLDays: DefaultTTLDays}}
}

// RegisterFlags registers the ClickHouse connection flags on fs, bound to
// f's fields with f's values as defaults: call it on DefaultFlags().
func (f *Flags) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(flagvalue.List(&f.Addr), "ch-addr", "ClickHouse native-protocol addresses, comma-separated")
	fs.StringVar(&f.Database, "ch-database", f.Database, "ClickHouse database")
	fs.StringVar(&f.Username, "ch-user", f.Username, "ClickHouse user")
	fs.StringVar(&f.Password, "ch-password", f.Password, "ClickHouse password (prefer --ch-password-file)")
	fs.StringVar(&f.PasswordFile, "ch-password-file", f.PasswordFile, "file holding the ClickHouse password")
	fs.IntVar(&f.TTLDays, "retention-days", f.TTLDays, "retention of person-level rows, in days")
	fs.BoolVar(&f.TLSFiles.Enable, "ch-tls", f.TLSFiles.Enable, "connect to ClickHouse over TLS (native TLS port, usually 9440)")
	fs.StringVar(&f.TLSFiles.CAFile, "ch-tls-ca-file", f.TLSFiles.CAFile, "PEM file of CAs trusted for ClickHouse (default: system roots)")
	fs.BoolVar(&f.TLSFiles.InsecureSkipVerify, "ch-tls-insecure-skip-verify", f.TLSFiles.InsecureSkipVerify, "accept any ClickHouse server certificate (tests only)")
	fs.StringVar(&f.Cluster.Name, "cluster", f.Cluster.Name, "ClickHouse cluster name (remote_servers): shard the tables over it (docs/scaling.md); empty: one server")
	fs.Var((*shardList)(&f.Cluster.Shards), "cluster-shards", "native addresses of the cluster's shards, shards separated by ';', a shard's replicas by ',' (default: read from system.clusters)")
	fs.BoolVar(&f.Cluster.Replicated, "replicated", f.Cluster.Replicated, "with --cluster: Replicated*MergeTree tables and ON CLUSTER DDL (needs ClickHouse Keeper)")
}

// shardList is the value of --cluster-shards: "a:9000,a2:9000;b:9000" is
// two shards, the first with two replicas.
type shardList [][]string

func (l *shardList) String() string {
	if l == nil {
		return ""
	}
	var shards []string
	for _, sh := range *l {
		shards = append(shards, strings.Join(sh, ","))
	}
	return strings.Join(shards, ";")
}

func (l *shardList) Set(v string) error {
	var out [][]string
	for _, sh := range strings.Split(v, ";") {
		var addrs []string
		for _, a := range strings.Split(sh, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) > 0 {
			out = append(out, addrs)
		}
	}
	if len(out) == 0 {
		return errors.New("no shard")
	}
	*l = out
	return nil
}

// Validate reads the password file and the TLS files into the Config (the
// TLS unless one is set already), then validates it (filling defaults).
func (f *Flags) Validate() error {
	pw, err := security.Secret("ch-password", f.Password, f.PasswordFile)
	if err != nil {
		return err
	}
	f.Password, f.PasswordFile = pw, ""
	if f.TLS == nil {
		if f.TLS, err = f.TLSFiles.Config(); err != nil {
			return fmt.Errorf("clickhouse: %w", err)
		}
	}
	return f.Config.Validate()
}
