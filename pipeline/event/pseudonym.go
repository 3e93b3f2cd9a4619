package event

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// DefaultPseudonymPattern is the person-id policy when none is configured:
// a one-letter prefix, an underscore and 16 to 64 lowercase hex digits.
//
// It is exactly what the project itself produces: the generator
// (internal/synth) issues "p_" + 16 hex, keyed re-pseudonymisation
// (privacy.Pseudonymizer) "h_" + 32 hex, so a producer that pre-keys its
// ids with the same scheme passes too. Hex cannot spell a name, an e-mail
// address or a phone number, which is the point: the policy says what a
// pseudonym is instead of guessing what personal data looks like. Producers
// with another scheme (numbers, word pairs) set their own pattern with
// --pseudonym-pattern; the pattern then is the operator's statement that
// ids of that shape are pseudonyms.
const DefaultPseudonymPattern = `^[ph]_[0-9a-f]{16,64}$`

// DefaultPseudonym is DefaultPseudonymPattern compiled.
var DefaultPseudonym = MustPseudonymPattern(DefaultPseudonymPattern)

// ParsePseudonymPattern compiles a person-id pattern (Go RE2 syntax). The
// pattern always has to match the whole id: it is anchored here, so
// `p_[0-9a-f]+` cannot be satisfied by "john.smith.p_00ff". An empty
// pattern, or one that matches the empty string, is refused: it would
// accept every id.
func ParsePseudonymPattern(pattern string) (*regexp.Regexp, error) {
	if strings.TrimSpace(pattern) == "" {
		return nil, fmt.Errorf("pseudonym pattern: empty")
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pseudonym pattern: %w", err)
	}
	if re.MatchString("") {
		return nil, fmt.Errorf("pseudonym pattern %q matches the empty id", pattern)
	}
	return re, nil
}

// MustPseudonymPattern is ParsePseudonymPattern for constants.
func MustPseudonymPattern(pattern string) *regexp.Regexp {
	re, err := ParsePseudonymPattern(pattern)
	if err != nil {
		panic(err)
	}
	return re
}

// CheckPersonID validates the id of a person (sender, recipient) against the
// pseudonym policy lim.Pseudonym (DefaultPseudonym when nil).
//
// The policy is the first line and the only one that accepts: an id that
// matches it is a pseudonym by the operator's definition, whatever it looks
// like. An id that does not match is rejected, and the heuristics below only
// choose the reason: ReasonPIIID when it also looks like personal data (an
// e-mail address, a phone number, a name, non-ASCII letters), so that a
// producer leaking identities is told apart from one with a misconfigured
// scheme (ReasonNotPseudonym). Either way the id never reaches storage and
// its DLQ copy drops it.
func CheckPersonID(field, id string, lim Limits) error {
	lim = lim.withDefaults()
	if id == "" {
		return reject(ReasonBadID, "%s: empty id", field)
	}
	if !matchPseudonym(lim.Pseudonym, id) {
		if why, ok := looksPersonal(id); ok {
			return reject(ReasonPIIID, "%s %s", field, why)
		}
		return reject(ReasonNotPseudonym, "%s does not match the pseudonym pattern", field)
	}
	// The pattern narrows the contract's id alphabet, it cannot widen it.
	return CheckID(field, id, lim.MaxIDLen)
}

// matchPseudonym is re.MatchString(id), with the default policy matched by
// hand: every id of every event goes through here, and the regexp engine
// costs about a microsecond per id where the loop costs nanoseconds. A
// pattern given with --pseudonym-pattern equal to the default takes the
// same path (its compiled source is the same); any other goes to the
// regexp. TestDefaultPseudonymByHand and FuzzDefaultPseudonym hold the two
// equal.
func matchPseudonym(re *regexp.Regexp, id string) bool {
	if re == DefaultPseudonym || re.String() == DefaultPseudonym.String() {
		return isDefaultPseudonym(id)
	}
	return re.MatchString(id)
}

// isDefaultPseudonym matches DefaultPseudonymPattern: ^[ph]_[0-9a-f]{16,64}$.
func isDefaultPseudonym(id string) bool {
	if len(id) < 2+16 || len(id) > 2+64 || (id[0] != 'p' && id[0] != 'h') || id[1] != '_' {
		return false
	}
	for i := 2; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IsPseudonym reports whether id passes CheckPersonID.
func IsPseudonym(id string, lim Limits) bool { return CheckPersonID("id", id, lim) == nil }

var (
	// phoneLike: 7+ digits, optionally with +, spaces, dots, dashes or
	// parentheses between them: "+44 20 7946 0958", "555-123-4567".
	phoneLike = regexp.MustCompile(`^\+?[0-9][0-9 ().\-]{5,}[0-9]$`)
	// nameLike: "John.Smith", "JOHN_SMITH", "mary-ann.o'neil", "john.smith2":
	// two or more alphabetic words joined by . _ or -, in any case, with at
	// most a short number at the end (the usual login shape). A random
	// word-pair pseudonym ("happy-turtle") has the same shape: such schemes
	// need their own --pseudonym-pattern.
	nameLike = regexp.MustCompile(`^[A-Za-z][A-Za-z']+([._\-][A-Za-z][A-Za-z']+)+[0-9]{0,4}$`)
)

// looksPersonal says why id looks like personal data, if it does. It is a
// heuristic, used only to name the reason of an id the policy rejected.
func looksPersonal(id string) (string, bool) {
	switch {
	case strings.Contains(id, "@"):
		return "looks like an e-mail address", true
	case phoneLike.MatchString(id) && digits(id) >= 7:
		return "looks like a phone number", true
	case strings.ContainsFunc(id, unicode.IsSpace):
		return "contains spaces (looks like a name)", true
	case strings.ContainsFunc(id, func(r rune) bool { return r > unicode.MaxASCII && unicode.IsLetter(r) }):
		return "contains non-ASCII letters (looks like a name)", true
	case nameLike.MatchString(id):
		return "looks like a person's name", true
	}
	return "", false
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
