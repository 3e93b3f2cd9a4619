package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/segmentio/kafka-go/sasl"

	"commpulse/pipeline/ingest"
	"commpulse/pipeline/security"
	"commpulse/pipeline/store"
)

// stringList is a comma-separated flag value.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	if len(*s) == 0 {
		return fmt.Errorf("empty list")
	}
	return nil
}

// clickhouseFlags binds the ClickHouse connection flags.
type clickhouseFlags struct {
	addr         stringList
	database     string
	user         string
	password     string
	passwordFile string
	ttlDays      int
	tls          security.TLS
}

func (c *clickhouseFlags) bind(fs *flag.FlagSet) {
	c.addr = stringList{"localhost:9000"}
	fs.Var(&c.addr, "ch-addr", "ClickHouse native-protocol addresses, comma-separated")
	fs.StringVar(&c.database, "ch-database", store.DefaultDatabase, "ClickHouse database")
	fs.StringVar(&c.user, "ch-user", "default", "ClickHouse user")
	fs.StringVar(&c.password, "ch-password", "", "ClickHouse password (prefer --ch-password-file)")
	fs.StringVar(&c.passwordFile, "ch-password-file", "", "file holding the ClickHouse password")
	fs.IntVar(&c.ttlDays, "retention-days", store.DefaultTTLDays, "retention of person-level rows, in days")
	fs.BoolVar(&c.tls.Enable, "ch-tls", false, "connect to ClickHouse over TLS (native TLS port, usually 9440)")
	fs.StringVar(&c.tls.CAFile, "ch-tls-ca-file", "", "PEM file of CAs trusted for ClickHouse (default: system roots)")
	fs.BoolVar(&c.tls.InsecureSkipVerify, "ch-tls-insecure-skip-verify", false, "accept any ClickHouse server certificate (tests only)")
}

func (c *clickhouseFlags) config() (store.Config, error) {
	pw, err := security.Secret("ch-password", c.password, c.passwordFile)
	if err != nil {
		return store.Config{}, usageError{err}
	}
	tc, err := c.tls.Config()
	if err != nil {
		return store.Config{}, usageError{fmt.Errorf("clickhouse: %w", err)}
	}
	cfg := store.Config{Addr: c.addr, Database: c.database, Username: c.user, Password: pw, TTLDays: c.ttlDays, TLS: tc}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// kafkaFlags binds the Kafka connection flags (brokers, TLS, SASL) shared by
// every command that talks to Kafka.
type kafkaFlags struct {
	brokers stringList

	tls                            security.TLS
	saslMechanism, saslUser        string
	saslPassword, saslPasswordFile string
}

// security returns the TLS config and SASL mechanism of the flags.
func (k *kafkaFlags) security() (*tls.Config, sasl.Mechanism, error) {
	tc, err := k.tls.Config()
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("kafka: %w", err)}
	}
	pw, err := security.Secret("kafka-sasl-password", k.saslPassword, k.saslPasswordFile)
	if err != nil {
		return nil, nil, usageError{err}
	}
	mech, err := security.KafkaSASL(k.saslMechanism, k.saslUser, pw)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return tc, mech, nil
}

func (k *kafkaFlags) bind(fs *flag.FlagSet) {
	d := ingest.Defaults()
	k.brokers = d.Brokers
	fs.Var(&k.brokers, "brokers", "Kafka bootstrap brokers, comma-separated")
	fs.BoolVar(&k.tls.Enable, "kafka-tls", false, "connect to Kafka over TLS")
	fs.StringVar(&k.tls.CAFile, "kafka-tls-ca-file", "", "PEM file of CAs trusted for Kafka (default: system roots)")
	fs.StringVar(&k.tls.CertFile, "kafka-tls-cert-file", "", "client certificate for mutual TLS with Kafka")
	fs.StringVar(&k.tls.KeyFile, "kafka-tls-key-file", "", "client key for mutual TLS with Kafka")
	fs.BoolVar(&k.tls.InsecureSkipVerify, "kafka-tls-insecure-skip-verify", false, "accept any Kafka server certificate (tests only)")
	fs.StringVar(&k.saslMechanism, "kafka-sasl-mechanism", "", "SASL: plain, scram-sha-256 or scram-sha-512 (empty: none)")
	fs.StringVar(&k.saslUser, "kafka-sasl-user", "", "SASL user")
	fs.StringVar(&k.saslPassword, "kafka-sasl-password", "", "SASL password (prefer --kafka-sasl-password-file)")
	fs.StringVar(&k.saslPasswordFile, "kafka-sasl-password-file", "", "file holding the SASL password")
}

// logFlags binds --log-level and --log-format.
type logFlags struct{ level, format string }

func (l *logFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

// parseWithLogger parses the flags of a long-running subcommand (flags,
// then COMMPULSE_* env) and returns the logger its log flags ask for.
func parseWithLogger(fs *flag.FlagSet, args []string, l *logFlags, w io.Writer) (*slog.Logger, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	return l.logger(w)
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usageError{fmt.Errorf("log-level %q: %w", l.level, err)}
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("log-format %q: want text or json", l.format)}
}
