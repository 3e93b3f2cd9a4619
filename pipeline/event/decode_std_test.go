package event

// decodeStd is the encoding/json decoder that Decode replaced, kept as the
// oracle of FuzzDecodeMatchesStdlib: the hand mapping over fastjson must
// keep its semantics (null is absent, the last duplicate wins, the first
// type error or unknown member is reported, names fold).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// stdWire mirrors Event with pointers, so that a missing required field can be
// told apart from its zero value (consent=false is valid, absent is not).
type stdWire struct {
	Schema     json.RawMessage `json:"schema"`
	EventID    *string         `json:"event_id"`
	OccurredAt *string         `json:"occurred_at"`
	Channel    *string         `json:"channel"`
	Sender     *string         `json:"sender"`
	Recipients []string        `json:"recipients"`
	ThreadID   string          `json:"thread_id"`
	Consent    *bool           `json:"consent"`
	Lang       string          `json:"lang"`
	Text       string          `json:"text"`
}

// Decode parses one v1 event strictly: unknown fields, unknown schema
// versions, missing required fields, bad timestamps and person ids outside
// the pseudonym policy are all rejected with a *DecodeError. now is used to reject
// timestamps too far in the future (clock skew beyond Limits.MaxFuture).
//
// Strictness is deliberate: a producer that leaks an e-mail address as a
// pseudonym must be stopped at the door, not cleaned up downstream.
func decodeStd(b []byte, lim Limits, now time.Time) (Event, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return Event{}, reject(ReasonOversize, "%d bytes > limit %d", len(b), lim.MaxBytes)
	}
	if !utf8.Valid(b) {
		return Event{}, reject(ReasonInvalidUTF8, "event is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w stdWire
	if err := dec.Decode(&w); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			// The name is not quoted: a field name can carry text as
			// well as a value can ({"my manager is ...": 1}).
			return Event{}, reject(ReasonUnknownField, "a field outside contract v1")
		}
		return Event{}, reject(ReasonBadJSON, "%s", jsonErrDetail(err))
	}
	if dec.More() {
		return Event{}, reject(ReasonBadJSON, "trailing data after the event object")
	}
	if w.Schema == nil {
		return Event{}, reject(ReasonMissingField, "schema")
	}
	if string(w.Schema) != "1" {
		if c := w.Schema[0]; c != '-' && (c < '0' || c > '9') {
			return Event{}, reject(ReasonBadJSON, "schema must be a number")
		}
		return Event{}, reject(ReasonUnknownSchema, "schema %.20s (this build accepts %d)", string(w.Schema), SchemaVersion)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"event_id", w.EventID}, {"occurred_at", w.OccurredAt}, {"channel", w.Channel}, {"sender", w.Sender}} {
		if f.v == nil || *f.v == "" {
			return Event{}, reject(ReasonMissingField, "%s", f.name)
		}
	}
	if w.Consent == nil {
		return Event{}, reject(ReasonMissingField, "consent")
	}
	ev := Event{
		Schema:   SchemaVersion,
		EventID:  *w.EventID,
		Channel:  *w.Channel,
		Sender:   *w.Sender,
		ThreadID: w.ThreadID,
		Consent:  *w.Consent,
		Lang:     w.Lang,
		Text:     w.Text,
	}
	ts, err := time.Parse(time.RFC3339Nano, *w.OccurredAt)
	if err != nil {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at is not RFC 3339")
	}
	if lim.MaxFuture > 0 && ts.After(now.Add(lim.MaxFuture)) {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at is more than %s in the future", lim.MaxFuture)
	}
	if lim.MaxPast > 0 && ts.Before(now.Add(-lim.MaxPast)) {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at is more than %s in the past", lim.MaxPast)
	}
	if ts.Year() < 2000 {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at before the year 2000")
	}
	ev.OccurredAt = ts.UTC()
	switch ev.Channel {
	case ChannelChat, ChannelEmail, ChannelMeeting:
	default:
		return Event{}, reject(ReasonBadChannel, "channel must be chat, email or meeting")
	}
	if len(w.Recipients) > lim.MaxRecipients {
		return Event{}, reject(ReasonTooManyRecips, "%d recipients > limit %d", len(w.Recipients), lim.MaxRecipients)
	}
	if err := CheckID("event_id", ev.EventID, lim.MaxIDLen); err != nil {
		return Event{}, err
	}
	if err := CheckPersonID("sender", ev.Sender, lim); err != nil {
		return Event{}, err
	}
	if ev.ThreadID != "" {
		if err := CheckID("thread_id", ev.ThreadID, lim.MaxIDLen); err != nil {
			return Event{}, err
		}
	}
	if len(w.Recipients) > 0 {
		ev.Recipients = make([]string, 0, len(w.Recipients))
		seen := make(map[string]struct{}, len(w.Recipients))
		for _, r := range w.Recipients {
			if err := CheckPersonID("recipients", r, lim); err != nil {
				return Event{}, err
			}
			if _, dup := seen[r]; dup || r == ev.Sender {
				continue // a duplicate or self-addressed recipient adds no tie
			}
			seen[r] = struct{}{}
			ev.Recipients = append(ev.Recipients, r)
		}
	}
	if len(ev.Lang) > 16 {
		return Event{}, reject(ReasonBadID, "lang longer than 16 bytes")
	}
	return ev, nil
}

// jsonErrDetail describes a JSON syntax/type error without echoing input.
func jsonErrDetail(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: expected %s", te.Field, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated or empty JSON"
	}
	return "not a JSON object"
}

func TestDecodeMatchesStdlib(t *testing.T) {
	for _, in := range decodeCorpus() {
		checkSameAsStdlib(t, []byte(in))
	}
}

// FuzzDecodeMatchesStdlib: Decode and decodeStd agree on every input: the
// same reason, or the same event. The one allowed difference is stricter
// parsing of what is not valid JSON as a whole (data after the object,
// which encoding/json's Decoder judges or, for a stray "}", ignores).
func FuzzDecodeMatchesStdlib(f *testing.F) {
	for _, in := range decodeCorpus() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkSameAsStdlib(t, b) })
}

func checkSameAsStdlib(t *testing.T, b []byte) {
	t.Helper()
	got, err := Decode(b, Limits{}, now)
	want, stdErr := decodeStd(b, Limits{}, now)
	if !json.Valid(b) {
		// Not one JSON value: encoding/json's Decoder may still read an
		// object off its front (and judge it, or accept it before a stray
		// "}"); Decode rejects the whole as bad JSON, on purpose.
		if ReasonOf(err) != ReasonBadJSON && ReasonOf(err) != ReasonInvalidUTF8 && ReasonOf(err) != ReasonOversize {
			t.Fatalf("%q is not valid JSON: reason %q (%v)", b, ReasonOf(err), err)
		}
		return
	}
	if ReasonOf(err) != ReasonOf(stdErr) {
		t.Fatalf("%q: reason %q (%v), encoding/json %q (%v)", b, ReasonOf(err), err, ReasonOf(stdErr), stdErr)
	}
	if err != nil {
		return
	}
	if bytes.Contains(b, []byte(`\u`)) {
		// encoding/json turns a lone surrogate escape into U+FFFD,
		// fastjson keeps it as written; only text can hold one.
		got.Text, want.Text = "", ""
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got  %+v\n want %+v", b, got, want)
	}
}

func decodeCorpus() []string {
	return []string{
		valid, valid[:50], ``, ` `, `null`, `[]`, `{}`, `"x"`, valid + `}`, valid + ` `, valid + `{}`,
		with(`"schema":1`, `"schema":null`), with(`"schema":1`, `"schema":"1"`), with(`"schema":1`, `"schema":1.0`),
		with(`"schema":1`, `"schema":{}`), with(`"schema":1`, `"schema":-1`), with(`"schema":1`, `"schema":1e400`),
		with(`"text"`, `"TEXT"`), with(`"text"`, `"\u0074ext"`), with(`"sender"`, `"ſender"`),
		with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"sender":null`), with(`"consent":true`, `"consent":null`),
		with(`"consent":true`, `"consent":"yes"`), with(`"consent":true`, `"consent":1`),
		with(`"text":"Great job`, `"text":5,"x":"`), with(`"lang":"en"`, `"lang":"en","mood":1,"consent":"x"`),
		with(`"lang":"en"`, `"lang":"en","consent":"x","mood":1`), with(`"lang":"en"`, `"lang":null`),
		with(`"thread_id":"th_7d1e"`, `"thread_id":null`), with(`"thread_id":"th_7d1e"`, `"thread_id":7`),
		with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `null`),
		with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `[null]`),
		with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `[1]`),
		with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `{}`),
		with(`["p_0a9b8c7d6e5f4a3b","p_11aa22bb33cc44dd"]`, `["p_0a9b8c7d6e5f4a3b","p_0a9b8c7d6e5f4a3b","p_5f2c9a1e0b7d4c38"]`),
		with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"sender":"p_5f2c9a1e0b7d4c38","sender":"p_0a9b8c7d6e5f4a3b"`),
		with(`"sender":"p_5f2c9a1e0b7d4c38"`, `"sender":1,"sender":"p_0a9b8c7d6e5f4a3b"`),
		with(`"channel":"chat"`, `"channel":""`), with(`Great job`, `Great \ud800 job`), with(`Great job`, `Great \n\u00e9 job`),
		with(`"occurred_at":"2026-11-23T09:15:02.120Z"`, `"occurred_at":""`),
		with(`"occurred_at":"2026-11-23T09:15:02.120Z"`, `"occurred_at":null`),
		` ` + valid + "\n", `{"schema":1,"schema":2}`, `{"a":1`, `{"schema":1,}`, `{'schema':1}`,
	}
}

// BenchmarkDecode compares Decode with the encoding/json decoder it
// replaced, on a typical chat event (one op is one event):
//
//	go test ./pipeline/event -run '^$' -bench Decode -benchmem
func BenchmarkDecode(b *testing.B) {
	in := []byte(valid)
	for _, d := range []struct {
		name string
		f    func([]byte, Limits, time.Time) (Event, error)
	}{{"fastjson", Decode}, {"encoding-json", decodeStd}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.f(in, Limits{}, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
