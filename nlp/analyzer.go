package nlp

import (
	"math"
	"strings"
	"sync"
)

// Empirical constants from the VADER paper (Hutto & Gilbert 2014), kept so
// that intensities stay on the scale the lexicon was rated on.
const (
	boostIncr     = 0.293 // booster / dampener word
	capsIncr      = 0.733 // ALL-CAPS word among mixed case
	negScalar     = -0.74 // negated positive valence
	negNegScalar  = -0.3  // negated negative valence (this project; see negate)
	neverSoScalar = 1.25  // "never so good"
	exclIncr      = 0.292 // per '!', at most maxExcl
	maxExcl       = 4
	questIncr     = 0.18 // per '?' when there are 2 or 3
	maxQuest      = 0.96
	contrastDamp  = 0.5  // clause before "but"
	contrastBoost = 1.5  // clause after "but"
	normAlpha     = 15   // compound = s / sqrt(s^2 + alpha)
	questionDamp  = 0.5  // sentiment inside a question
	hypoDamp      = 0.5  // sentiment inside an if/unless clause
	modalDamp     = 0.75 // sentiment after would/could/should/might (this project)

	// evidenceFloor is subtracted from the magnitude of the summed
	// valence before normalisation. A message whose only evidence is one
	// faint positive word ("sure", "free", "ok" at 0.3-0.6 after
	// dampening) is not an expression of feeling; without the floor it
	// would leave the neutral band. Larger floors trade correlation on
	// emotive text (tweets) for neutral precision on technical text; see
	// doc.go.
	//
	// The floor is for positive evidence. Positive words are the
	// unmarked, frequent, often phatic choice (the Pollyanna hypothesis,
	// Boucher & Osgood 1969; politeness formulas), so a faint one says
	// little; negative words are marked, and even a faint one ("a bit
	// slow", "meh") is the writer's complaint. Outside the technical
	// register negative evidence has no floor (in technical text negative
	// words also describe the system, "the test fails", so there the
	// floor stays).
	//
	// An expressive message (emoticon, emoji or '!') has no floor: the
	// writer has marked it as feeling, so even faint words carry it.
	evidenceFloor = 0.3

	// technicalFloor is the evidence floor for positive messages in the
	// technical register. There, positive words are mostly phatic or
	// descriptive ("thanks, merged", "a better approach", "+1"): one mild
	// word (|v| up to about 1.2) alone does not make a message warm.
	// Negative technical evidence keeps evidenceFloor, far below this:
	// professional complaints are understated ("this is wrong", "still
	// fails"), so mild negative words do carry the signal; but there
	// negative words also describe the system ("the test fails"), so it
	// is not dropped as it is outside the register.
	technicalFloor = 1.2

	// aggregateExp makes the evidence of several rated tokens add up with
	// diminishing returns: the contributions are scaled by k^-aggregateExp
	// for k rated tokens of a sentence, and again by m^-aggregateExp for
	// m sentences with sentiment (see aggregate). People rate the overall
	// feeling of a message, which grows more slowly than the count of its
	// sentiment words.
	aggregateExp = 0.5

	// reportDamp and linkReportDamp scale a message in the reporting
	// voice: no first- or second-person word, no emoticon or emoji, no
	// '!'. Sentiment words there mostly describe the topic ("serial
	// killer arrested", "free shipping", "postmortem of the outage")
	// rather than the writer's feeling, and people rate such messages
	// nearer neutral. Sharing a link in that voice (a headline, an
	// announcement) is the clearest case. Subjectivity cues of this kind
	// are standard (Wiebe et al. 2004; Pang & Lee 2008, ch. 3).
	//
	// A link is the one reporting cue that also counts in a personal
	// message: "loved this talk <url>", "check out our new release
	// <url>!" evaluate the linked content as much as they express the
	// writer's state, so such a message gets reportDamp too (the
	// impersonal voice and a link together get linkReportDamp).
	reportDamp     = 0.9
	linkReportDamp = 0.6

	// emoticonWeight scales emoticons, emoji and chat shortcodes against
	// words. VADER rated them in isolation; in a message they are the
	// writer's deliberate statement of mood and weigh more than a word of
	// the same rating (Hogenboom et al. 2013 find emoticons dominate the
	// textual cues of their segment). A quarter more is a deliberately
	// modest reading of that finding.
	emoticonWeight = 1.25

	// nameDamp scales a rated word that is part of a capitalised name
	// inside a sentence ("Widespread Panic", "Kick Ass", "Hell's
	// Kitchen"): titles and names carry their words' sentiment only
	// faintly.
	nameDamp = 0.5

	// negationScope is how many tokens after a negator (within its
	// clause) a sentiment word is still negated. VADER looks at the
	// three preceding tokens; "I don't think this is good" needs more.
	negationScope = 4
)

// Analyzer scores messages. It is immutable after New and safe for
// concurrent use; build one per process and share it.
type Analyzer struct {
	lx       *lexicon
	themes   *themeLexicon
	negTh    float64
	posTh    float64
	langTest bool
	pool     sync.Pool
}

// Option configures an Analyzer.
type Option func(*Analyzer)

// WithThresholds sets the compound cut-offs of the 3-way label: compound
// <= neg is Negative, >= pos is Positive, neutral in between. The default,
// -0.05 and 0.05, is VADER's.
func WithThresholds(neg, pos float64) Option {
	return func(a *Analyzer) { a.negTh, a.posTh = neg, pos }
}

// WithLanguageCheck turns the not-English check on (default) or off. Off,
// every message with a known word is scored.
func WithLanguageCheck(on bool) Option {
	return func(a *Analyzer) { a.langTest = on }
}

// New returns an Analyzer. The lexicons are embedded and parsed once per
// process, so New is cheap after the first call and cannot fail.
func New(opts ...Option) *Analyzer {
	a := &Analyzer{lx: sharedLexicon(), themes: sharedThemes(), negTh: -0.05, posTh: 0.05, langTest: true}
	for _, o := range opts {
		o(a)
	}
	a.pool.New = func() any { return new(scratch) }
	return a
}

// Score rates one message.
func (a *Analyzer) Score(text string) Score {
	s := a.pool.Get().(*scratch)
	sc := a.score(text, s, nil)
	if cap(s.arena) > 1<<16 || cap(s.toks) > 4096 {
		s = new(scratch) // do not pin memory for a rare huge message
	}
	a.pool.Put(s)
	return sc
}

// Contribution is one token's effect on a score, for explanations. Amount
// is in lexicon units (about -4..+4) after every modifier; the compound is
// a squashing of the sum of all amounts.
type Contribution struct {
	Token  string  `json:"token"`
	Start  int     `json:"start"` // byte offset in the message
	Base   float64 `json:"base"`  // lexicon rating
	Amount float64 `json:"amount"`
	// Why lists the modifiers applied: "negated", "boosted", "dampened",
	// "caps", "elongated", "contrast-", "contrast+", "phrase",
	// "question-or-conditional", "technical-sense", "reporting",
	// "in-a-name", "bare-negation", "expletive"; the message-level entries say
	// "punctuation" or "evidence-floor".
	Why []string `json:"why,omitempty"`
}

// Explain scores text and returns the tokens that moved the score. The
// contributions quote the message: show them to the author or use them in
// tests, never persist them.
func (a *Analyzer) Explain(text string) (Score, []Contribution) {
	s := new(scratch)
	var ex []Contribution
	sc := a.score(text, s, &ex)
	return sc, ex
}

// flags recorded per token during scoring, for explanations.
const (
	fNegated uint16 = 1 << iota
	fBoosted
	fDampened
	fCaps
	fElong
	fContrastDown
	fContrastUp
	fPhrase
	fMood
	fTechnical
	fReport
	fName
	fDegree
	fNegSeen
	fBareNeg
	fExpletive
)

func (a *Analyzer) score(text string, s *scratch, ex *[]Contribution) Score {
	st := s.tokenize(text, a.lx)
	toks := s.toks
	if len(toks) == 0 {
		if isBlank(text) {
			return Score{Status: NoText}
		}
		return Score{Status: NoSignal}
	}
	n := len(toks)
	s.vals = grow(s.vals, n)
	s.base = grow(s.base, n)
	if cap(s.flags) < n {
		s.flags = make([]uint16, n)
	}
	s.flags = s.flags[:n]
	clear(s.flags)
	vals, base, flags := s.vals, s.base, s.flags

	// Pass 0: one lexicon lookup per token; the register. Technical text
	// rates homonyms by their technical sense.
	technical := st.tech
	personal := false // first or second person, emoticon or emoji
	techWords, expressive := 0, false
	for i := 0; i < n; i++ {
		t := &toks[i]
		switch t.kind {
		case tWord:
			t.info = a.lx.info[t.lower]
			if strings.HasSuffix(t.lower, "n't") {
				t.info.bits |= wNegator
			}
			if t.info.bits&wTechWord != 0 {
				techWords++
			}
			if t.info.bits&wPersonal != 0 {
				personal = true
			}
		case tEmoticon:
			t.info = a.lx.info[t.lower]
			personal = true
			expressive = true
		case tEmoji:
			personal = true
			expressive = true
		case tCode:
			technical = technical || t.tech
		}
	}

	// Expressive: the writer marked the message as feeling (emoticon,
	// emoji, '!'). One engineering word does not make such a message
	// technical: "new version is out!! :)" is plain chat.
	expressive = expressive || st.excl > 0
	if techWords >= 2 || techWords == 1 && !expressive {
		technical = true
	}
	// Pass 1: base valences, phrases, language evidence.
	var ev langEvidence
	words, capsWords := 0, 0
	signal := false
	for i := 0; i < n; i++ {
		t := &toks[i]
		switch t.kind {
		case tCode:
			continue
		case tEmoticon:
			base[i] = t.info.val
		case tEmoji:
			r, _ := decodeRune(t.text)
			base[i] = a.lx.emoji[r]
		case tWord:
			words++
			if t.caps {
				capsWords++
			}
			if t.info.bits&wEnglishFn != 0 {
				ev.english++
			} else if t.info.bits&wForeignFn != 0 || t.foreignMark {
				ev.foreign++
			}
			if l, v := a.matchPhrase(s, toks, i); l > 0 {
				base[i] = v
				flags[i] |= fPhrase
				for k := i + 1; k < i+l; k++ {
					flags[k] |= fPhrase
				}
				if v != 0 {
					signal = true
					ev.lexiconHits++
				}
				i += l - 1
				continue
			}
			base[i] = a.wordValence(s, toks, i, technical)
			if technical {
				if t.info.bits&wTech != 0 && t.info.tech == base[i] {
					flags[i] |= fTechnical
				}
			}
		}
		if base[i] != 0 {
			signal = true
			ev.lexiconHits++
		}
	}
	ev.words = words
	// A profane intensifier that modifies no rated word is itself the
	// feeling: "a fucking favicon".
	for i := 0; i < n; i++ {
		if toks[i].info.bits&wProfane == 0 || base[i] != 0 || flags[i]&fPhrase != 0 {
			continue
		}
		if modifiedWord(toks, base, i) < 0 {
			base[i] = profaneSolo
			if wi := toks[i].info; wi.bits&wRated != 0 && wi.val < 0 {
				base[i] = wi.val
			}
			signal = true
			ev.lexiconHits++
		}
	}
	degreeAdverbs(toks, base, flags)
	if a.langTest && ev.notEnglish(st) {
		return Score{Status: NotEnglish, Tokens: n}
	}
	var themes Theme
	themes, s.key = a.themes.themes(toks, s.key)
	if !signal {
		return Score{Status: NoSignal, Tokens: n, Themes: themes}
	}
	capsDiff := capsWords > 0 && capsWords < words

	// Pass 2: modifiers from context.
	for i := 0; i < n; i++ {
		v := base[i]
		vals[i] = v
		if v != 0 && (toks[i].kind == tEmoticon || toks[i].kind == tEmoji) {
			vals[i] = v * emoticonWeight
			continue
		}
		if v == 0 || toks[i].kind != tWord {
			continue
		}
		t := &toks[i]
		if capsDiff && t.caps && t.info.bits&wAcronym == 0 || staccato(toks, i) {
			v += sign(v) * capsIncr
			flags[i] |= fCaps
		}
		if t.elong {
			v += sign(v) * boostIncr
			flags[i] |= fElong
		}
		v = a.applyContext(toks, base, flags, i, v, capsDiff)
		vals[i] = v
	}

	applyNames(toks, vals, flags, words)

	// Pass 3: contrast ("but", "however", "although").
	applyContrast(toks, vals, flags)
	applyMood(toks, vals, flags)

	// Diminishing returns, in two levels: within a sentence k rated
	// tokens count k^(1-aggregateExp) times a typical one, and m
	// sentences with sentiment count m^(1-aggregateExp) times a typical
	// sentence. Scaling the contributions (rather than the sum) keeps
	// explanations additive.
	aggregate(toks, vals)
	bareNegations(toks, base, vals, flags)
	angryExpletives(toks, base, vals, flags)

	// Voice: a message that speaks of neither its writer nor its reader,
	// has no expressive marks and evaluates nothing reports rather than
	// feels.
	if !personal && evaluates(toks, base) {
		personal = true
	}
	if f := reportingDamp(personal, st); f != 1 {
		for i := 0; i < n; i++ {
			if vals[i] != 0 {
				vals[i] *= f
				flags[i] |= fReport
			}
		}
	}

	// Sum, punctuation emphasis, evidence floor, normalisation.
	var sum float64
	for i := 0; i < n; i++ {
		sum += vals[i]
	}

	punct := punctuationEmphasis(st, sum > 0)
	if sum > 0 {
		sum += punct
	} else if sum < 0 {
		sum -= punct
	}
	floor := evidenceFloor
	switch {
	case technical && sum > 0:
		floor = technicalFloor
	case expressive, sum < 0 && !technical:
		floor = 0
	}
	raw := sum
	if d := math.Abs(sum) - floor; d > 0 {
		sum = sign(sum) * d
	} else {
		sum = 0
	}
	compound := sum / math.Sqrt(sum*sum+normAlpha)
	compound = clamp(compound, -1, 1)
	if math.IsNaN(compound) {
		compound = 0
	}

	// Shares as in VADER: each rated token counts |v|+1 on its side, each
	// unrated word 1 as neutral; punctuation emphasis goes to the larger side.
	var posSum, negSum, neu float64
	for i := 0; i < n; i++ {
		switch v := vals[i]; {
		case v > 0:
			posSum += v + 1
		case v < 0:
			negSum += -v + 1
		default:
			if toks[i].kind != tCode && flags[i]&fPhrase == 0 {
				neu++
			}
		}
	}
	if posSum > negSum {
		posSum += punct
	} else if negSum > posSum {
		negSum += punct
	}
	sc := Score{Compound: compound, Tokens: n, Status: Scored, Themes: themes}
	if total := posSum + negSum + neu; total > 0 {
		sc.Pos, sc.Neg = posSum/total, negSum/total
		sc.Neu = 1 - sc.Pos - sc.Neg
		if sc.Neu < 0 {
			sc.Neu = 0
		}
	} else {
		sc.Neu = 1
	}
	switch {
	case compound >= a.posTh:
		sc.Label = Positive
	case compound <= a.negTh:
		sc.Label = Negative
	}
	if ex != nil {
		*ex = explain(text, toks, base, vals, flags, punct, raw, sum)
	}
	return sc
}

func explain(text string, toks []token, base, vals []float64, flags []uint16, punct, raw, sum float64) []Contribution {
	var out []Contribution
	for i := range toks {
		if vals[i] == 0 && base[i] == 0 {
			continue
		}
		c := Contribution{Token: toks[i].text, Start: toks[i].start, Base: base[i], Amount: vals[i]}
		if flags[i]&fPhrase != 0 {
			e := i + 1
			for e < len(toks) && flags[e]&fPhrase != 0 && base[e] == 0 && vals[e] == 0 {
				e++
			}
			last := toks[e-1]
			c.Token = text[c.Start : last.start+len(last.text)]
		}
		for bit, name := range []string{"negated", "boosted", "dampened", "caps", "elongated", "contrast-", "contrast+", "phrase", "question-or-conditional", "technical-sense", "reporting", "in-a-name", "", "", "bare-negation", "expletive"} {
			if name != "" && flags[i]&(1<<bit) != 0 {
				c.Why = append(c.Why, name)
			}
		}
		out = append(out, c)
	}
	if punct != 0 && raw != 0 {
		out = append(out, Contribution{Token: "!?", Start: -1, Amount: sign(raw) * punct, Why: []string{"punctuation"}})
	}
	if sum != raw {
		out = append(out, Contribution{Start: -1, Amount: sum - raw, Why: []string{"evidence-floor"}})
	}
	return out
}

// aggregate scales vals for diminishing returns (see aggregateExp): each
// rated token of a sentence with k rated tokens by k^-aggregateExp, and
// everything by m^-aggregateExp for m sentences with a rated token.
// Sentences are separate statements; the words of one sentence largely
// say the same thing. Two linear passes.
func aggregate(toks []token, vals []float64) {
	n := len(toks)
	m := 0
	for start, k := 0, 0; start < n; start = k {
		rated := false
		for k = start; k < n; k++ {
			rated = rated || vals[k] != 0
			if toks[k].brk == brkSentence {
				k++
				break
			}
		}
		if rated {
			m++
		}
	}
	if m == 0 {
		return
	}
	fm := 1.0
	if m > 1 {
		fm = math.Pow(float64(m), -aggregateExp)
	}
	for start, end := 0, 0; start < n; start = end {
		cnt := 0
		for end = start; end < n; end++ {
			if vals[end] != 0 {
				cnt++
			}
			if toks[end].brk == brkSentence {
				end++
				break
			}
		}
		if cnt == 0 || cnt == 1 && m == 1 {
			continue
		}
		f := fm * math.Pow(float64(cnt), -aggregateExp)
		for i := start; i < end; i++ {
			vals[i] *= f
		}
	}
}

// evaluates reports whether a rated word is predicated by a copula,
// possibly through a booster: "life is good", "it's so cool", "that
// looks great". A predicative evaluation is the writer's own judgement,
// among the strongest subjectivity cues (Wiebe et al. 2004), so such a
// message is not in the reporting voice even without "I" or "you". Words
// ending in -ed are left out: after a copula they are mostly passive
// participles, which report ("was killed", "were arrested").
func evaluates(toks []token, base []float64) bool {
	for i := 1; i < len(toks); i++ {
		if base[i] == 0 || toks[i].kind != tWord || strings.HasSuffix(toks[i].lower, "ed") {
			continue
		}
		j := i - 1
		for d := 0; d < 3 && j > 0 && toks[j].info.bits&wBooster != 0 && toks[j].brk == brkNone; d++ {
			j--
		}
		if toks[j].brk == brkNone && toks[j].info.bits&wCopula != 0 {
			return true
		}
	}
	return false
}

// reportingDamp returns the factor for a message in the reporting voice
// (see reportDamp), or 1.
func reportingDamp(personal bool, st textStats) float64 {
	switch {
	case (personal || st.excl > 0) && st.link:
		return reportDamp
	case personal || st.excl > 0:
		return 1
	case st.link:
		return linkReportDamp
	}
	return reportDamp
}

// punctuationEmphasis is VADER's emphasis for '!' and repeated '?',
// added towards the sign of the sum. Repeated question marks press a
// question: they carry insistence, disbelief or exasperation ("seriously??",
// "why is it down again???"), never enthusiasm, so they add to negative
// evidence only.
func punctuationEmphasis(st textStats, positive bool) float64 {
	p := float64(min(st.excl, maxExcl)) * exclIncr
	if st.quest > 1 && !positive {
		if st.quest <= 3 {
			p += float64(st.quest) * questIncr
		} else {
			p += maxQuest
		}
	}
	return p
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func isBlank(s string) bool {
	for _, r := range s {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0, 0x2028, 0x2029, 0x200B, 0xFEFF:
		default:
			return false
		}
	}
	return true
}
