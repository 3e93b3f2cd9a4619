package event

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// Redacted replaces every removed value in a DLQ body.
const Redacted = "[redacted]"

var emailLike = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+`)

// Redact returns a copy of a rejected event that is safe to keep in the
// dead-letter queue: the text is replaced by Redacted, and so is every
// person id that looks like personal data (the reason the event may have
// been rejected in the first place).
//
// Events that are valid JSON objects are re-encoded with those fields
// replaced. Bytes that are not (truncated, garbage) are scanned: the value
// of every "text" key is blanked up to its closing quote or the end of the
// input, and anything shaped like an e-mail address is blanked. This is
// best effort by nature, which is why the DLQ is itself short-retention,
// access-controlled storage (docs/security.md).
func Redact(raw []byte) []byte {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil && obj != nil {
		if _, ok := obj["text"]; ok {
			obj["text"] = Redacted
		}
		if s, ok := obj["sender"].(string); ok && piiID(s) {
			obj["sender"] = Redacted
		}
		if rs, ok := obj["recipients"].([]any); ok {
			for i, r := range rs {
				if s, ok := r.(string); ok && piiID(s) {
					rs[i] = Redacted
				}
			}
		}
		out, err := json.Marshal(obj)
		if err == nil {
			return out
		}
	}
	return emailLike.ReplaceAll(redactTextValues(raw), []byte(Redacted))
}

func piiID(id string) bool {
	return ReasonOf(CheckID("id", id, 0, true)) == ReasonPIIID
}

// redactTextValues blanks the string value of every "text" key in b, which
// need not be valid JSON.
func redactTextValues(b []byte) []byte {
	key := []byte(`"text"`)
	var out bytes.Buffer
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			out.Write(b)
			return out.Bytes()
		}
		j := i + len(key)
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j++
		}
		if j >= len(b) || b[j] != ':' {
			// Not a key. Its closing quote may open the next one
			// ("text"text":"...), so the search resumes on that quote.
			out.Write(b[:i+len(key)-1])
			b = b[i+len(key)-1:]
			continue
		}
		j++
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j++
		}
		if j >= len(b) || b[j] != '"' {
			out.Write(b[:j])
			b = b[j:]
			continue
		}
		out.Write(b[:j+1])
		out.WriteString(Redacted)
		k := j + 1
		for k < len(b) && b[k] != '"' {
			if b[k] == '\\' {
				k++
			}
			k++
		}
		if k >= len(b) {
			out.WriteByte('"')
			return out.Bytes()
		}
		b = b[k:] // keep the closing quote
	}
}
