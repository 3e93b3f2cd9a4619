// Package kafkaconn is commpulse's one Kafka client factory: the brokers,
// TLS, SASL and timeouts of a connection, the flags that set them, and the
// only constructors of kafka-go transports and dialers. Ingest, the
// alerter, generate, the importers and the test helpers all build their
// clients here, so a setting (a timeout, TLS, SASL) reaches every one.
package kafkaconn

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"commpulse/internal/defaults"
	"commpulse/internal/flagvalue"
	"commpulse/pipeline/security"
)

// Config is a connection to a Kafka cluster. Zero fields take the defaults
// of Defaults; Validate fills them and resolves TLS and SASL.
type Config struct {
	// Brokers are the bootstrap brokers (host:port).
	Brokers []string

	// TLSFiles and the SASL* fields are the settings as flags give them
	// (file names, a mechanism name); Validate resolves them into TLS and
	// SASL.
	TLSFiles         security.TLS
	SASLMechanism    string
	SASLUser         string
	SASLPassword     string
	SASLPasswordFile string

	// TLS and SASL are what the clients use. Validate sets them from the
	// fields above unless they are set already (tests and embedders may
	// set them directly).
	TLS  *tls.Config
	SASL sasl.Mechanism

	// DialTimeout bounds opening a connection of a Transport (writers,
	// clients). Default 5 s.
	DialTimeout time.Duration
	// ReaderDialTimeout bounds opening a connection of a Dialer (readers).
	// Default 10 s.
	ReaderDialTimeout time.Duration
	// IdleTimeout closes a Transport's unused connections. Default 30 s.
	IdleTimeout time.Duration
	// RequestTimeout bounds a Client's requests. Default 10 s.
	RequestTimeout time.Duration
}

// DefaultBrokers is where the brokers are looked for when none are given.
const DefaultBrokers = "localhost:9092"

// Defaults returns the default configuration (the one place defaults live).
func Defaults() Config {
	return Config{
		Brokers:           []string{DefaultBrokers},
		DialTimeout:       5 * time.Second,
		ReaderDialTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		RequestTimeout:    10 * time.Second,
	}
}

// Brokers returns Defaults with the given brokers: a plain connection, as
// tests against an in-process broker use.
func Brokers(brokers ...string) Config {
	c := Defaults()
	c.Brokers = brokers
	return c
}

// RegisterFlags registers the connection flags on fs, bound to c's fields
// with c's values as defaults: call it on Defaults().
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(flagvalue.List(&c.Brokers), "brokers", "Kafka bootstrap brokers, comma-separated")
	fs.BoolVar(&c.TLSFiles.Enable, "kafka-tls", c.TLSFiles.Enable, "connect to Kafka over TLS")
	fs.StringVar(&c.TLSFiles.CAFile, "kafka-tls-ca-file", c.TLSFiles.CAFile, "PEM file of CAs trusted for Kafka (default: system roots)")
	fs.StringVar(&c.TLSFiles.CertFile, "kafka-tls-cert-file", c.TLSFiles.CertFile, "client certificate for mutual TLS with Kafka")
	fs.StringVar(&c.TLSFiles.KeyFile, "kafka-tls-key-file", c.TLSFiles.KeyFile, "client key for mutual TLS with Kafka")
	fs.BoolVar(&c.TLSFiles.InsecureSkipVerify, "kafka-tls-insecure-skip-verify", c.TLSFiles.InsecureSkipVerify, "accept any Kafka server certificate (tests only)")
	fs.StringVar(&c.SASLMechanism, "kafka-sasl-mechanism", c.SASLMechanism, "SASL: plain, scram-sha-256 or scram-sha-512 (empty: none)")
	fs.StringVar(&c.SASLUser, "kafka-sasl-user", c.SASLUser, "SASL user")
	fs.StringVar(&c.SASLPassword, "kafka-sasl-password", c.SASLPassword, "SASL password (prefer --kafka-sasl-password-file)")
	fs.StringVar(&c.SASLPasswordFile, "kafka-sasl-password-file", c.SASLPasswordFile, "file holding the SASL password")
}

// Validate fills the zero fields from Defaults, resolves TLS and SASL
// (reading their files), and reports the first bad setting by its flag.
func (c *Config) Validate() error {
	d := Defaults()
	if len(c.Brokers) == 0 {
		c.Brokers = d.Brokers
	}
	for _, b := range c.Brokers {
		if b == "" {
			return errors.New("brokers: empty address")
		}
	}
	defaults.Fill(&c.DialTimeout, d.DialTimeout)
	defaults.Fill(&c.ReaderDialTimeout, d.ReaderDialTimeout)
	defaults.Fill(&c.IdleTimeout, d.IdleTimeout)
	defaults.Fill(&c.RequestTimeout, d.RequestTimeout)
	if c.TLS == nil {
		tc, err := c.TLSFiles.Config()
		if err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		c.TLS = tc
	}
	if c.SASL == nil {
		pw, err := security.Secret("kafka-sasl-password", c.SASLPassword, c.SASLPasswordFile)
		if err != nil {
			return err
		}
		if c.SASL, err = security.KafkaSASL(c.SASLMechanism, c.SASLUser, pw); err != nil {
			return err
		}
		c.SASLPassword = "" // the mechanism holds it now: one copy fewer
	}
	return nil
}

// Transport returns a fresh kafka-go transport (TLS, SASL, timeouts) for
// writers and clients. A fresh one per component matters: after a broker
// restart, a shared pooled transport hands out dead connections (see
// docs/architecture.md).
func (c Config) Transport() *kafka.Transport {
	return &kafka.Transport{TLS: c.TLS, SASL: c.SASL, DialTimeout: c.DialTimeout, IdleTimeout: c.IdleTimeout}
}

// Dialer returns a dialer (TLS, SASL, timeout) for readers.
func (c Config) Dialer() *kafka.Dialer {
	return &kafka.Dialer{Timeout: c.ReaderDialTimeout, DualStack: true, TLS: c.TLS, SASLMechanism: c.SASL}
}

// Client returns a client of the brokers with a fresh Transport.
func (c Config) Client() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.Transport(), Timeout: c.RequestTimeout}
}

// Writer returns a writer to topic (empty: each message names its topic)
// with a fresh Transport, keys hashed to partitions, acknowledgements from
// all in-sync replicas, topics created on first write, and a BatchTimeout
// of 10 ms: kafka-go's default of 1 s would add up to a second to every
// synchronous WriteMessages call. Callers tune the rest (BatchSize, ...).
func (c Config) Writer(topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr: kafka.TCP(c.Brokers...), Topic: topic, Transport: c.Transport(),
		Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond, AllowAutoTopicCreation: true,
	}
}
