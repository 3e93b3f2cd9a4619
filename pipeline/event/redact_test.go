package event

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// The DLQ probe must know exactly the fields the decoder knows (fields): a field the
// decoder reads but the probe does not would be counted as dropped (safe),
// but a probe field the decoder does not know would hide an unknown field.
func TestProbeMirrorsWire(t *testing.T) {
	tags := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			out = append(out, rt.Field(i).Tag.Get("json"))
		}
		return out
	}
	if w, p := fields[:], tags(probe{}); !reflect.DeepEqual(w, p) {
		t.Fatalf("wire fields %v, probe fields %v", w, p)
	}
}

const secret = "SECRET my manager is bullying me"

// leakWords are the pieces of a secret that must not survive: the whole of
// it and every word of four or more bytes (a word of a name is as telling
// as the name).
func leakWords(secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s)
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(w) >= 4 {
				out = append(out, w)
			}
		}
	}
	return out
}

// dlqLeak returns the first leak word found in s, case-insensitively.
func dlqLeak(s string, words []string) string {
	ls := strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(ls, strings.ToLower(w)) {
			return w
		}
	}
	return ""
}

// hostileDLQ are rejected events with a secret hidden in every way the
// attacker found, and the reason the decoder gives each.
func hostileDLQ() []struct {
	name    string
	in      string
	reason  Reason
	secrets []string
} {
	text := `"text":"Great job on the release, thanks all!"`
	return []struct {
		name    string
		in      string
		reason  Reason
		secrets []string
	}{
		{"Text", with(text, `"Text":"`+secret+`","extra":1`), ReasonUnknownField, []string{secret}},
		{"TEXT", strings.Replace(with(text, `"TEXT":"`+secret+`"`), `"schema":1`, `"schema":2`, 1), ReasonUnknownSchema, []string{secret}},
		{"TEXT with an e-mail sender", strings.Replace(with(text, `"TEXT":"`+secret+`"`), "p_5f2c9a1e0b7d4c38", "jane.doe@corp.example", 1),
			ReasonPIIID, []string{secret, "jane.doe@corp.example"}},
		{"escaped key", with(text, `"\u0074ext":"`+secret+`","extra":1`), ReasonUnknownField, []string{secret}},
		{"body", with(text, `"body":"`+secret+`"`), ReasonUnknownField, []string{secret}},
		{"nested text", with(text, `"meta":{"text":"`+secret+`"}`), ReasonUnknownField, []string{secret}},
		{"text as a field name", with(text, `"`+secret+`":1`), ReasonUnknownField, []string{secret}},
		{"text in every free-form field", `{"schema":"SECRET manager","event_id":"SECRET-manager-bullying-1","occurred_at":"SECRET manager","channel":"SECRET manager",` +
			`"sender":"p_5f2c9a1e0b7d4c38","thread_id":"SECRET-manager-bullying","consent":"SECRET","lang":"bullying"}`,
			ReasonBadJSON, []string{secret}},
		{"e-mail sender", with("p_5f2c9a1e0b7d4c38", "jane.doe@corp.example"), ReasonPIIID, []string{"jane.doe@corp.example", "Great job on the release"}},
		{"folded sender key", with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"ſender":"jane.doe@corp.example"`), ReasonPIIID, []string{"jane.doe@corp.example"}},
		{"last duplicate wins", with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"sender":"p_5f2c9a1e0b7d4c38","SENDER":"John.Smith"`), ReasonPIIID, []string{"John.Smith"}},
		{"non-ASCII names", strings.Replace(with("p_5f2c9a1e0b7d4c38", "Jürgen Müller"), "p_0a9b8c7d6e5f4a3b", "李小龙", 1), ReasonPIIID, []string{"Jürgen Müller", "李小龙"}},
		{"login recipient", with("p_0a9b8c7d6e5f4a3b", "jsmith"), ReasonNotPseudonym, []string{"jsmith"}},
		{"invalid JSON with text", with(text, `"text":"`+secret+` and more`)[:len(valid)-3], ReasonBadJSON, []string{secret}},
		{"not JSON at all", secret + " jane.doe@corp.example", ReasonBadJSON, []string{secret, "jane.doe@corp.example"}},
		{"invalid UTF-8", with(text, `"text":"`+secret+"\xff"+`"`), ReasonInvalidUTF8, []string{secret}},
		{"oversize", with(text, `"text":"`+secret+strings.Repeat(" bullying", 40<<10)+`"`), ReasonOversize, []string{secret}},
	}
}

func TestDeadLetterKeepsNothingHostile(t *testing.T) {
	ps := keyedID(strings.Repeat("k", 32))
	for _, tc := range hostileDLQ() {
		t.Run(tc.name, func(t *testing.T) {
			_, derr := Decode([]byte(tc.in), Limits{}, now)
			if got := ReasonOf(derr); got != tc.reason {
				t.Fatalf("decoder reason %q (%v), want %q", got, derr, tc.reason)
			}
			words := leakWords(tc.secrets...)
			if w := dlqLeak(derr.Error(), words); w != "" {
				t.Fatalf("decode error holds %q: %v", w, derr)
			}
			body := DeadLetterBody([]byte(tc.in), Limits{}, DeadLetterIDs{Hash: ps.ID})
			if w := dlqLeak(string(body), words); w != "" {
				t.Fatalf("DLQ body holds %q: %s", w, body)
			}
			var d DeadLetter
			if err := json.Unmarshal(body, &d); err != nil || d.Bytes != len(tc.in) {
				t.Fatalf("body %s does not decode as a DeadLetter of %d bytes: %v", body, len(tc.in), err)
			}
			t.Logf("%s", body)
		})
	}
}

// What a DLQ body keeps of an event that is well-formed but for one field.
func TestDeadLetterKeeps(t *testing.T) {
	ps := keyedID(strings.Repeat("k", 32))
	in := with(`"text":"Great job on the release, thanks all!"`, `"Text":"`+secret+`","extra":1`)
	in = strings.Replace(in, "p_11aa22bb33cc44dd", "jane.doe@corp.example", 1)
	t.Run("producer ids", func(t *testing.T) {
		d := NewDeadLetter([]byte(in), Limits{}, DeadLetterIDs{Hash: ps.ID})
		n := 2
		want := DeadLetter{Bytes: len(in), JSON: true, Schema: "1", EventIDHash: ps.ID("01JD3Q6R8W2K9V7T5N4M3B2A1Z"),
			OccurredAt: "2026-11-23T09:15:02.12Z", Channel: "chat", Consent: d.Consent, Lang: "en",
			Sender: "p_5f2c9a1e0b7d4c38", Recipients: []string{"p_0a9b8c7d6e5f4a3b"}, RecipientCount: &n,
			HasText: true, DroppedFields: 3, DroppedIDs: 1}
		if d.Consent == nil || !*d.Consent || !reflect.DeepEqual(d, want) {
			t.Fatalf("got  %+v\nwant %+v", d, want)
		}
	})
	t.Run("stored ids", func(t *testing.T) {
		d := NewDeadLetter([]byte(in), Limits{}, DeadLetterIDs{Hash: ps.ID, Person: ps.ID})
		if d.Sender != ps.ID("p_5f2c9a1e0b7d4c38") || len(d.Recipients) != 1 || d.Recipients[0] != ps.ID("p_0a9b8c7d6e5f4a3b") {
			t.Fatalf("person ids not in their stored form: %+v", d)
		}
	})
	t.Run("custom pattern", func(t *testing.T) {
		lim := Limits{Pseudonym: MustPseudonymPattern(`jane\.doe@corp\.example`)}
		d := NewDeadLetter([]byte(in), lim, DeadLetterIDs{})
		// The pattern allows the address, the id alphabet does not.
		if d.Sender != "" || len(d.Recipients) != 0 || d.DroppedIDs != 3 || d.EventIDHash != "" {
			t.Fatalf("%+v", d)
		}
	})
}

// keyedID is a keyed hash in privacy.Pseudonymizer's format, which these
// tests cannot import (privacy imports event).
type keyedID string

func (k keyedID) ID(s string) string {
	m := hmac.New(sha256.New, []byte(k))
	m.Write([]byte(s))
	return "h_" + hex.EncodeToString(m.Sum(nil)[:16])
}
