package mail

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/event"
	"commpulse/pipeline/importer"
	"commpulse/pipeline/privacy"
)

func TestMboxReader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    []string
		garbage int64
	}{
		{name: "empty", in: ""},
		{name: "not an mbox", in: "hello\nworld\n", garbage: 12},
		{name: "two", in: "From a@x Mon Nov  2 09:15:00 2026\nA: 1\n\nbody1\n\nFrom b@x Mon Nov  2 09:16:00 2026\nB: 2\n\nbody2\n",
			want: []string{"A: 1\n\nbody1\n\n", "B: 2\n\nbody2\n"}},
		{name: "body From without time is not a separator", in: "From a@x Mon Nov  2 09:15:00 2026\n\nx\n\nFrom the team\n",
			want: []string{"\nx\n\nFrom the team\n"}},
		{name: "From not after an empty line is not a separator", in: "From a@x Mon Nov  2 09:15:00 2026\n\nx\nFrom b@x Mon Nov  2 09:16:00 2026\n",
			want: []string{"\nx\nFrom b@x Mon Nov  2 09:16:00 2026\n"}},
		{name: "mboxrd unquoting", in: "From a@x Mon Nov  2 09:15:00 2026\n\n>From here\n>>From there\n>not from\n",
			want: []string{"\nFrom here\n>From there\n>not from\n"}},
		{name: "garbage then message, CRLF", in: "junk\r\n\r\nFrom a@x Mon Nov  2 09:15:00 2026\r\nA: 1\r\n\r\nb",
			want: []string{"A: 1\r\n\r\nb"}, garbage: 8},
		{name: "truncated last line", in: "From a@x Mon Nov  2 09:15:00 2026\nA: 1\n\nbo", want: []string{"A: 1\n\nbo"}},
		{name: "long line", in: "From a@x Mon Nov  2 09:15:00 2026\n\n" + strings.Repeat("y", 200<<10) + "\nFrom z\n",
			want: []string{"\n" + strings.Repeat("y", 200<<10) + "\nFrom z\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mr := NewMboxReader(strings.NewReader(tc.in))
			var got []string
			for {
				r, err := mr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(b))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
			if mr.Garbage() != tc.garbage {
				t.Fatalf("garbage %d, want %d", mr.Garbage(), tc.garbage)
			}
		})
	}
}

// An unread message is skipped by Next.
func TestMboxSkipsUnread(t *testing.T) {
	mr := NewMboxReader(strings.NewReader("From a@x Mon Nov  2 09:15:00 2026\n\none\n\nFrom b@x Mon Nov  2 09:16:00 2026\n\ntwo\n"))
	if _, err := mr.Next(); err != nil {
		t.Fatal(err)
	}
	r, err := mr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(r); string(b) != "\ntwo\n" {
		t.Fatalf("second message %q", b)
	}
}

func FuzzMboxReader(f *testing.F) {
	for _, p := range []string{"testdata/mbox/inbox.mbox", "testdata/mbox/truncated.mbox"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("From a@x Mon Nov  2 09:15:00 2026\n\n>From x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		mr := NewMboxReader(bytes.NewReader(in))
		var total int64
		for n := 0; ; n++ {
			r, err := mr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			total += int64(len(b))
			if n > len(in) {
				t.Fatal("more messages than bytes")
			}
			// Every message is also safe to parse.
			Parse(bytes.NewReader(b))
		}
		// Unquoting only removes bytes, separators are dropped.
		if total+mr.Garbage() > int64(len(in)) {
			t.Fatalf("read %d + garbage %d bytes out of %d", total, mr.Garbage(), len(in))
		}
	})
}

func TestStripReply(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Hello there.\n\nSee you.", "Hello there.\n\nSee you."},
		{"quoted lines", "Yes.\n> old\n>> older\nAgreed.", "Yes.\nAgreed."},
		{"on wrote", "Sounds good.\n\nOn Mon, 2 Nov 2026 at 09:15, A B <a@example.com> wrote:\n> x\nrest", "Sounds good."},
		{"on wrote two lines", "Fine.\nOn Mon, 2 Nov 2026 at 09:15, A B\n<a@example.com> wrote:\n> x", "Fine."},
		{"german", "Gut.\nAm 02.11.2026 um 09:15 schrieb A B <a@example.com>:\n> x", "Gut."},
		{"outlook original", "Ok.\n\n-----Original Message-----\nFrom: X\nSent: Monday\nold", "Ok."},
		{"outlook header block", "Ok.\n________________________________\nFrom: X Y\nSent: Monday\nTo: Z\nold", "Ok."},
		{"outlook from sent", "Ok.\n\nFrom: X Y <x@example.com>\nSent: Monday, 2 November\nTo: Z\n\nold", "Ok."},
		{"from line that is not a header", "From: my side it works.\nGreat.", "From: my side it works.\nGreat."},
		{"forwarded", "FYI\n\n---------- Forwarded message ---------\nFrom: X\nold", "FYI"},
		{"begin forwarded", "FYI\nBegin forwarded message:\n\nold", "FYI"},
		{"sig delimiter", "Done.\n-- \nA B\nCorp", "Done."},
		{"sent from my", "Done.\n\nSent from my iPhone", "Done."},
		{"sign-off", "Great job.\n\nThanks,\nAlice", "Great job."},
		{"best regards", "Great job.\nBest regards,\nA B\nExample Corp\n+1 555", "Great job."},
		{"thanks alone is the message", "Thanks!", "Thanks!"},
		{"thanks at start of a long mail", "Thanks,\n1\n2\n3\n4\n5\n6\n7", "Thanks,\n1\n2\n3\n4\n5\n6\n7"},
		{"crlf and blank runs", "a\r\n\r\n\r\n\r\nb\r\n", "a\n\nb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StripReply(tc.in); got != tc.want {
				t.Fatalf("StripReply(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"paragraphs", "<p>One</p><p>Two &amp; three</p>", "One\nTwo & three"},
		{"br and inline", "a<br>b <b>bold</b>  c", "a\nb bold c"},
		{"script style head", "<html><head><title>T</title><style>x{}</style></head><body>Hi<script>evil()</script></body></html>", "Hi"},
		{"blockquote", "Yes<blockquote>old <b>text</b></blockquote>done", "Yes\ndone"},
		{"gmail quote", `New<div class="gmail_quote">On x wrote:<div>old</div></div>`, "New"},
		{"outlook", `New<div id="divRplyFwdMsg">From: x</div>`, "New"},
		{"unclosed", "Hi<blockquote>never closed", "Hi"},
		{"stray end tag", "a</div></blockquote>b", "a\nb"},
		{"nbsp and entities", "caf&eacute;&nbsp;ok &#39;q&#39;", "café ok 'q'"},
		{"not html", "plain < text > here", "plain < text > here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HTMLToText(tc.in); got != tc.want {
				t.Fatalf("HTMLToText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func testImporter(t testing.TB, consent map[string]bool) *Importer {
	t.Helper()
	ps, err := privacy.NewPseudonymizer([]byte("test-key-0123456789abcdef0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := New(Config{Config: importer.Config{Pseudonymizer: ps, Domains: []string{"Example.com"}, Consent: consent,
		Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// decode checks a record with the contract's own decoder.
func decode(t testing.TB, rec importer.Record) event.Event {
	t.Helper()
	ev, err := event.Decode(rec.Value, event.Limits{}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("record does not pass the v1 decoder: %v", err)
	}
	return ev
}

func TestParseFixtures(t *testing.T) {
	im := testImporter(t, nil)
	byMsg := map[int]event.Event{}
	err := im.ImportInput(Input{Path: "testdata/mbox/inbox.mbox", Kind: KindMbox}, nil, func(r importer.Record) error {
		ev := decode(t, r)
		byMsg[len(byMsg)] = ev
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st := im.Stats()
	if st.Messages != 14 || st.Imported != 8 {
		t.Fatalf("stats %s", st)
	}
	for k, want := range map[string]int{SkipMalformed: 1, SkipBadDate: 1} {
		if st.Skipped[k] != want {
			t.Errorf("skipped %s = %d, want %d (%s)", k, st.Skipped[k], want, st)
		}
	}
	for _, k := range []string{ExcludeAutoReply, ExcludeBulk, ExcludeCalendar, ExcludeLoop} {
		if st.Excluded[k] != 1 {
			t.Errorf("excluded %s = %d, want 1 (%s)", k, st.Excluded[k], st)
		}
	}
	texts := map[string]string{}
	for _, ev := range byMsg {
		texts[ev.Text] = ev.EventID
	}
	for _, tc := range []struct{ name, want string }{
		{"utf-8 quoted-printable, signature and sign-off stripped, name redacted", "Hi [name],\n\nGreat work on the release, the team did an excellent job. Café at three?"},
		{"iso-8859-1 base64, quote stripped", "Danke [name], that's wonderful news. Ich bin sehr glücklich über das Ergebnis."},
		{"html only", "The new dashboard is really confusing and slow. I'm frustrated with it.\nCan we talk tomorrow?"},
		{"unknown charset, best effort", "The build is green again, nice work everyone."},
		{"mboxrd unquoted, body From kept", "The plan looks solid to me.\n\nFrom now on we ship on Tuesdays.\n\nFrom the ops side, everything is fine."},
		{"outlook reply", "I am worried about the deadline, this is a disaster."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := texts[tc.want]; !ok {
				t.Fatalf("no event with text %q; texts: %q", tc.want, texts)
			}
		})
	}
	for txt := range texts {
		for _, bad := range []string{"QUOTEDSECRET", "SCRIPTSECRET", "Quartermaine", "Lindqvist", "@"} {
			if strings.Contains(txt, bad) {
				t.Errorf("text %q holds %q", txt, bad)
			}
		}
	}
}

func TestIDsAndParticipants(t *testing.T) {
	im := testImporter(t, map[string]bool{"alice@example.com": true, "bob@example.com": true})
	msg := func(extra string) string {
		return "Message-ID: <X1@Example.com>\nDate: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: Alice A <ALICE@example.com>\n" + extra + "\n\nhello\n"
	}
	imp := func(s string) (*importer.Record, importer.Stats) {
		t.Helper()
		rec, err := im.Import(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return rec, im.Stats()
	}
	rec, _ := imp(msg("To: bob@example.com, Bob <BOB@example.com>, alice@example.com, x@example.org, y@example.org, z@other.example.net, carol@example.com"))
	ev := decode(t, *rec)
	alice, bob := im.PersonID("alice@example.com"), im.PersonID("bob@example.com")
	ext1, ext2 := im.ExternalID("example.org"), im.ExternalID("other.example.net")
	want := []string{bob, ext1, ext2} // carol is not opted in, alice is the sender
	if ev.Sender != alice || fmt.Sprint(ev.Recipients) != fmt.Sprint(want) {
		t.Fatalf("sender %s recipients %v, want %s %v", ev.Sender, ev.Recipients, alice, want)
	}
	if st := im.Stats(); st.Dropped[importer.DropRecipNotOptIn] != 1 {
		t.Fatalf("dropped %v", st.Dropped)
	}
	if ev.EventID != im.Keyed("m_", "message-id:x1@example.com") || ev.ThreadID != im.Keyed("t_", "message-id:x1@example.com") {
		t.Fatalf("ids %s %s", ev.EventID, ev.ThreadID)
	}
	// The same Message-ID again (another folder, other spelling): a duplicate.
	if rec, st := imp(strings.Replace(msg("To: bob@example.com"), "<X1@Example.com>", " <x1@example.COM> ", 1)); rec != nil || st.Excluded[importer.ExcludeDuplicate] != 1 {
		t.Fatalf("duplicate not excluded: %v %s", rec, st)
	}
	// A thread id comes from References first, then In-Reply-To.
	rec, _ = imp("Message-ID: <r@example.com>\nReferences: <root@example.com> <mid@example.com>\nIn-Reply-To: <mid@example.com>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nFrom: bob@example.com\nTo: alice@example.com\n\nok\n")
	if got := decode(t, *rec).ThreadID; got != im.Keyed("t_", "message-id:root@example.com") {
		t.Fatalf("thread %s", got)
	}
	rec, _ = imp("Message-ID: <r2@example.com>\nIn-Reply-To: <mid@example.com>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nFrom: bob@example.com\nTo: alice@example.com\n\nok\n")
	if got := decode(t, *rec).ThreadID; got != im.Keyed("t_", "message-id:mid@example.com") {
		t.Fatalf("thread %s", got)
	}
	// Without Message-ID: a hash of Date, From, Subject and body, stable.
	noID := "Date: Mon, 02 Nov 2026 11:00:00 +0000\nFrom: bob@example.com\nTo: alice@example.com\nSubject: s\n\nsame body\n"
	rec, _ = imp(noID)
	id1 := decode(t, *rec).EventID
	if rec, st := imp(noID); rec != nil || st.Excluded[importer.ExcludeDuplicate] != 2 {
		t.Fatal("a message without Message-ID imported twice")
	}
	other := testImporter(t, nil)
	rec2, _ := other.Import(strings.NewReader(strings.Replace(noID, "same body", "other body", 1)))
	if decode(t, *rec2).EventID == id1 {
		t.Fatal("different bodies, same id")
	}
	// An external sender with no company recipient left is no event.
	if rec, st := imp("Message-ID: <e@example.org>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nFrom: x@example.org\nTo: carol@example.com, y@example.org\n\nhi\n"); rec != nil || st.Skipped[importer.SkipNoParticipants] != 1 {
		t.Fatalf("external-only: %v %s", rec, st)
	}
}

func TestExclusions(t *testing.T) {
	base := "Date: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nTo: b@example.com\n"
	for _, tc := range []struct{ name, hdr, want string }{
		{"auto-submitted", "Auto-Submitted: auto-generated\n", ExcludeAutoReply},
		{"auto-submitted no", "Auto-Submitted: no\n", ""},
		{"x-autoreply", "X-Autoreply: yes\n", ExcludeAutoReply},
		{"x-autorespond", "X-Autorespond: yes\n", ExcludeAutoReply},
		{"x-auto-response-suppress (Exchange's out-of-office replies)", "X-Auto-Response-Suppress: All\n", ExcludeAutoReply},
		{"precedence auto_reply", "Precedence: auto_reply\n", ExcludeAutoReply},
		{"precedence bulk", "Precedence: bulk\n", ExcludeBulk},
		{"precedence junk", "Precedence: junk\n", ExcludeBulk},
		{"list-id", "List-Id: <x.example.com>\n", ExcludeBulk},
		{"list-unsubscribe", "List-Unsubscribe: <mailto:x@example.com>\n", ExcludeBulk},
		{"content-class", "Content-Class: urn:content-classes:calendarmessage\n", ExcludeCalendar},
		{"x-loop", "X-Loop: a@example.com\n", ExcludeLoop},
		{"received", strings.Repeat("Received: from x by y; Mon, 02 Nov 2026 09:15:00 +0100\n", DefaultMaxReceived+1), ExcludeLoop},
		{"few received", strings.Repeat("Received: from x by y; Mon, 02 Nov 2026 09:15:00 +0100\n", 3), ""},
		{"calendar part", "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: text/calendar\n\nBEGIN:VCALENDAR\n--b--\n", ExcludeCalendar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := testImporter(t, nil)
			body := "\nhello\n"
			if strings.Contains(tc.hdr, "\n\n") {
				body = ""
			}
			rec, err := im.Import(strings.NewReader(base + tc.hdr + body))
			if err != nil {
				t.Fatal(err)
			}
			st := im.Stats()
			if tc.want == "" {
				if rec == nil {
					t.Fatalf("not imported: %s", st)
				}
				return
			}
			if rec != nil || st.Excluded[tc.want] != 1 {
				t.Fatalf("want excluded %s, got %s", tc.want, st)
			}
		})
	}
}

func TestSkips(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no date", "From: a@example.com\nTo: b@example.com\n\nx\n", SkipNoDate},
		{"bad date", "Date: yesterday\nFrom: a@example.com\n\nx\n", SkipBadDate},
		{"before 2000", "Date: Mon, 02 Nov 1998 09:15:00 +0100\nFrom: a@example.com\n\nx\n", SkipBadDate},
		{"future", "Date: Mon, 02 Nov 2099 09:15:00 +0100\nFrom: a@example.com\n\nx\n", SkipBadDate},
		{"no sender", "Date: Mon, 02 Nov 2026 09:15:00 +0100\nTo: b@example.com\n\nx\n", SkipNoSender},
		{"broken header line", "Date: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nthis is no header\n\nx\n", SkipMalformed},
		{"truncated base64 part", "Date: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8", SkipMalformed},
		{"multipart without boundary", "Date: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nContent-Type: multipart/mixed\n\nx\n", SkipMalformed},
		{"unknown transfer encoding", "Date: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nContent-Transfer-Encoding: x-rot13\n\nx\n", SkipMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im := testImporter(t, nil)
			rec, err := im.Import(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if st := im.Stats(); rec != nil || st.Skipped[tc.want] != 1 {
				t.Fatalf("want skipped %s, got %v %s", tc.want, rec, st)
			}
		})
	}
}

// Invalid UTF-8 and control characters never reach the event; a broken
// address header falls back to the addresses found in it.
func TestHostileText(t *testing.T) {
	im := testImporter(t, nil)
	in := "Date: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nTo: Smith, John <john@example.com>, <broken\nContent-Type: text/plain; charset=utf-8\n\nbad \xff\xfe bytes \x00\x07 here, John\n"
	rec, err := im.Import(strings.NewReader(in))
	if err != nil || rec == nil {
		t.Fatalf("%v %s", err, im.Stats())
	}
	ev := decode(t, *rec)
	if strings.ContainsAny(ev.Text, "\x00\x07") || strings.Contains(ev.Text, "John") {
		t.Fatalf("text %q", ev.Text)
	}
	if len(ev.Recipients) != 1 || ev.Recipients[0] != im.PersonID("john@example.com") {
		t.Fatalf("recipients %v", ev.Recipients)
	}
}

// A 200-recipient mail and a large attachment: the attachment is counted,
// never read into memory beyond the parser's streaming.
func TestLargeMessages(t *testing.T) {
	im := testImporter(t, nil)
	var to []string
	for i := range 200 {
		to = append(to, fmt.Sprintf("Person %d <p%03d@example.com>", i, i))
	}
	rec, err := im.Import(strings.NewReader("Message-ID: <many@example.com>\nDate: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nTo: " +
		strings.Join(to, ",\n ") + "\n\nHello all.\n"))
	if err != nil || rec == nil {
		t.Fatalf("%v %s", err, im.Stats())
	}
	if ev := decode(t, *rec); len(ev.Recipients) != 200 {
		t.Fatalf("%d recipients", len(ev.Recipients))
	}

	att := make([]byte, 8<<20)
	for i := range att {
		att[i] = byte(i * 7)
	}
	var b bytes.Buffer
	b.WriteString("Message-ID: <att@example.com>\nDate: Mon, 02 Nov 2026 09:15:00 +0100\nFrom: a@example.com\nTo: b@example.com\n" +
		"Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain\n\nSee attached, great numbers.\n--BB\n" +
		"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=x.bin\n\n")
	enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: &b})
	enc.Write(att)
	enc.Close()
	b.WriteString("\n--BB--\n")
	rec, err = im.Import(&b)
	if err != nil || rec == nil {
		t.Fatalf("%v %s", err, im.Stats())
	}
	if ev := decode(t, *rec); ev.Text != "See attached, great numbers." {
		t.Fatalf("text %q", ev.Text)
	}
	if st := im.Stats(); st.Notes[NoteAttachments] != 1 {
		t.Fatalf("attachments %v", st.Notes)
	}
}

// lineWriter breaks base64 into 76-column lines.
type lineWriter struct {
	w   *bytes.Buffer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		l.w.WriteByte(c)
		if l.col++; l.col == 76 {
			l.w.WriteByte('\n')
			l.col = 0
		}
	}
	return len(p), nil
}

func TestInputs(t *testing.T) {
	ins, ignored, err := Inputs([]string{"testdata/maildir", "testdata/eml", "testdata/mbox/inbox.mbox"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range ins {
		got = append(got, fmt.Sprintf("%s:%d", in.Path, in.Kind))
	}
	want := []string{"testdata/maildir/cur/1762071300.M1P1.host,S=1!2,S:1", "testdata/maildir/new/1762074000.M2P1.host:1",
		"testdata/eml/2026/11/partner.eml:1", "testdata/mbox/inbox.mbox:0"}
	if fmt.Sprint(got) != fmt.Sprint(want) || ignored != 1 {
		t.Fatalf("inputs %v ignored %d\nwant %v", got, ignored, want)
	}
	if _, _, err := Inputs([]string{"testdata/nope"}); err == nil {
		t.Fatal("missing input accepted")
	}
}

func TestNewRequires(t *testing.T) {
	ps, _ := privacy.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no key", Config{Config: importer.Config{Domains: []string{"example.com"}}}},
		{"no domain", Config{Config: importer.Config{Pseudonymizer: ps}}},
		{"bad domain", Config{Config: importer.Config{Pseudonymizer: ps, Domains: []string{"a@b.c"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
