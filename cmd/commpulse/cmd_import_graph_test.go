package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
)

const graphFixtures = "../../pipeline/importer/graph/testdata"

// graphSecrets are every address, name, subject, chat topic and id of the
// Graph fixtures (pipeline/importer/graph's FixtureSecrets): none may be
// written anywhere (whole words, case-insensitive).
var graphSecrets = []string{
	"alice@example.com", "bob@example.com", "carol@example.com", "dmitri@example.com", "news@example.com",
	"frank@partner.example.org", "greta@contractor.example.net", "someone@elsewhere.example.net",
	"Alice", "Quartermaine", "Bob", "Lindqvist", "Carol", "Ntozake", "Dmitri", "Vasquez-Oyelaran", "Erin", "Castellanos",
	"Frank", "Oduya", "Greta", "Halvorsen", "Someone", "Polly",
	"Zeppelin", "Marzipan", "Gazebo", "Trombone", "Pelican", "Flamingo", "Sprocket", "Kumquat", "Gnocchi", "Rutabaga",
	"Parsnip", "Xylophone", "Walrus", "Pineapple", "Automatic reply", "Invitation",
	"a1a1a1a1", "b0b0b0b0", "c4c4c4c4", "d1d1d1d1", "e5e5e5e5", "96969696", "f7f7f7f7", "7e7e7e7e", "9a9a9a9a", "5d5d5d5d",
	"4f6e7a2d0c9b4a1e8d3f", "0e1d2c3b4a59687f", "a1b2c3d4e5f6", "unq.gbl.spaces", "thread.v2", "thread.tacv2",
	"quokka", "wombat", "numbat", "Heron", "AAMkAGI1", "AAQkAGConv", "AAMkAGAgree", "slides.pptx", "sharepoint",
}

var graphLeakRE = func() *regexp.Regexp {
	var alts []string
	for _, s := range graphSecrets {
		alts = append(alts, `\b`+regexp.QuoteMeta(s)+`\b`)
	}
	return regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
}()

func graphLeak(where, v string) error {
	if m := graphLeakRE.FindString(v); m != "" {
		return fmt.Errorf("%s holds raw personal data %q", where, m)
	}
	return nil
}

func graphArgs(key string, extra ...string) []string {
	return append([]string{"--pseudonym-key-file", key, "--domain", "example.com", "--progress-interval", "0"}, extra...)
}

func TestImportGraphFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte(strings.Repeat("k", 40)), 0o600)
	mailDir, teams := graphFixtures+"/mail", graphFixtures+"/teams"
	users, members := "--users="+graphFixtures+"/users.json", "--members="+graphFixtures+"/members.json"
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"no key", []string{"--domain", "example.com", mailDir}, "pseudonym-key-file", ""},
		{"no domain", []string{"--pseudonym-key-file", key, mailDir}, "--domain", ""},
		{"no path", graphArgs(key), "at least one file", ""},
		{"bad broadcast max", graphArgs(key, "--broadcast-max", "1001", mailDir), "broadcast max", ""},
		{"missing path", graphArgs(key, filepath.Join(dir, "nope")), "no such file", ""},
		{"a broken page fails before anything is written", graphArgs(key, mailDir, teams, graphFixtures+"/hostile/cut.json"), "JSON cut short", ""},
		{"a Graph error response", graphArgs(key, graphFixtures+"/hostile/error.json"), "Graph error response", ""},
		{"a users page as input", graphArgs(key, mailDir, graphFixtures+"/users.json"), "none of which is a mail or chat message", ""},
		{"a broken users file", graphArgs(key, "--users", graphFixtures+"/hostile/cut.json", mailDir), "users", ""},
		{"a members file naming no chat", graphArgs(key, "--members", graphFixtures+"/hostile/odd-items.json", mailDir), "members", ""},
		{"mail and Teams with the files", graphArgs(key, users, members, mailDir, teams), "", "imported 19"},
		{"interleaved, broadcast max", append([]string{mailDir, "--broadcast-max", "2"}, graphArgs(key, teams, users, members)...), "", "broadcast_no_recipients 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			var stdout, stderr strings.Builder
			err := runImportGraph(context.Background(), append(tc.args, "--out", out), &stdout, &stderr, noEnv)
			for where, v := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if err := graphLeak(where, v); err != nil {
					t.Fatal(err)
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if err := graphLeak("error", err.Error()); err != nil {
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

// TestImportGraphJSONL: --out with consent and directory lists writes
// records that pass the v1 decoder, no raw personal data, and a second run
// writes the same bytes.
func TestImportGraphJSONL(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	os.WriteFile(key, []byte(strings.Repeat("j", 32)), 0o600)
	var outs []string
	var summary string
	for i := range 2 {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		var stdout, stderr strings.Builder
		args := graphArgs(key, "--users", graphFixtures+"/users.json", "--members", graphFixtures+"/members.json",
			"--consent-file", graphFixtures+"/consent.csv", "--directory", graphFixtures+"/directory.csv", "--out", out,
			graphFixtures+"/mail", graphFixtures+"/teams")
		if err := runImportGraph(context.Background(), args, &stdout, &stderr, noEnv); err != nil {
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
		t.Fatal("two imports of the same pages differ")
	}
	topics := map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(outs[0]), "\n") {
		if err := graphLeak(fmt.Sprintf("out line %d", i+1), line); err != nil {
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
	// Opted in: alice, bob, carol (greta is external: no consent record).
	// Dropped as senders: dmitri (a mail and a channel post), erin (two
	// Teams messages: no address to match the list).
	if topics["comms.events"] != 15 || topics["comms.consent"] != 3 || topics["comms.directory"] != 4 {
		t.Fatalf("records per topic %v (%s)", topics, summary)
	}
	if !strings.Contains(summary, "sender_not_opted_in 4") || !strings.Contains(summary, "6 pages") {
		t.Fatalf("summary %q", summary)
	}
}

// TestImportGraphEndToEnd: the fixture pages -> import -> Kafka (kfake) ->
// real ingest with the same key -> embedded ClickHouse; the expected rows,
// no raw address, name, subject or id in any Kafka record or stored
// string, and a re-import adds no row after dedup. The mail that a
// mailbox import also holds is one row.
func TestImportGraphEndToEnd(t *testing.T) {
	e := newImportE2E(t)
	ctx, brokers, key := e.ctx, e.brokers, e.key

	importOnce := func() string {
		var stdout, stderr strings.Builder
		args := graphArgs(key, "--brokers", strings.Join(brokers, ","), "--users", graphFixtures+"/users.json",
			"--members", graphFixtures+"/members.json", "--directory", graphFixtures+"/directory.csv",
			graphFixtures+"/mail", graphFixtures+"/teams", graphFixtures+"/agree/graph.json")
		if err := runImportGraph(ctx, args, &stdout, &stderr, noEnv); err != nil {
			t.Fatal(err, stderr.String())
		}
		if err := graphLeak("stdout", stdout.String()+stderr.String()); err != nil {
			t.Fatal(err)
		}
		return stdout.String()
	}
	summary := importOnce()
	if !strings.Contains(summary, "imported 20") || !strings.Contains(summary, "system 3") || !strings.Contains(summary, "auto_reply 2") {
		t.Fatalf("summary %q", summary)
	}
	const wantEvents = 20

	// The same mail from a mailbox: one row after dedup.
	var stdout, stderr strings.Builder
	if err := runImportMail(ctx, []string{"--brokers", strings.Join(brokers, ","), "--pseudonym-key-file", key, "--domain", "example.com",
		"--progress-interval", "0", graphFixtures + "/agree/same.eml"}, &stdout, &stderr, noEnv); err != nil {
		t.Fatal(err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "imported 1") {
		t.Fatalf("import mail: %q", stdout.String())
	}

	ps := e.ps
	h := e.ingest(t)
	h.waitUntil("the imported events in ClickHouse", func() bool { return h.metric("commpulse_sink_rows_total") >= wantEvents+1 })
	if n := h.count("SELECT count() FROM {db}.messages FINAL"); n != wantEvents {
		t.Fatalf("%d rows, want %d (the mailbox copy collapses with the Graph one)", n, wantEvents)
	}
	if n := h.metric("commpulse_dlq_total"); n != 0 {
		t.Fatalf("%v events went to the DLQ", n)
	}
	alice, bob := ps.ID(ps.ID("alice@example.com")), ps.ID(ps.ID("bob@example.com"))
	for _, c := range []struct {
		what, q string
		want    int
	}{
		{"e-mail rows", "SELECT count() FROM {db}.messages FINAL WHERE channel = 'email'", 7},
		{"chat rows", "SELECT count() FROM {db}.messages FINAL WHERE channel = 'chat'", 13},
		// alice: 2 mails (the reply, the agreeing one; the draft is
		// excluded) and 3 Teams messages; bob: 2 mails, 3 Teams messages.
		{"alice's messages (mail and Teams: one id)", "SELECT count() FROM {db}.messages FINAL WHERE sender = '" + alice + "'", 5},
		{"bob's messages", "SELECT count() FROM {db}.messages FINAL WHERE sender = '" + bob + "'", 5},
		{"the channel thread", "SELECT max(c) FROM (SELECT thread_id, count() AS c FROM {db}.messages FINAL GROUP BY thread_id)", 4},
		{"messages without recipients (a channel post without members or mentions)", "SELECT count() FROM {db}.messages FINAL WHERE length(recipients) = 0", 1},
	} {
		if n := h.count(c.q); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}

	t.Run("no raw address, name, subject or id stored or on Kafka", func(t *testing.T) {
		h.scanLeaks(t, wantEvents, graphLeak)
	})

	t.Run("re-import adds no rows after dedup", func(t *testing.T) { h.reimportAddsNothing(t, importOnce, wantEvents) })
}

// TestImportGraphHelp: `import graph -h` says it reads files only, and the
// import command knows the source.
func TestImportGraphHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	err := runImport(context.Background(), []string{"graph", "-h"}, &stdout, &stderr)
	if err != flag.ErrHelp {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"SAVED TO FILES", "never calls", "docs/importers.md", "--users", "--members", "--broadcast-max"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if err := runImport(context.Background(), []string{"nope"}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "graph") {
		t.Fatalf("err %v", err)
	}
}
