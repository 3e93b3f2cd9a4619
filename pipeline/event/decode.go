package event

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Reason is the machine-readable cause of a rejected event. It is used as
// the DLQ header value and as the value of the "reason" metric label, so the
// set is small and fixed.
type Reason string

const (
	ReasonOversize      Reason = "oversize"
	ReasonBadJSON       Reason = "bad_json"
	ReasonInvalidUTF8   Reason = "invalid_utf8"
	ReasonUnknownSchema Reason = "unknown_schema"
	ReasonUnknownField  Reason = "unknown_field"
	ReasonMissingField  Reason = "missing_field"
	ReasonBadTimestamp  Reason = "bad_timestamp"
	ReasonBadChannel    Reason = "bad_channel"
	ReasonBadID         Reason = "bad_id"
	ReasonPIIID         Reason = "pii_id"
	// ReasonNotPseudonym: a person id outside the pseudonym policy
	// (Limits.Pseudonym) that does not otherwise look like personal data.
	ReasonNotPseudonym  Reason = "not_pseudonym"
	ReasonTooManyRecips Reason = "too_many_recipients"
)

// Reasons lists every Reason, for pre-initialising metric label values.
var Reasons = []Reason{
	ReasonOversize, ReasonBadJSON, ReasonInvalidUTF8, ReasonUnknownSchema,
	ReasonUnknownField, ReasonMissingField, ReasonBadTimestamp, ReasonBadChannel,
	ReasonBadID, ReasonPIIID, ReasonNotPseudonym, ReasonTooManyRecips,
}

// DecodeError is returned for any event that breaks the contract. Detail
// never contains message text; it may name a field.
type DecodeError struct {
	Reason Reason
	Detail string
}

func (e *DecodeError) Error() string {
	if e.Detail == "" {
		return "invalid event: " + string(e.Reason)
	}
	return "invalid event: " + string(e.Reason) + ": " + e.Detail
}

func reject(r Reason, format string, args ...any) error {
	return &DecodeError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of a decode error, or "" if err is not one.
func ReasonOf(err error) Reason {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

// Limits bounds what the decoder accepts. The zero value means DefaultLimits.
type Limits struct {
	MaxBytes      int           // whole encoded event
	MaxRecipients int           // recipients per event
	MaxIDLen      int           // any id field
	MaxFuture     time.Duration // occurred_at may be at most this far ahead of now
	MaxPast       time.Duration // and at most this far behind now (0: no limit)
	// Pseudonym is the person-id policy: sender and recipients must match
	// it entirely (see CheckPersonID). nil: DefaultPseudonym.
	Pseudonym *regexp.Regexp
}

// DefaultLimits are generous for chat and e-mail and small enough that one
// hostile event cannot hurt the pipeline.
var DefaultLimits = Limits{
	MaxBytes:      256 << 10,
	MaxRecipients: 1000,
	MaxIDLen:      128,
	MaxFuture:     24 * time.Hour,
	MaxPast:       0,
	Pseudonym:     DefaultPseudonym,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxRecipients > 0 {
		d.MaxRecipients = l.MaxRecipients
	}
	if l.MaxIDLen > 0 {
		d.MaxIDLen = l.MaxIDLen
	}
	if l.MaxFuture > 0 {
		d.MaxFuture = l.MaxFuture
	}
	if l.MaxPast > 0 {
		d.MaxPast = l.MaxPast
	}
	if l.Pseudonym != nil {
		d.Pseudonym = l.Pseudonym
	}
	return d
}

// fields are the names of contract v1, in the order fieldIndex returns.
var fields = [...]string{"schema", "event_id", "occurred_at", "channel", "sender", "recipients", "thread_id", "consent", "lang", "text"}

const (
	fSchema = iota
	fEventID
	fOccurredAt
	fChannel
	fSender
	fRecipients
	fThreadID
	fConsent
	fLang
	fText
)

// fieldIndex maps a member name to its field, or -1. Names match as
// encoding/json matches them to struct fields, exactly or else by Unicode
// case folding ("TEXT", "ſender"): the DLQ's allow-list (redact.go) folds
// the same way, so a folded name can neither smuggle text past the decoder
// nor past the DLQ.
func fieldIndex(name []byte) int {
	for i, f := range fields {
		if string(name) == f {
			return i
		}
	}
	for i, f := range fields {
		if bytes.EqualFold(name, []byte(f)) {
			return i
		}
	}
	return -1
}

// parsers are reused: a parser keeps its buffers between events.
var parsers fastjson.ParserPool

// Decode parses one v1 event strictly: unknown fields, unknown schema
// versions, missing required fields, bad timestamps and person ids outside
// the pseudonym policy are all rejected with a *DecodeError. now is used to reject
// timestamps too far in the future (clock skew beyond Limits.MaxFuture).
//
// Strictness is deliberate: a producer that leaks an e-mail address as a
// pseudonym must be stopped at the door, not cleaned up downstream.
//
// The JSON is validated (RFC 8259) and parsed by valyala/fastjson, and the
// members are mapped by hand: this is the hottest code of ingest, and
// encoding/json's reflection and two passes cost about four times as much.
// The mapping keeps encoding/json's semantics (FuzzDecodeMatchesStdlib
// checks them against it): null means absent, the last of duplicate
// members wins, the first type error or unknown member in document order is
// the one reported. The one difference is deliberate: encoding/json's
// Decoder accepts a stray "}" or "]" after the object, this does not.
func Decode(b []byte, lim Limits, now time.Time) (Event, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return Event{}, reject(ReasonOversize, "%d bytes > limit %d", len(b), lim.MaxBytes)
	}
	if !utf8.Valid(b) {
		return Event{}, reject(ReasonInvalidUTF8, "event is not valid UTF-8")
	}
	// fastjson's messages quote the input: never pass them on.
	if err := fastjson.ValidateBytes(b); err != nil {
		if len(bytes.TrimSpace(b)) == 0 {
			return Event{}, reject(ReasonBadJSON, "truncated or empty JSON")
		}
		return Event{}, reject(ReasonBadJSON, "not valid JSON")
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return Event{}, reject(ReasonBadJSON, "not valid JSON")
	}
	o, err := v.Object()
	if err != nil && v.Type() != fastjson.TypeNull { // null: an empty event, as encoding/json reads it
		return Event{}, reject(ReasonBadJSON, "not a JSON object")
	}
	var (
		w       Event
		schema  []byte
		have    [len(fields)]bool
		first   error // the first type error or unknown member
		recips  []*fastjson.Value
		consent bool
		ts      string
	)
	typeErr := func(f int, want string) {
		if first == nil {
			first = reject(ReasonBadJSON, "field %s: expected %s", fields[f], want)
		}
	}
	str := func(f int, v *fastjson.Value) (string, bool) {
		sb, err := v.StringBytes()
		if err != nil {
			typeErr(f, "string")
			return "", false
		}
		return string(sb), true
	}
	if o == nil {
		o = new(fastjson.Object)
	}
	o.Visit(func(key []byte, v *fastjson.Value) {
		f := fieldIndex(key)
		if f < 0 {
			if first == nil {
				// The name is not quoted: a field name can carry text as
				// well as a value can ({"my manager is ...": 1}).
				first = reject(ReasonUnknownField, "a field outside contract v1")
			}
			return
		}
		if v.Type() == fastjson.TypeNull {
			if f == fSchema {
				schema, have[f] = []byte("null"), true
			}
			return // null leaves the field as it was, as encoding/json does
		}
		switch f {
		case fSchema:
			schema, have[f] = v.MarshalTo(schema[:0]), true
		case fConsent:
			c, err := v.Bool()
			if err != nil {
				typeErr(f, "bool")
				return
			}
			consent, have[f] = c, true
		case fRecipients:
			a, err := v.Array()
			if err != nil {
				typeErr(f, "array of strings")
				return
			}
			for _, e := range a {
				if t := e.Type(); t != fastjson.TypeString && t != fastjson.TypeNull {
					typeErr(f, "string")
				}
			}
			recips, have[f] = a, true
		default:
			s, ok := str(f, v)
			if !ok {
				return
			}
			have[f] = true
			switch f {
			case fEventID:
				w.EventID = s
			case fOccurredAt:
				ts = s
			case fChannel:
				w.Channel = s
			case fSender:
				w.Sender = s
			case fThreadID:
				w.ThreadID = s
			case fLang:
				w.Lang = s
			case fText:
				w.Text = s
			}
		}
	})
	if first != nil {
		return Event{}, first
	}
	if !have[fSchema] {
		return Event{}, reject(ReasonMissingField, "schema")
	}
	if string(schema) != "1" {
		if c := schema[0]; c != '-' && (c < '0' || c > '9') {
			return Event{}, reject(ReasonBadJSON, "schema must be a number")
		}
		return Event{}, reject(ReasonUnknownSchema, "schema %.20s (this build accepts %d)", string(schema), SchemaVersion)
	}
	for _, f := range []int{fEventID, fOccurredAt, fChannel, fSender} {
		if !have[f] || (f == fOccurredAt && ts == "") || (f != fOccurredAt && w.field(f) == "") {
			return Event{}, reject(ReasonMissingField, "%s", fields[f])
		}
	}
	if !have[fConsent] {
		return Event{}, reject(ReasonMissingField, "consent")
	}
	ev := Event{
		Schema:   SchemaVersion,
		EventID:  w.EventID,
		Channel:  w.Channel,
		Sender:   w.Sender,
		ThreadID: w.ThreadID,
		Consent:  consent,
		Lang:     w.Lang,
		Text:     w.Text,
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at is not RFC 3339")
	}
	if lim.MaxFuture > 0 && t.After(now.Add(lim.MaxFuture)) {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at is more than %s in the future", lim.MaxFuture)
	}
	if lim.MaxPast > 0 && t.Before(now.Add(-lim.MaxPast)) {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at is more than %s in the past", lim.MaxPast)
	}
	if t.Year() < 2000 {
		return Event{}, reject(ReasonBadTimestamp, "occurred_at before the year 2000")
	}
	ev.OccurredAt = t.UTC()
	switch ev.Channel {
	case ChannelChat, ChannelEmail, ChannelMeeting:
	default:
		return Event{}, reject(ReasonBadChannel, "channel must be chat, email or meeting")
	}
	if len(recips) > lim.MaxRecipients {
		return Event{}, reject(ReasonTooManyRecips, "%d recipients > limit %d", len(recips), lim.MaxRecipients)
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
	if len(recips) > 0 {
		ev.Recipients = make([]string, 0, len(recips))
		var seen map[string]struct{} // for long lists only; short ones are scanned
		if len(recips) > 16 {
			seen = make(map[string]struct{}, len(recips))
		}
		for _, e := range recips {
			sb, _ := e.StringBytes() // null: "", as encoding/json leaves it
			r := string(sb)
			if err := CheckPersonID("recipients", r, lim); err != nil {
				return Event{}, err
			}
			dup := false
			if seen != nil {
				_, dup = seen[r]
				seen[r] = struct{}{}
			} else {
				dup = slices.Contains(ev.Recipients, r)
			}
			if dup || r == ev.Sender {
				continue // a duplicate or self-addressed recipient adds no tie
			}
			ev.Recipients = append(ev.Recipients, r)
		}
	}
	if len(ev.Lang) > 16 {
		return Event{}, reject(ReasonBadID, "lang longer than 16 bytes")
	}
	return ev, nil
}

// field returns one of the string fields by index.
func (e *Event) field(f int) string {
	switch f {
	case fEventID:
		return e.EventID
	case fChannel:
		return e.Channel
	case fSender:
		return e.Sender
	}
	return ""
}

// isIDChar is the alphabet of every id: opaque tokens, no spaces
// ([A-Za-z0-9_\-:.]).
func isIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.'
}

// CheckID validates an id that is not a person's (event_id, thread_id):
// non-empty, at most maxLen bytes (0: no limit), of the id alphabet. Person
// ids go through CheckPersonID, which adds the pseudonym policy.
func CheckID(field, id string, maxLen int) error {
	if id == "" {
		return reject(ReasonBadID, "%s: empty id", field)
	}
	if maxLen > 0 && len(id) > maxLen {
		return reject(ReasonBadID, "%s: id longer than %d bytes", field, maxLen)
	}
	for i := 0; i < len(id); i++ {
		if !isIDChar(id[i]) {
			return reject(ReasonBadID, "%s: ids may only hold letters, digits and _-:.", field)
		}
	}
	return nil
}
