package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

const slackFixtures = "../../pipeline/importer/slack/testdata"

// slackSecrets are every raw address, real name, display name, Slack user
// id and conversation folder name of the Slack fixtures (whole words,
// case-insensitive): none may be written anywhere.
var slackSecrets = []string{"alice@example.com", "bob@example.com", "carol@example.com", "dmitri@example.com",
	"erin.castellanos@example.com", "frank@partner.example.org", "greta@contractor.example.net",
	"Alice", "Quartermaine", "Bob", "bobby", "Lindqvist", "Carol", "caro", "Ntozake", "Dmitri", "Vasquez-Oyelaran",
	"Erin", "Castellanos", "Frank", "frankie", "Oduya", "Greta", "gretah", "Halvorsen", "Zebulon", "deploybot",
	"U01ALICE", "U02BOB", "U03CAROL", "U04DMITRI", "U05ERIN", "U06FRANK", "U07GRETA", "U08DEPLOY", "U99GHOST",
	"mpdm", "alice.quartermaine", "bob.lindqvist"}

var slackLeakRE = func() *regexp.Regexp {
	var alts []string
	for _, s := range slackSecrets {
		alts = append(alts, `\b`+regexp.QuoteMeta(s)+`\b`)
	}
	return regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
}()

func slackLeak(where, v string) error {
	if m := slackLeakRE.FindString(v); m != "" {
		return fmt.Errorf("%s holds raw personal data %q", where, m)
	}
	return nil
}

// zipExport zips the fixture export into dir/export.zip.
func zipExport(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	root := slackFixtures + "/export"
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			_, err = w.Write(b)
		}
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "export.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func TestImportSlackFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte(strings.Repeat("k", 40)), 0o600)
	zipped := zipExport(t, dir)
	good, _ := os.ReadFile(zipped)
	truncated := filepath.Join(dir, "truncated.zip")
	os.WriteFile(truncated, good[:len(good)-100], 0o600)
	exp := slackFixtures + "/export"
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"no key", []string{"--domain", "example.com", exp}, "pseudonym-key-file", ""},
		{"no domain", []string{"--pseudonym-key-file", key, exp}, "--domain", ""},
		{"no export", []string{"--pseudonym-key-file", key, "--domain", "example.com"}, "one Slack export", ""},
		{"two exports", []string{"--pseudonym-key-file", key, "--domain", "example.com", exp, exp}, "one Slack export", ""},
		{"bad broadcast max", []string{"--pseudonym-key-file", key, "--domain", "example.com", "--broadcast-max", "5000", exp}, "broadcast max", ""},
		{"missing users.json", []string{"--pseudonym-key-file", key, "--domain", "example.com", slackFixtures + "/hostile/nousers"}, "no users.json", ""},
		{"truncated zip", []string{"--pseudonym-key-file", key, "--domain", "example.com", truncated}, "truncated", ""},
		{"directory", []string{"--pseudonym-key-file", key, "--domain", "example.com", exp}, "", "imported 18"},
		{"zip, broadcast max", []string{zipped, "--pseudonym-key-file", key, "--domain", "example.com", "--broadcast-max", "4"}, "", "imported 17"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			var stdout, stderr strings.Builder
			err := runImportSlack(context.Background(), append(tc.args, "--out", out, "--progress-interval", "0"), &stdout, &stderr, noEnv)
			for where, v := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if err := slackLeak(where, v); err != nil {
					t.Fatal(err)
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if err := slackLeak("error", err.Error()); err != nil {
					t.Fatal(err)
				}
				if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
					t.Fatalf("a failed run left %d files", len(ents))
				}
				return
			}
			if err != nil {
				t.Fatal(err, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Fatalf("summary %q", stdout.String())
			}
		})
	}
}

// TestImportSlackJSONL: --out with consent and directory lists writes
// records that pass the v1 decoder, no raw personal data, and a second run
// writes the same bytes.
func TestImportSlackJSONL(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte(strings.Repeat("j", 32)), 0o600)
	var outs []string
	var summary string
	for i := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		var stdout, stderr strings.Builder
		args := []string{"--pseudonym-key-file", key, "--domain", "example.com", "--consent-file", slackFixtures + "/consent.csv",
			"--directory", slackFixtures + "/directory.csv", "--out", out, "--progress-interval", "0", slackFixtures + "/export"}
		if err := runImportSlack(context.Background(), args, &stdout, &stderr, noEnv); err != nil {
			t.Fatal(err, stderr.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(b))
		summary = stdout.String()
	}
	if outs[0] != outs[1] {
		t.Fatal("two imports of the same export differ")
	}
	topics := map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(outs[0]), "\n") {
		if err := slackLeak(fmt.Sprintf("out line %d", i+1), line); err != nil {
			t.Fatal(err)
		}
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
	// Opted in: alice, bob, carol (greta is external). Dropped as senders:
	// dmitri (1), erin (2, no address to match the list). Imported: the 18
	// without consent minus those 3.
	if topics["comms.events"] != 15 || topics["comms.consent"] != 3 || topics["comms.directory"] != 4 {
		t.Fatalf("records per topic %v (%s)", topics, summary)
	}
	if !strings.Contains(summary, "sender_not_opted_in 3") {
		t.Fatalf("summary %q", summary)
	}
}

// TestImportSlackEndToEnd: the fixture export (zipped) -> import -> Kafka
// (kfake) -> real ingest with the same key -> embedded ClickHouse; the
// expected rows, no raw address, name or Slack id in any Kafka record or
// stored string, and a re-import adds no row after dedup.
func TestImportSlackEndToEnd(t *testing.T) {
	e := newImportE2E(t)
	ctx, brokers, dir, key := e.ctx, e.brokers, e.dir, e.key
	zipped := zipExport(t, dir)

	importOnce := func() string {
		var stdout, stderr strings.Builder
		args := []string{"--brokers", strings.Join(brokers, ","), "--pseudonym-key-file", key, "--domain", "example.com",
			"--directory", slackFixtures + "/directory.csv", "--broadcast-max", "4", "--progress-interval", "0", zipped}
		if err := runImportSlack(ctx, args, &stdout, &stderr, noEnv); err != nil {
			t.Fatal(err, stderr.String())
		}
		if err := slackLeak("stdout", stdout.String()+stderr.String()); err != nil {
			t.Fatal(err)
		}
		return stdout.String()
	}
	summary := importOnce()
	// general has 7 members: over --broadcast-max 4 its top-level messages
	// have no recipients, and the guest's is skipped (no company recipient).
	if !strings.Contains(summary, "imported 17") || !strings.Contains(summary, "broadcast_no_recipients 5") ||
		!strings.Contains(summary, "no_participants 1") {
		t.Fatalf("summary %q", summary)
	}
	const wantEvents = 17

	ps := e.ps
	h := e.ingest(t)
	h.waitUntil("the imported events in ClickHouse", func() bool { return h.count("SELECT count() FROM {db}.messages FINAL") >= wantEvents })
	if n := h.count("SELECT count() FROM {db}.messages FINAL"); n != wantEvents {
		t.Fatalf("%d rows, want %d", n, wantEvents)
	}
	if n := h.metric("commpulse_dlq_total"); n != 0 {
		t.Fatalf("%v events went to the DLQ", n)
	}
	// Stored ids are ingest's re-keying of the importer's pseudonyms: the
	// same as a mail import of alice@example.com gives.
	alice, bob := ps.ID(ps.ID("alice@example.com")), ps.ID(ps.ID("bob@example.com"))
	for _, c := range []struct {
		what, q string
		want    int
	}{
		{"alice's messages", "SELECT count() FROM {db}.messages FINAL WHERE sender = '" + alice + "'", 6},
		{"bob's messages", "SELECT count() FROM {db}.messages FINAL WHERE sender = '" + bob + "'", 4},
		{"messages without recipients (general over the cap)", "SELECT count() FROM {db}.messages FINAL WHERE length(recipients) = 0", 4},
		{"the thread's messages", "SELECT max(c) FROM (SELECT thread_id, count() AS c FROM {db}.messages FINAL GROUP BY thread_id)", 5},
		{"distinct senders", "SELECT uniqExact(sender) FROM {db}.messages FINAL", 6},
		{"messages naming alice as recipient", "SELECT countIf(has(recipients, '" + alice + "')) FROM {db}.messages FINAL", 8},
	} {
		if n := h.count(c.q); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}

	t.Run("no raw address, name or Slack id stored or on Kafka", func(t *testing.T) {
		h.scanLeaks(t, wantEvents, slackLeak)
	})

	t.Run("re-import adds no rows after dedup", func(t *testing.T) { h.reimportAddsNothing(t, importOnce, wantEvents) })
}
