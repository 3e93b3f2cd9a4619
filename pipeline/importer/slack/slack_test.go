package slack

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
	"commpulse/pipeline/privacy"
)

var testNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func testPseudonymizer(t testing.TB) *privacy.Pseudonymizer {
	t.Helper()
	ps, err := privacy.NewPseudonymizer([]byte("test-key-0123456789abcdef0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func testImporter(t testing.TB, consent map[string]bool, broadcastMax int) *Importer {
	t.Helper()
	im, err := New(Config{Config: importer.Config{Pseudonymizer: testPseudonymizer(t), Domains: []string{"Example.com"},
		Consent: consent, Now: func() time.Time { return testNow }}, BroadcastMax: broadcastMax})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// FixtureSecrets are every raw address, name, display name, Slack user id
// and conversation folder of the fixtures: none may be written anywhere.
var FixtureSecrets = []string{"alice@example.com", "bob@example.com", "carol@example.com", "dmitri@example.com",
	"erin.castellanos@example.com", "frank@partner.example.org", "greta@contractor.example.net",
	"Alice", "Quartermaine", "Bob", "bobby", "Lindqvist", "Carol", "caro", "Ntozake", "Dmitri", "Vasquez-Oyelaran",
	"Erin", "Castellanos", "Frank", "frankie", "Oduya", "Greta", "gretah", "Halvorsen", "Zebulon", "deploybot",
	"U01ALICE", "U02BOB", "U03CAROL", "U04DMITRI", "U05ERIN", "U06FRANK", "U07GRETA", "U08DEPLOY", "U99GHOST",
	"mpdm", "alice.quartermaine", "bob.lindqvist"}

var leakRE = func() *regexp.Regexp {
	var alts []string
	for _, s := range FixtureSecrets {
		alts = append(alts, `\b`+regexp.QuoteMeta(s)+`\b`)
	}
	return regexp.MustCompile(`(?i)` + strings.Join(alts, "|"))
}()

func checkNoLeak(t testing.TB, where string, b []byte) {
	t.Helper()
	if m := leakRE.Find(b); m != nil {
		t.Fatalf("%s holds raw personal data %q", where, m)
	}
}

func decode(t testing.TB, rec importer.Record) event.Event {
	t.Helper()
	ev, err := event.Decode(rec.Value, event.Limits{}, testNow)
	if err != nil {
		t.Fatalf("record does not pass the v1 decoder: %v", err)
	}
	return ev
}

// importAll opens and imports an export, returning the events in order.
func importAll(t testing.TB, im *Importer, ex *Export) []event.Event {
	t.Helper()
	var evs []event.Event
	if err := im.ImportExport(ex, nil, func(r importer.Record) error {
		checkNoLeak(t, "record value", r.Value)
		checkNoLeak(t, "record key", r.Key)
		evs = append(evs, decode(t, r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return evs
}

func openFixture(t testing.TB) *Export {
	t.Helper()
	ex, err := Open("testdata/export")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	return ex
}

func TestFixtureExport(t *testing.T) {
	im := testImporter(t, nil, 0)
	ex := openFixture(t)
	if len(ex.Conversations) != 5 || ex.Ignored != 1 || ex.Orphans != 1 {
		t.Fatalf("%d conversations, %d ignored, %d orphans", len(ex.Conversations), ex.Ignored, ex.Orphans)
	}
	evs := importAll(t, im, ex)
	st := im.Stats()
	if st.Messages != 26 || st.Imported != 18 || len(evs) != 18 {
		t.Fatalf("stats %s", st)
	}
	for _, c := range []struct {
		m    map[string]int
		k    string
		want int
	}{
		{st.Excluded, ExcludeJoinLeave, 2}, {st.Excluded, ExcludeSystem, 2}, {st.Excluded, ExcludeBot, 3},
		{st.Skipped, SkipUnknownUser, 1}, {st.Skipped, SkipOrphanDayFile, 1},
		{st.Notes, NoteFiles, 1}, {st.Notes, NoteDeletedUser, 1}, {st.Notes, NoteNoEmail, 2}, {st.Notes, NoteThreadReply, 4},
	} {
		if c.m[c.k] != c.want {
			t.Errorf("%s = %d, want %d (%s)", c.k, c.m[c.k], c.want, st)
		}
	}
	ps := testPseudonymizer(t)
	alice, bob, carol := im.PersonID("alice@example.com"), im.PersonID("bob@example.com"), im.PersonID("carol@example.com")
	dmitri, erin := im.PersonID("dmitri@example.com"), ps.ID("slack-user:U05ERIN")
	frank, greta := im.ExternalID("partner.example.org"), im.ExternalID("contractor.example.net")
	if alice != ps.ID("alice@example.com") {
		t.Fatal("alice's id is not the keyed hash of her normalised address (the mail importer's id)")
	}
	byText := map[string]event.Event{}
	for _, ev := range evs {
		if ev.Channel != event.ChannelChat || !ev.Consent || ev.ThreadID == "" {
			t.Fatalf("event %+v", ev)
		}
		byText[ev.Text] = ev
	}
	get := func(prefix string) event.Event {
		t.Helper()
		for txt, ev := range byText {
			if strings.HasPrefix(txt, prefix) {
				return ev
			}
		}
		t.Fatalf("no event with text %q; texts %q", prefix, keys(byText))
		return event.Event{}
	}
	parent := get("The release is blocked")
	for _, tc := range []struct {
		name, text, sender string
		recips             []string
		sameThread         bool
	}{
		{"channel message: the members but the sender", "Good morning everyone! Welcome [name] [name], we are delighted to have you @channel", alice,
			[]string{bob, carol, dmitri, erin, frank, greta}, false},
		{"deleted user", "Thanks [name], happy to help", dmitri, []string{alice, bob, carol, erin, frank, greta}, false},
		{"no e-mail: the slack-user id; the address in the text redacted", "Thank you all, I am excited to be here. Write to me at [email]", erin,
			[]string{alice, bob, carol, dmitri, frank, greta}, false},
		{"guest: external participant of its domain", "Hello from the partner side", frank, []string{alice, bob, carol, dmitri, erin, greta}, false},
		{"markup", "[name] welcome aboard, see the onboarding page & ping [channel]", bob, []string{alice, carol, dmitri, erin, frank, greta}, false},
		{"thread parent", "The release is blocked", bob, []string{alice, carol, erin}, true},
		{"first reply: the parent's author", "I can look at it after lunch, [name].", alice, []string{bob}, true},
		{"second reply: the participants so far", "Found it: a flaky timeout. Fix is up, [name] please review.", carol, []string{bob, alice}, true},
		{"parent's author replying", "Brilliant, thank you both!", bob, []string{alice, carol}, true},
		{"broadcast reply on the next day", "Late to the party, but the fix works for me too. Great job [name]!", erin, []string{bob, alice, carol}, true},
		{"file share", "Here are the benchmark numbers.", carol, []string{alice, bob, erin}, false},
		{"private channel", "I am worried about the team's workload", carol, []string{alice}, false},
		{"DM", "[name], nice work on the release today.", alice, []string{bob}, false},
		{"DM back", "Thanks, that means a lot", bob, []string{alice}, false},
		{"MPIM from an external member", "[name] [name] here, the contract draft is ready.", greta, []string{alice, bob}, false},
		{"MPIM", "Thank you [name], we will read it today.", alice, []string{bob, greta}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := get(tc.text)
			if ev.Sender != tc.sender || fmt.Sprint(ev.Recipients) != fmt.Sprint(tc.recips) {
				t.Fatalf("sender %s recipients %v\nwant %s %v", ev.Sender, ev.Recipients, tc.sender, tc.recips)
			}
			if tc.sameThread != (ev.ThreadID == parent.ThreadID) {
				t.Fatalf("thread %s, parent's %s", ev.ThreadID, parent.ThreadID)
			}
		})
	}
	if parent.ThreadID != im.ThreadID("C02ENG", "1793617200.000000") {
		t.Fatalf("thread id %s is not the keyed hash of the conversation and thread_ts", parent.ThreadID)
	}

	// Re-importing gives identical ids and records.
	again := importAll(t, testImporter(t, nil, 0), openFixture(t))
	if fmt.Sprint(again) != fmt.Sprint(evs) {
		t.Fatal("a re-import differs")
	}
	// The same importer sees the same messages as duplicates (the 18
	// imported and the 7 excluded ones).
	if n := len(importAll(t, im, openFixture(t))); n != 0 || im.Stats().Excluded[importer.ExcludeDuplicate] != 25 {
		t.Fatalf("second pass through one importer: %d events, %s", n, im.Stats())
	}
}

func keys(m map[string]event.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// memExport builds an export in memory: users (id -> e-mail, "" for none,
// "guest:" prefix for a guest, "bot" for a bot), conversations and days.
func memExport(t testing.TB, users map[string]string, convs map[string][]string, days map[string]string) *Export {
	t.Helper()
	fsys := fstest.MapFS{}
	var us []string
	for id, e := range users {
		flags := ""
		switch {
		case e == "bot":
			flags, e = `,"is_bot":true`, ""
		case strings.HasPrefix(e, "guest:"):
			flags, e = `,"is_restricted":true`, strings.TrimPrefix(e, "guest:")
		}
		us = append(us, fmt.Sprintf(`{"id":%q,"real_name":"Person %s","profile":{"email":%q}%s}`, id, id, e, flags))
	}
	fsys["users.json"] = &fstest.MapFile{Data: []byte("[" + strings.Join(us, ",") + "]")}
	lists := map[string][]string{}
	for name, members := range convs {
		file := "channels.json"
		switch name[0] {
		case 'D':
			file = "dms.json"
		case 'G':
			file = "groups.json"
		}
		lists[file] = append(lists[file], fmt.Sprintf(`{"id":%q,"name":%q,"members":["%s"]}`, name, name, strings.Join(members, `","`)))
	}
	if lists["channels.json"] == nil {
		lists["channels.json"] = nil
	}
	for f, l := range lists {
		fsys[f] = &fstest.MapFile{Data: []byte("[" + strings.Join(l, ",") + "]")}
	}
	for p, d := range days {
		fsys[p] = &fstest.MapFile{Data: []byte(d)}
	}
	ex, err := OpenFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestRecipientRules(t *testing.T) {
	users := map[string]string{"UA": "a@example.com", "UB": "b@example.com", "UC": "c@example.com", "UD": "d@sub.example.com",
		"UG": "guest:g@example.org", "UH": "guest:", "UX": "x@example.org", "UN": "", "UBOT": "bot"}
	day := func(msgs ...string) string { return "[" + strings.Join(msgs, ",") + "]" }
	m := func(user, ts, extra string) string {
		return fmt.Sprintf(`{"type":"message","user":%q,"ts":%q,"text":"hello"%s}`, user, ts, extra)
	}
	ps := testPseudonymizer(t)
	id := func(u string) string {
		e := users[u]
		switch {
		case u == "UG" || u == "UX":
			return ps.ID("external:example.org")
		case u == "UH":
			return ps.ID("external:slack-guest")
		case e == "":
			return ps.ID("slack-user:" + u)
		}
		return ps.ID(e)
	}
	for _, tc := range []struct {
		name         string
		members      []string
		msgs         []string
		consent      map[string]bool
		broadcastMax int
		want         []string // "sender>recipients" per imported message
		stat         string   // a reason that must be counted
	}{
		{name: "channel members minus sender, bots and unknown members dropped", members: []string{"UA", "UB", "UBOT", "UZZ", "UN"},
			msgs: []string{m("UA", "1793610000.000100", "")}, want: []string{"UA>UB,UN"}, stat: DropUnknownRecip},
		{name: "guests and external members collapse to one participant per domain", members: []string{"UA", "UG", "UX", "UH"},
			msgs: []string{m("UA", "1793610000.000100", "")}, want: []string{"UA>UG,UH"}, stat: importer.NoteExternalPartics},
		{name: "over the broadcast cap: no recipients", members: []string{"UA", "UB", "UC", "UD"}, broadcastMax: 2,
			msgs: []string{m("UA", "1793610000.000100", "")}, want: []string{"UA>"}, stat: NoteBroadcast},
		{name: "at the cap: recipients", members: []string{"UA", "UB", "UC"}, broadcastMax: 2,
			msgs: []string{m("UA", "1793610000.000100", "")}, want: []string{"UA>UB,UC"}},
		{name: "consent: sender and recipients not on the list dropped, no-email users too", members: []string{"UA", "UB", "UC", "UN", "UG"},
			consent: map[string]bool{"a@example.com": true, "b@example.com": true},
			msgs:    []string{m("UA", "1793610000.000100", ""), m("UC", "1793610000.000200", ""), m("UN", "1793610000.000300", "")},
			want:    []string{"UA>UB,UG"}, stat: importer.DropSenderNotOptIn},
		{name: "thread: parent author and earlier repliers, in order", members: []string{"UA", "UB", "UC", "UD"},
			msgs: []string{
				m("UC", "1793610000.000300", `,"thread_ts":"1793610000.000100"`),
				m("UA", "1793610000.000100", `,"thread_ts":"1793610000.000100","reply_count":3`),
				m("UB", "1793610000.000200", `,"thread_ts":"1793610000.000100"`),
				m("UA", "1793610000.000400", `,"thread_ts":"1793610000.000100"`),
			},
			want: []string{"UA>UB,UC,UD", "UB>UA", "UC>UA,UB", "UA>UB,UC"}, stat: NoteThreadReply},
		{name: "reply whose parent is outside the export", members: []string{"UA", "UB"},
			msgs: []string{m("UB", "1793610000.000200", `,"thread_ts":"1700000000.000100"`)}, want: []string{"UB>"}},
		{name: "external sender with no company recipient left", members: []string{"UX", "UG"},
			msgs: []string{m("UX", "1793610000.000100", "")}, stat: importer.SkipNoParticipants},
		{name: "bot_id on a person's message", members: []string{"UA", "UB"},
			msgs: []string{m("UA", "1793610000.000100", `,"bot_id":"B1"`), m("UBOT", "1793610000.000200", "")}, stat: ExcludeBot},
		{name: "unknown subtype excluded", members: []string{"UA", "UB"},
			msgs: []string{m("UA", "1793610000.000100", `,"subtype":"something_new"`)}, stat: ExcludeOtherSubtype},
		{name: "me_message imported", members: []string{"UA", "UB"},
			msgs: []string{m("UA", "1793610000.000100", `,"subtype":"me_message"`)}, want: []string{"UA>UB"}},
		{name: "not a message", members: []string{"UA", "UB"},
			msgs: []string{`{"type":"reaction","user":"UA","ts":"1793610000.000100"}`}, stat: ExcludeNotMessage},
		{name: "same ts twice", members: []string{"UA", "UB"},
			msgs: []string{m("UA", "1793610000.000100", ""), m("UA", "1793610000.000100", "")}, want: []string{"UA>UB"}, stat: importer.ExcludeDuplicate},
		{name: "ts before 2000", members: []string{"UA", "UB"}, msgs: []string{m("UA", "900000000.000100", "")}, stat: SkipBadTS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := memExport(t, users, map[string][]string{"C1": tc.members}, map[string]string{"C1/2026-11-02.json": day(tc.msgs...)})
			im := testImporter(t, tc.consent, tc.broadcastMax)
			names := map[string]string{}
			for u := range users {
				names[id(u)] = u
			}
			names[id("UG")] = "UG" // UX too: one participant for example.org
			var got []string
			for _, ev := range importAll(t, im, ex) {
				var rs []string
				for _, r := range ev.Recipients {
					rs = append(rs, names[r])
				}
				got = append(got, names[ev.Sender]+">"+strings.Join(rs, ","))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v\nwant %v (%s)", got, tc.want, im.Stats())
			}
			st := im.Stats()
			if tc.stat != "" && st.Skipped[tc.stat]+st.Excluded[tc.stat]+st.Dropped[tc.stat]+st.Notes[tc.stat] == 0 {
				t.Fatalf("%s not counted: %s", tc.stat, st)
			}
		})
	}
}

func TestDMAndGroupKinds(t *testing.T) {
	users := map[string]string{"UA": "a@example.com", "UB": "b@example.com", "UC": "c@example.com"}
	ex := memExport(t, users, map[string][]string{"C1": {"UA", "UB", "UC"}, "D1": {"UA", "UB"}, "G1": {"UA", "UC"}},
		map[string]string{
			"C1/2026-11-02.json": `[{"type":"message","user":"UA","ts":"1793610000.000100","text":"c"}]`,
			"D1/2026-11-02.json": `[{"type":"message","user":"UB","ts":"1793610000.000100","text":"d"}]`,
			"G1/2026-11-02.json": `[{"type":"message","user":"UC","ts":"1793610000.000100","text":"g"}]`,
		})
	evs := importAll(t, testImporter(t, nil, 0), ex)
	// Order: channels, private channels, MPIMs, DMs; the same ts in
	// different conversations are different events.
	if len(evs) != 3 || evs[0].Text != "c" || evs[1].Text != "g" || evs[2].Text != "d" || evs[0].EventID == evs[1].EventID {
		t.Fatalf("events %+v", evs)
	}
}

func TestHostileExport(t *testing.T) {
	im := testImporter(t, nil, 0)
	ex, err := Open("testdata/hostile/badday")
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	evs := importAll(t, im, ex)
	st := im.Stats()
	// Imported: day 1, the invalid-UTF-8 message of day 4, the huge one of day 5.
	if len(evs) != 3 {
		t.Fatalf("%d events: %s", len(evs), st)
	}
	for k, want := range map[string]int{SkipInvalidDayFile: 1, SkipMalformed: 3, SkipBadTS: 2, SkipNoSender: 1} {
		if st.Skipped[k] != want {
			t.Errorf("skipped %s = %d, want %d (%s)", k, st.Skipped[k], want, st)
		}
	}
	if st.Notes[NoteInvalidUTF8] != 1 || st.Notes[importer.NoteTruncatedText] != 1 || st.Dropped[DropUnknownRecip] != 3 {
		t.Fatalf("notes %s", st)
	}
	if txt := evs[1].Text; txt != "bad \uFFFD\uFFFD bytes  here" {
		t.Fatalf("invalid UTF-8 and control characters: %q", txt)
	}
	if n := len(evs[2].Text); n > importer.DefaultMaxTextBytes || n < importer.DefaultMaxTextBytes-8 {
		t.Fatalf("huge message cut to %d bytes", n)
	}

	// A day file over the limit is a counted skip.
	small, _ := New(Config{Config: importer.Config{Pseudonymizer: testPseudonymizer(t), Domains: []string{"example.com"},
		Now: func() time.Time { return testNow }}, MaxDayFileBytes: 1000})
	ex2, _ := Open("testdata/hostile/badday")
	defer ex2.Close()
	importAll(t, small, ex2)
	if s := small.Stats(); s.Skipped[SkipDayFileTooLarge] != 1 {
		t.Fatalf("too large: %s", s)
	}
}

func TestOpenErrors(t *testing.T) {
	good := zipDir(t, "testdata/export", "")
	corrupt := bytes.Clone(good)
	// Flip a byte inside the first member's compressed data: a checksum
	// (or deflate) error.
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	off, err := zr.File[0].DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	corrupt[off+5] ^= 0xff
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, path, want string }{
		{"no users.json", "testdata/hostile/nousers", "no users.json"},
		{"users.json not JSON", "testdata/hostile/badusers", "users.json: invalid JSON"},
		{"missing", filepath.Join(dir, "nope.zip"), "no such file"},
		{"truncated zip", write("truncated.zip", good[:len(good)/2]), "truncated"},
		{"empty file", write("empty.zip", nil), "not a zip archive"},
		{"corrupt member", write("corrupt.zip", corrupt), "member 1"},
		{"not a zip", write("text.zip", []byte("hello, Alice Quartermaine")), "not a zip archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := Open(tc.path)
			if err == nil {
				ex.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
			checkNoLeak(t, "error", []byte(strings.ReplaceAll(err.Error(), tc.path, "")))
		})
	}
}

// A zip of the export, also one with a top-level folder, imports like the
// directory.
func TestZipLikeDirectory(t *testing.T) {
	want := importAll(t, testImporter(t, nil, 0), openFixture(t))
	for _, prefix := range []string{"", "My Workspace Slack export Nov 1 2026/"} {
		p := filepath.Join(t.TempDir(), "export.zip")
		if err := os.WriteFile(p, zipDir(t, "testdata/export", prefix), 0o600); err != nil {
			t.Fatal(err)
		}
		ex, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got := importAll(t, testImporter(t, nil, 0), ex)
		ex.Close()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("prefix %q: zip import differs from the directory's", prefix)
		}
	}
}

// zipDir zips a directory (its files under prefix).
func zipDir(t testing.TB, dir, prefix string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(prefix + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPlainText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"hi <@U123> and <@U456|bob>", "hi [name] and [name]"},
		{"see <#C1|general> <!here> <!channel> <!everyone>", "see [channel] @here @channel @everyone"},
		{"<!subteam^S1|@eng> ping", "[group] ping"},
		{"<https://x.example.com/a?b=1|the docs> and <https://y.example.com>", "the docs and https://y.example.com"},
		{"<mailto:a@example.com|a@example.com>", "[email]"},
		{"<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"},
		{"a &lt;@U1&gt; &amp; b", "a <@U1> & b"},
		{"unclosed <@U1 here", "unclosed <@U1 here"},
		{"5 < 6 > 4", "5  6  4"}, // Slack escapes a literal < as &lt;
	} {
		if got := PlainText(tc.in); got != tc.want {
			t.Errorf("PlainText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseTS(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1793610000.000100", time.Date(2026, 11, 2, 9, 0, 0, 100000, time.UTC), true},
		{"1793610000", time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), true},
		{"1793610000.1", time.Date(2026, 11, 2, 9, 0, 0, 100000000, time.UTC), true},
		{"", time.Time{}, false},
		{"abc.def", time.Time{}, false},
		{"-5.000001", time.Time{}, false},
		{"1.-5", time.Time{}, false},
		{"99999999999999999999", time.Time{}, false},
		{".5", time.Time{}, false},
	} {
		got, ok := ParseTS(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseTS(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNewRequires(t *testing.T) {
	ps := testPseudonymizer(t)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no key", Config{Config: importer.Config{Domains: []string{"example.com"}}}},
		{"no domain", Config{Config: importer.Config{Pseudonymizer: ps}}},
		{"broadcast max too large", Config{Config: importer.Config{Pseudonymizer: ps, Domains: []string{"example.com"}}, BroadcastMax: 1001}},
		{"broadcast max negative", Config{Config: importer.Config{Pseudonymizer: ps, Domains: []string{"example.com"}}, BroadcastMax: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// FuzzDayFile: any day file is parsed, imported or counted, never a
// panic, and whatever is emitted passes the v1 decoder.
func FuzzDayFile(f *testing.F) {
	for _, p := range []string{"testdata/export/engineering/2026-11-02.json", "testdata/export/general/2026-11-02.json",
		"testdata/hostile/badday/x/2026-11-03.json", "testdata/hostile/badday/x/2026-11-04.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	users, err := os.ReadFile("testdata/export/users.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, day []byte) {
		fsys := fstest.MapFS{
			"users.json":                  {Data: users},
			"channels.json":               {Data: []byte(`[{"id":"C02ENG","name":"engineering","members":["U01ALICE","U02BOB","U03CAROL","U05ERIN"]}]`)},
			"engineering/2026-11-02.json": {Data: day},
		}
		ex, err := OpenFS(fsys)
		if err != nil {
			t.Fatal(err)
		}
		im := testImporter(t, nil, 0)
		if err := im.ImportExport(ex, nil, func(r importer.Record) error {
			_, err := event.Decode(r.Value, event.Limits{}, testNow)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		st := im.Stats()
		if st.Imported > st.Messages {
			t.Fatalf("imported %d of %d", st.Imported, st.Messages)
		}
	})
}

// FuzzZip: any bytes given as a zip either fail to open with
// ErrNotExport or import without a panic.
func FuzzZip(f *testing.F) {
	good := zipDir(f, "testdata/export", "")
	f.Add(good)
	f.Add(good[:len(good)-30])
	f.Add(zipDir(f, "testdata/hostile/badday", "top/"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ex, err := OpenZip(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrNotExport) {
				t.Fatalf("error not ErrNotExport: %v", err)
			}
			return
		}
		im := testImporter(t, nil, 0)
		im.ImportExport(ex, nil, func(r importer.Record) error {
			if _, err := event.Decode(r.Value, event.Limits{}, testNow); err != nil {
				t.Fatal(err)
			}
			return nil
		})
	})
}
