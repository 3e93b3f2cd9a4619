//go:build !nodemo

package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"commpulse/internal/testio"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/kafkaconn"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
)

// runningUp is `commpulse up` running in process, with what it printed
// at start.
type runningUp struct {
	out     *testio.Buffer
	done    chan error
	stop    context.CancelFunc
	chAddr  string // native
	metrics string // URL of /metrics
	key     string
	next    []string // the import command printed, after "commpulse"
}

// startUp runs `commpulse up` on dataDir with free ports and waits for the
// block it prints when ingest runs.
func startUp(t *testing.T, ctx context.Context, dataDir string) *runningUp {
	t.Helper()
	upCtx, stop := context.WithCancel(ctx)
	u := &runningUp{out: &testio.Buffer{}, done: make(chan error, 1), stop: stop}
	args := []string{"--data-dir", dataDir, "--kafka-port", "0", "--ch-port", "0", "--http-addr", "127.0.0.1:0", "--tick", "1s", "--retention-days", "400"}
	go func() { u.done <- runUp(upCtx, args, u.out, u.out) }()
	t.Cleanup(func() {
		stop()
		<-u.done
	})
	waitFor(t, "up to print the import command", func() bool {
		select {
		case err := <-u.done:
			u.done <- err
			t.Fatalf("up returned %v before it was ready:\n%s", err, u.out)
		default:
		}
		return strings.Contains(u.out.String(), "Ctrl-C stops")
	})
	for _, l := range strings.Split(u.out.String(), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) < 2:
		case f[0] == "clickhouse:":
			u.chAddr = f[1]
		case f[0] == "metrics:":
			u.metrics = f[1]
		case f[0] == "key:":
			u.key = f[1]
		case f[0] == "commpulse" && len(f) > 2 && f[1] == "import":
			u.next = f[1:]
		}
	}
	if u.chAddr == "" || u.metrics == "" || u.key == "" || u.next == nil {
		t.Fatalf("up did not print its addresses, key and next command:\n%s", u.out)
	}
	return u
}

// shutdown stops up as Ctrl-C does and returns what it returned.
func (u *runningUp) shutdown(t *testing.T) error {
	t.Helper()
	u.stop()
	select {
	case err := <-u.done:
		u.done <- err // for the cleanup
		return err
	case <-time.After(3 * time.Minute):
		t.Fatalf("up did not stop:\n%s", u.out)
		return nil
	}
}

// metric sums a counter of up's /metrics over its labels.
func (u *runningUp) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(u.metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && (f[0] == name || strings.HasPrefix(f[0], name+"{")) {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			sum += v
		}
	}
	return sum
}

// TestUpThenImport is the path for one's own data from a fresh clone:
// `commpulse up` on a new data dir, the import command it prints run
// against it (placeholders filled in) on the Slack fixture export, the
// rows in its ClickHouse under its key, an analyzer pass over them, a
// clean Ctrl-C with the offsets committed, and a restart that keeps key
// and rows.
func TestUpThenImport(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "up")
	zipped := zipExport(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	u := startUp(t, ctx, data)
	if !strings.Contains(u.out.String(), "created; keep it") || u.key != filepath.Join(data, upKeyName) {
		t.Fatalf("a fresh data dir did not get its key %s:\n%s", filepath.Join(data, upKeyName), u.out)
	}
	noiseKey := filepath.Join(data, upNoiseKeyName)
	for _, k := range []string{u.key, noiseKey} {
		if fi, err := os.Stat(k); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 64 {
			t.Fatalf("key file %s: %v %v", k, fi, err)
		}
	}
	noise, _ := os.ReadFile(noiseKey)

	// The printed command, as a user runs it.
	if u.next[0] != "import" || u.next[1] != "slack" {
		t.Fatalf("next command %q", u.next)
	}
	args := append([]string(nil), u.next[2:]...)
	filled := 0
	for i, a := range args {
		switch a {
		case upDomainHint:
			args[i] = "example.com"
			filled++
		case upExportHint:
			args[i] = zipped
			filled++
		}
	}
	if filled != 2 {
		t.Fatalf("placeholders missing from %q", u.next)
	}
	var stdout, stderr strings.Builder
	if err := runImportSlack(ctx, append(args, "--progress-interval", "0"), &stdout, &stderr, noEnv); err != nil {
		t.Fatal(err, stderr.String())
	}

	// The events hold the imported text until ingest scored them: the
	// embedded broker keeps them in a data dir only the user reads, and
	// for stackEventsRetention, not the broker's default week.
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir %v %v, want mode 0700", fi, err)
	}
	var brokers string
	for i, a := range args {
		if a == "--brokers" && i+1 < len(args) {
			brokers = args[i+1]
		}
	}
	cl := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Transport: &kafka.Transport{}}
	dc, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: "comms.events", ConfigNames: []string{"retention.ms"}}}})
	if err != nil || len(dc.Resources) != 1 || len(dc.Resources[0].ConfigEntries) != 1 {
		t.Fatalf("describe comms.events: %+v %v", dc, err)
	}
	if got, want := dc.Resources[0].ConfigEntries[0].ConfigValue, strconv.FormatInt(stackEventsRetention.Milliseconds(), 10); got != want {
		t.Fatalf("comms.events retention.ms %s, want %s", got, want)
	}
	if err := slackLeak("import output", stdout.String()+stderr.String()); err != nil {
		t.Fatal(err)
	}
	const wantEvents = 18 // TestImportSlackFlags: the fixture without a consent list
	if !strings.Contains(stdout.String(), "imported 18") {
		t.Fatalf("summary %q", stdout.String())
	}

	st, err := store.Open(store.Config{Addr: []string{u.chAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(q string) int { return queryCount(t, ctx, st, store.DefaultDatabase, q) }
	waitFor(t, "the imported events in up's ClickHouse", func() bool { return count("SELECT count() FROM {db}.messages FINAL") >= wantEvents })
	if n := count("SELECT count() FROM {db}.messages FINAL"); n != wantEvents {
		t.Fatalf("%d rows, want %d", n, wantEvents)
	}
	// --retention-days reached the schema: an export older than the default
	// 180 days keeps its rows.
	if n := count("SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'messages' AND engine_full LIKE '%TTL toDateTime(occurred_at) + toIntervalDay(400) %'"); n != 1 {
		t.Fatal("messages were not created with --retention-days 400")
	}
	// Stored ids are up's ingest re-keying the importer's pseudonyms, both
	// under the key up printed.
	key, err := os.ReadFile(u.key)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := privacy.NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	if n := count("SELECT count() FROM {db}.messages FINAL WHERE sender = '" + ps.ID(ps.ID("alice@example.com")) + "'"); n != 6 {
		t.Fatalf("alice sent %d stored messages, want 6", n)
	}
	if n := u.metric(t, "commpulse_dlq_total"); n != 0 {
		t.Fatalf("%v events went to the DLQ", n)
	}
	waitFor(t, "up to print ingest's totals", func() bool { return strings.Contains(u.out.String(), "written 18,") })

	// An analyzer pass once ingest is idle, over every hour and day that
	// holds an imported message (the fixture's two days).
	if n := count("SELECT uniqExact(toStartOfDay(occurred_at)) FROM {db}.messages FINAL"); n != 2 {
		t.Fatalf("messages on %d days, want the fixture's 2", n)
	}
	for _, g := range []struct{ name, floor string }{{"day", "toStartOfDay"}, {"hour", "toStartOfHour"}} {
		undone := "SELECT count() FROM (SELECT DISTINCT " + g.floor + "(occurred_at) AS w FROM {db}.messages FINAL) " +
			"WHERE w NOT IN (SELECT window_start FROM {db}.analyzer_windows FINAL WHERE granularity = '" + g.name + "')"
		waitFor(t, "an analyzer pass over the imported "+g.name+"s", func() bool { return count(undone) == 0 })
	}
	waitFor(t, "up to print the pass", func() bool { return strings.Contains(u.out.String(), " windows done") })
	if n := u.metric(t, "commpulse_analyzer_windows_total"); n < 2 {
		t.Fatalf("/metrics counts %v analyzed windows", n)
	}
	st.Close()

	if err := u.shutdown(t); err != nil {
		t.Fatalf("up: %v\n%s", err, u.out)
	}
	if !strings.Contains(u.out.String(), "up stopped") {
		t.Fatalf("no stop line:\n%s", u.out)
	}

	t.Run("offsets committed", func(t *testing.T) {
		if n := committedOffsets(t, filepath.Join(data, "kafka"), ingestGroup, "comms.events"); n != wantEvents {
			t.Fatalf("ingest committed %d offsets of comms.events, want %d", n, wantEvents)
		}
	})

	t.Run("restart keeps key and rows", func(t *testing.T) {
		u := startUp(t, ctx, data)
		if !strings.Contains(u.out.String(), "(kept:") || u.key != filepath.Join(data, upKeyName) {
			t.Fatalf("restart did not keep the key:\n%s", u.out)
		}
		if again, _ := os.ReadFile(u.key); string(again) != string(key) {
			t.Fatal("restart changed the key")
		}
		if again, _ := os.ReadFile(noiseKey); string(again) != string(noise) {
			t.Fatal("restart changed the noise key: a window released again would carry independent noise")
		}
		st, err := store.Open(store.Config{Addr: []string{u.chAddr}})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if n := queryCount(t, ctx, st, store.DefaultDatabase, "SELECT count() FROM {db}.messages FINAL"); n != wantEvents {
			t.Fatalf("%d rows after restart, want %d", n, wantEvents)
		}
		st.Close()
		if err := u.shutdown(t); err != nil {
			t.Fatalf("up: %v\n%s", err, u.out)
		}
	})
}

// ingestGroup is the consumer group of up's ingest.
var ingestGroup = ingest.Defaults().Group

// committedOffsets reopens the Kafka data of a stopped stack and returns
// the sum over topic's partitions of group's committed offsets: with the
// topic's records starting at 0, its record count when all are committed.
func committedOffsets(t *testing.T, kafkaDir, group, topic string) int64 {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(kafkaDir))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := kafkaconn.Brokers(kc.ListenAddrs()...).Client()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata %s: %v %+v", topic, err, md)
	}
	var parts []int
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	of, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil || of.Error != nil {
		t.Fatalf("offset fetch %s: %v %v", group, err, of.Error)
	}
	var sum int64
	for _, p := range of.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("offset fetch %s/%d: %v", topic, p.Partition, p.Error)
		}
		sum += max(p.CommittedOffset, 0)
	}
	return sum
}

// TestAnalyzeWhenIdle: a pass runs only at a tick at which ingest took
// nothing since the previous one and has nothing in flight.
func TestAnalyzeWhenIdle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts func(call int) ingest.Counts
		passes bool
	}{
		{"importing", func(call int) ingest.Counts { return ingest.Counts{Consumed: int64(call), Written: int64(call)} }, false},
		{"in flight", func(int) ingest.Counts { return ingest.Counts{Consumed: 10, Written: 7, Dropped: 1, DeadLettered: 1} }, false},
		{"idle", func(int) ingest.Counts { return ingest.Counts{Consumed: 10, Written: 8, Dropped: 1, DeadLettered: 1} }, true},
		{"idle before anything came", func(int) ingest.Counts { return ingest.Counts{} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			const ticks = 50
			calls, steps, reported := 0, 0, 0
			counts := func() ingest.Counts {
				calls++
				if calls == ticks {
					cancel()
				}
				return tc.counts(calls)
			}
			step := func(context.Context) (int, error) { steps++; return 3, nil }
			analyzeWhenIdle(ctx, time.Millisecond, counts, step, func(n int, err error) {
				if n != 3 || err != nil {
					t.Errorf("reported %d, %v", n, err)
				}
				reported++
			})
			switch {
			case calls != ticks:
				t.Fatalf("counts read %d times, want %d", calls, ticks)
			case reported != steps:
				t.Fatalf("%d passes, %d reported", steps, reported)
			case tc.passes && steps != ticks-1: // the first tick has no previous one
				t.Fatalf("%d passes in %d idle ticks, want %d", steps, ticks, ticks-1)
			case !tc.passes && steps != 0:
				t.Fatalf("%d passes while ingest was busy", steps)
			}
		})
	}
}

// TestUpFlags: bad flags fail at start with an error naming them, before
// anything is created or started.
func TestUpFlags(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("too short"), 0o600)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"zero tick", []string{"--tick", "0s"}, "tick"},
		{"zero broadcast", []string{"--broadcast-max-recipients", "0"}, "broadcast-max-recipients"},
		{"k below 5", []string{"--k", "3"}, "k"},
		{"short key", []string{"--pseudonym-key-file", short}, "need at least"},
		{"missing key", []string{"--pseudonym-key-file", filepath.Join(dir, "nope")}, "pseudonym-key-file"},
		{"bad retention", []string{"--retention-days", "0"}, "retention"},
		{"positional", []string{"export.zip"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "up")
			var out strings.Builder
			err := runUp(context.Background(), append([]string{"--data-dir", data, "--kafka-port", "0", "--ch-port", "0"}, tc.args...), &out, &out)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want a usage error naming %q", err, tc.wantErr)
			}
			if _, err := os.Stat(data); err == nil {
				t.Fatal("a failed start created the data dir")
			}
		})
	}
}
