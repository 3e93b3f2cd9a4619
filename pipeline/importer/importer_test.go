package importer

import (
	"fmt"
	"strings"
	"testing"

	"commpulse/pipeline/privacy"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		names    []string
		want     string
	}{
		{"address", "write to a.b+c@example.com now", nil, "write to [email] now"},
		{"names", "Hi Alice, Smith says hi. Malice stays.", []string{"Alice Smith"}, "Hi [name], [name] says hi. Malice stays."},
		{"adjacent", "alice smith!", []string{"Alice Smith"}, "[name] [name]!"},
		{"short parts kept", "Al is ok", []string{"Al B"}, "Al is ok"},
		{"non-ascii name", "Danke Jürgen", []string{"Jürgen Ö"}, "Danke [name]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.in, tc.names); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLists(t *testing.T) {
	c, err := ReadConsentCSV(strings.NewReader("email\n# c\n A@Example.com \n\nb@example.com,extra\n"))
	if err != nil || fmt.Sprint(c) != "[a@example.com b@example.com]" {
		t.Fatalf("%v %v", c, err)
	}
	if _, err := ReadConsentCSV(strings.NewReader("alice@example.com\nAlice Secretname\n")); err == nil || strings.Contains(err.Error(), "Secretname") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v", err)
	}
	d, err := ReadDirectoryCSV(strings.NewReader("address,team\na@example.com, team-a\n"))
	if err != nil || d.Dated || len(d.People["a@example.com"]) != 1 || d.People["a@example.com"][0].Team != "team-a" {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := ReadDirectoryCSV(strings.NewReader("a@example.com\n")); err == nil {
		t.Fatal("missing team accepted")
	}
}

func testBase(t *testing.T) *Base {
	t.Helper()
	ps, err := privacy.NewPseudonymizer([]byte(strings.Repeat("b", 32)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBase(Config{Pseudonymizer: ps, Domains: []string{" @Example.COM "}, MaxTextBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBaseIdentities(t *testing.T) {
	b := testBase(t)
	ps := b.Config().Pseudonymizer
	for _, tc := range []struct {
		addr, want string
		internal   bool
	}{
		{"a@example.com", ps.ID("a@example.com"), true},
		{"a@eu.example.com", ps.ID("a@eu.example.com"), true},
		{"a@notexample.com", ps.ID("external:notexample.com"), false},
		{"x@example.org", ps.ID("external:example.org"), false},
	} {
		id, internal := b.Participant(tc.addr)
		if id != tc.want || internal != tc.internal {
			t.Errorf("Participant(%q) = %s %v", tc.addr, id, internal)
		}
	}
	if b.PersonID(" A@Example.com ") != ps.ID("a@example.com") {
		t.Fatal("PersonID does not normalise")
	}
	id := b.Keyed("m_", "x")
	if b.Seen(id) {
		t.Fatal("seen before marked")
	}
	b.MarkSeen(id)
	if !b.Seen(id) || b.Seen(b.Keyed("m_", "y")) {
		t.Fatal("duplicate guard")
	}
	if !b.OptedIn("anyone@example.com") || b.HasConsentList() {
		t.Fatal("no list: everyone is opted in")
	}
	for _, bad := range [][]string{nil, {"a@b.c"}, {"nodot"}, {""}} {
		if _, err := NewBase(Config{Pseudonymizer: ps, Domains: bad}); err == nil {
			t.Errorf("domains %q accepted", bad)
		}
	}
	if _, err := NewBase(Config{Domains: []string{"example.com"}}); err == nil {
		t.Error("no key accepted")
	}
}

func TestBaseText(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		trunc    bool
		note     string
	}{
		{"hello", "hello", false, ""},
		{"a\x00b\x07c\td\ne\x7f", "abc\td\ne", false, ""},
		{"bad \xff", "bad \uFFFD", false, ""},
		{"0123456789abc", "0123456789", false, NoteTruncatedText},
		{"012345678é", "012345678", false, NoteTruncatedText}, // é would cross byte 10
		{"short", "short", true, NoteTruncatedText},
		{" \n\x01 ", "", false, NoteNoText},
	} {
		b := testBase(t)
		if got := b.Text(tc.in, tc.trunc); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if st := b.Stats(); tc.note != "" && st.Notes[tc.note] != 1 {
			t.Errorf("Text(%q): %s not counted (%s)", tc.in, tc.note, st)
		}
	}
}

func TestNamesPrepared(t *testing.T) {
	set := NewNames("Alice Quartermaine", "Bo")
	set.Add("jürgen.ö")
	if got := set.Redact("alice, QUARTERMAINE and Bo met Jürgen at a@b.example"); got != "[name], [name] and Bo met [name] at [email]" {
		t.Fatalf("got %q", got)
	}
}
