package mail

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StripReply returns only what the sender wrote in this message: quoted
// replies, forwarded blocks and the signature are removed. The rules, in
// order of the lines:
//   - a line starting with '>' (after optional white space) is quoted and
//     dropped wherever it is;
//   - everything from the first line that opens quoted or forwarded
//     history is dropped: "On ... wrote:" (also split over two lines, and
//     the German "Am ... schrieb ...:" and French "Le ... a écrit :"),
//     "-----Original Message-----", "---------- Forwarded message ---------",
//     "Begin forwarded message:", and an Outlook header block (a "From:"
//     line followed within four lines by "Sent:" or "Date:", optionally
//     after a line of underscores);
//   - everything from a signature delimiter ("-- " or "--" alone on a line)
//     is dropped, as is everything from "Sent from my ..." ;
//   - a sign-off alone on its line ("Thanks,", "Best regards,", "Cheers",
//     ...) among the last six non-empty lines ends the text: it and the
//     name lines after it are dropped;
//   - runs of empty lines collapse to one, and the result is trimmed.
//
// The text is never stored: it is scored in memory by ingest. Stripping
// makes the score the sender's own words, not the thread's.
func StripReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	var kept []string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \t\r")
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") {
			continue
		}
		if historyStart(lines, i) {
			break
		}
		if l == "--" || sentFrom.MatchString(t) { // "-- " once trimmed
			break
		}
		kept = append(kept, l)
	}
	kept = cutSignOff(kept)
	var out []string
	blank := false
	for _, l := range kept {
		if strings.TrimSpace(l) == "" {
			blank = true
			continue
		}
		if blank && len(out) > 0 {
			out = append(out, "")
		}
		blank = false
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

var (
	wroteLine   = regexp.MustCompile(`(?i)^\s*(on\s.{0,300}\swrote|am\s.{0,300}\sschrieb.{0,200}|le\s.{0,300}\sa\s+écrit)\s*:\s*$`)
	onLine      = regexp.MustCompile(`(?i)^\s*(on|am|le)\s.{4,300}$`)
	wroteOnly   = regexp.MustCompile(`(?i)^.{0,200}(wrote|schrieb|a\s+écrit)\s*:\s*$`)
	originalMsg = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$`)
	forwarded   = regexp.MustCompile(`(?i)^\s*(-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:|-{2,}\s*weitergeleitete nachricht\s*-{2,})\s*$`)
	outlookFrom = regexp.MustCompile(`(?i)^\s*\*?(from|von|de)\s*:\*?\s+\S`)
	outlookSent = regexp.MustCompile(`(?i)^\s*\*?(sent|date|gesendet|envoyé)\s*:\*?\s+\S`)
	underscores = regexp.MustCompile(`^\s*_{10,}\s*$`)
	sentFrom    = regexp.MustCompile(`(?i)^sent from my \S+`)
	signOff     = regexp.MustCompile(`(?i)^(thanks|thank you|many thanks|thanks again|thx|cheers|best|all the best|best wishes|regards|kind regards|best regards|warm regards|warmly|sincerely|yours|cordially|take care|br|mfg|viele grüße|beste grüße|cordialement)[,.!]?$`)
)

// historyStart reports whether lines[i] opens quoted or forwarded history.
func historyStart(lines []string, i int) bool {
	l := lines[i]
	switch {
	case wroteLine.MatchString(l), originalMsg.MatchString(l), forwarded.MatchString(l):
		return true
	case onLine.MatchString(l) && i+1 < len(lines) && wroteOnly.MatchString(lines[i+1]):
		return true
	case underscores.MatchString(l) && i+1 < len(lines) && outlookFrom.MatchString(lines[i+1]):
		return true
	case outlookFrom.MatchString(l):
		for j := i + 1; j < len(lines) && j <= i+4; j++ {
			if outlookSent.MatchString(lines[j]) {
				return true
			}
		}
	}
	return false
}

// cutSignOff drops a sign-off line and what follows it when it is among the
// last six non-empty lines.
func cutSignOff(lines []string) []string {
	nonEmpty := 0
	for i := len(lines) - 1; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if t == "" {
			continue
		}
		nonEmpty++
		if nonEmpty > 6 {
			break
		}
		if signOff.MatchString(t) && i > 0 {
			return lines[:i]
		}
	}
	return lines
}

// emailLike finds anything shaped like an e-mail address in body text.
var emailLike = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// Redact removes from text every e-mail address ("[email]") and every word
// of the display names of the message's participants ("[name]"), matched
// case-insensitively as whole words (runs of letters and digits) of three
// letters or more. It is the last line of defence: the text is only ever
// scored in memory, but it does travel through Kafka. Names are matched by
// a word scan, not a regexp per message (that cost more than everything
// else of an import).
func Redact(text string, names []string) string {
	if strings.IndexByte(text, '@') >= 0 {
		text = emailLike.ReplaceAllString(text, "[email]")
	}
	set := map[string]bool{}
	for _, n := range names {
		eachWord(n, func(i, j int) {
			if w := n[i:j]; utf8.RuneCountInString(w) >= 3 {
				set[strings.ToLower(w)] = true
			}
		})
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
