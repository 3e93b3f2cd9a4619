package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/kafkatest"
	"commpulse/internal/privacytest"
	"commpulse/nlp"
	"commpulse/pipeline/event"
	"commpulse/pipeline/ingest"
	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

const mailFixtures = "../../pipeline/importer/mail/testdata"

// fixtureSecrets are every raw address and display-name word of the
// fixtures and of the generated mails: none may be written anywhere.
var fixtureAddrs = []string{"alice@example.com", "bob@example.com", "carol@example.com", "dmitri@example.com",
	"erin@example.com", "frank@example.org", "greta@sub.example.org", "news@example.com", "all@example.com",
	"p000@example.com", "p199@example.com", "sender@example.com"}
var fixtureNames = []string{"Alice", "Quartermaine", "Lindqvist", "Carol", "Ntozake", "Dmitri", "Vasquez-Oyelaran",
	"Erin", "Castellanos", "Frank", "Oduya", "Greta", "Halvorsen", "Zebulon", "Marchetti-Okafor"}

// scanner finds raw addresses (as substrings) and names (as whole words).
type leakScanner struct{ re *regexp.Regexp }

func newLeakScanner() leakScanner {
	var alts []string
	for _, a := range fixtureAddrs {
		alts = append(alts, regexp.QuoteMeta(a))
	}
	for _, n := range fixtureNames {
		alts = append(alts, `\b`+regexp.QuoteMeta(n)+`\b`)
	}
	return leakScanner{regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))}
}

func (s leakScanner) check(t *testing.T, where, v string) {
	t.Helper()
	if err := s.err(where, v); err != nil {
		t.Fatal(err)
	}
}

func (s leakScanner) err(where, v string) error {
	if m := s.re.FindString(v); m != "" {
		return fmt.Errorf("%s holds raw personal data %q", where, m)
	}
	return nil
}

// writeGeneratedMail writes the mails the tests generate rather than
// commit: an 8 MB attachment and 200 recipients.
func writeGeneratedMail(t *testing.T, dir string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var to, consent []string
	for i := range 200 {
		a := fmt.Sprintf("p%03d@example.com", i)
		to = append(to, fmt.Sprintf("Zebulon Marchetti-Okafor %d <%s>", i, a))
		consent = append(consent, a)
	}
	many := "Message-ID: <many@mail.example.com>\r\nDate: Tue, 03 Nov 2026 12:00:00 +0000\r\nFrom: Zebulon Marchetti-Okafor <sender@example.com>\r\nTo: " +
		strings.Join(to, ",\r\n ") + "\r\nSubject: All hands\r\n\r\nWelcome everyone, we are thrilled about this quarter.\r\n"
	if err := os.WriteFile(filepath.Join(dir, "many.eml"), []byte(many), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "attachment.eml"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("Message-ID: <att@mail.example.com>\r\nDate: Tue, 03 Nov 2026 12:30:00 +0000\r\nFrom: sender@example.com\r\nTo: alice@example.com\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"AA\"\r\n\r\n--AA\r\nContent-Type: text/plain\r\n\r\nThe slides are attached, sorry for the delay.\r\n" +
		"--AA\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"slides.pdf\"\r\n\r\n")
	line := strings.Repeat("QUJD", 19) + "\r\n" // 76 columns
	for n := 0; n < 8<<20; n += len(line) {
		w.WriteString(line)
	}
	w.WriteString("--AA--\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return append(consent, "sender@example.com")
}

func TestImportMailFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte(strings.Repeat("k", 40)), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("too short"), 0o600)
	noEnv := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"no key", []string{"--domain", "example.com", mailFixtures + "/mbox"}, nil, "pseudonym-key-file"},
		{"no domain", []string{"--pseudonym-key-file", key, mailFixtures + "/mbox"}, nil, "--domain"},
		{"no path", []string{"--pseudonym-key-file", key, "--domain", "example.com"}, nil, "at least one"},
		{"short key", []string{"--pseudonym-key-file", short, "--domain", "example.com", "x"}, nil, "need at least"},
		{"env and interleaved", []string{mailFixtures + "/mbox", "--domain", "example.com,example.net"}, map[string]string{"COMMPULSE_PSEUDONYM_KEY_FILE": key}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			var stdout, stderr strings.Builder
			lookup := noEnv
			if tc.env != nil {
				lookup = func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			}
			err := runImportMail(context.Background(), append(tc.args, "--out", out, "--progress-interval", "0"), &stdout, &stderr, lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if _, serr := os.Stat(out); serr == nil {
					t.Fatal("an --out file was written by a failed run")
				}
				return
			}
			if err != nil {
				t.Fatal(err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "imported 9") {
				t.Fatalf("summary %q", stdout.String())
			}
		})
	}
}

// TestImportMailJSONL: --out writes records that pass the v1 decoder, and
// a second run writes the same bytes.
func TestImportMailJSONL(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte(strings.Repeat("j", 32)), 0o600)
	var outs []string
	for i := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		var stdout, stderr strings.Builder
		args := []string{"--pseudonym-key-file", key, "--domain", "example.com", "--consent-file", mailFixtures + "/consent.csv",
			"--directory", mailFixtures + "/directory.csv", "--out", out, "--progress-interval", "0",
			mailFixtures + "/mbox", mailFixtures + "/maildir", mailFixtures + "/eml"}
		if err := runImportMail(context.Background(), args, &stdout, &stderr, func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err, stderr.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(b))
	}
	if outs[0] != outs[1] {
		t.Fatal("two imports of the same files differ")
	}
	topics := map[string]int{}
	sc := newLeakScanner()
	for i, line := range strings.Split(strings.TrimSpace(outs[0]), "\n") {
		sc.check(t, fmt.Sprintf("out line %d", i+1), line)
		var r jsonlRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		topics[r.Topic]++
		if r.Topic == "comms.events" {
			if _, err := event.Decode(r.Value, event.Limits{}, time.Now()); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
		}
	}
	// 10 events; consent for the 4 company people on the list (frank is
	// external); directory for the 5 company people of the CSV.
	if topics["comms.events"] != 10 || topics["comms.consent"] != 4 || topics["comms.directory"] != 5 {
		t.Fatalf("records per topic %v", topics)
	}
}

// TestImportMailEndToEnd: fixtures -> import -> Kafka (kfake) -> real ingest
// with the same key -> embedded ClickHouse; no raw address or name in any
// Kafka record or stored string; a re-import adds no row after dedup.
func TestImportMailEndToEnd(t *testing.T) {
	e := newImportE2E(t)
	ctx, brokers, dir, key := e.ctx, e.brokers, e.dir, e.key
	gen := filepath.Join(dir, "generated")
	extra := writeGeneratedMail(t, gen)
	fixtureConsent, _ := os.ReadFile(mailFixtures + "/consent.csv")
	consent := filepath.Join(dir, "consent.csv")
	os.WriteFile(consent, []byte(string(fixtureConsent)+strings.Join(extra, "\n")+"\n"), 0o600)

	importOnce := func() string {
		var stdout, stderr strings.Builder
		args := []string{"--brokers", strings.Join(brokers, ","), "--pseudonym-key-file", key, "--domain", "example.com",
			"--consent-file", consent, "--directory", mailFixtures + "/directory.csv", "--progress-interval", "0",
			mailFixtures + "/mbox", mailFixtures + "/maildir", mailFixtures + "/eml", gen}
		if err := runImportMail(ctx, args, &stdout, &stderr, func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err, stderr.String())
		}
		return stdout.String()
	}
	summary := importOnce()
	if !strings.Contains(summary, "imported 12") || !strings.Contains(summary, "attachments_skipped 1") {
		t.Fatalf("summary %q", summary)
	}
	const wantEvents = 12

	ps := e.ps
	h := e.ingest(t)
	h.waitUntil("the imported events in ClickHouse", func() bool { return h.count("SELECT count() FROM {db}.messages FINAL") >= wantEvents })
	if n := h.count("SELECT count() FROM {db}.messages FINAL"); n != wantEvents {
		t.Fatalf("%d rows, want %d", n, wantEvents)
	}
	if n := h.metric("commpulse_dlq_total"); n != 0 {
		t.Fatalf("%v events went to the DLQ", n)
	}
	// Stored ids are ingest's re-keying of the importer's pseudonyms.
	alice := ps.ID(ps.ID("alice@example.com"))
	if n := h.count("SELECT count() FROM {db}.messages FINAL WHERE sender = '" + alice + "'"); n != 1 {
		t.Fatalf("alice sent %d stored messages, want 1 (the calendar invite and the loop are excluded)", n)
	}
	if n := h.count("SELECT max(length(recipients)) FROM {db}.messages FINAL"); n != 200 {
		t.Fatalf("largest recipient list %d, want 200", n)
	}

	t.Run("no raw address or name stored or on Kafka", func(t *testing.T) {
		h.scanLeaks(t, wantEvents, newLeakScanner().err)
	})

	t.Run("re-import adds no rows after dedup", func(t *testing.T) { h.reimportAddsNothing(t, importOnce, wantEvents) })
}

// importE2E is what the importers' end-to-end tests start from: a
// broker, a migrated database, a key in dir and a deadline.
type importE2E struct {
	ctx      context.Context
	brokers  []string
	st       *store.Store
	db       string
	dir, key string // key: the key's file
	ps       *privacy.Pseudonymizer
}

func newImportE2E(t *testing.T) importE2E {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	e := importE2E{dir: t.TempDir()}
	_, e.brokers = kafkatest.Start(t)
	e.st, _, e.db = storetest.Migrated(t)
	keyBytes := []byte("an-e2e-key-that-is-long-enough-0123456789")
	e.key = filepath.Join(e.dir, "key")
	if err := os.WriteFile(e.key, keyBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.ps, err = privacy.NewPseudonymizer(keyBytes); err != nil {
		t.Fatal(err)
	}
	var cancel context.CancelFunc
	e.ctx, cancel = context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return e
}

// ingest starts ingest, keyed like the import, on e's broker and database.
func (e importE2E) ingest(t *testing.T) *importIngest {
	t.Helper()
	return startImportIngest(t, e.ctx, e.brokers, e.st, e.db, e.ps)
}

// importIngest is a real ingest, keyed like the importer, consuming the
// import's topics into a migrated ClickHouse database: the far end of the
// importers' end-to-end tests.
type importIngest struct {
	t       *testing.T
	ctx     context.Context
	st      *store.Store
	db      string
	brokers []string
	cfg     ingest.Config
	reg     *prometheus.Registry
}

func startImportIngest(t *testing.T, ctx context.Context, brokers []string, st *store.Store, db string, ps *privacy.Pseudonymizer) *importIngest {
	t.Helper()
	cfg := ingest.Defaults()
	cfg.Brokers = brokers
	cfg.Group = "import-e2e-" + db
	cfg.BatchRows, cfg.BatchInterval = 1000, 200*time.Millisecond
	cfg.SessionTimeout, cfg.LagInterval, cfg.RetryMax = 4*time.Second, 500*time.Millisecond, time.Second
	cfg.Pseudonymizer = ps
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	in, err := ingest.New(cfg, st, nlp.New(), reg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("ingest: %v", err)
		}
	})
	return &importIngest{t: t, ctx: ctx, st: st, db: db, brokers: brokers, cfg: cfg, reg: reg}
}

// count runs a count query ({db} is the database).
func (h *importIngest) count(q string) int {
	h.t.Helper()
	return queryCount(h.t, h.ctx, h.st, h.db, q)
}

func (h *importIngest) waitUntil(what string, cond func() bool) {
	h.t.Helper()
	waitFor(h.t, what, cond)
}

// queryCount runs a count query on st ({db} is the database).
func queryCount(t *testing.T, ctx context.Context, st *store.Store, db, q string) int {
	t.Helper()
	var n uint64
	if err := st.Conn().QueryRow(ctx, strings.ReplaceAll(q, "{db}", db)).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return int(n)
}

// waitFor polls cond until it holds; the deadline is generous for a busy
// machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// metric sums a counter over its labels.
func (h *importIngest) metric(name string) float64 {
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	s := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				s += m.GetCounter().GetValue()
			}
		}
	}
	return s
}

// scanLeaks checks every stored string and every key, value and header of
// the import's Kafka topics; fewer than min values or records scanned
// proves nothing and fails.
// reimportAddsNothing runs importOnce again and waits until ingest wrote
// its events once more: the stored rows, after dedup, stay want.
func (h *importIngest) reimportAddsNothing(t *testing.T, importOnce func() string, want int) {
	t.Helper()
	before := h.metric("commpulse_sink_rows_total")
	importOnce()
	h.waitUntil("the re-imported events to be written", func() bool {
		return h.metric("commpulse_sink_rows_total") >= before+float64(want)
	})
	if n := h.count("SELECT count() FROM {db}.messages FINAL"); n != want {
		t.Fatalf("%d rows after re-import, want %d", n, want)
	}
}

func (h *importIngest) scanLeaks(t *testing.T, min int, check func(where, v string) error) {
	t.Helper()
	scanned := privacytest.EachStoredString(t, h.st.Conn(), h.db, check)
	if scanned < min {
		t.Fatalf("scanned %d stored values: the scan proves nothing", scanned)
	}
	records := 0
	for _, topic := range []string{h.cfg.EventsTopic, h.cfg.DirectoryTopic, h.cfg.ConsentTopic} {
		for _, m := range kafkatest.ReadAll(t, h.brokers, topic) {
			records++
			for where, v := range map[string][]byte{topic + " key": m.Key, topic + " value": m.Value} {
				if err := check(where, string(v)); err != nil {
					t.Fatal(err)
				}
			}
			for _, hd := range m.Headers {
				if err := check(topic+" header", string(hd.Value)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if records < min {
		t.Fatalf("scanned %d Kafka records", records)
	}
}
