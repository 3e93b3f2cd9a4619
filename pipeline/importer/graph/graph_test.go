package graph

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
	"commpulse/pipeline/importer/mail"
	"commpulse/pipeline/privacy"
)

var testNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

const (
	aliceAAD = "a1a1a1a1-0000-4000-8000-00000000a11c"
	erinAAD  = "e5e5e5e5-0000-4000-8000-000000000e51"
	frankAAD = "f7f7f7f7-0000-4000-8000-0000000f7a4c"
)

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

// FixtureSecrets are every address, name, display name, subject, AAD id,
// chat, team and channel id, Message-ID and Graph id of the fixtures: none
// may be written anywhere (whole words, case-insensitive).
var FixtureSecrets = []string{
	"alice@example.com", "bob@example.com", "carol@example.com", "dmitri@example.com", "news@example.com",
	"frank@partner.example.org", "greta@contractor.example.net", "someone@elsewhere.example.net",
	"Alice", "Quartermaine", "Bob", "Lindqvist", "Carol", "Ntozake", "Dmitri", "Vasquez-Oyelaran", "Erin", "Castellanos",
	"Frank", "Oduya", "Greta", "Halvorsen", "Someone", "Polly",
	// subjects and chat topics
	"Zeppelin", "Marzipan", "Gazebo", "Trombone", "Pelican", "Flamingo", "Sprocket", "Kumquat", "Gnocchi", "Rutabaga",
	"Parsnip", "Xylophone", "Walrus", "Pineapple", "Automatic reply", "Invitation",
	// ids
	"a1a1a1a1", "b0b0b0b0", "c4c4c4c4", "d1d1d1d1", "e5e5e5e5", "96969696", "f7f7f7f7", "7e7e7e7e", "9a9a9a9a", "5d5d5d5d",
	"4f6e7a2d0c9b4a1e8d3f", "0e1d2c3b4a59687f", "a1b2c3d4e5f6", "unq.gbl.spaces", "thread.v2", "thread.tacv2",
	"quokka", "wombat", "numbat", "Heron", "AAMkAGI1", "AAQkAGConv", "AAMkAGAgree", "slides.pptx", "sharepoint",
}

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

// importPaths checks then imports every input under paths.
func importPaths(t testing.TB, im *Importer, paths ...string) []event.Event {
	t.Helper()
	ins, _, err := Inputs(paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range ins {
		if err := im.Check(in); err != nil {
			t.Fatal(err)
		}
	}
	var evs []event.Event
	for _, in := range ins {
		if err := im.Import(in, nil, func(r importer.Record) error {
			checkNoLeak(t, "record value", r.Value)
			checkNoLeak(t, "record key", r.Key)
			evs = append(evs, decode(t, r))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

func withFiles(t testing.TB, im *Importer) *Importer {
	t.Helper()
	if err := im.People().LoadUsers("testdata/users.json"); err != nil {
		t.Fatal(err)
	}
	if err := im.People().LoadMembers("testdata/members.json"); err != nil {
		t.Fatal(err)
	}
	return im
}

func TestFixtures(t *testing.T) {
	ps := testPseudonymizer(t)
	for _, files := range []bool{true, false} {
		t.Run(fmt.Sprintf("users and members files %v", files), func(t *testing.T) {
			im := testImporter(t, nil, 0)
			if files {
				withFiles(t, im)
			}
			evs := importPaths(t, im, "testdata/mail", "testdata/teams")
			st := im.Stats()
			if st.Messages != 35 || st.Imported != 19 || len(evs) != 19 {
				t.Fatalf("stats %s", st)
			}
			for _, c := range []struct {
				m    map[string]int
				k    string
				want int
			}{
				{st.Excluded, mail.ExcludeAutoReply, 2}, {st.Excluded, mail.ExcludeBulk, 1}, {st.Excluded, mail.ExcludeCalendar, 1},
				{st.Excluded, ExcludeDraft, 1}, {st.Excluded, importer.ExcludeDuplicate, 1}, {st.Excluded, ExcludeSystem, 3},
				{st.Excluded, ExcludeBot, 1}, {st.Excluded, ExcludeDeleted, 1},
				{st.Skipped, SkipBadDate, 2}, {st.Skipped, mail.SkipNoDate, 1}, {st.Skipped, importer.SkipNoParticipants, 1},
				{st.Skipped, SkipUnknownResource, 1}, {st.Notes, NoteThreadReply, 4}, {st.Notes, NoteAttachments, 1},
				{st.Notes, NoteFocusedOther, 1}, {st.Notes, mail.NoteAttachments, 1},
			} {
				if c.m[c.k] != c.want {
					t.Errorf("%s = %d, want %d (%s)", c.k, c.m[c.k], c.want, st)
				}
			}
			alice, bob, carol, dmitri := im.PersonID("alice@example.com"), im.PersonID("bob@example.com"), im.PersonID("carol@example.com"), im.PersonID("dmitri@example.com")
			erin, frankMail, greta := ps.ID("aad-user:"+erinAAD), im.ExternalID("partner.example.org"), im.ExternalID("contractor.example.net")
			frankTeams := im.ExternalID("aad-tenant:9a9a9a9a-0000-4000-8000-0000000a17e2")
			if !files {
				// Without the users file chat senders are their AAD ids.
				aad := func(id string) string { return ps.ID("aad-user:" + id) }
				alice2, bob2, carol2, dmitri2 := aad(aliceAAD), aad("b0b0b0b0-0000-4000-8000-000000000b0b"), aad("c4c4c4c4-0000-4000-8000-0000000ca401"), aad("d1d1d1d1-0000-4000-8000-0000000d1711")
				byText := eventsByText(evs)
				for _, tc := range []struct {
					text, sender string
					recips       []string
				}{
					{"Morning [name]! Ready", alice2, []string{bob2, carol2}},                                             // the chat's posters (no members file)
					{"Hi [name], do you have a minute?", alice2, []string{erin}},                                          // a 1:1 chat's posters
					{"Hello from the contractor side", aad("96969696-0000-4000-8000-000000096e7a"), []string{frankTeams}}, // a guest unknown: an aad user
					{"[name] can you review", dmitri2, []string{alice2}},                                                  // a channel post: its mentions
					{"I am worried the deadline", carol, []string{alice, bob}},                                            // mail does not need the files
				} {
					ev := get(t, byText, tc.text)
					if ev.Sender != tc.sender || fmt.Sprint(ev.Recipients) != fmt.Sprint(tc.recips) {
						t.Errorf("%q: sender %s recipients %v, want %s %v", tc.text, ev.Sender, ev.Recipients, tc.sender, tc.recips)
					}
				}
				return
			}
			byText := eventsByText(evs)
			for _, tc := range []struct {
				name, text, sender string
				recips             []string
				channel            string
			}{
				{"mail: quote and sign-off stripped, names redacted", "Hi [name],\nThank you so much for the great review of the plan, I really appreciate it.", bob, []string{alice, carol}, event.ChannelEmail},
				{"mail reply: Outlook header block and blockquote dropped", "Glad it helped, [name]! The numbers look solid.", alice, []string{bob, carol}, event.ChannelEmail},
				{"mail from an external sender", "Dear [name], the contract is signed.", frankMail, []string{alice}, event.ChannelEmail},
				{"mail: uniqueBody preferred", "I am worried the deadline is too tight.", carol, []string{alice, bob}, event.ChannelEmail},
				{"mail: receivedDateTime without sentDateTime", "Could you help me with the report?", dmitri, []string{alice}, event.ChannelEmail},
				{"mail without internetMessageId", "[name], the build is green again. Nice!", bob, []string{dmitri}, event.ChannelEmail},
				{"chat: members file, mention as [name]", "Morning [name]! Ready for the demo? I am excited.", alice, []string{bob, carol, dmitri}, event.ChannelChat},
				{"chat: emoji alt text kept, names redacted", "Yes, all good. [name] did a great job 🙂", bob, []string{alice, carol, dmitri}, event.ChannelChat},
				{"chat: attachment not read", "Here are the slides for tomorrow", carol, []string{alice, bob, dmitri}, event.ChannelChat},
				{"1:1 chat without members entry: its posters; address redacted", "Hi [name], do you have a minute? Write to [email] if not.", alice, []string{erin}, event.ChannelChat},
				{"1:1 reply from a user the users file lacks", "Sure, happy to help. Call me.", erin, []string{alice}, event.ChannelChat},
				{"guest: external participant of their mail domain", "Hello from the contractor side", greta, []string{alice}, event.ChannelChat},
				{"federated user: one participant per tenant", "Thanks [name], looks great to us.", frankTeams, []string{alice, greta}, event.ChannelChat},
				{"channel post without members file: its mentions only", "Release 2.0 is out!", bob, nil, event.ChannelChat},
				{"first reply: the root's author", "Fantastic news, well done!", alice, []string{bob}, event.ChannelChat},
				{"second reply: the thread so far", "Great teamwork.", carol, []string{bob, alice}, event.ChannelChat},
				{"root's author replying", "Thank you both.", bob, []string{alice, carol}, event.ChannelChat},
				{"channel post mentioning", "[name] can you review the incident report?", dmitri, []string{alice}, event.ChannelChat},
				{"reply from a replies page", "I can help with that too.", erin, []string{dmitri}, event.ChannelChat},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ev := get(t, byText, tc.text)
					if ev.Sender != tc.sender || fmt.Sprint(ev.Recipients) != fmt.Sprint(tc.recips) || ev.Channel != tc.channel {
						t.Fatalf("%s sender %s recipients %v\nwant %s %v", ev.Channel, ev.Sender, ev.Recipients, tc.sender, tc.recips)
					}
				})
			}
			root, reply := get(t, byText, "Release 2.0 is out!"), get(t, byText, "Great teamwork.")
			if root.ThreadID != reply.ThreadID || root.ThreadID != im.ThreadID("channel:5d5d5d5d-0000-4000-8000-0000000a7e01/19:a1b2c3d4e5f6@thread.tacv2", "1793628000000") {
				t.Fatal("a channel reply is not in its root's thread")
			}
			first, reMail := get(t, byText, "Hi [name],\nThank you so much"), get(t, byText, "I am worried the deadline")
			if first.EventID != mail.MessageEventID(im.Base, "cab001.quokka@mail.example.com") {
				t.Fatal("a mail's event id is not the keyed hash of its internetMessageId")
			}
			if first.ThreadID != reMail.ThreadID || first.ThreadID != get(t, byText, "Glad it helped").ThreadID {
				t.Fatal("mails of one conversation are not one thread")
			}

			// Re-importing gives identical records; through the same
			// importer everything is a duplicate.
			again := importPaths(t, withFiles(t, testImporter(t, nil, 0)), "testdata/mail", "testdata/teams")
			if fmt.Sprint(again) != fmt.Sprint(evs) {
				t.Fatal("a re-import differs")
			}
			if n := len(importPaths(t, im, "testdata/mail", "testdata/teams")); n != 0 {
				t.Fatalf("second pass through one importer: %d events, %s", n, im.Stats())
			}
		})
	}
}

func eventsByText(evs []event.Event) map[string]event.Event {
	m := map[string]event.Event{}
	for _, ev := range evs {
		m[ev.Text] = ev
	}
	return m
}

func get(t *testing.T, byText map[string]event.Event, prefix string) event.Event {
	t.Helper()
	for txt, ev := range byText {
		if strings.HasPrefix(txt, prefix) {
			return ev
		}
	}
	var texts []string
	for k := range byText {
		texts = append(texts, k)
	}
	t.Fatalf("no event with text %q; texts %q", prefix, texts)
	return event.Event{}
}

// TestAgreesWithMailImporter: the same mail as an .eml (import mail) and
// as a Graph message gives the same event: id, thread, time, sender,
// recipients and text.
func TestAgreesWithMailImporter(t *testing.T) {
	mi, err := mail.New(mail.Config{Config: importer.Config{Pseudonymizer: testPseudonymizer(t), Domains: []string{"example.com"},
		Now: func() time.Time { return testNow }}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/agree/same.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := mi.Import(f)
	if err != nil || rec == nil {
		t.Fatalf("eml: %v %s", err, mi.Stats())
	}
	fromMail := decode(t, *rec)
	evs := importPaths(t, testImporter(t, nil, 0), "testdata/agree/graph.json")
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	if fmt.Sprintf("%+v", evs[0]) != fmt.Sprintf("%+v", fromMail) {
		t.Fatalf("graph %+v\nmail  %+v", evs[0], fromMail)
	}
	if fromMail.Text != "Hi [name],\nThe offsite plan looks great, thank you." || len(fromMail.Recipients) != 3 {
		t.Fatalf("event %+v", fromMail)
	}
}

func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, path, want string }{
		{"page cut short", "testdata/hostile/cut.json", "JSON cut short"},
		{"Graph error response", "testdata/hostile/error.json", "a Graph error response"},
		{"array", "testdata/hostile/array.json", "a JSON array"},
		{"value not an array", "testdata/hostile/notalist.json", `"value" is a JSON string`},
		{"JSON Lines with a broken line", "testdata/hostile/badline.jsonl", "line 2: JSON cut short"},
		{"object that is no message", "testdata/hostile/unknownobject.json", "neither a Graph list page nor a mail or chat message"},
		{"users page given as input", "testdata/users.json", "none of which is a mail or chat message"},
		{"empty file", write("empty.json", nil), "empty"},
		{"blank lines", write("blank.json", []byte("\n  \n\n")), "empty"},
		{"not JSON", write("text.json", []byte("Dear Alice Quartermaine,\nhello")), "invalid JSON at byte 1"},
		{"garbage after a page", write("tail.json", []byte("{\n\"value\": []\n}\n}Alice")), "invalid JSON at byte"},
		{"scalar line", write("scalar.jsonl", []byte("{\"value\":[]}\n\"Alice\"\n")), "line 2: a JSON string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := testImporter(t, nil, 0)
			err := im.Check(Input{Path: tc.path})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotGraph) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			checkNoLeak(t, "error", []byte(strings.ReplaceAll(err.Error(), tc.path, "")))
		})
	}
	// A document over the limit.
	small, _ := New(Config{Config: importer.Config{Pseudonymizer: testPseudonymizer(t), Domains: []string{"example.com"}}, MaxDocBytes: 1000})
	for _, p := range []string{"testdata/mail/alice-inbox-001.json", "testdata/mail/alice-inbox-002.json"} {
		if err := small.Check(Input{Path: p}); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

// TestOddItems: items of the wrong type, with missing fields or of an
// unknown resource are counted skips; nothing panics; what is imported
// passes the decoder.
func TestOddItems(t *testing.T) {
	im := testImporter(t, nil, 0)
	evs := importPaths(t, im, "testdata/hostile/odd-items.json")
	st := im.Stats()
	if st.Messages != 12 || st.Skipped[SkipUnknownResource] != 5 || st.Skipped[SkipMalformed] != 2 || st.Skipped[SkipBadDate] != 2 ||
		st.Skipped[SkipNoSender] != 1 || len(evs) != 2 {
		t.Fatalf("%d events, %s", len(evs), st)
	}
	for _, ev := range evs {
		if len(ev.Recipients) != 0 || ev.Text != "" {
			t.Fatalf("event %+v", ev)
		}
	}
}

func TestInvalidUTF8AndHugeBodies(t *testing.T) {
	dir := t.TempDir()
	huge := strings.Repeat("Wonderful news for everyone in the team. ", 150_000) // 6 MB
	page := fmt.Sprintf(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('x')/messages","value":[`+
		`{"id":"m1","internetMessageId":"<u1@example.com>","sentDateTime":"2026-11-02T09:00:00Z","from":{"emailAddress":{"name":"Al\xffice","address":"alice@example.com"}},"toRecipients":[{"emailAddress":{"address":"bob@example.com"}}],"body":{"contentType":"text","content":"bad \xff\xfe bytes \u0007 here"}},`+
		`{"id":"m2","internetMessageId":"<u2@example.com>","sentDateTime":"2026-11-02T09:00:00Z","from":{"emailAddress":{"address":"alice@example.com"}},"toRecipients":[{"emailAddress":{"address":"bob@example.com"}}],"body":{"contentType":"html","content":"<p>%s</p>"}},`+
		`{"id":"c1","messageType":"message","chatId":"19:x@thread.v2","createdDateTime":"2026-11-02T09:00:00Z","from":{"user":{"id":"u1"}},"body":{"contentType":"text","content":"%s"}}]}`, huge, huge)
	page = strings.NewReplacer(`\xff`, "\xff", `\xfe`, "\xfe").Replace(page) // invalid UTF-8 bytes
	p := filepath.Join(dir, "page.json")
	if err := os.WriteFile(p, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	im := testImporter(t, nil, 0)
	evs := importPaths(t, im, p)
	st := im.Stats()
	if len(evs) != 3 || st.Notes[NoteInvalidUTF8] != 1 || st.Notes[importer.NoteTruncatedText] != 2 {
		t.Fatalf("%d events, %s", len(evs), st)
	}
	if evs[0].Text != "bad \uFFFD bytes  here" {
		t.Fatalf("invalid UTF-8 and control characters: %q", evs[0].Text)
	}
	for _, ev := range evs[1:] {
		if n := len(ev.Text); n > importer.DefaultMaxTextBytes || n < importer.DefaultMaxTextBytes-64 {
			t.Fatalf("huge body cut to %d bytes", n)
		}
	}
}

// mkChat builds a chat or channel message object.
func mkChat(conv, id, at, user string, extra string) string {
	where := fmt.Sprintf(`"chatId":%q`, conv)
	if strings.HasPrefix(conv, "T/") {
		where = fmt.Sprintf(`"channelIdentity":{"teamId":"T","channelId":%q}`, conv[2:])
	}
	return fmt.Sprintf(`{"id":%q,"messageType":"message",%s,"createdDateTime":%q,"from":{"user":{"id":%q,"userIdentityType":"aadUser"}},"body":{"contentType":"text","content":"hello"}%s}`,
		id, where, at, user, extra)
}

func TestRecipientRules(t *testing.T) {
	users := `{"value":[{"id":"ua","mail":"a@example.com"},{"id":"ub","mail":"b@example.com"},{"id":"uc","mail":"c@example.com"},` +
		`{"id":"ud","mail":"d@sub.example.com"},{"id":"ux","mail":"x@example.org"},{"id":"ug","mail":"g@example.org","userType":"Guest"}]}`
	ps := testPseudonymizer(t)
	name := map[string]string{}
	for _, u := range []string{"a@example.com", "b@example.com", "c@example.com", "d@sub.example.com"} {
		name[ps.ID(u)] = u[:1]
	}
	name[ps.ID("external:example.org")] = "x"
	name[ps.ID("aad-user:un")] = "n"
	mention := func(u string) string {
		return fmt.Sprintf(`,"mentions":[{"id":0,"mentionText":"Someone","mentioned":{"user":{"id":%q,"userIdentityType":"aadUser"}}}]`, u)
	}
	for _, tc := range []struct {
		name         string
		members      string // a members page, "" for none
		lines        []string
		consent      map[string]bool
		broadcastMax int
		want         []string // "sender>recipients" per imported message, in input order
		stat         string
	}{
		{name: "chat members, sender removed, external collapsed", members: `{"value":[{"id":"C1","members":[{"userId":"ua"},{"userId":"ub"},{"userId":"ux"},{"userId":"ug"},{"userId":"un"}]}]}`,
			lines: []string{mkChat("C1", "1", "2026-11-02T09:00:00Z", "ua", "")}, want: []string{"a>b,x,n"}, stat: importer.NoteExternalPartics},
		{name: "chat without members: everyone who posts in it, in any page order",
			lines: []string{mkChat("C1", "3", "2026-11-02T09:03:00Z", "uc", ""), mkChat("C1", "1", "2026-11-02T09:01:00Z", "ua", ""), mkChat("C1", "2", "2026-11-02T09:02:00Z", "ub", "")},
			want:  []string{"c>a,b", "a>b,c", "b>a,c"}, stat: NoteMembersUnknown},
		{name: "members page of conversationMember names its chat in @odata.context",
			members: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#chats('C1')/members","value":[{"userId":"ua"},{"userId":"ud"}]}`,
			lines:   []string{mkChat("C1", "1", "2026-11-02T09:00:00Z", "ua", "")}, want: []string{"a>d"}},
		{name: "over the broadcast cap: no recipients", broadcastMax: 2,
			members: `{"value":[{"id":"C1","members":[{"userId":"ua"},{"userId":"ub"},{"userId":"uc"},{"userId":"ud"}]}]}`,
			lines:   []string{mkChat("C1", "1", "2026-11-02T09:00:00Z", "ua", "")}, want: []string{"a>"}, stat: NoteBroadcast},
		{name: "at the cap: recipients", broadcastMax: 3,
			members: `{"value":[{"id":"C1","members":[{"userId":"ua"},{"userId":"ub"},{"userId":"uc"},{"userId":"ud"}]}]}`,
			lines:   []string{mkChat("C1", "1", "2026-11-02T09:00:00Z", "ua", "")}, want: []string{"a>b,c,d"}},
		{name: "channel thread: root author and earlier repliers, in time order whatever the file order",
			lines: []string{
				mkChat("T/ch", "4", "2026-11-02T09:04:00Z", "ua", `,"replyToId":"1"`),
				mkChat("T/ch", "2", "2026-11-02T09:02:00Z", "ub", `,"replyToId":"1"`),
				mkChat("T/ch", "1", "2026-11-02T09:01:00Z", "ua", mention("ud")),
				mkChat("T/ch", "3", "2026-11-02T09:03:00Z", "uc", `,"replyToId":"1"`),
			},
			want: []string{"a>b,c", "b>a", "a>d", "c>a,b"}, stat: NoteThreadReply},
		{name: "channel post with a members file: the channel's members",
			members: `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#teams('T')/channels('ch')/members","value":[{"userId":"ua"},{"userId":"ub"},{"userId":"uc"}]}`,
			lines:   []string{mkChat("T/ch", "1", "2026-11-02T09:01:00Z", "ua", "")}, want: []string{"a>b,c"}},
		{name: "consent: sender and recipients not on the list dropped; ids without address too",
			members: `{"value":[{"id":"C1","members":[{"userId":"ua"},{"userId":"ub"},{"userId":"uc"},{"userId":"un"},{"userId":"ug"}]}]}`,
			consent: map[string]bool{"a@example.com": true, "b@example.com": true},
			lines:   []string{mkChat("C1", "1", "2026-11-02T09:00:00Z", "ua", ""), mkChat("C1", "2", "2026-11-02T09:00:00Z", "uc", ""), mkChat("C1", "3", "2026-11-02T09:00:00Z", "un", "")},
			want:    []string{"a>b,x"}, stat: importer.DropSenderNotOptIn},
		{name: "external sender with no company recipient left", members: `{"value":[{"id":"C1","members":[{"userId":"ux"},{"userId":"ug"}]}]}`,
			lines: []string{mkChat("C1", "1", "2026-11-02T09:00:00Z", "ux", "")}, stat: importer.SkipNoParticipants},
		{name: "bots, system messages, deleted messages and duplicates",
			lines: []string{
				`{"id":"1","chatId":"C1","messageType":"message","createdDateTime":"2026-11-02T09:00:00Z","from":{"application":{"id":"bot1","displayName":"Polly"}},"body":{"content":"poll"}}`,
				`{"id":"2","chatId":"C1","messageType":"systemEventMessage","createdDateTime":"2026-11-02T09:00:00Z","from":null,"body":{"content":"<systemEventMessage/>"}}`,
				mkChat("C1", "3", "2026-11-02T09:00:00Z", "ua", `,"deletedDateTime":"2026-11-02T09:01:00Z"`),
				mkChat("C1", "4", "2026-11-02T09:00:00Z", "ub", ""), mkChat("C1", "4", "2026-11-02T09:00:00Z", "ub", ""),
			},
			want: []string{"b>"}, stat: importer.ExcludeDuplicate},
		{name: "a message before 2000 or a day ahead", lines: []string{mkChat("C1", "1", "1999-12-31T23:00:00Z", "ua", ""), mkChat("C1", "2", "2026-12-03T00:00:00Z", "ua", "")},
			stat: SkipBadDate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			uf := filepath.Join(dir, "users.json")
			os.WriteFile(uf, []byte(users), 0o600)
			im := testImporter(t, tc.consent, tc.broadcastMax)
			if err := im.People().LoadUsers(uf); err != nil {
				t.Fatal(err)
			}
			if tc.members != "" {
				mf := filepath.Join(dir, "members.json")
				os.WriteFile(mf, []byte(tc.members), 0o600)
				if err := im.People().LoadMembers(mf); err != nil {
					t.Fatal(err)
				}
			}
			in := filepath.Join(dir, "in.jsonl")
			os.WriteFile(in, []byte(strings.Join(tc.lines, "\n")+"\n"), 0o600)
			var got []string
			for _, ev := range importPaths(t, im, in) {
				var rs []string
				for _, r := range ev.Recipients {
					rs = append(rs, name[r])
				}
				got = append(got, name[ev.Sender]+">"+strings.Join(rs, ","))
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

func TestPeopleFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, users, members, want string }{
		{"user without id", `{"value":[{"mail":"alice@example.com","displayName":"Alice Quartermaine"}]}`, "", "item 1: no id"},
		{"users not JSON", `{"value":[`, "", "JSON cut short"},
		{"members page naming no chat", "", `{"value":[{"userId":"u1","displayName":"Alice Quartermaine"}]}`, "neither a chat with expanded members"},
		{"chat without id", "", `{"value":[{"members":[]}]}`, "a chat without id"},
		{"member item not an object", "", `{"value":["Alice Quartermaine"]}`, "not an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := testImporter(t, nil, 0)
			var err error
			p := filepath.Join(dir, "f.json")
			if tc.users != "" {
				os.WriteFile(p, []byte(tc.users), 0o600)
				err = im.People().LoadUsers(p)
			} else {
				os.WriteFile(p, []byte(tc.members), 0o600)
				err = im.People().LoadMembers(p)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			checkNoLeak(t, "error", []byte(strings.ReplaceAll(err.Error(), p, "")))
		})
	}
}

func TestNewRequires(t *testing.T) {
	ps := testPseudonymizer(t)
	for _, cfg := range []Config{
		{Config: importer.Config{Domains: []string{"example.com"}}},
		{Config: importer.Config{Pseudonymizer: ps}},
		{Config: importer.Config{Pseudonymizer: ps, Domains: []string{"example.com"}}, BroadcastMax: 1001},
		{Config: importer.Config{Pseudonymizer: ps, Domains: []string{"example.com"}}, BroadcastMax: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Fatalf("%+v accepted", cfg)
		}
	}
}

// FuzzReadDocs: any bytes are refused with ErrNotGraph by Check, or
// imported without a panic; every record passes the v1 decoder.
func FuzzReadDocs(f *testing.F) {
	for _, p := range []string{"testdata/mail/alice-inbox-002.json", "testdata/teams/chat-oneonone.jsonl", "testdata/teams/chat-group.json",
		"testdata/teams/channel-general.json", "testdata/hostile/odd-items.json", "testdata/hostile/badline.jsonl", "testdata/hostile/error.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{\"value\":[{\"id\":\"1\",\"messageType\":\"message\",\"chatId\":\"c\",\"createdDateTime\":\"2026-11-02T09:00:00Z\",\"from\":{\"user\":{\"id\":\"u\"}},\"body\":{\"content\":\"\xff<at>x</at>\"}}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		im := testImporter(t, nil, 0)
		if err := im.CheckReader(bytes.NewReader(b)); err != nil {
			if !errors.Is(err, ErrNotGraph) {
				t.Fatalf("error not ErrNotGraph: %v", err)
			}
			return
		}
		if err := im.ImportReader(bytes.NewReader(b), func(r importer.Record) error {
			_, err := event.Decode(r.Value, event.Limits{}, testNow)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if st := im.Stats(); st.Imported > st.Messages {
			t.Fatalf("imported %d of %d", st.Imported, st.Messages)
		}
	})
}

// TestThreadAgreesWithoutHeaders: Graph shows no internetMessageHeaders
// for sent mail; the thread root is then learnt from the conversation (its
// earliest message), and the thread ids are still import mail's.
func TestThreadAgreesWithoutHeaders(t *testing.T) {
	mi, err := mail.New(mail.Config{Config: importer.Config{Pseudonymizer: testPseudonymizer(t), Domains: []string{"example.com"},
		Now: func() time.Time { return testNow }}})
	if err != nil {
		t.Fatal(err)
	}
	var fromMail []event.Event
	for _, raw := range []string{
		"Message-ID: <root-1@example.com>\nDate: Mon, 02 Nov 2026 09:00:00 +0000\nFrom: a@example.com\nTo: b@example.com\n\nfirst\n",
		"Message-ID: <reply-2@example.com>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nFrom: b@example.com\nTo: a@example.com\nIn-Reply-To: <root-1@example.com>\nReferences: <root-1@example.com>\n\nsecond\n",
		"Message-ID: <reply-3@example.com>\nDate: Mon, 02 Nov 2026 11:00:00 +0000\nFrom: a@example.com\nTo: b@example.com\nIn-Reply-To: <reply-2@example.com>\nReferences: <root-1@example.com> <reply-2@example.com>\n\nthird\n",
	} {
		rec, err := mi.Import(strings.NewReader(raw))
		if err != nil || rec == nil {
			t.Fatalf("%v %s", err, mi.Stats())
		}
		fromMail = append(fromMail, decode(t, *rec))
	}
	msg := func(id, imid, at, from, to, body, headers string) string {
		return fmt.Sprintf(`{"id":%q,"internetMessageId":%q,"conversationId":"CONV1","sentDateTime":%q,"from":{"emailAddress":{"address":%q}},"toRecipients":[{"emailAddress":{"address":%q}}],"body":{"contentType":"text","content":%q}%s}`,
			id, imid, at, from, to, body, headers)
	}
	// Newest first, and only the received reply has its headers.
	page := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users('x')/messages","value":[` +
		msg("g3", "<reply-3@example.com>", "2026-11-02T11:00:00Z", "a@example.com", "b@example.com", "third", "") + "," +
		msg("g2", "<reply-2@example.com>", "2026-11-02T10:00:00Z", "b@example.com", "a@example.com", "second",
			`,"internetMessageHeaders":[{"name":"References","value":"<root-1@example.com>"}]`) + "," +
		msg("g1", "<root-1@example.com>", "2026-11-02T09:00:00Z", "a@example.com", "b@example.com", "first", "") + "]}"
	for _, p := range []string{page, strings.Replace(page, `,"internetMessageHeaders":[{"name":"References","value":"<root-1@example.com>"}]`, "", 1)} {
		im := testImporter(t, nil, 0)
		if err := im.CheckReader(strings.NewReader(p)); err != nil {
			t.Fatal(err)
		}
		var evs []event.Event
		if err := im.ImportReader(strings.NewReader(p), func(r importer.Record) error { evs = append(evs, decode(t, r)); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(evs) != 3 {
			t.Fatalf("%d events", len(evs))
		}
		for i, ev := range evs {
			want := fromMail[2-i]
			if ev.EventID != want.EventID || ev.ThreadID != want.ThreadID || ev.Sender != want.Sender || !ev.OccurredAt.Equal(want.OccurredAt) {
				t.Fatalf("graph %+v\nmail  %+v", ev, want)
			}
		}
	}
}

// TestByteOrderMarks: UTF-8 with a byte order mark and UTF-16 (what
// Windows PowerShell's Out-File writes) read like UTF-8.
func TestByteOrderMarks(t *testing.T) {
	page := `{"value":[` + mkChat("C1", "1", "2026-11-02T09:00:00Z", "ua", "") + `]}`
	utf16 := []byte{0xff, 0xfe}
	for _, r := range page {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	for name, b := range map[string][]byte{"utf-8 bom": append([]byte{0xef, 0xbb, 0xbf}, page...), "utf-16le": utf16} {
		im := testImporter(t, nil, 0)
		if err := im.CheckReader(bytes.NewReader(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		if err := im.ImportReader(bytes.NewReader(b), func(importer.Record) error { n++; return nil }); err != nil || n != 1 {
			t.Fatalf("%s: %v, %d events", name, err, n)
		}
	}
}
