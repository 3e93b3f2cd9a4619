package nlp

// Language check.
//
// The scorer only knows English words, so a message in another language
// would come out as "neutral" and dilute team aggregates with noise. The
// check is deliberately cheap (it reuses the tokens, no n-gram model) and
// conservative (short or unclear messages pass as English):
//
//  1. Script: if more than half of the letters are not Latin (Cyrillic,
//     Greek, CJK, Arabic, Devanagari, ...) the message is not English.
//  2. Function words: English text is dense in a small closed set of words
//     (the, and, is, to, you, ...); Spanish, Portuguese, French, German,
//     Italian, Dutch, the Nordic languages, Polish, Czech, Turkish and
//     Indonesian have their own sets. We count hits of each set,
//     using only words that are not also English words (so "die", "a",
//     "me", "son" are excluded), plus words with diacritics rare in
//     English (ñ, ã, ß, ç, ü, ...). The message is not English when the
//     foreign evidence is at least 2 and greater than the English hits,
//     or when it is at least 1, there is no English hit and no word of the
//     sentiment lexicon.
//
// Known weak spots: code-mixed messages are classed by their majority; a
// one-word foreign message ("gracias") passes as English with no signal.

// englishFunctionWords is a closed-class list: articles, pronouns,
// auxiliaries, prepositions, conjunctions and common adverbs.
var englishFunctionWords = setOf(
	"the", "a", "an", "and", "or", "but", "if", "then", "so", "of", "to", "in",
	"on", "at", "by", "for", "with", "from", "about", "into", "over", "after",
	"before", "up", "down", "out", "off", "i", "you", "he", "she", "it", "we",
	"they", "me", "him", "her", "us", "them", "my", "your", "his", "its",
	"our", "their", "this", "that", "these", "those", "is", "are", "was",
	"were", "be", "been", "being", "am", "do", "does", "did", "have", "has",
	"had", "will", "would", "can", "could", "should", "shall", "may", "might",
	"must", "not", "no", "yes", "what", "which", "who", "when", "where", "why",
	"how", "there", "here", "just", "also", "very", "too", "all", "some",
	"any", "more", "most", "than", "as", "because", "while", "i'm", "it's",
	"don't", "can't", "won't", "didn't", "doesn't", "isn't", "that's",
	"i've", "you're", "we're", "they're", "i'll", "we'll", "let's", "get",
	"got", "like", "now", "still", "again", "only", "even", "really", "think",
	"know", "see", "need", "want", "make", "go", "going", "one", "new",
)

// foreignFunctionWords are frequent words of other Latin-script languages
// that are not English words.
var foreignFunctionWords = setOf(
	// Spanish
	"el", "los", "las", "del", "que", "es", "una", "por", "para",
	"pero", "muy", "esta", "este", "como", "más", "mas", "se",
	"mi", "tu", "eso", "esto", "hay", "nada", "bien", "gracias", "hola",
	"porque", "cuando", "todo", "tengo", "estoy", "tiene", "sí", "también",
	// Portuguese
	"não", "nao", "uma", "com", "muito", "você", "voce", "isso",
	"está", "ele", "ela", "obrigado", "obrigada", "tudo", "meu", "minha",
	// French
	"le", "les", "des", "est", "et", "je", "tu", "il", "nous", "vous",
	"ils", "une", "du", "au", "aux", "pas", "ce", "cette", "qui", "avec",
	"pour", "dans", "sur", "mais", "très", "tres", "merci", "bonjour", "c'est",
	"j'ai", "oui", "être", "avoir", "sont", "fait",
	// German
	"der", "das", "und", "ist", "nicht", "ein", "eine", "ich", "du", "wir",
	"sie", "mit", "auf", "für", "dem", "zu", "es", "sehr",
	"danke", "bitte", "aber", "auch", "noch", "wie", "kann", "haben", "sind",
	"nur", "schon", "jetzt", "oder", "wenn",
	// Italian
	"il", "della", "che", "di", "sono", "non", "una", "molto", "questo",
	"questa", "grazie", "anche", "hai", "perché", "tutto",
	// Dutch
	"het", "een", "niet", "ik", "je", "met", "voor", "zijn", "ook",
	"maar", "heb", "bedankt", "goed", "jij", "wij", "dit",
	// Swedish, Norwegian, Danish
	"och", "är", "jag", "inte", "det", "att", "för", "med", "ikke", "jeg",
	"og", "tack", "takk", "hej", "också", "ska", "skal",
	// Polish, Czech
	"nie", "jest", "się", "że", "jak", "dziękuję", "dzięki", "bardzo", "tak",
	"czy", "jsem", "není", "děkuji", "také",
	// Turkish
	"ve", "bir", "çok", "için", "değil", "teşekkürler", "mı",
	// Indonesian, Malay
	"yang", "tidak", "ini", "itu", "saya", "dengan", "untuk", "terima", "kasih",
	"sudah", "belum", "bisa", "juga", "aku", "kamu",
)

func setOf(ws ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(ws))
	for _, w := range ws {
		m[w] = struct{}{}
	}
	return m
}

// langEvidence accumulates the language signals of one message.
type langEvidence struct {
	english, foreign, words, lexiconHits int
}

// notEnglish decides from the evidence and the script statistics.
func (e langEvidence) notEnglish(st textStats) bool {
	letters := st.latinLetters + st.otherLetters
	if letters >= 4 && st.otherLetters*2 > letters {
		return true
	}
	if e.foreign >= 2 && e.foreign > e.english {
		return true
	}
	return e.foreign >= 1 && e.english == 0 && e.lexiconHits == 0 && e.words >= 2
}
