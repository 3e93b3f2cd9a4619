package kafkaconn

import (
	"strings"
	"testing"
	"time"

	"commpulse/internal/flagvalue"
	"commpulse/internal/securitytest"
)

func TestRegisterFlagsAndValidate(t *testing.T) {
	pwFile := securitytest.SecretFile(t, "s3cret")
	for _, tc := range []struct {
		name     string
		args     []string
		brokers  string
		sasl     bool
		parseErr bool
		err      string
	}{
		{name: "defaults", brokers: DefaultBrokers},
		{name: "brokers", args: []string{"--brokers", "a:1, b:2"}, brokers: "a:1,b:2"},
		{name: "empty brokers", args: []string{"--brokers", " , "}, parseErr: true},
		{name: "sasl from file", args: []string{"--kafka-sasl-mechanism", "scram-sha-512", "--kafka-sasl-user", "u", "--kafka-sasl-password-file", pwFile}, brokers: DefaultBrokers, sasl: true},
		{name: "sasl without password", args: []string{"--kafka-sasl-mechanism", "plain", "--kafka-sasl-user", "u"}, err: "user and password are required"},
		{name: "password twice", args: []string{"--kafka-sasl-mechanism", "plain", "--kafka-sasl-user", "u", "--kafka-sasl-password", "x", "--kafka-sasl-password-file", pwFile}, err: "not both"},
		{name: "tls files without tls", args: []string{"--kafka-tls-ca-file", pwFile}, err: "kafka: TLS files given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			if err := flagvalue.Parse(c.RegisterFlags, tc.args...); (err != nil) != tc.parseErr {
				t.Fatalf("parse: %v", err)
			} else if err != nil {
				return
			}
			err := c.Validate()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.Brokers, ","); got != tc.brokers {
				t.Fatalf("brokers %q, want %q", got, tc.brokers)
			}
			if (c.SASL != nil) != tc.sasl || c.TLS != nil {
				t.Fatalf("sasl %v tls %v", c.SASL, c.TLS)
			}
		})
	}
}

// Every client built here carries the connection's settings: the timeouts
// that the alerter's transport used to lose, and TLS/SASL.
func TestClientsCarryTheSettings(t *testing.T) {
	var c Config // zero: Validate fills the defaults
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	tr := c.Transport()
	if tr.DialTimeout != 5*time.Second || tr.IdleTimeout != 30*time.Second {
		t.Fatalf("transport timeouts %s %s", tr.DialTimeout, tr.IdleTimeout)
	}
	if d := c.Dialer(); d.Timeout != 10*time.Second || !d.DualStack {
		t.Fatalf("dialer %+v", d)
	}
	if cl := c.Client(); cl.Timeout != 10*time.Second || cl.Transport == nil || cl.Addr.String() != DefaultBrokers {
		t.Fatalf("client %+v", cl)
	}
	w := c.Writer("alerts")
	if w.Topic != "alerts" || w.BatchTimeout != 10*time.Millisecond || !w.AllowAutoTopicCreation || w.Transport == nil {
		t.Fatalf("writer %+v", w)
	}
	if w.Transport == c.Writer("alerts").Transport {
		t.Fatal("writers share a transport: each needs a fresh one")
	}
}
