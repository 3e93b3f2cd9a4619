package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/synth"
	"commpulse/pipeline/event"
	"commpulse/pipeline/kafkaconn"
)

// readTopic reads every record of topic, partition by partition, up to the
// high watermark at the time of the call.
func readTopic(t *testing.T, ctx context.Context, addr, topic string) map[int][]kafka.Message {
	t.Helper()
	conn, err := kafka.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	out := map[int][]kafka.Message{}
	for _, p := range parts {
		lc, err := kafka.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p.ID, err)
			}
			out[p.ID] = append(out[p.ID], m)
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

func TestGenerateToKafka(t *testing.T) {
	topics := synth.Topics{Events: "t.events", Directory: "t.directory", Consent: "t.consent"}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(),
		kfake.SeedTopics(4, topics.Events), kfake.SeedTopics(2, topics.Directory, topics.Consent))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	addr := cluster.ListenAddrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	truthPath := filepath.Join(t.TempDir(), "truth.json")
	args := []string{
		"--brokers", addr, "--topic", topics.Events, "--directory-topic", topics.Directory, "--consent-topic", topics.Consent,
		"--seed", "5", "--teams", "3", "--days", "2", "--malformed-rate", "0.03", "--not-opted-in-rate", "0.02",
		"--scenarios", "optout:team-2:2026-11-02T13:00,silo:team-1:2026-11-03", "--truth", truthPath,
	}
	var stdout, stderr bytes.Buffer
	if err := runGenerate(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("generate: %v\nstderr: %s", err, stderr.String())
	}

	// The same flags give the same organisation: it is the expectation.
	var f generateFlags
	fs := newFlagSet("generate", &stderr)
	f.bind(fs)
	if err := parseFlags(fs, args); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	org := synth.MustNew(cfg)
	wantByKey := map[string][]string{}
	kinds := map[synth.Kind]int{}
	total := 0
	for g := range org.Events() {
		wantByKey[string(g.Key())] = append(wantByKey[string(g.Key())], string(g.Value()))
		kinds[g.Kind]++
		total++
	}
	if kinds[synth.Malformed] == 0 || kinds[synth.NotOptedIn] == 0 || kinds[synth.OptedOut] == 0 {
		t.Fatalf("test set-up: want every kind, got %v", kinds)
	}

	t.Run("events", func(t *testing.T) {
		gotByKey := map[string][]string{}
		n := 0
		for p, msgs := range readTopic(t, ctx, addr, topics.Events) {
			for _, m := range msgs {
				n++
				k := string(m.Key)
				gotByKey[k] = append(gotByKey[k], string(m.Value))
				if want := (&kafka.Hash{}).Balance(m, 0, 1, 2, 3); want != p {
					t.Fatalf("key %s in partition %d, hash balancer says %d", k, p, want)
				}
			}
		}
		if n != total {
			t.Fatalf("read %d events, generated %d", n, total)
		}
		// Per key (sender) the records arrive complete and in generation order.
		for k, want := range wantByKey {
			got := gotByKey[k]
			if len(got) != len(want) {
				t.Fatalf("key %s: %d records, want %d", k, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("key %s record %d:\n got %s\nwant %s", k, i, got[i], want[i])
				}
			}
		}
	})

	t.Run("directory", func(t *testing.T) {
		idRE := regexp.MustCompile(`^p_[0-9a-f]{16}$`)
		want := map[string]string{}
		for _, d := range org.Directory() {
			want[d.Person] = d.Team
		}
		n := 0
		for _, msgs := range readTopic(t, ctx, addr, topics.Directory) {
			for _, m := range msgs {
				n++
				var d event.Directory
				if err := json.Unmarshal(m.Value, &d); err != nil {
					t.Fatal(err)
				}
				if !idRE.Match(m.Key) || string(m.Key) != d.Person || want[d.Person] != d.Team {
					t.Fatalf("directory record key %q value %s", m.Key, m.Value)
				}
			}
		}
		if n != len(want) {
			t.Fatalf("%d directory records, want %d", n, len(want))
		}
	})

	t.Run("consent", func(t *testing.T) {
		optOut := org.Truth().Items[0]
		var ins, outs int
		for _, msgs := range readTopic(t, ctx, addr, topics.Consent) {
			for _, m := range msgs {
				var c event.Consent
				if err := json.Unmarshal(m.Value, &c); err != nil {
					t.Fatal(err)
				}
				if string(m.Key) != c.Person {
					t.Fatalf("consent key %q, person %q", m.Key, c.Person)
				}
				if c.OptedIn {
					ins++
					continue
				}
				outs++
				if c.Person != optOut.Person || !c.At.Equal(optOut.Start) {
					t.Fatalf("opt-out %+v, truth %+v", c, optOut)
				}
			}
		}
		if ins != len(org.Directory()) || outs != 1 {
			t.Fatalf("%d opt-ins and %d opt-outs, want %d and 1", ins, outs, len(org.Directory()))
		}
	})

	t.Run("truth file", func(t *testing.T) {
		b, err := os.ReadFile(truthPath)
		if err != nil {
			t.Fatal(err)
		}
		var tr synth.Truth
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatal(err)
		}
		if len(tr.Items) != 2 || tr.Items[0].Kind != synth.OptOut || tr.Items[0].Team != "team-2" ||
			tr.Items[1].Kind != synth.Silo || !tr.Items[1].End.Equal(tr.End) {
			t.Fatalf("truth %+v", tr)
		}
	})

	if !strings.Contains(stdout.String(), "malformed ") || !strings.Contains(stdout.String(), " events (") {
		t.Errorf("summary missing: %q", stdout.String())
	}
}

func TestGenerateUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad scenario", []string{"--scenarios", "drop:team-1"}, "scenario"},
		{"unknown team", []string{"--scenarios", "silo:team-9:2026-11-03"}, "unknown team"},
		{"negative rate", []string{"--rate", "-1"}, "rate"},
		{"rates over one", []string{"--malformed-rate", "0.7", "--not-opted-in-rate", "0.7"}, "sum <= 1"},
		{"bad start", []string{"--start", "next monday"}, "start"},
		{"extra argument", []string{"now"}, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			// No broker is needed: the command must fail before connecting.
			err := runGenerate(context.Background(), append([]string{"--brokers", "127.0.0.1:1"}, tt.args...), &stderr, &stderr)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

// BenchmarkGenerateToKafka measures generate end to end against an
// in-process kfake broker: generation, encoding and kafka-go produce.
func BenchmarkGenerateToKafka(b *testing.B) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(),
		kfake.SeedTopics(6, synth.DefaultTopics.Events, synth.DefaultTopics.Directory, synth.DefaultTopics.Consent))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	org := synth.MustNew(synth.Config{Seed: 1, Days: 14})
	events := 0
	for b.Loop() {
		st, err := produceToKafka(context.Background(), kafkaconn.Brokers(cluster.ListenAddrs()...), org, synth.ProduceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
