package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const valid = `{"schema":1,"event_id":"01JD3Q6R8W2K9V7T5N4M3B2A1Z","occurred_at":"2026-11-23T09:15:02.120Z",` +
	`"channel":"chat","sender":"p_5f2c9a1e0b7d4c38","recipients":["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"],` +
	`"thread_id":"th_7d1e","consent":true,"lang":"en","text":"Great job on the release, thanks all!"}`

// with replaces the first occurrence of old in the valid event.
func with(old, new string) string { return strings.Replace(valid, old, new, 1) }

func TestDecodeValid(t *testing.T) {
	ev, err := Decode([]byte(valid), Limits{}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 23, 9, 15, 2, 120e6, time.UTC)
	if !ev.OccurredAt.Equal(want) || ev.Sender != "p_5f2c9a1e0b7d4c38" || len(ev.Recipients) != 2 ||
		!ev.Consent || ev.Text == "" || ev.Channel != "chat" || ev.ThreadID != "th_7d1e" {
		t.Fatalf("decoded %+v", ev)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Reason
	}{
		{"truncated", valid[:60], ReasonBadJSON},
		{"empty", ``, ReasonBadJSON},
		{"array", `[1,2]`, ReasonBadJSON},
		{"trailing", valid + `{}`, ReasonBadJSON},
		{"invalid utf8", with("Great", "Gr\xffeat"), ReasonInvalidUTF8},
		{"schema 2", with(`"schema":1`, `"schema":2`), ReasonUnknownSchema},
		{"schema string", with(`"schema":1`, `"schema":"1"`), ReasonBadJSON},
		{"schema NaN-ish", with(`"schema":1`, `"schema":1e400`), ReasonUnknownSchema},
		{"no schema", with(`"schema":1,`, ``), ReasonMissingField},
		{"no event_id", with(`"event_id":"01JD3Q6R8W2K9V7T5N4M3B2A1Z",`, ``), ReasonMissingField},
		{"empty sender", with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"sender":""`), ReasonMissingField},
		{"no consent", with(`,"consent":true`, ``), ReasonMissingField},
		{"unknown field", with(`"lang":"en"`, `"lang":"en","mood":"sad"`), ReasonUnknownField},
		{"bad timestamp", with(`2026-11-23T09:15:02.120Z`, `yesterday`), ReasonBadTimestamp},
		{"no zone", with(`2026-11-23T09:15:02.120Z`, `2026-11-23T09:15:02`), ReasonBadTimestamp},
		{"far future", with(`2026-11-23T09:15:02.120Z`, `2031-01-01T00:00:00Z`), ReasonBadTimestamp},
		{"ancient", with(`2026-11-23T09:15:02.120Z`, `1970-01-01T00:00:00Z`), ReasonBadTimestamp},
		{"channel", with(`"channel":"chat"`, `"channel":"sms"`), ReasonBadChannel},
		{"email sender", with(`p_5f2c9a1e0b7d4c38`, `jane.doe@example.com`), ReasonPIIID},
		{"phone sender", with(`p_5f2c9a1e0b7d4c38`, `+44 20 7946 0958`), ReasonPIIID},
		{"phone digits", with(`p_5f2c9a1e0b7d4c38`, `5551234567`), ReasonPIIID},
		{"name sender", with(`p_5f2c9a1e0b7d4c38`, `John Smith`), ReasonPIIID},
		{"dotted name", with(`p_5f2c9a1e0b7d4c38`, `john.smith`), ReasonPIIID},
		{"email recipient", with(`p_0a9b8c7d6e5f4a3b`, `bob@corp.example`), ReasonPIIID},
		{"login sender", with(`p_5f2c9a1e0b7d4c38`, `jsmith`), ReasonNotPseudonym},
		{"employee number recipient", with(`p_0a9b8c7d6e5f4a3b`, `E12345`), ReasonNotPseudonym},
		{"unicode name sender", with(`p_5f2c9a1e0b7d4c38`, `Jürgen`), ReasonPIIID},
		{"folded sender key", with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"SENDER":"jane.doe@example.com"`), ReasonPIIID},
		{"id charset", with(`th_7d1e`, `th/7d1e`), ReasonBadID},
		{"long id", with(`th_7d1e`, strings.Repeat("x", 200)), ReasonBadID},
		{"recipients type", with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `"p_0a9b8c7d6e5f4a3b"`), ReasonBadJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in), Limits{}, now)
			if got := ReasonOf(err); got != tc.want {
				t.Fatalf("reason = %q (err %v), want %q", got, err, tc.want)
			}
			for _, leak := range []string{"Great job", "mood", "sad", "jane", "Jürgen"} {
				if err != nil && strings.Contains(err.Error(), leak) {
					t.Fatalf("error message quotes the input (%q): %v", leak, err)
				}
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	big := with("Great job", strings.Repeat("a", 300<<10))
	if r := ReasonOf(decodeErr(big, Limits{})); r != ReasonOversize {
		t.Fatalf("oversize: got %q", r)
	}
	if err := decodeErr(big, Limits{MaxBytes: 1 << 20}); err != nil {
		t.Fatalf("raised limit: %v", err)
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf(`"p_%016x"`, i+1)
	}
	in := with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, "["+strings.Join(many, ",")+"]")
	if r := ReasonOf(decodeErr(in, Limits{MaxBytes: 1 << 20})); r != ReasonTooManyRecips {
		t.Fatalf("recipients: got %q", r)
	}
}

func decodeErr(s string, l Limits) error { _, err := Decode([]byte(s), l, now); return err }

func TestDecodeNormalises(t *testing.T) {
	in := with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `["p_0a9b8c7d6e5f4a3b","p_0a9b8c7d6e5f4a3b","p_5f2c9a1e0b7d4c38"]`)
	in = strings.Replace(in, "2026-11-23T09:15:02.120Z", "2026-11-23T10:15:02.120+01:00", 1)
	ev, err := Decode([]byte(in), Limits{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Recipients) != 1 {
		t.Errorf("recipients = %v, want duplicates and self removed", ev.Recipients)
	}
	if ev.OccurredAt.Location() != time.UTC || ev.OccurredAt.Hour() != 9 {
		t.Errorf("occurred_at = %v, want 09:15 UTC", ev.OccurredAt)
	}
	noText := with(`,"text":"Great job on the release, thanks all!"`, ``)
	if ev, err := Decode([]byte(noText), Limits{}, now); err != nil || ev.Text != "" {
		t.Errorf("event without text: %v %+v", err, ev)
	}
	optOut := with(`"consent":true`, `"consent":false`)
	if ev, err := Decode([]byte(optOut), Limits{}, now); err != nil || ev.Consent {
		t.Errorf("consent false must decode (the gate drops it): %v", err)
	}
}

// FuzzDecode: the decoder never panics and types every error, and the DLQ
// body of any input does not depend on its text: for a valid JSON object,
// overwriting the value of every member the decoder reads as "text" (in
// any case) with x's of the same length leaves the body and the error
// byte for byte the same. The body's alphabet also excludes white space
// and non-ASCII, so no sentence or name fits in it.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(valid[:50]))
	f.Add([]byte(`{"schema":1}`))
	f.Add([]byte(with(`p_5f2c9a1e0b7d4c38`, `a@b.c`)))
	f.Add([]byte(with(`"text"`, `"TEXT"`)))
	f.Add([]byte(with(`"text"`, `"\u0074ext"`)))
	f.Add([]byte(with(`"lang":"en"`, `"lang":"en","meta":{"text":"my manager is bullying me"}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Decode(b, Limits{}, now)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
		} else if ev.EventID == "" || ev.Sender == "" || ev.OccurredAt.IsZero() {
			t.Fatalf("accepted an event without required fields: %+v", ev)
		}
		ids := DeadLetterIDs{Hash: func(s string) string { return fmt.Sprintf("h_%016x", len(s)) }}
		body := DeadLetterBody(b, Limits{}, ids)
		for _, c := range body {
			if c <= ' ' || c >= 0x7f || c == '\\' {
				t.Fatalf("DLQ body holds byte %q: %s", c, body)
			}
		}
		blank, n := blankText(b)
		if n == 0 {
			return
		}
		if got := DeadLetterBody(blank, Limits{}, ids); !bytes.Equal(got, body) {
			t.Fatalf("DLQ body depends on the text:\n %q -> %s\n %q -> %s", b, body, blank, got)
		}
		if _, err2 := Decode(blank, Limits{}, now); fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("decode error depends on the text: %v vs %v", err, err2)
		}
	})
}

// blankText returns b with the string value of every top-level member whose
// name encoding/json matches to "text" overwritten by x's of the same byte
// length, and how many were overwritten; 0 if b is not one valid UTF-8 JSON
// object.
func blankText(b []byte) ([]byte, int) {
	if !utf8.Valid(b) || !json.Valid(b) {
		return nil, 0
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, 0
	}
	out := append([]byte(nil), b...)
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, 0
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, 0
		}
		end := dec.InputOffset()
		name, _ := tok.(string)
		if !strings.EqualFold(name, "text") || len(v) < 2 || v[0] != '"' {
			continue
		}
		// The value is the len(v) bytes before end: Decode stops right after it.
		for i := end - int64(len(v)) + 1; i < end-1; i++ {
			out[i] = 'x'
		}
		n++
	}
	return out, n
}
