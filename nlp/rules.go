package nlp

import (
	"strings"
	"unicode/utf8"
)

// boosters raise (positive) or lower (negative) the intensity of the
// sentiment word they precede. VADER's list (MIT), plus a few intensifiers
// and hedges frequent in chat ("super", "a bit", "fairly").
var boosters = map[string]float64{
	"absolutely": boostIncr, "amazingly": boostIncr, "awfully": boostIncr,
	"completely": boostIncr, "considerable": boostIncr, "considerably": boostIncr,
	"decidedly": boostIncr, "deeply": boostIncr, "effing": boostIncr, "enormous": boostIncr,
	"enormously": boostIncr, "entirely": boostIncr, "especially": boostIncr,
	"exceptional": boostIncr, "exceptionally": boostIncr, "extreme": boostIncr,
	"extremely": boostIncr, "fabulously": boostIncr, "flipping": boostIncr, "flippin": boostIncr,
	"frackin": boostIncr, "fracking": boostIncr, "fricking": boostIncr, "frickin": boostIncr,
	"frigging": boostIncr, "friggin": boostIncr, "fully": boostIncr, "fuckin": boostIncr,
	"fucking": boostIncr, "fuggin": boostIncr, "fugging": boostIncr, "greatly": boostIncr,
	"hella": boostIncr, "highly": boostIncr, "hugely": boostIncr, "incredible": boostIncr,
	"incredibly": boostIncr, "intensely": boostIncr, "major": boostIncr, "majorly": boostIncr,
	"more": boostIncr, "most": boostIncr, "particularly": boostIncr, "purely": boostIncr,
	"quite": boostIncr, "really": boostIncr, "remarkably": boostIncr, "so": boostIncr,
	"substantially": boostIncr, "thoroughly": boostIncr, "total": boostIncr,
	"totally": boostIncr, "tremendous": boostIncr, "tremendously": boostIncr,
	"uber": boostIncr, "unbelievably": boostIncr, "unusually": boostIncr, "utter": boostIncr,
	"utterly": boostIncr, "very": boostIncr,
	"super": boostIncr, "insanely": boostIncr, "seriously": boostIncr, "truly": boostIncr,
	"pretty": boostIncr, "such": boostIncr, "definitely": boostIncr, "certainly": boostIncr, "surely": boostIncr, "honestly": boostIncr, "genuinely": boostIncr, "freaking": boostIncr, "freakin": boostIncr, "damn": boostIncr, "damned": boostIncr, "bloody": boostIncr, "soo": boostIncr, "sooo": boostIncr, "too": boostIncr,

	"almost": -boostIncr, "barely": -boostIncr, "hardly": -boostIncr,
	"kinda": -boostIncr, "kindof": -boostIncr, "kind-of": -boostIncr, "less": -boostIncr,
	"little": -boostIncr, "marginal": -boostIncr, "marginally": -boostIncr,
	"occasional": -boostIncr, "occasionally": -boostIncr, "partly": -boostIncr,
	"scarce": -boostIncr, "scarcely": -boostIncr, "slight": -boostIncr, "slightly": -boostIncr,
	"somewhat": -boostIncr, "sorta": -boostIncr, "sortof": -boostIncr, "sort-of": -boostIncr,
	"fairly": -boostIncr, "rather": -boostIncr, "mostly": -boostIncr, "relatively": -boostIncr,
	"reasonably": -boostIncr, "bit": -boostIncr, "mildly": -boostIncr,
}

// isTwoWordDampener reports the pairs read as one dampener: "kind of
// good", "a bit slow". A switch, not a map: it runs for every word.
func isTwoWordDampener(first, second string) bool {
	switch first {
	case "kind", "sort":
		return second == "of"
	case "a":
		return second == "bit" || second == "little"
	case "just":
		return second == "enough"
	}
	return false
}

// negators reverse the valence of sentiment words in their scope. Any word
// ending in n't also negates. VADER's list, without "despite" (a
// concession, not a negation) and with "no"/"nobody"/"lack".
var negators = setOf(
	"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
	"neednt", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
	"oughtnt", "shant", "shouldnt", "uhuh", "uh-uh", "wasnt", "werent",
	"without", "wont", "wouldnt", "rarely", "seldom", "no", "nobody", "lack",
	"lacks", "lacking", "nah",
)

// negationBreakers follow a negator and cancel it: "not only", "no doubt",
// "without doubt", "not just", "no matter", "no wonder".
var negationBreakers = setOf("only", "doubt", "just", "matter", "wonder", "least")

// contrastWords shift weight to the clause that follows them.
var contrastWords = setOf("but", "however", "nevertheless", "nonetheless")

// concessives dampen their own clause: "although it works, it is slow".
var concessives = setOf("although", "though", "whereas")

// acronyms are written in capitals as a matter of course, so capitals do
// not signal emphasis.
var acronyms = setOf("lgtm", "sgtm", "wfm", "lol", "lmao", "rofl", "omg", "wtf", "ftw",
	"ok", "ptal", "ty", "thx", "np", "fyi", "asap", "imo", "imho", "afaik", "tbh", "smh", "fml")

// likeSubjects: "like" is a verb of liking after these; elsewhere it is a
// preposition or filler ("looks like", "something like") and unrated.
var likeSubjects = setOf("i", "we", "you", "they", "he", "she", "really", "also",
	"totally", "definitely", "do", "don't", "dont", "didn't", "didnt", "doesn't", "doesnt",
	"still", "actually", "so", "personally", "just", "would", "i'd", "we'd", "kinda")

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

// wordValence rates toks[i] alone: the lexicon, then spelling variants.
func (a *Analyzer) wordValence(s *scratch, toks []token, i int, technical bool) float64 {
	w, wi := toks[i].lower, toks[i].info
	next := ""
	var nextBits wordBits
	if i+1 < len(toks) && toks[i].brk == brkNone {
		next, nextBits = toks[i+1].lower, toks[i+1].info.bits
	}
	if technical && wi.bits&wTech != 0 && nextBits&wPersonalObject == 0 {
		return wi.tech
	}
	if wi.bits&wLoneNo != 0 {
		if (i == 0 || toks[i-1].brk == brkSentence) && (toks[i].brk == brkSentence || i == len(toks)-1) {
			return loneNoValence
		}
		return wi.val
	}
	if wi.bits&wBooster != 0 {
		// A booster modifies the next word; ending its clause, a rated
		// one is an answer or a predicate itself ("Definitely!",
		// "Seriously?", "she looks pretty"), except as a sentence-opening
		// discourse marker ("Honestly, ...").
		if wi.bits&wRated == 0 || next != "" {
			return 0
		}
		if toks[i].brk == brkClause && (i == 0 || toks[i-1].brk == brkSentence) {
			return 0
		}
	}
	if counterfactualWish(toks, i) {
		return 0 // see applyMood
	}
	if isTwoWordDampener(w, next) {
		return 0
	}
	if i > 0 && isTwoWordDampener(toks[i-1].lower, w) && toks[i-1].brk == brkNone {
		return 0
	}
	if w == "like" {
		if i == 0 || toks[i-1].brk != brkNone {
			return 0
		}
		if toks[i-1].info.bits&wLikeSubject == 0 {
			return 0
		}
	}
	if wi.bits&wRated != 0 {
		return wi.val
	}
	if v := a.variantValence(s, w); v != 0 || !toks[i].hashtag {
		return v
	}
	return a.hashtagValence(w)
}

// variantValence looks up spelling variants of an unknown word:
// possessive ('s), elongation ("sooo goood" -> "good"), hashtags are
// already split off by the tokenizer, and regular inflections (-s, -es,
// -ed, -ing, -ly) whose stem is rated. The probes reuse s.key and the
// map[string(bytes)] lookup form, so they do not allocate.
func (a *Analyzer) variantValence(s *scratch, w string) float64 {
	lx := a.lx.words
	if strings.HasSuffix(w, "'s") {
		if _, id := a.lx.identity[w[:len(w)-2]]; id {
			return 0 // "the blind colleague's": an identity term
		}
		if v, ok := lx[w[:len(w)-2]]; ok {
			return v
		}
	}
	// Elongation: collapse runs of 3+ to 2, then to 1.
	if hasRun3(w) {
		for _, keep := range [2]int{2, 1} {
			s.key = collapseRuns(s.key[:0], w, keep)
			if v, ok := lx[string(s.key)]; ok {
				return v
			}
		}
	}
	n := len(w)
	if n >= 5 && strings.HasSuffix(w, "in") {
		// g-dropping: "lovin", "nothin" -> "loving", "nothing"
		s.key = append(append(s.key[:0], w...), 'g')
		if v, ok := lx[string(s.key)]; ok {
			return v
		}
	}
	if n < 5 {
		return 0
	}
	try := func(stem string, e bool) (float64, bool) {
		s.key = append(s.key[:0], stem...)
		if e {
			s.key = append(s.key, 'e')
		}
		v, ok := lx[string(s.key)]
		return v, ok
	}
	switch {
	case strings.HasSuffix(w, "ies"):
		s.key = append(append(s.key[:0], w[:n-3]...), 'y')
		if v, ok := lx[string(s.key)]; ok {
			return v
		}
	case strings.HasSuffix(w, "es") || strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		if v, ok := lx[w[:n-1]]; ok {
			return v
		}
		if strings.HasSuffix(w, "es") {
			if v, ok := lx[w[:n-2]]; ok {
				return v
			}
		}
	case strings.HasSuffix(w, "ed"):
		if v, ok := try(w[:n-1], false); ok { // hated -> hate
			return v
		}
		if v, ok := try(w[:n-2], false); ok { // crashed -> crash
			return v
		}
		if n > 5 && w[n-3] == w[n-4] { // stopped -> stop
			if v, ok := try(w[:n-3], false); ok {
				return v
			}
		}
	case strings.HasSuffix(w, "ing"):
		if v, ok := try(w[:n-3], false); ok {
			return v
		}
		if v, ok := try(w[:n-3], true); ok { // hating -> hate
			return v
		}
		if n > 6 && w[n-4] == w[n-5] {
			if v, ok := try(w[:n-4], false); ok {
				return v
			}
		}
	case strings.HasSuffix(w, "ly"):
		if v, ok := lx[w[:n-2]]; ok {
			return v
		}
	}
	return a.derivedValence(s, w)
}

// derivedValence rates derivations of lexicon words that the regular
// inflections above do not reach. Each rule needs the derived stem to be
// rated and at least four letters long, so that short accidental stems
// ("numb" in "number") are not found.
//
//   - -ily/-ily -> -y ("angrily"), -bly -> -ble ("reliably"), -ically ->
//     -ic ("fantastically"), -iness -> -y, -ness ("sadness"), -ied -> -y:
//     same rating.
//   - comparative and superlative -ier, -iest, -est: same rating
//     ("happier", "coolest"). Plain -er is not stripped: it makes agent
//     nouns as often as comparatives ("player", "career").
//   - un- prefix: the stem's rating negated as a negator would
//     ("unhelpful" ~ "not helpful"). "non-" is not: in technical text it
//     classifies ("non-blocking", "non-critical") rather than judges.
//   - -less: the stem's rating negated ("pointless", "harmless").
//   - British spellings of American lexicon entries (-our, -ise, -yse).
func (a *Analyzer) derivedValence(s *scratch, w string) float64 {
	lx := a.lx.words
	n := len(w)
	look := func(parts ...string) (float64, bool) {
		s.key = s.key[:0]
		for _, p := range parts {
			s.key = append(s.key, p...)
		}
		if len(s.key) < 4 {
			return 0, false
		}
		v, ok := lx[string(s.key)]
		return v, ok
	}
	switch {
	case strings.HasSuffix(w, "ily"):
		if v, ok := look(w[:n-3], "y"); ok {
			return v
		}
	case strings.HasSuffix(w, "bly"):
		if v, ok := look(w[:n-1], "e"); ok {
			return v
		}
	case strings.HasSuffix(w, "ically"):
		if v, ok := look(w[:n-4]); ok {
			return v
		}
	case strings.HasSuffix(w, "iness"):
		if v, ok := look(w[:n-5], "y"); ok {
			return v
		}
	case strings.HasSuffix(w, "ness"):
		if v, ok := look(w[:n-4]); ok {
			return v
		}
	case strings.HasSuffix(w, "ied"):
		if v, ok := look(w[:n-3], "y"); ok {
			return v
		}
	case strings.HasSuffix(w, "iest"), strings.HasSuffix(w, "ier"):
		k := strings.LastIndexByte(w, 'i')
		if v, ok := look(w[:k], "y"); ok { // happier, funniest
			return v
		}
	case strings.HasSuffix(w, "est"):
		if v, ok := look(w[:n-3]); ok { // coolest
			return v
		}
		if v, ok := look(w[:n-2]); ok { // nicest
			return v
		}
		if n > 6 && w[n-4] == w[n-5] { // saddest
			if v, ok := look(w[:n-4]); ok {
				return v
			}
		}
	case strings.HasSuffix(w, "less"):
		if v, ok := look(w[:n-4]); ok {
			return negate(v)
		}
	}
	if v, ok := a.laughter(w); ok {
		return v
	}
	if strings.HasPrefix(w, "un") && !strings.HasPrefix(w, "unlike") {
		if v, ok := look(w[2:]); ok {
			return negate(v)
		}
		if n >= 6 {
			if v := a.variantValence(s, w[2:]); v != 0 {
				return negate(v)
			}
		}
	}
	// British spellings of words the lexicon has in American spelling,
	// at suffix position: favour(ite), apologise(d), analyse. A byte scan
	// of the last six positions: this runs for every unknown word.
	for k := max(3, n-6); k+2 < n; k++ {
		var am string
		switch {
		case w[k] == 'o' && w[k+1] == 'u' && w[k+2] == 'r':
			am = "or"
		case w[k] == 'i' && w[k+1] == 's' && (w[k+2] == 'e' || w[k+2] == 'i'):
			am = "iz"
		case w[k] == 'y' && w[k+1] == 's' && (w[k+2] == 'e' || w[k+2] == 'i'):
			am = "yz"
		default:
			continue
		}
		rest := w[k+2:]
		if am == "or" {
			rest = w[k+3:]
		}
		if v, ok := look(w[:k], am, rest); ok {
			return v
		}
	}
	return 0
}

func hasRun3(w string) bool {
	for k := 2; k < len(w); k++ {
		if w[k] == w[k-1] && w[k] == w[k-2] {
			return true
		}
	}
	return false
}

func collapseRuns(dst []byte, w string, keep int) []byte {
	run := 0
	for k := 0; k < len(w); k++ {
		if k > 0 && w[k] == w[k-1] {
			run++
		} else {
			run = 1
		}
		if run <= keep {
			dst = append(dst, w[k])
		}
	}
	return dst
}

// matchPhrase returns the length and rating of the longest lexicon phrase
// starting at toks[i], or 0. A phrase never spans a sentence boundary.
func (a *Analyzer) matchPhrase(s *scratch, toks []token, i int) (int, float64) {
	if toks[i].info.bits&wPhraseStart == 0 {
		return 0, 0
	}
	maxL := 1
	for k := i; k < len(toks) && maxL < a.lx.maxPhrase; k++ {
		if toks[k].kind != tWord || k > i && toks[k-1].brk == brkSentence {
			break
		}
		maxL = k - i + 1
	}
	for l := min(maxL, a.lx.maxPhrase); l >= 2; l-- {
		if i+l > len(toks) {
			continue
		}
		s.key = append(s.key[:0], toks[i].lower...)
		ok := true
		for k := i + 1; k < i+l; k++ {
			if toks[k].kind != tWord || toks[k-1].brk == brkSentence {
				ok = false
				break
			}
			s.key = append(s.key, ' ')
			s.key = append(s.key, toks[k].lower...)
		}
		if !ok {
			continue
		}
		if v, found := a.lx.phrases[string(s.key)]; found {
			return l, v
		}
	}
	return 0, 0
}

// applyContext applies boosters, dampeners and negation found before the
// sentiment word at i, within its clause.
func (a *Analyzer) applyContext(toks []token, base []float64, flags []uint16, i int, v float64, capsDiff bool) float64 {
	negations := 0
	neverSo := false
	inner := 0.0 // intensification applied inside a negation's scope
	for d := 1; d <= negationScope+2; d++ {
		j := i - d
		if j < 0 || toks[j].brk != brkNone {
			break
		}
		t := &toks[j]
		bits := t.info.bits
		if bits&wContrast != 0 {
			if isAnythingBut(toks, j) {
				negations++ // "anything but easy": not easy
			}
			break
		}
		if flags[j]&fPhrase != 0 || t.kind != tWord {
			continue
		}
		if base[j] != 0 {
			// A negator before an earlier sentiment word belongs to that
			// word: "don't care, don't care" is not a double negation.
			break
		}
		if d <= 3 {
			b, ok := t.info.boost, bits&wBooster != 0
			if flags[j]&fDegree != 0 {
				b, ok = boostIncr, true
			}
			if ok && bits&wProfane != 0 {
				// A taboo intensifier is emphasis, not degree
				// ("fucking great" reads like "GREAT"): it adds the
				// emphasis increment of capitals, not a booster's.
				b = capsIncr
			}
			if !ok && j > 0 && isTwoWordDampener(toks[j-1].lower, t.lower) {
				b, ok = -boostIncr, true
			}
			if ok {
				if v < 0 {
					b = -b
				}
				if capsDiff && t.caps {
					b += sign(b) * capsIncr
				}
				switch d {
				case 2:
					b *= 0.95
				case 3:
					b *= 0.9
				}
				if b*v > 0 {
					flags[i] |= fBoosted
					if negations == 0 {
						inner += b
					}
				} else {
					flags[i] |= fDampened
				}
				v += b
			}
		}
		isNeg := bits&wNegator != 0
		if d > negationScope && !(isNeg && j+1 < i && toks[j+1].info.bits&wRaising != 0) {
			continue
		}
		if isNeg {
			if bits&wNounNegator != 0 && d > 2 {
				continue
			}
			flags[j] |= fNegSeen // spent or cancelled: not bare
			if bits&wLoneNo != 0 && j+1 < i && toks[j+1].info.bits&wClauseOpener != 0 {
				// "no it's fine", "no that's cool": an answer
				// particle before a clause, not a determiner.
				continue
			}
			if notEnough(toks, j, i) {
				// "can't thank you enough", "can't say enough how
				// good": more than can be said, a superlative.
				neverSo = true
				continue
			}
			if t.lower == "never" && d >= 2 && isSoThis(toks[i-1].lower) {
				// "never slept so well", "never been this happy": a
				// superlative, as "never so good" below.
				neverSo = true
				continue
			}
			if j+1 < i {
				if toks[j+1].info.bits&wNegBreaker != 0 {
					continue
				}
				if t.lower == "never" && (toks[j+1].lower == "so" || toks[j+1].lower == "this") {
					neverSo = true
					continue
				}
			}
			negations++
		}
		if t.lower == "least" && !(j > 0 && (toks[j-1].lower == "at" || toks[j-1].lower == "very")) {
			negations++
		}
	}
	if neverSo && negations == 0 {
		v *= neverSoScalar
		flags[i] |= fBoosted
	}
	if negations%2 == 1 && (toks[i].info.bits&(wInterjection|wProfane) != 0 || a.isLaughter(toks[i].lower)) {
		// An interjection is not in the scope of negation: "no way
		// lol", "not the latter LOL" still laugh; nor is an expletive
		// ("without a fucking favicon" is annoyed).
		negations = 0
	}
	if negations%2 == 1 {
		// A negated intensifier attenuates: "not very good" is milder
		// than "not good", not stronger; "really not good" (the booster
		// outside the scope) keeps its force.
		v -= 2 * inner
		v = negate(v)
		flags[i] |= fNegated
	}
	return v
}

// applyContrast shifts weight across contrastive conjunctions within a
// sentence: the part before "but"/"however" counts half, the part after it
// one and a half times (VADER). Unlike VADER, which applies the first "but"
// to the whole text, the scope is the sentence, and a sentence that starts
// with "But"/"However" contrasts with the sentence before it. A concessive
// clause ("although it works, ...") is dampened and the rest boosted.
//
// Two further departures from VADER. "But" reweights its second conjunct
// against the first; with no rated word before it (a message that opens
// with "But ...", a reply continuing a conversation, "no, but ...") there
// is nothing to reweight, and what follows keeps its weight. And only words
// are reweighted: an emoticon or emoji comments on the whole message, not
// on one conjunct, so it neither counts as a first conjunct nor is scaled.
//
// At most maxContrasts markers per sentence take effect, which keeps the
// pass linear in the message length whatever the input.
func applyContrast(toks []token, vals []float64, flags []uint16) {
	n := len(toks)
	sentStart, prevStart, used := 0, 0, 0
	for b := 0; b < n; b++ {
		w := toks[b].lower
		isContrast := toks[b].info.bits&wContrast != 0
		isConcessive := toks[b].info.bits&wConcessive != 0
		if (isContrast || isConcessive) && used >= maxContrasts {
			isContrast, isConcessive = false, false
		}
		if isContrast || isConcessive {
			used++
		}
		if isContrast && !(w == "but" && b+1 < n && toks[b+1].lower == "also") && !isAnythingBut(toks, b) {
			from, to := sentStart, b
			if b == sentStart && b > 0 {
				from, to = prevStart, sentStart
			}
			if scaleWords(toks, vals, flags, from, to, contrastDamp, fContrastDown) {
				scaleWords(toks, vals, flags, b+1, sentenceEnd(toks, b), contrastBoost, fContrastUp)
			}
		} else if isConcessive && (b == sentStart || toks[b-1].brk != brkNone || toks[b-1].lower == "even") {
			ce := b + 1
			for ce < n && toks[ce-1].brk == brkNone {
				ce++
			}
			if ce < n && toks[ce-1].brk == brkClause && scaleWords(toks, vals, flags, b+1, ce, contrastDamp, fContrastDown) {
				scaleWords(toks, vals, flags, ce, sentenceEnd(toks, ce), contrastBoost, fContrastUp)
			}
		}
		if toks[b].brk == brkSentence {
			prevStart, sentStart, used = sentStart, b+1, 0
		}
	}
}

// scaleWords scales the rated words in toks[from:to] by f and reports
// whether there were any.
func scaleWords(toks []token, vals []float64, flags []uint16, from, to int, f float64, flag uint16) bool {
	found := false
	for k := from; k < to; k++ {
		if vals[k] != 0 && toks[k].kind == tWord {
			vals[k] *= f
			flags[k] |= flag
			found = true
		}
	}
	return found
}

const maxContrasts = 3

// sentenceEnd returns the index after the last token of the sentence that
// contains toks[from].
func sentenceEnd(toks []token, from int) int {
	for k := from; k < len(toks); k++ {
		if toks[k].brk == brkSentence {
			return k + 1
		}
	}
	return len(toks)
}

func scale(vals []float64, flags []uint16, from, to int, f float64, flag uint16) {
	for k := from; k < to; k++ {
		if vals[k] != 0 {
			vals[k] *= f
			flags[k] |= flag
		}
	}
}

// hypotheticals open a clause that states no fact: "if it fails", "unless
// it is broken", "whether it is good".
var hypotheticals = setOf("if", "unless", "whether")

// applyMood dampens sentiment that the writer does not assert: words in a
// question ("is it broken?"), in a conditional clause ("if the build
// fails, ...") and after a modal ("it would be nice"). In engineering chat these ask and plan rather than feel.
func applyMood(toks []token, vals []float64, flags []uint16) {
	n := len(toks)
	start := 0
	for k := 0; k < n; k++ {
		if toks[k].brk != brkSentence {
			continue
		}
		// "?!" and "why ...?" questions are complaints, not enquiries; a
		// tag question asks to agree with the statement it ends.
		if toks[k].question && !toks[k].exclaim && toks[start].lower != "why" {
			if j := tagQuestion(toks, start, k); j > 0 {
				for ; j <= k; j++ {
					flags[j] |= fNegSeen // "isn't it?" negates nothing
				}
			} else {
				scale(vals, flags, start, k+1, questionDamp, fMood)
			}
		}
		start = k + 1
	}
	for k := 0; k < n; k++ {
		if toks[k].info.bits&wHypothetical == 0 {
			continue
		}
		e := k + 1
		for e < n && toks[e-1].brk == brkNone {
			e++
		}
		scale(vals, flags, k+1, e, hypoDamp, fMood)
		k = e - 1
	}
	for k := 0; k < n; k++ {
		if toks[k].info.bits&wModal == 0 && !counterfactualWish(toks, k) {
			continue
		}
		e := k + 1
		for e < n && toks[e-1].brk == brkNone {
			e++
		}
		scale(vals, flags, k+1, e, modalDamp, fMood)
		k = e - 1
	}
}

// tagQuestion returns the index where a question tag starts in the
// sentence toks[start..end], or 0. A tag ("it's great, isn't it?", "looks
// good, right?", "we all have those days, don't we?") asks the reader to
// agree with the statement before it; the statement is asserted, so it
// keeps its sentiment, and the tag's negation negates nothing. A tag is
// an auxiliary and a pronoun, or one of right/eh/huh/yes/no after a
// comma ("is that right?" is a real question), with at least two words
// of statement before it.
func tagQuestion(toks []token, start, end int) int {
	j := end
	if end-1 >= start && toks[end].info.bits&wTagPronoun != 0 && toks[end-1].info.bits&wTagAux != 0 {
		j = end - 1
	} else if toks[end].info.bits&wTagWord == 0 || end == 0 || toks[end-1].brk != brkClause {
		return 0
	}
	if j-start < 2 {
		return 0
	}
	if j == end-1 && toks[j-1].brk != brkClause && toks[j].info.bits&wNegator == 0 {
		return 0 // "is it good is it?" is rare; "good isn't it?" is a tag
	}
	return j
}

var (
	tagAux = setOf("is", "isn't", "are", "aren't", "was", "wasn't", "were", "weren't", "do", "don't",
		"does", "doesn't", "did", "didn't", "can", "can't", "will", "won't", "would", "wouldn't",
		"could", "couldn't", "have", "haven't", "has", "hasn't", "should", "shouldn't", "ain't",
		"isnt", "arent", "wasnt", "werent", "dont", "doesnt", "didnt", "cant", "wont", "wouldnt",
		"couldnt", "havent", "hasnt", "shouldnt", "aint")
	tagPronouns = setOf("it", "you", "they", "we", "he", "she", "i", "there", "that", "ya", "u")
	tagWords    = setOf("right", "eh", "huh", "yes", "no", "yeah", "ok", "okay")
)

// modals open an irrealis clause: "it would be great", "you should be
// proud", "that might help". What they modify is wished for, advised or
// possible, not asserted, and is rated less intensely (Kiritchenko &
// Mohammad 2016). "may" is left out: it is as often a permission, a wish
// ("may you ...") or a month.
var modals = setOf("would", "could", "should", "might", "would've", "could've", "should've", "might've",
	"i'd", "you'd", "we'd", "they'd", "he'd", "she'd", "it'd", "that'd")

// raisingVerbs carry a negation over to their complement clause ("I don't
// think it is good" means "I think it is not good"), so the negation scope
// after "don't think" is longer.
var raisingVerbs = setOf("think", "believe", "feel", "expect", "suppose", "guess", "seem", "seems", "imagine")

// nounNegators negate a noun phrase ("no good reason", "without any
// issue"), not a clause: their scope is the next two words. Verbal
// negation (not, n't, never) reaches across the clause.
var nounNegators = setOf("no", "without", "lack", "lacks", "lacking", "nobody", "nothing", "none", "nowhere")

// profaneBoosters intensify the next rated word ("fucking awesome"); with
// none to modify they express annoyance themselves (profaneSolo).
var profaneBoosters = setOf("damn", "damned", "bloody", "fucking", "fuckin", "effing", "frigging", "friggin", "fricking",
	"frickin", "freaking", "freakin", "flipping", "flippin", "fuggin", "fugging")

const profaneSolo = -1.5

// angryExpletives gives a taboo intensifier that modifies a negative word
// its own annoyance (profaneSolo) on top of the emphasis it lends the
// word: "I fucking hate Windows" vents as well as grades. Swearing mostly
// expresses anger and frustration (Jay 2009, "The utility and ubiquity
// of taboo words"), and an expletive's meaning is the speaker's emotional
// state, a dimension apart from what the sentence describes (Potts 2007,
// "The expressive dimension"), so the amount is added after aggregation
// and does not dilute the rated words of its sentence. Before a positive
// word ("fucking awesome") swearing is emphasis only: the word's own
// polarity decides.
func angryExpletives(toks []token, base, vals []float64, flags []uint16) {
	for i := range toks {
		if toks[i].info.bits&wProfane == 0 || base[i] != 0 || flags[i]&fPhrase != 0 {
			continue
		}
		if k := modifiedWord(toks, base, i); k >= 0 && base[k] < 0 {
			vals[i] = profaneSolo
			flags[i] |= fExpletive
		}
	}
}

// modifiedWord returns the rated word an intensifier at i modifies: the
// first within three tokens of its clause, or -1.
func modifiedWord(toks []token, base []float64, i int) int {
	for k := i + 1; k < len(toks) && k <= i+3; k++ {
		if base[k] != 0 {
			return k
		}
		if toks[k].brk != brkNone {
			break
		}
	}
	return -1
}

// loneNo: "No." or "Nope!" as a whole sentence is a refusal (VADER's
// rating of "no"); inside a sentence "no" is a determiner or a negator.
var loneNo = setOf("no", "nope", "nah")

const loneNoValence = -1.2

// personalWords are first- and second-person words (and their chat
// spellings): a message with one speaks of its writer or reader, which
// marks it as subjective (see reportDamp).
var personalWords = setOf("i", "i'm", "im", "i've", "ive", "i'll", "i'd", "me", "my", "mine", "myself",
	"we", "we're", "we've", "we'll", "we'd", "our", "ours", "us", "ourselves", "let's", "lets",
	"you", "you're", "youre", "you've", "you'll", "you'd", "your", "yours", "yourself", "yourselves",
	"u", "ur", "ya", "y'all", "yall")

// personalObjects after a technical homonym restore its everyday sense:
// "the build is killing me", "kill me now".
var personalObjects = setOf("me", "myself", "us", "ourselves", "him", "her")

// techWords mark a message as technical (engineering chat, code review,
// incident channels). The list is general engineering vocabulary.
var techWords = setOf(
	"build", "builds", "deploy", "deployed", "deploys", "deployment", "test", "tests",
	"ci", "pr", "prs", "merge", "merged", "commit", "commits", "branch", "server",
	"servers", "process", "processes", "bug", "bugs", "code", "function", "method",
	"class", "variable", "thread", "threads", "release", "config", "configuration",
	"api", "cache", "query", "database", "db", "compile", "compiler", "runtime",
	"stack", "stacktrace", "trace", "log", "logs", "exception", "null", "pointer",
	"memory", "cpu", "docker", "kubernetes", "k8s", "cluster", "node", "pod", "script",
	"repo", "repository", "patch", "endpoint", "request", "response", "timeout",
	"segfault", "kernel", "port", "socket", "pipeline", "worker", "queue", "file",
	"files", "directory", "module", "package", "library", "dependency", "dependencies",
	"version", "upstream", "prod", "production", "staging", "migration", "schema",
	"sql", "http", "json", "yaml", "git", "github", "compiler", "debug", "debugger",
	"refactor", "refactoring", "unittest", "lint", "linter", "binary", "syntax", "parser",
	"implementation", "interface", "struct", "array", "string", "int", "return",
	"callback", "async", "mutex", "goroutine", "container", "image", "vm", "ssh",
	"daemon", "service", "microservice", "backend", "frontend", "plugin", "config",
	"flag", "flags", "option", "options", "argument", "arguments", "param", "params",
	"commit", "rebase", "revert", "reverted", "changelog", "readme", "docs",
)

// hashtagValence splits a run-together hashtag ("#loveit", "#epicfail",
// "#sadface") into two known words and rates the rated part(s). Both
// parts must be known (rated or English function words), so random
// splits of names do not produce sentiment.
func (a *Analyzer) hashtagValence(w string) float64 {
	known := func(p string) (float64, bool) {
		if v, ok := a.lx.words[p]; ok && len(p) > 1 {
			return v, true
		}
		_, ok := englishFunctionWords[p]
		return 0, ok && len(p) > 1
	}
	for p := len(w) - 2; p >= 2; p-- {
		lv, lok := known(w[:p])
		if !lok {
			continue
		}
		if rv, rok := known(w[p:]); rok && lv+rv != 0 {
			return lv + rv
		}
	}
	return 0
}

// laughter rates written laughter of any length ("hahahah", "ahahaha",
// "hehehe", "lololol") like the lexicon's "haha", "hahaha" and "lol":
// people type these with arbitrary repetition, which the elongation rule
// (runs of one letter) does not undo.
func (a *Analyzer) laughter(w string) (float64, bool) {
	if len(w) < 4 {
		return 0, false
	}
	var h, vowel, l, o int
	for k := 0; k < len(w); k++ {
		switch w[k] {
		case 'h':
			h++
		case 'a', 'e':
			vowel++
		case 'l':
			l++
		case 'o':
			o++
		default:
			return 0, false
		}
	}
	switch {
	case l == 0 && o == 0 && h >= 2 && vowel >= 2:
		if len(w) >= 6 {
			return a.lx.words["hahaha"], true
		}
		return a.lx.words["haha"], true
	case h == 0 && vowel == 0 && l >= 2 && o >= 2 && w[0] == 'l':
		return a.lx.words["lol"], true
	}
	return 0, false
}

// negate returns the valence of a negated sentiment word. A negated
// positive word is clearly negative ("not good", VADER's -0.74); a
// negated negative word is only weakly positive ("not bad" is not
// "good", "not sad" is hardly happy): negation is asymmetric, as found
// for human ratings of negated phrases (Kiritchenko & Mohammad 2016;
// Taboada et al. 2011 shift negation rather than flip it).
func negate(v float64) float64 {
	if v < 0 {
		return v * negNegScalar
	}
	return v * negScalar
}

// applyNames dampens rated words inside capitalised names: a capitalised
// word that is not the first of its sentence, next to another capitalised
// word that is not the first of its sentence either ("I" does not count):
// "watched Kick Ass today", "great show by Widespread Panic". Messages
// written mostly in title case (headlines) are left alone, as are hashtag
// parts, whose capitals only mark word boundaries.
func applyNames(toks []token, vals []float64, flags []uint16, words int) {
	n := len(toks)
	titles := 0
	for i := 0; i < n; i++ {
		if toks[i].title {
			titles++
		}
	}
	if titles < 2 || titles*2 >= words {
		return
	}
	for i := 1; i < n; i++ {
		t := &toks[i]
		if vals[i] == 0 || !t.title || t.hashtag || toks[i-1].brk == brkSentence {
			continue
		}
		p := &toks[i-1]
		prevTitle := p.brk == brkNone && p.title && p.lower != "i" && i >= 2 && toks[i-2].brk != brkSentence
		nextTitle := t.brk == brkNone && i+1 < n && toks[i+1].title
		if prevTitle || nextTitle {
			vals[i] *= nameDamp
			flags[i] |= fName
		}
	}
}

// interjections are expressives: they comment on the situation rather than
// state part of the proposition, and negation does not reach them ("I have
// no idea lol" laughs; Potts 2007, "The expressive dimension"). Written
// laughter of any length counts too (see laughter).
var interjections = setOf("lol", "lmao", "lmfao", "rofl", "roflmao", "haha", "hahaha", "hehe", "heh", "ha", "hah",
	"yay", "yey", "yippee", "woohoo", "woo", "hooray", "hurray", "wow", "omg", "ugh", "argh", "urgh", "yikes",
	"oops", "whoops", "ouch", "meh", "aww", "aw", "ew", "eww", "yuck", "bah", "phew", "gah", "grr", "sigh",
	"wtf", "fml", "smh", "xd", "yum")

func (a *Analyzer) isLaughter(w string) bool {
	_, ok := a.laughter(w)
	return ok
}

// isAnythingBut reports "anything but" at toks[b]: a negation ("anything
// but easy" is "not easy"), not a contrast.
func isAnythingBut(toks []token, b int) bool {
	return toks[b].lower == "but" && b > 0 && toks[b-1].lower == "anything" && toks[b-1].brk == brkNone
}

// notEnough reports the "cannot ... enough" superlative around a negator
// at j and a rated word at i: "can't say enough how good" (enough
// between them, not as the quantifier of the rated word: "not enough
// love") or "can't thank you enough" (enough after the rated verb and its
// object). "not good enough" (enough right after the rated word) is
// plain insufficiency and stays negated.
func notEnough(toks []token, j, i int) bool {
	for k := j + 1; k < i-1; k++ {
		if toks[k].lower == "enough" {
			return true
		}
	}
	return i+2 < len(toks) && toks[i].brk == brkNone && toks[i+1].brk == brkNone &&
		toks[i+2].lower == "enough" && toks[i+1].lower != "enough"
}

func isSoThis(w string) bool { return w == "so" || w == "this" || w == "that" }

// copulas predicate what follows of their subject (see evaluates).
var copulas = setOf("is", "are", "was", "were", "be", "been", "it's", "that's", "looks", "seems", "sounds", "feels")

// clauseOpeners are subject pronouns and the like: after "no" they show it
// is an answer particle starting a clause ("no it's fine"), not the
// determiner of a noun phrase ("no help").
var clauseOpeners = setOf("i", "i'm", "im", "i'll", "i've", "i'd", "you", "you're", "we", "we're", "they",
	"they're", "he", "she", "he's", "she's", "it", "it's", "its", "that", "that's", "thats", "this", "there", "there's")

// counterfactualWish reports a "wish" (wished, wishing) that takes a
// clause: "I wish I was there", "wish we could", "wish you were here",
// "I wish!". Such a wish says that what it wants is not the case; its own
// positive rating in VADER is for the noun and the greeting ("best
// wishes", "wish you a good trip"), which stay rated. The verb is unrated
// and its clause is irrealis, dampened like a modal's (applyMood).
func counterfactualWish(toks []token, i int) bool {
	w := toks[i].lower
	if w != "wish" && w != "wished" && w != "wishing" {
		return false
	}
	if toks[i].brk != brkNone || i+1 == len(toks) {
		// "I wish!": if only
		return i > 0 && toks[i-1].brk == brkNone && toks[i-1].info.bits&wPersonal != 0
	}
	switch toks[i+1].lower {
	case "i", "we", "it", "that", "they", "he", "she", "there", "i'd", "we'd", "i'm", "it'd",
		"could", "would", "had", "was", "were":
		return true
	case "you", "my", "our", "your", "his", "her", "their", "the", "this", "people", "someone", "everyone":
		// "wish you were here", "wish my router had ...": a clause
		// (a subject, then a past or modal verb) follows; not "wish
		// you a good day", "wish the team luck".
		for k := i + 2; k < len(toks) && k <= i+4; k++ {
			switch toks[k].lower {
			case "were", "could", "would", "had", "was", "knew", "did", "didn't", "wasn't", "weren't", "wouldn't", "couldn't":
				return true
			}
			if toks[k-1].brk != brkNone {
				break
			}
		}
	}
	return false
}

// degreeAdverbs turns an evaluative adverb directly before a rated word of
// the opposite polarity into a degree modifier: "ridiculously amazing",
// "wickedly funny", "crazy good", "awesomely bad".
// Adverbs of this kind lose their evaluative meaning before an adjective
// and only grade it (delexicalisation; Bolinger 1972, Partington 1993), so
// the pair is one strong judgement of the head's polarity, not two that
// cancel. The rule needs opposite polarities: with the same polarity
// ("horribly wrong") both readings agree in sign and the adverb keeps its
// rating. Sentence adverbs that comment on the whole clause ("sadly",
// "luckily", "hopefully") are not degree words and keep theirs.
func degreeAdverbs(toks []token, base []float64, flags []uint16) {
	for i := 0; i+1 < len(toks); i++ {
		t := &toks[i]
		if base[i] == 0 || t.kind != tWord || t.brk != brkNone || flags[i]&fPhrase != 0 ||
			toks[i+1].kind != tWord || base[i+1] == 0 || base[i]*base[i+1] > 0 {
			continue
		}
		w := t.lower
		_, disjunct := disjuncts[w]
		_, adjectival := adjectivalDegree[w]
		if !(len(w) >= 5 && strings.HasSuffix(w, "ly") && !disjunct) && !adjectival {
			continue
		}
		base[i] = 0
		flags[i] |= fDegree
	}
}

// disjuncts are attitude adverbs that comment on their clause rather than
// grade the next word: "sadly good things end", "luckily nothing broke".
var disjuncts = setOf("sadly", "unfortunately", "fortunately", "luckily", "unluckily",
	"happily", "unhappily", "hopefully", "thankfully", "regrettably", "mercifully",
	"sincerely", "ironically", "oddly", "strangely", "funnily", "weirdly", "honestly",
	"frankly", "obviously", "clearly", "apparently", "tragically", "gladly", "kindly")

// adjectivalDegree are adjectives used as degree adverbs in informal
// English: "crazy good", "wicked cool", "scary fast".
var adjectivalDegree = setOf("crazy", "scary", "wicked", "stupid", "mad", "insane")

// bareNegations gives a negator that negates no rated word a dampener's
// weight of negative evidence: "I can't find my keys", "the build didn't
// run", "still no reply". Negation is itself marked: people use it far
// more in negative than in positive evaluations, and a negated plain
// statement reads as a disappointed expectation (Potts 2010, "On the
// negativity of negation"). It runs after aggregation, so the negator
// does not dilute the rated words of its sentence, and only in messages
// that have a rated word: alone, a negation is too weak a signal to
// score ("we don't need this import" is neutral), and such messages keep
// NoSignal. Negators that were already spent on a rated word, or that
// were cancelled ("not only", "no doubt", "no it's fine"), add nothing.
func bareNegations(toks []token, base, vals []float64, flags []uint16) {
	for j := range toks {
		t := &toks[j]
		if t.kind != tWord || t.info.bits&wNegator == 0 || flags[j]&(fNegSeen|fPhrase) != 0 || base[j] != 0 {
			continue
		}
		if j+1 < len(toks) && t.brk == brkNone {
			nb := toks[j+1].info.bits
			if nb&wNegBreaker != 0 || t.info.bits&wLoneNo != 0 && nb&wClauseOpener != 0 {
				continue
			}
		}
		vals[j] = -boostIncr
		flags[j] |= fBareNeg
	}
}

// staccato reports whether toks[i] is in a run of three or more one-word
// sentences ended by full stops: "Best. Show. Ever.", "I. Hate.
// Burpees." The stops stress every word, as capitals do, so a rated word
// there gains the capitals' emphasis. Runs ended by '!' or '?' are
// already emphasised or questioned.
func staccato(toks []token, i int) bool {
	one := func(k int) bool {
		t := &toks[k]
		return t.kind == tWord && t.brk == brkSentence && !t.exclaim && !t.question &&
			(k == 0 || toks[k-1].brk == brkSentence)
	}
	if !one(i) {
		return false
	}
	run := 1
	for k := i - 1; k >= 0 && one(k); k-- {
		run++
	}
	for k := i + 1; k < len(toks) && one(k); k++ {
		run++
	}
	return run >= 3
}
