package event

import (
	"bytes"
	"encoding/json"
	"regexp"
	"time"
)

// DeadLetter is the body of a comms.dlq record: what is kept of a rejected
// event. It is built by allow-list, not by redaction: a field is kept only
// when its value has a fixed format that cannot carry message text or a
// person's identity, and everything else (text, unknown and nested fields,
// thread ids, ids outside the pseudonym policy) is dropped and only counted.
//
// The trade-off is debuggability: an operator sees which contract fields
// were there and well-formed, the reason and detail headers say what was
// wrong, and the source header locates the original record in comms.events
// for as long as that topic keeps it. What the DLQ cannot do is replay an
// event, and that is deliberate.
type DeadLetter struct {
	Bytes int  `json:"bytes"` // size of the rejected record value
	JSON  bool `json:"json"`  // the value parsed as a JSON object (nothing else is kept otherwise)

	Schema json.Number `json:"schema,omitempty"`
	// EventIDHash is a keyed hash of event_id: event ids are free-form
	// under the contract ("manager-is-bullying-me-1" is a valid one), so
	// only a hash is kept. It is stable for one key, which links the
	// redeliveries of one event.
	EventIDHash    string   `json:"event_id_hash,omitempty"`
	OccurredAt     string   `json:"occurred_at,omitempty"` // re-formatted, UTC, only when RFC 3339
	Channel        string   `json:"channel,omitempty"`     // only chat, email or meeting
	Consent        *bool    `json:"consent,omitempty"`
	Lang           string   `json:"lang,omitempty"`            // only when shaped like a language tag
	Sender         string   `json:"sender,omitempty"`          // only a valid pseudonym, in its stored form
	Recipients     []string `json:"recipients,omitempty"`      // the first MaxDeadLetterRecipients valid pseudonyms, stored form
	RecipientCount *int     `json:"recipient_count,omitempty"` // all of them, kept or not
	HasText        bool     `json:"has_text,omitempty"`        // a text value was present (and dropped)
	DroppedFields  int      `json:"dropped_fields,omitempty"`  // top-level fields not kept
	DroppedIDs     int      `json:"dropped_ids,omitempty"`     // person ids not kept (outside the policy)
}

// MaxDeadLetterRecipients bounds the recipients a DLQ body lists, so that a
// record with thousands of them (too_many_recipients) stays small; the
// count is kept whole.
const MaxDeadLetterRecipients = 100

// DeadLetterIDs maps the ids a DLQ body keeps.
type DeadLetterIDs struct {
	// Hash is a keyed one-way hash (privacy.Pseudonymizer.ID) for event
	// ids. nil drops them.
	Hash func(string) string
	// Person maps a valid pseudonym to the form it is stored in (the
	// ingest's re-keying), so that the DLQ never links a producer
	// pseudonym to a stored id. nil keeps it unchanged.
	Person func(string) string
}

// probe has the fields of wire, every one as raw JSON: unmarshalling into it
// finds each contract field exactly the way Decode does (encoding/json's
// name matching: case-insensitive with Unicode folding, so "TEXT" and
// "ſender" match; escapes decoded; the last duplicate wins), without
// failing on a value of the wrong type. TestProbeMirrorsWire keeps the two
// field lists equal.
type probe struct {
	Schema     json.RawMessage `json:"schema"`
	EventID    json.RawMessage `json:"event_id"`
	OccurredAt json.RawMessage `json:"occurred_at"`
	Channel    json.RawMessage `json:"channel"`
	Sender     json.RawMessage `json:"sender"`
	Recipients json.RawMessage `json:"recipients"`
	ThreadID   json.RawMessage `json:"thread_id"`
	Consent    json.RawMessage `json:"consent"`
	Lang       json.RawMessage `json:"lang"`
	Text       json.RawMessage `json:"text"`
}

var (
	jsonNumber = regexp.MustCompile(`^-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][+\-]?[0-9]{1,4})?$`)
	langTag    = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$`)
)

// NewDeadLetter builds the DLQ body of a rejected record value (see
// DeadLetter). Values that are not one JSON object, and values larger than
// lim.MaxBytes (they are not parsed at all), keep nothing but their size:
// nothing in bytes the decoder could not read can be proven safe.
func NewDeadLetter(raw []byte, lim Limits, ids DeadLetterIDs) DeadLetter {
	lim = lim.withDefaults()
	d := DeadLetter{Bytes: len(raw)}
	if len(raw) > lim.MaxBytes || !isObject(raw) {
		return d
	}
	var p probe
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &p) != nil || json.Unmarshal(raw, &members) != nil {
		return d
	}
	d.JSON = true
	kept := 0 // thread_id and text are never kept
	if s := string(p.Schema); jsonNumber.MatchString(s) {
		d.Schema = json.Number(s)
		kept++
	}
	if id, ok := str(p.EventID); ok && ids.Hash != nil {
		d.EventIDHash = ids.Hash(id)
		kept++
	}
	if s, ok := str(p.OccurredAt); ok {
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			d.OccurredAt = ts.UTC().Format(time.RFC3339Nano)
			kept++
		}
	}
	if s, ok := str(p.Channel); ok && (s == ChannelChat || s == ChannelEmail || s == ChannelMeeting) {
		d.Channel = s
		kept++
	}
	var consent bool
	if p.Consent != nil && json.Unmarshal(p.Consent, &consent) == nil && !isNull(p.Consent) {
		d.Consent = &consent
		kept++
	}
	if s, ok := str(p.Lang); ok && len(s) <= 16 && langTag.MatchString(s) {
		d.Lang = s
		kept++
	}
	person := func(id string) string {
		if ids.Person != nil {
			return ids.Person(id)
		}
		return id
	}
	if p.Sender != nil {
		if s, ok := str(p.Sender); ok && IsPseudonym(s, lim) {
			d.Sender = person(s)
			kept++
		} else {
			d.DroppedIDs++
		}
	}
	var recips []json.RawMessage
	if p.Recipients != nil && json.Unmarshal(p.Recipients, &recips) == nil && !isNull(p.Recipients) {
		n := len(recips)
		d.RecipientCount = &n
		for _, r := range recips {
			if s, ok := str(r); ok && IsPseudonym(s, lim) {
				if len(d.Recipients) < MaxDeadLetterRecipients {
					d.Recipients = append(d.Recipients, person(s))
				}
			} else {
				d.DroppedIDs++
			}
		}
		kept++
	}
	d.HasText = p.Text != nil && !isNull(p.Text)
	d.DroppedFields = max(0, len(members)-kept)
	return d
}

// DeadLetterBody is NewDeadLetter encoded as JSON.
func DeadLetterBody(raw []byte, lim Limits, ids DeadLetterIDs) []byte {
	b, err := json.Marshal(NewDeadLetter(raw, lim, ids))
	if err != nil {
		// Only plain values in DeadLetter: cannot happen. Keep nothing.
		return []byte(`{}`)
	}
	return b
}

// str returns the value of a JSON string.
func str(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// isObject reports whether raw starts (after white space) with '{'.
func isObject(raw []byte) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}
