package mail

import (
	"regexp"
	"strings"
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
