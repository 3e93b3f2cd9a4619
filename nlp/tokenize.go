package nlp

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// tokKind classifies a token for scoring.
type tokKind uint8

const (
	tWord     tokKind = iota // a word: letters, digits, inner ' and -
	tEmoticon                // ":)", "<3", or a chat shortcode such as ":tada:"
	tEmoji                   // one Unicode emoji (modifiers dropped)
	tCode                    // URL, @mention, #123, identifier, path, `code`: counted, never rated
)

// Boundary strength after a token; negation and contrast scopes end at it.
const (
	brkNone     uint8 = iota
	brkClause         // , ; :  and dashes
	brkSentence       // . ! ? and line breaks
)

type token struct {
	text        string // as written (a slice of the input, for explanations and case)
	lower       string // lookup key: lower case, ’ folded to '
	start       int    // byte offset of text in the input
	kind        tokKind
	brk         uint8    // boundary that follows this token
	caps        bool     // at least two letters, all upper case
	title       bool     // capitalised: an upper-case first letter, then lower case
	elong       bool     // a letter repeated three or more times ("sooo")
	latin       bool     // every letter is Latin script
	foreignMark bool     // contains a letter with a diacritic typical of other languages
	question    bool     // the boundary after this token is a ?
	exclaim     bool     // the boundary after this token has a '!'
	tech        bool     // code: identifier, path, backtick span (technical register)
	hashtag     bool     // written as #word
	info        wordInfo // lexicon facts for lower, set by the scorer
}

// textStats are message-level facts gathered while tokenizing.
type textStats struct {
	excl, quest  int // '!' and '?' outside code
	latinLetters int
	otherLetters int  // letters of non-Latin scripts
	tech         bool // saw a backtick code span
	link         bool // saw a URL
}

// scratch is the per-call working memory, pooled so that steady-state
// scoring allocates nothing for ASCII text.
type scratch struct {
	toks   []token
	vals   []float64
	base   []float64
	flags  []uint16
	arena  []byte // backing store for lower-case token keys
	key    []byte // phrase and variant probe buffer
	inCode bool
	// lead is true while only @mentions have been seen on the current
	// line. A leading mention addresses the reader ("@ana No.", "@ana
	// but why?"); it is set off like a vocative, so the words after it
	// start a sentence (a lone "No", a "why" complaint, a sentence-opening
	// "But" are recognised after it).
	lead bool
}

// tokenize splits text into tokens.
//
// Why not prose's tokenizer directly: prose/v2 exposes tokenization only
// through prose.NewDocument, which allocates a *Token per token, runs a
// regexp per word and a strings.Replacer per document; measured in
// BenchmarkTokenizer it is several times slower than this function, which
// alone would consume most of the per-message budget (the pipeline needs
// well over 50k messages/s per core). This tokenizer follows prose's rules
// where they matter for sentiment (whitespace split, leading ( [ " $ and
// trailing , ) " ] ! ; . ? : ' stripped, emoticons kept whole, ’ folded to ')
// and TestTokenizerAgreesWithProse checks that the word tokens of both agree
// on a fixture. It differs on purpose in three ways: contractions stay one
// token ("don't", as in VADER, whose lexicon and negation list are keyed
// that way), chat shortcodes and emoji are tokens, and code-like chunks
// (URLs, mentions, identifiers, paths, backtick spans) become tCode tokens
// that count but are never rated, since "kill -9" or `fatal_error()` are
// not feelings.
func (s *scratch) tokenize(text string, lx *lexicon) textStats {
	var st textStats
	s.toks = s.toks[:0]
	s.inCode = false
	s.lead = true
	if need := 2*len(text) + 16; cap(s.arena) < need {
		s.arena = make([]byte, 0, need)
	}
	s.arena = s.arena[:0]
	i := 0
	lineStart := true
	for i < len(text) {
		c := text[i]
		if lineStart && c == '>' {
			// A quoted line (e-mail reply, review comment) is someone
			// else's text: skip it to the end of the line.
			k := strings.IndexByte(text[i:], '\n')
			if k < 0 {
				break
			}
			s.markBreak(brkSentence)
			i += k
			continue
		}
		if c < utf8.RuneSelf {
			if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				i++
				continue
			}
			if c == '\n' {
				s.markBreak(brkSentence)
				lineStart = true
				s.lead = true
				i++
				continue
			}
		} else {
			r, n := utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				if r == 0x2028 || r == 0x2029 || r == 0x85 {
					s.markBreak(brkSentence)
				}
				i += n
				continue
			}
		}
		j := i
		for j < len(text) {
			c := text[j]
			if c < utf8.RuneSelf {
				if c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
					break
				}
				j++
				continue
			}
			r, n := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		lineStart = false
		n0 := len(s.toks)
		s.chunk(text, i, j, lx, &st)
		if s.lead && len(s.toks) > n0 {
			if t := &s.toks[len(s.toks)-1]; len(s.toks) == n0+1 && t.kind == tCode && len(t.text) > 1 && t.text[0] == '@' {
				s.markBreak(brkSentence)
			} else {
				s.lead = false
			}
		}
		i = j
	}
	return st
}

func (s *scratch) markBreak(b uint8) {
	if n := len(s.toks); n > 0 && s.toks[n-1].brk < b {
		s.toks[n-1].brk = b
	}
}

func (s *scratch) markQuestion() {
	if n := len(s.toks); n > 0 {
		s.toks[n-1].question = true
	}
}

func (s *scratch) markExclaim() {
	if n := len(s.toks); n > 0 {
		s.toks[n-1].exclaim = true
	}
}

// chunk tokenizes one whitespace-delimited chunk text[i:j].
func (s *scratch) chunk(text string, i, j int, lx *lexicon, st *textStats) {
	c := text[i:j]
	if s.inCode && strings.IndexByte(c, '`') < 0 {
		s.toks = append(s.toks, token{text: c, start: i, kind: tCode, tech: true})
		return
	}
	// Emoticons first, whole or with trailing sentence punctuation: ":)",
	// ":-(", "<3", "xD", ":tada:".
	if c[0] == '&' && len(c) > 4 && (strings.HasPrefix(c, "&lt;") || strings.HasPrefix(c, "&gt;")) {
		// HTML-escaped emoticon: "&lt;3" is "<3", "&gt;:(" is ">:(".
		e := trimSentencePunct(c)
		s.key = append(s.key[:0], '<')
		if c[1] == 'g' {
			s.key[0] = '>'
		}
		s.key = append(s.key, e[4:]...)
		if _, ok := lx.emoticons[string(s.key)]; ok {
			s.toks = append(s.toks, token{text: e, lower: s.arenaString(s.key), start: i, kind: tEmoticon})
			s.punct(c[len(e):], st)
			return
		}
	}
	if len(c) <= lx.maxEmoticonLen+4 {
		e := trimSentencePunct(c)
		if e == "" {
			e = c
		}
		if len(e) <= lx.maxEmoticonLen && !isPlainWord(e) {
			key := s.lowerASCII(e)
			if _, ok := lx.emoticons[key]; !ok && hasRepeat(key) {
				// ":)))", "=(((" -> ":)", "=("
				s.key = collapseRuns(s.key[:0], key, 1)
				if _, ok := lx.emoticons[string(s.key)]; ok {
					key = s.arenaString(s.key)
				}
			}
			if _, ok := lx.emoticons[key]; ok {
				s.toks = append(s.toks, token{text: e, lower: key, start: i, kind: tEmoticon})
				s.punct(c[len(e):], st)
				return
			}
		}
	}
	if c[0] == '#' && len(c) > 1 && isASCIILetter(c[1]) && s.hashtag(text, i, j, st) {
		return
	}
	if code, tech := isCodeChunk(c); code {
		if !tech && c[0] != '@' && strings.IndexByte(c, '@') < 0 {
			st.link = true // URL or bare web address
		}
		body := strings.TrimRight(c, ".,!?;:)\"'")
		s.toks = append(s.toks, token{text: body, start: i, kind: tCode, tech: tech})
		s.punct(c[len(body):], st)
		return
	}
	if c[0] == '#' && len(c) > 1 && c[1] >= '0' && c[1] <= '9' {
		s.toks = append(s.toks, token{text: c, start: i, kind: tCode}) // issue reference
		return
	}
	// Rune scan: words, emoji, shortcodes, punctuation.
	k := i
	ws := -1 // start of the current word, -1 when none
	for k < j {
		r, n := rune(text[k]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[k:j])
		}
		switch {
		case r == '`':
			st.tech = true
			s.flushWord(text, ws, k, st)
			ws = -1
			s.inCode = !s.inCode
		case s.inCode:
			// inside a backtick span: skip
		case k > i && r < utf8.RuneSelf && !isWordRune(r) && j-k >= 2 && j-k <= lx.maxEmoticonLen+4 && !closesBracket(text[i:k], r) && s.emoticonAt(text, k, j, lx):
			// an emoticon glued to the end of a word: "fun!:)", "day:-("
			s.flushWord(text, ws, k, st)
			ws = -1
			e := trimSentencePunct(text[k:j])
			s.toks = append(s.toks, token{text: e, lower: s.lowerASCII(e), start: k, kind: tEmoticon})
			s.punct(text[k+len(e):j], st)
			return
		case isWordRune(r):
			if ws < 0 {
				ws = k
			}
		case (r == '\'' || r == '\u2019' || r == '-') && ws >= 0 && k+n < j && isWordRune(nextRune(text[k+n:j])):
			// inner apostrophe or hyphen: part of the word
		case r == ':' && k+n < j:
			if end := shortcodeEnd(text[k:j]); end > 0 {
				s.flushWord(text, ws, k, st)
				ws = -1
				sc := text[k : k+end]
				key := s.lowerASCII(sc)
				kind := tCode
				if _, ok := lx.words[key]; ok {
					kind = tEmoticon
				}
				s.toks = append(s.toks, token{text: sc, lower: key, start: k, kind: kind})
				k += end
				continue
			}
			s.flushWord(text, ws, k, st)
			ws = -1
			s.markBreak(brkClause)
		case isEmojiRune(r):
			s.flushWord(text, ws, k, st)
			ws = -1
			if _, ok := lx.emoji[r]; ok {
				s.toks = append(s.toks, token{text: text[k : k+n], start: k, kind: tEmoji})
			} else {
				s.toks = append(s.toks, token{text: text[k : k+n], start: k, kind: tCode})
			}
		case isEmojiModifier(r):
		case r == '&' && entityLen(text[k:j]) > 0:
			// HTML entity left by an export ("&amp;", "&quot;"): a
			// separator, never a word.
			s.flushWord(text, ws, k, st)
			ws = -1
			k += entityLen(text[k:j])
			continue
		default:
			s.flushWord(text, ws, k, st)
			ws = -1
			switch r {
			case '!':
				s.exclaim(st)
			case '?':
				s.question(st)
			case '.', '\u2026':
				s.markBreak(brkSentence)
			case ',', ';', '\u2013', '\u2014':
				s.markBreak(brkClause)
			case '-':
				if ws < 0 && k+n < j && text[k+n] == '-' {
					s.markBreak(brkClause)
				}
			}
		}
		k += n
	}
	s.flushWord(text, ws, j, st)
}

// exclaim records a '!': it ends a sentence and amplifies it.
func (s *scratch) exclaim(st *textStats) {
	st.excl++
	s.markBreak(brkSentence)
	s.markExclaim()
}

// question records a '?': it ends a sentence and marks it as a question.
func (s *scratch) question(st *textStats) {
	st.quest++
	s.markBreak(brkSentence)
	s.markQuestion()
}

// punct records sentence punctuation trailing an emoticon or code chunk.
func (s *scratch) punct(p string, st *textStats) {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '!':
			s.exclaim(st)
		case '?':
			s.question(st)
		case '.':
			s.markBreak(brkSentence)
		case ',', ';', ':':
			s.markBreak(brkClause)
		}
	}
}

func nextRune(s string) rune {
	if s == "" {
		return utf8.RuneError
	}
	if s[0] < utf8.RuneSelf {
		return rune(s[0])
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// shortcodeEnd returns the length of a chat shortcode (":name:") at the
// start of s, or 0.
func shortcodeEnd(s string) int {
	if len(s) < 3 || s[0] != ':' {
		return 0
	}
	for k := 1; k < len(s) && k <= 40; k++ {
		c := s[k]
		switch {
		case c == ':':
			if k == 1 {
				return 0
			}
			return k + 1
		case ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '_' || c == '+' || c == '-':
		default:
			return 0
		}
	}
	return 0
}

// isCodeChunk reports whether a whitespace-delimited chunk is a URL, a
// mention, an e-mail address, a path or a programming identifier. Such
// chunks are common in engineering chat and carry names, not sentiment.
//
// tech is true for identifiers and paths, which mark the message as
// technical; URLs and mentions are code but say nothing about register.
func isCodeChunk(c string) (code, tech bool) {
	if c[0] == '@' && len(c) > 1 {
		return true, false
	}
	if strings.Contains(c, "://") || strings.HasPrefix(c, "www.") || isDomain(c) {
		return true, false
	}
	if k := strings.IndexByte(c, '@'); k > 0 && k+1 < len(c) && isASCIILetter(c[k+1]) {
		return true, false // e-mail address or a mention glued to a word ("RT@someone")
	}
	return isIdentifier(c), true
}

func isIdentifier(c string) bool {
	slashes := strings.Count(c, "/")
	letters, upperAfterLower, prevLower := 0, false, false
	for k := 0; k < len(c); k++ {
		b := c[k]
		switch {
		case 'a' <= b && b <= 'z':
			letters++
			prevLower = true
			continue
		case 'A' <= b && b <= 'Z':
			letters++
			if prevLower {
				upperAfterLower = true
			}
		case b == '_' || b == '=' || b == '{' || b == '}' || b == '<' || b == '>' || b == '\\' || b == '|':
			if letters > 0 || k+1 < len(c) && isASCIILetter(c[k+1]) {
				return true
			}
		case b == '(':
			if k+1 < len(c) && c[k+1] == ')' && letters > 0 {
				return true // call()
			}
		case b == '.' || b == '/':
			// foo.bar, pkg/file, a.b.c, /usr/bin; not "e.g.", "i.e.", "and/or" (one slash, short words).
			if k > 0 && k+2 < len(c) && isASCIILetter(c[k-1]) && isASCIILetter(c[k+1]) && isASCIILetter(c[k+2]) {
				if b == '.' || slashes > 1 {
					return true
				}
			}
			if b == '/' && k == 0 && len(c) > 1 && isASCIILetter(c[1]) {
				return true
			}
		case b == '@' && k > 0:
			return true // e-mail address
		}
		prevLower = false
	}
	// camelCase identifiers: getUser, parseJSON; not brand names: two
	// capitalised parts ("YouTube", "McDonald") or one lower-case letter
	// before a capitalised word ("iPhone", "eBay", "iPhone4").
	if !upperAfterLower || letters <= 3 || strings.IndexByte(c, '.') >= 0 {
		return upperAfterLower && letters > 3
	}
	if c[0] >= 'A' && c[0] <= 'Z' && countUpper(c) == 2 && c[1] >= 'a' {
		return false
	}
	if len(c) > 2 && c[0] >= 'a' && c[0] <= 'z' && c[1] >= 'A' && c[1] <= 'Z' && countUpper(c) == 1 {
		return false
	}
	return true
}

func countUpper(c string) int {
	n := 0
	for k := 0; k < len(c); k++ {
		if 'A' <= c[k] && c[k] <= 'Z' {
			n++
		}
	}
	return n
}

func isASCIILetter(b byte) bool { return ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') }

// flushWord emits text[ws:we] as a word token when ws >= 0.
func (s *scratch) flushWord(text string, ws, we int, st *textStats) {
	if ws < 0 || we <= ws {
		return
	}
	w := text[ws:we]
	t := token{text: w, start: ws, kind: tWord, latin: true, hashtag: ws > 0 && text[ws-1] == '#'}
	upper, lower, letters, digits := 0, 0, 0, 0
	ascii := true
	var run, prev rune = 0, -1
	for _, r := range w {
		if r >= utf8.RuneSelf {
			ascii = false
		}
		switch {
		case r < utf8.RuneSelf && 'a' <= r && r <= 'z':
			lower++
			letters++
			st.latinLetters++
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			upper++
			letters++
			st.latinLetters++
		case r < utf8.RuneSelf && '0' <= r && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
			if unicode.IsUpper(r) {
				upper++
			} else {
				lower++
			}
			if unicode.Is(unicode.Latin, r) {
				st.latinLetters++
				if foreignDiacritic(r) {
					t.foreignMark = true
				}
			} else {
				st.otherLetters++
				t.latin = false
			}
		}
		if r == prev && unicode.IsLetter(r) {
			run++
			if run >= 2 {
				t.elong = true
			}
		} else {
			run = 0
		}
		prev = r
	}
	if digits > 0 {
		// numbers, versions, hashes ("1.2", "v2", "sha256", "4xx"): not words
		t.kind = tCode
	}
	t.caps = upper >= 2 && lower == 0
	t.title = lower > 0 && w[0] >= 'A' && w[0] <= 'Z'
	if ascii && upper == 0 {
		t.lower = w
	} else {
		t.lower = s.lower(w, ascii)
	}
	s.toks = append(s.toks, t)
}

// lower returns w in lower case with ’ folded to ', backed by the arena
// when it fits, so that ASCII text needs no allocation.
func (s *scratch) lower(w string, ascii bool) string {
	if ascii {
		if cap(s.arena)-len(s.arena) < len(w) {
			return strings.ToLower(w)
		}
		n := len(s.arena)
		for k := 0; k < len(w); k++ {
			b := w[k]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			s.arena = append(s.arena, b)
		}
		return unsafe.String(&s.arena[n], len(w))
	}
	if cap(s.arena)-len(s.arena) < 2*len(w)+4 {
		return strings.ReplaceAll(strings.ToLower(w), "\u2019", "'")
	}
	n := len(s.arena)
	for _, r := range w {
		if r == '\u2019' {
			r = '\''
		}
		s.arena = utf8.AppendRune(s.arena, unicode.ToLower(r))
		if cap(s.arena)-len(s.arena) < 4 {
			s.arena = s.arena[:n]
			return strings.ReplaceAll(strings.ToLower(w), "\u2019", "'")
		}
	}
	if len(s.arena) == n {
		return ""
	}
	return unsafe.String(&s.arena[n], len(s.arena)-n)
}

// lowerASCII lower-cases the ASCII letters of a short emoticon or shortcode.
func (s *scratch) lowerASCII(e string) string {
	for k := 0; k < len(e); k++ {
		if 'A' <= e[k] && e[k] <= 'Z' {
			return s.lower(e, true)
		}
	}
	return e
}

// foreignDiacritic reports letters that are rare in English text but
// frequent in the Latin-script languages most likely to appear instead
// (Spanish, Portuguese, French, German, Italian, Dutch, Nordic, Polish,
// Turkish, Czech). "é" alone is not counted: English borrows it (café).
func foreignDiacritic(r rune) bool {
	switch unicode.ToLower(r) {
	case 'á', 'à', 'â', 'ã', 'ä', 'å', 'ç', 'è', 'ê', 'ë', 'í', 'ì', 'î', 'ï', 'ñ',
		'ó', 'ò', 'ô', 'õ', 'ö', 'ø', 'ú', 'ù', 'û', 'ü', 'ß', 'æ', 'œ', 'ą', 'ę',
		'ł', 'ń', 'ś', 'ź', 'ż', 'ğ', 'ş', 'ı', 'č', 'ř', 'š', 'ž', 'ů', 'ě':
		return true
	}
	return false
}

// emoticonAt reports whether the rest of the chunk, text[k:j] without
// trailing sentence punctuation, is an emoticon.
func (s *scratch) emoticonAt(text string, k, j int, lx *lexicon) bool {
	e := trimSentencePunct(text[k:j])
	if len(e) < 2 || len(e) > lx.maxEmoticonLen {
		return false
	}
	_, ok := lx.emoticons[s.lowerASCII(e)]
	return ok
}

func hasRepeat(w string) bool {
	for k := 1; k < len(w); k++ {
		if w[k] == w[k-1] {
			return true
		}
	}
	return false
}

// arenaString copies b into the arena (or the heap when full).
func (s *scratch) arenaString(b []byte) string {
	if cap(s.arena)-len(s.arena) < len(b) || len(b) == 0 {
		return string(b)
	}
	n := len(s.arena)
	s.arena = append(s.arena, b...)
	return unsafe.String(&s.arena[n], len(b))
}

// trimSentencePunct strips trailing . , ! ? ; and " (strings.TrimRight
// with a cutset builds its set on every call; this runs for every chunk).
func trimSentencePunct(s string) string {
	for len(s) > 0 {
		switch s[len(s)-1] {
		case '.', ',', '!', '?', ';', '"':
			s = s[:len(s)-1]
		default:
			return s
		}
	}
	return s
}

// entityLen returns the length of the HTML character reference at the
// start of s ("&amp;", "&lt;", "&#39;"), or 0. Exported chat and tweets
// often carry them escaped.
func entityLen(s string) int {
	if len(s) < 4 || s[0] != '&' {
		return 0
	}
	for k := 1; k < len(s) && k <= 8; k++ {
		c := s[k]
		switch {
		case c == ';':
			if k < 3 {
				return 0
			}
			return k + 1
		case isASCIILetter(c) || c == '#' && k == 1 || '0' <= c && c <= '9' && k > 1:
		default:
			return 0
		}
	}
	return 0
}

// hashtag tokenizes "#WordsRunTogether" into its words, split at case
// changes ("#WeAreDoomed" -> we are doomed, "#FAIL" -> FAIL), every part
// marked as a hashtag word. Hashtags are prose, not code: they never mark
// the technical register. Lower-case run-together tags ("#sadface") are
// split later against the lexicon (hashtagValence).
func (s *scratch) hashtag(text string, i, j int, st *textStats) bool {
	end := i + 1
	for end < j && (isASCIILetter(text[end]) || text[end] >= '0' && text[end] <= '9' || text[end] == '_') {
		end++
	}
	if end < j && text[end] >= utf8.RuneSelf {
		return false // non-ASCII: the general scan handles it
	}
	ws := i + 1
	for k := i + 2; k <= end; k++ {
		if k == end || text[k] == '_' ||
			('A' <= text[k] && text[k] <= 'Z' && 'a' <= text[k-1] && text[k-1] <= 'z') ||
			// "ABCDef": the last capital starts the next word
			('a' <= text[k] && text[k] <= 'z' && k-2 >= ws && 'A' <= text[k-1] && text[k-1] <= 'Z' && 'A' <= text[k-2] && text[k-2] <= 'Z') {
			we := k
			if k < end && 'a' <= text[k] && text[k] <= 'z' {
				we = k - 1
			}
			if we > ws {
				s.flushWord(text, ws, we, st)
				s.toks[len(s.toks)-1].hashtag = true
			}
			ws = we
			if k < end && text[k] == '_' {
				ws = k + 1
			}
		}
	}
	s.punct(text[end:j], st)
	return true
}

// closesBracket reports whether r closes a bracket opened earlier in the
// chunk, as in "[pic]:" or "(again):": punctuation, not an emoticon.
func closesBracket(before string, r rune) bool {
	switch r {
	case ')':
		return strings.IndexByte(before, '(') >= 0
	case ']':
		return strings.IndexByte(before, '[') >= 0
	case '}':
		return strings.IndexByte(before, '{') >= 0
	}
	return false
}

// isDomain reports a bare web address ("wired.com", "Boston.com/news"):
// a link, not an identifier. It runs for every chunk, so it rejects
// chunks without a dot before any other work.
func isDomain(c string) bool {
	if strings.IndexByte(c, '.') < 0 {
		return false
	}
	c = trimSentencePunct(c)
	if k := strings.IndexByte(c, '/'); k > 0 {
		c = c[:k]
	}
	for _, tld := range [...]string{".com", ".org", ".net", ".co.uk", ".gov", ".edu"} {
		if len(c) > len(tld)+1 && strings.EqualFold(c[len(c)-len(tld):], tld) {
			return true
		}
	}
	return false
}
