package importer

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// emailLike finds anything shaped like an e-mail address in body text.
var emailLike = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// Names is a set of name words to redact from text: every word (a run of
// letters and digits) of three letters or more of the names it was built
// from, lower-cased. Build it once for a fixed list of people (a
// workspace's users) or per message (its participants' display names).
type Names map[string]bool

// NewNames returns the words of names.
func NewNames(names ...string) Names {
	set := Names{}
	set.Add(names...)
	return set
}

// Add adds the words of names.
func (set Names) Add(names ...string) {
	for _, n := range names {
		eachWord(n, func(i, j int) {
			if w := n[i:j]; utf8.RuneCountInString(w) >= 3 {
				set[strings.ToLower(w)] = true
			}
		})
	}
}

// Redact removes from text every e-mail address ("[email]") and every word
// of the display names of the message's participants ("[name]"), matched
// case-insensitively as whole words (runs of letters and digits) of three
// letters or more. It is the last line of defence: the text is only ever
// scored in memory, but it does travel through Kafka. Names are matched by
// a word scan, not a regexp per message (that cost more than everything
// else of an import).
func Redact(text string, names []string) string { return NewNames(names...).Redact(text) }

// Redact is Redact with a prepared set of names.
func (set Names) Redact(text string) string {
	if strings.IndexByte(text, '@') >= 0 {
		text = emailLike.ReplaceAllString(text, "[email]")
	}
	if len(set) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	eachWord(text, func(i, j int) {
		if set[strings.ToLower(text[i:j])] {
			b.WriteString(text[last:i])
			b.WriteString("[name]")
			last = j
		}
	})
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// eachWord calls fn with the byte bounds of every maximal run of letters
// and digits in s.
func eachWord(s string, fn func(i, j int)) {
	start := -1
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			fn(start, i)
			start = -1
		}
	}
	if start >= 0 {
		fn(start, len(s))
	}
}
