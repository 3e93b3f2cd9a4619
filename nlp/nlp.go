package nlp

// Version identifies the scorer; it is stored with every scored row so that
// figures from different scorer versions are never mixed silently.
const Version = "commpulse-nlp/1.5"

// Label is the 3-way sentiment class.
type Label int8

const (
	Negative Label = -1
	Neutral  Label = 0
	Positive Label = 1
)

func (l Label) String() string {
	switch l {
	case Negative:
		return "negative"
	case Positive:
		return "positive"
	default:
		return "neutral"
	}
}

// Status says whether a message received a score.
type Status uint8

const (
	// Scored: the message is (probably) English and had scorable words.
	Scored Status = iota
	// NoText: empty or whitespace-only text.
	NoText
	// NotEnglish: the text does not look like English; no score is given.
	NotEnglish
	// NoSignal: English, but with no word the scorer knows how to rate.
	// Callers should treat it as "no score", not as neutral.
	NoSignal
)

func (s Status) String() string {
	switch s {
	case Scored:
		return "scored"
	case NoText:
		return "no_text"
	case NotEnglish:
		return "not_english"
	case NoSignal:
		return "no_signal"
	}
	return "unknown"
}

// Score is the result of scoring one message.
type Score struct {
	Compound float64 // in [-1, 1]
	Pos      float64 // shares, Pos+Neu+Neg == 1 when Status == Scored
	Neu      float64
	Neg      float64
	Label    Label
	Tokens   int // number of tokens seen
	Status   Status
	// Themes are what the message is about (see Theme), for every English
	// message with words, scored or not (NoSignal): "deadline tomorrow"
	// rates nothing and is still about workload.
	Themes Theme
}
