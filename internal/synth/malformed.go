package synth

import (
	"encoding/json"
	"math/rand/v2"

	"commpulse/pipeline/event"
)

// MalformedReason is how a Malformed record breaks the contract. The values
// are the intended rejection reasons; an ingest stage may name its DLQ
// reasons differently, but each of these must be rejected.
type MalformedReason string

const (
	// ReasonTruncated: a proper prefix of a valid event (invalid JSON).
	ReasonTruncated MalformedReason = "truncated_json"
	// ReasonNotJSON: not a JSON object: an empty value, plain text, HTML,
	// binary bytes or a JSON array.
	ReasonNotJSON MalformedReason = "not_json"
	// ReasonMissingField: a required field is absent; Detail names it.
	ReasonMissingField MalformedReason = "missing_field"
	// ReasonBadTimestamp: occurred_at is not RFC 3339 (out of range, no
	// zone, a Unix number, a word).
	ReasonBadTimestamp MalformedReason = "bad_timestamp"
	// ReasonUnknownSchema: schema is not 1.
	ReasonUnknownSchema MalformedReason = "unknown_schema"
	// ReasonBadChannel: channel is not chat, email or meeting.
	ReasonBadChannel MalformedReason = "bad_channel"
	// ReasonWrongType: a field has the wrong JSON type; Detail names it.
	ReasonWrongType MalformedReason = "wrong_type"
	// ReasonPIISender: sender (Detail "sender") or a recipient (Detail
	// "recipient") is an e-mail address, a phone number or a name instead
	// of a pseudonym.
	ReasonPIISender MalformedReason = "pii_identifier"
)

// MalformedReasons lists every reason, in the order the generator picks
// from (uniformly).
var MalformedReasons = []MalformedReason{
	ReasonTruncated, ReasonNotJSON, ReasonMissingField, ReasonBadTimestamp,
	ReasonUnknownSchema, ReasonBadChannel, ReasonWrongType, ReasonPIISender,
}

// RequiredFields are the fields contract v1 requires.
var RequiredFields = []string{"schema", "event_id", "occurred_at", "channel", "sender", "consent"}

var (
	notJSON = [][]byte{
		{},
		[]byte("hello from the legacy bridge"),
		[]byte("<html><body>502 Bad Gateway</body></html>"),
		{0x00, 0x01, 0xfe, 0xff, 0x7b, 0x22},
		[]byte(`[{"schema":1}]`),
	}
	badTimes = []any{
		"2026-13-45T25:61:00Z",
		"2026-11-02 09:15:02",
		"yesterday",
		"2026-11-02T09:15:02",
		1762075502,
		"",
	}
	badChannels = []string{"fax", "sms", "CHAT", ""}
	// Leaked identifiers of the kind the pipeline must refuse. They are
	// fictitious (example.com, an Ofcom drama number, a placeholder name).
	piiIDs = []string{
		"jane.doe@example.com",
		"ops-team@example.com",
		"+44 7700 900123",
		"+1-202-555-0143",
		"Jane Doe",
		"John Smith",
	}
)

// malform turns ev into bytes that break the contract, choosing a reason
// uniformly.
func malform(r *rand.Rand, ev event.Event) ([]byte, MalformedReason, string) {
	reason := pick(r, MalformedReasons)
	switch reason {
	case ReasonTruncated:
		b := Marshal(ev)
		return b[:1+r.IntN(len(b)-1)], reason, ""
	case ReasonNotJSON:
		return append([]byte(nil), pick(r, notJSON)...), reason, ""
	}
	m := fieldMap(ev)
	detail := ""
	switch reason {
	case ReasonMissingField:
		detail = pick(r, RequiredFields)
		delete(m, detail)
	case ReasonBadTimestamp:
		m["occurred_at"] = pick(r, badTimes)
	case ReasonUnknownSchema:
		m["schema"] = pick(r, []int{0, 2, 99})
	case ReasonBadChannel:
		m["channel"] = pick(r, badChannels)
	case ReasonWrongType:
		detail = pick(r, []string{"consent", "schema", "recipients", "occurred_at"})
		switch detail {
		case "consent":
			m["consent"] = "yes"
		case "schema":
			m["schema"] = "1"
		case "recipients":
			m["recipients"] = ev.Recipients[0]
		case "occurred_at":
			m["occurred_at"] = map[string]any{"seconds": ev.OccurredAt.Unix()}
		}
	case ReasonPIISender:
		if r.IntN(3) == 0 {
			detail = "recipient"
			rec := append([]string(nil), ev.Recipients...)
			rec[r.IntN(len(rec))] = pick(r, piiIDs)
			m["recipients"] = rec
		} else {
			detail = "sender"
			m["sender"] = pick(r, piiIDs)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("synth: encode malformed event: " + err.Error()) // only plain values in m
	}
	return b, reason, detail
}

// fieldMap is ev as a generic JSON object, ready to be broken.
func fieldMap(ev event.Event) map[string]any {
	m := map[string]any{
		"schema":      ev.Schema,
		"event_id":    ev.EventID,
		"occurred_at": ev.OccurredAt.UTC().Format(TimeLayout),
		"channel":     ev.Channel,
		"sender":      ev.Sender,
		"recipients":  ev.Recipients,
		"consent":     ev.Consent,
	}
	if ev.ThreadID != "" {
		m["thread_id"] = ev.ThreadID
	}
	if ev.Lang != "" {
		m["lang"] = ev.Lang
	}
	if ev.Text != "" {
		m["text"] = ev.Text
	}
	return m
}
