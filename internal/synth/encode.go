package synth

import (
	"strconv"
	"time"
	"unicode/utf8"

	"commpulse/pipeline/event"
)

// TimeLayout is the contract's timestamp format: RFC 3339 in UTC with
// exactly three fractional digits and a 'Z'.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Marshal encodes ev as contract v1 JSON, fields in the order of the design
// document. It is hand-written rather than encoding/json because the
// contract fixes the timestamp format (milliseconds, always three digits,
// UTC) that time.Time's MarshalJSON does not produce, and because the
// generator's throughput is dominated by encoding. Optional fields
// (recipients, thread_id, lang, text) are omitted when empty.
func Marshal(ev event.Event) []byte {
	return AppendEvent(make([]byte, 0, 256+len(ev.Text)+24*len(ev.Recipients)), ev)
}

// AppendEvent appends the encoding of ev (see Marshal) to dst.
func AppendEvent(dst []byte, ev event.Event) []byte {
	dst = append(dst, `{"schema":`...)
	dst = strconv.AppendInt(dst, int64(ev.Schema), 10)
	dst = append(dst, `,"event_id":`...)
	dst = appendString(dst, ev.EventID)
	dst = append(dst, `,"occurred_at":`...)
	dst = appendTime(dst, ev.OccurredAt)
	dst = append(dst, `,"channel":`...)
	dst = appendString(dst, ev.Channel)
	dst = append(dst, `,"sender":`...)
	dst = appendString(dst, ev.Sender)
	if len(ev.Recipients) > 0 {
		dst = append(dst, `,"recipients":[`...)
		for i, rc := range ev.Recipients {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, rc)
		}
		dst = append(dst, ']')
	}
	if ev.ThreadID != "" {
		dst = append(dst, `,"thread_id":`...)
		dst = appendString(dst, ev.ThreadID)
	}
	dst = append(dst, `,"consent":`...)
	dst = strconv.AppendBool(dst, ev.Consent)
	if ev.Lang != "" {
		dst = append(dst, `,"lang":`...)
		dst = appendString(dst, ev.Lang)
	}
	if ev.Text != "" {
		dst = append(dst, `,"text":`...)
		dst = appendString(dst, ev.Text)
	}
	return append(dst, '}')
}

// MarshalDirectory encodes a directory record (value of comms.directory).
func MarshalDirectory(d event.Directory) []byte {
	dst := append(make([]byte, 0, 96), `{"person":`...)
	dst = appendString(dst, d.Person)
	dst = append(dst, `,"team":`...)
	dst = appendString(dst, d.Team)
	dst = append(dst, `,"valid_from":`...)
	dst = appendTime(dst, d.ValidFrom)
	return append(dst, '}')
}

// MarshalConsent encodes a consent record (value of comms.consent).
func MarshalConsent(c event.Consent) []byte {
	dst := append(make([]byte, 0, 80), `{"person":`...)
	dst = appendString(dst, c.Person)
	dst = append(dst, `,"opted_in":`...)
	dst = strconv.AppendBool(dst, c.OptedIn)
	dst = append(dst, `,"at":`...)
	dst = appendTime(dst, c.At)
	return append(dst, '}')
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, TimeLayout)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Like encoding/json it escapes
// quotes, backslashes, control characters, <, >, & and U+2028/U+2029, and
// replaces invalid UTF-8 with U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
