package importer

import (
	"fmt"
	"strings"
	"testing"
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
	if err != nil || d["a@example.com"] != "team-a" {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := ReadDirectoryCSV(strings.NewReader("a@example.com\n")); err == nil {
		t.Fatal("missing team accepted")
	}
}
