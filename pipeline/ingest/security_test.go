package ingest

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/securitytest"
	"commpulse/internal/synth"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/security"
)

// Kafka over TLS with SASL (SCRAM and PLAIN), and keyed pseudonymisation of
// stored person ids, end to end.
func TestTLSSASLAndPseudonymisation(t *testing.T) {
	for _, mech := range []string{security.SASLScramSHA256, security.SASLPlain} {
		t.Run(mech, func(t *testing.T) {
			cert, pool := securitytest.SelfSigned(t)
			kmech := map[string]string{security.SASLScramSHA256: "SCRAM-SHA-256", security.SASLPlain: "PLAIN"}[mech]
			e := newEnv(t, kfake.EnableSASL(), kfake.Superuser(kmech, "ingest", "s3cret-pw"),
				kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
			sasl, err := security.KafkaSASL(mech, "ingest", "s3cret-pw")
			if err != nil {
				t.Fatal(err)
			}
			e.cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			e.cfg.SASL = sasl
			key := []byte(strings.Repeat("k", 32))
			ps, err := privacy.NewPseudonymizer(key)
			if err != nil {
				t.Fatal(err)
			}
			e.cfg.Pseudonymizer = ps

			org := synth.MustNew(synth.Config{Seed: 8, Teams: 6, Limit: 3000})
			var dir, evs []kafka.Message
			for _, d := range org.Directory() {
				dir = append(dir, kafka.Message{Topic: e.cfg.DirectoryTopic, Key: []byte(d.Person), Value: synth.MarshalDirectory(d)})
			}
			var sender string
			for g := range org.Events() {
				evs = append(evs, kafka.Message{Topic: e.cfg.EventsTopic, Key: g.Key(), Value: g.Value()})
				sender = g.Event.Sender
			}
			wr := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Transport: &kafka.Transport{TLS: e.cfg.TLS, SASL: sasl},
				BatchTimeout: 5 * time.Millisecond, AllowAutoTopicCreation: true}
			if err := wr.WriteMessages(context.Background(), append(dir, evs...)...); err != nil {
				t.Fatalf("produce over TLS+SASL: %v", err)
			}
			wr.Close()

			w := e.start(nil)
			waitFor(t, "3000 handled over TLS+SASL", 2*time.Minute, func() bool { return w.handled() >= 3000 })
			if n := e.count("SELECT count() FROM {db}.messages WHERE NOT startsWith(sender, 'h_') OR arrayExists(r -> NOT startsWith(r, 'h_'), recipients)"); n != 0 {
				t.Fatalf("%d rows hold producer pseudonyms although a key is set", n)
			}
			if n := e.count("SELECT count() FROM {db}.messages WHERE sender = ?", sender); n != 0 {
				t.Fatal("a producer pseudonym was stored")
			}
			if n := e.count("SELECT count() FROM {db}.messages WHERE sender = ?", ps.ID(sender)); n == 0 {
				t.Fatal("no row under the re-keyed id")
			}
			// Opt-out still erases: the gate uses producer ids, storage the keyed ones.
			cw := &kafka.Writer{Addr: kafka.TCP(e.brokers...), Topic: e.cfg.ConsentTopic, Transport: &kafka.Transport{TLS: e.cfg.TLS, SASL: sasl}, BatchTimeout: time.Millisecond}
			if err := cw.WriteMessages(context.Background(), kafka.Message{Key: []byte(sender),
				Value: synth.MarshalConsent(event.Consent{Person: sender, OptedIn: false, At: time.Now()})}); err != nil {
				t.Fatal(err)
			}
			cw.Close()
			waitFor(t, "erasure", time.Minute, func() bool { return testutil.ToFloat64(w.in.m.Erasures) >= 1 })
			if n := e.count("SELECT count() FROM {db}.messages WHERE sender = ? OR has(recipients, ?)", ps.ID(sender), ps.ID(sender)); n != 0 {
				t.Fatalf("%d rows of the opted-out person remain under the keyed id", n)
			}
		})
	}
}

// A wrong SASL password never becomes ready and never leaks the password.
func TestWrongSASLPasswordNotReady(t *testing.T) {
	e := newEnv(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "ingest", "right-pw"))
	sasl, err := security.KafkaSASL(security.SASLScramSHA256, "ingest", "wrong-pw-value")
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.SASL = sasl
	e.cfg.CreateTopics = false
	w := e.start(nil)
	time.Sleep(3 * time.Second)
	if err := w.in.Ready(); err == nil {
		t.Fatal("ready with a wrong SASL password")
	} else if strings.Contains(err.Error(), "wrong-pw-value") {
		t.Fatal("readiness error shows the password")
	}
}
