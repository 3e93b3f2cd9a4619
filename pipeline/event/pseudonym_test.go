package event_test

import (
	"strings"
	"testing"

	"commpulse/internal/synth"
	"commpulse/pipeline/event"
	"commpulse/pipeline/privacy"
)

// The person-id policy: the pattern alone decides what is accepted; the
// heuristics only pick the reason of a rejection.
func TestPersonIDPolicy(t *testing.T) {
	custom := event.MustPseudonymPattern(`[0-9]{8}|[a-z]+-[a-z]+`)
	ps, err := privacy.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id string
		pattern  string // "" is the default policy
		want     event.Reason
	}{
		// Leaked identities: rejected, and the heuristics name them pii_id.
		{"upper-case name", "JOHN.SMITH", "", event.ReasonPIIID},
		{"name with a number", "john.smith2", "", event.ReasonPIIID},
		{"e-mail", "jane.doe@corp.example", "", event.ReasonPIIID},
		{"phone", "+44 20 7946 0958", "", event.ReasonPIIID},
		{"full name", "John Smith", "", event.ReasonPIIID},
		{"non-ASCII full name", "Jürgen Müller", "", event.ReasonPIIID},
		{"non-ASCII single name", "Jürgen", "", event.ReasonPIIID},
		{"CJK name", "李小龙", "", event.ReasonPIIID},
		// Identities the heuristics cannot see: the policy still stops them.
		{"login", "jsmith", "", event.ReasonNotPseudonym},
		{"employee number", "E12345", "", event.ReasonNotPseudonym},
		{"first name", "alice", "", event.ReasonNotPseudonym},
		{"other scheme", "u-000123", "", event.ReasonNotPseudonym},
		{"upper-case hex", "p_5F2C9A1E0B7D4C38", "", event.ReasonNotPseudonym},
		{"too short", "p_5f2c9a1e0b7d4c3", "", event.ReasonNotPseudonym},
		{"pseudonym inside", "john.smith.p_5f2c9a1e0b7d4c38", "", event.ReasonNotPseudonym},
		{"empty", "", "", event.ReasonBadID},
		// Valid pseudonyms of other schemes: rejected by default (the
		// heuristics call a bare 8-digit number a phone and a word pair a
		// name) ...
		{"date-like number, default", "20240115", "", event.ReasonPIIID},
		{"word pair, default", "happy-turtle", "", event.ReasonPIIID},
		// ... and accepted under a pattern that allows them, which then
		// is authoritative, heuristics or not.
		{"date-like number, custom", "20240115", "custom", ""},
		{"word pair, custom", "happy-turtle", "custom", ""},
		{"default scheme under custom", "p_5f2c9a1e0b7d4c38", "custom", event.ReasonNotPseudonym},
		{"e-mail under custom", "jane.doe@corp.example", "custom", event.ReasonPIIID},
		// The generator's and the keyed re-pseudonymisation's ids.
		{"synth-shaped id", "p_5f2c9a1e0b7d4c38", "", ""},
		{"keyed id", ps.ID("p_5f2c9a1e0b7d4c38"), "", ""},
		{"64 hex", "h_" + strings.Repeat("ab", 32), "", ""},
		{"65 hex", "h_" + strings.Repeat("ab", 32) + "c", "", event.ReasonNotPseudonym},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := event.Limits{}
			if tc.pattern == "custom" {
				lim.Pseudonym = custom
			}
			err := event.CheckPersonID("sender", tc.id, lim)
			if got := event.ReasonOf(err); got != tc.want {
				t.Fatalf("CheckPersonID(%q) = %v, want reason %q", tc.id, err, tc.want)
			}
			if err != nil && tc.id != "" && strings.Contains(err.Error(), tc.id) {
				t.Fatalf("error quotes the id: %v", err)
			}
		})
	}
}

// Every id the repository's generator issues passes the default policy, and
// so does its keyed form.
func TestGeneratedIDsArePseudonyms(t *testing.T) {
	org := synth.MustNew(synth.Config{Seed: 7, Teams: 4, Limit: 2000})
	ps, err := privacy.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	check := func(id string) {
		t.Helper()
		for _, v := range []string{id, ps.ID(id)} {
			if !event.IsPseudonym(v, event.Limits{}) {
				t.Fatalf("generated id %q is not a pseudonym under %s", v, event.DefaultPseudonymPattern)
			}
		}
		n++
	}
	for _, d := range org.Directory() {
		check(d.Person)
	}
	for g := range org.Events() {
		if g.Kind == synth.Malformed {
			continue
		}
		check(g.Event.Sender)
		for _, r := range g.Event.Recipients {
			check(r)
		}
	}
	if n < 1000 {
		t.Fatalf("only %d ids checked", n)
	}
}

func TestParsePseudonymPattern(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, id string
		wantErr, match    bool
	}{
		{name: "empty", pattern: " ", wantErr: true},
		{name: "syntax", pattern: "(", wantErr: true},
		{name: "matches empty", pattern: "a*", wantErr: true},
		{name: "anchored for you", pattern: `p_[0-9a-f]+`, id: "john.smith.p_00ff"},
		{name: "alternation anchored as a whole", pattern: `a|b`, id: "ab"},
		{name: "already anchored", pattern: `^p_[0-9a-f]+$`, id: "p_00ff", match: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := event.ParsePseudonymPattern(tc.pattern)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && re.MatchString(tc.id) != tc.match {
				t.Fatalf("%s matches %q: %v, want %v", re, tc.id, !tc.match, tc.match)
			}
		})
	}
}

// A pattern wider than the contract's id alphabet does not widen it.
func TestPatternCannotWidenAlphabet(t *testing.T) {
	lim := event.Limits{Pseudonym: event.MustPseudonymPattern(`.+`)}
	if r := event.ReasonOf(event.CheckPersonID("sender", "a/b", lim)); r != event.ReasonBadID {
		t.Fatalf("reason %q, want bad_id", r)
	}
	if err := event.CheckPersonID("sender", "jsmith", lim); err != nil {
		t.Fatalf("jsmith under `.+`: %v", err)
	}
}
