package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
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

// wire mirrors Event with pointers, so that a missing required field can be
// told apart from its zero value (consent=false is valid, absent is not).
type wire struct {
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
func Decode(b []byte, lim Limits, now time.Time) (Event, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxBytes {
		return Event{}, reject(ReasonOversize, "%d bytes > limit %d", len(b), lim.MaxBytes)
	}
	if !utf8.Valid(b) {
		return Event{}, reject(ReasonInvalidUTF8, "event is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wire
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

// idChars is the alphabet of every id: opaque tokens, no spaces.
var idChars = regexp.MustCompile(`^[A-Za-z0-9_\-:.]+$`)

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
	if !idChars.MatchString(id) {
		return reject(ReasonBadID, "%s: ids may only hold letters, digits and _-:.", field)
	}
	return nil
}
