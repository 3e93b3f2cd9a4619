// Package security builds the TLS and SASL settings of commpulse's Kafka and
// ClickHouse clients from flags, reads secrets from files, and re-keys
// person ids (keyed pseudonymisation).
//
// Secrets are only ever held in memory: they are not logged, not exported
// as metrics, and error messages name the file or flag, never the value.
package security

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// TLS describes a client TLS configuration by file names.
type TLS struct {
	Enable             bool
	CAFile             string // PEM bundle of trusted CAs; empty: the system pool
	CertFile, KeyFile  string // client certificate for mutual TLS; both or neither
	ServerName         string // overrides the name checked in the server certificate
	InsecureSkipVerify bool   // for tests only: accepts any server certificate
}

// Config returns nil when TLS is off.
func (t TLS) Config() (*tls.Config, error) {
	if !t.Enable {
		if t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" {
			return nil, errors.New("TLS files given but TLS is not enabled")
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented as test-only
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s: no PEM certificate in it", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("TLS client certificate: give both the certificate and the key file")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate %s: %w", t.CertFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// SASL mechanisms accepted by KafkaSASL.
const (
	SASLNone        = ""
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// KafkaSASL returns the kafka-go mechanism for name, or nil for SASLNone.
// PLAIN sends the password in clear text inside the connection: use it only
// over TLS.
func KafkaSASL(name, user, password string) (sasl.Mechanism, error) {
	name = strings.ToLower(name)
	if name == SASLNone {
		return nil, nil
	}
	if user == "" || password == "" {
		return nil, fmt.Errorf("kafka SASL %s: user and password are required", name)
	}
	switch name {
	case SASLPlain:
		return plain.Mechanism{Username: user, Password: password}, nil
	case SASLScramSHA256:
		return scram.Mechanism(scram.SHA256, user, password)
	case SASLScramSHA512:
		return scram.Mechanism(scram.SHA512, user, password)
	}
	return nil, fmt.Errorf("kafka SASL mechanism %q: want plain, scram-sha-256 or scram-sha-512", name)
}

// Secret returns value, or the trimmed content of file when file is set.
// Setting both is an error: which one wins would be a guess.
func Secret(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("%s: give the value or the file, not both", name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s file: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
