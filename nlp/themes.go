package nlp

import (
	_ "embed"
	"fmt"
	"math/bits"
	"strings"
	"sync"
)

// Themes are what a message is about, from lexicon groups kept in the repo
// (lexicon/themes.txt): workload, recognition, conflict, blockers, change.
// They are the drivers of a team's sentiment without text: a message's
// Score.Themes is a bit set, and only team-level counts of it are ever
// published. The matching words are never kept, so the bits say that a
// message was about workload, not what it said.
//
// The trade-off is plain lexical matching: a theme term counts whether it
// is negated or not ("not blocked anymore" is still about blockers), and a
// word outside the list is missed. That keeps the rule explainable (an HR
// partner can read the list) and cheap (one map probe per word, phrases only
// after a word that starts one), at the price of recall on paraphrase.

//go:embed lexicon/themes.txt
var themesFile string

// Theme is one bit of Score.Themes.
type Theme uint16

type themeLexicon struct {
	names      []string
	words      map[string]Theme // one word -> themes
	phrases    map[string]Theme // "w1 w2" or "w1 w2 w3" -> themes
	firstWords map[string]bool
}

var sharedThemes = sync.OnceValue(func() *themeLexicon {
	tl, err := parseThemes(themesFile)
	if err != nil {
		panic(err) // embedded: a build defect, caught by every test
	}
	return tl
})

func parseThemes(src string) (*themeLexicon, error) {
	tl := &themeLexicon{words: map[string]Theme{}, phrases: map[string]Theme{}, firstWords: map[string]bool{}}
	index := map[string]int{}
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, terms, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("themes.txt line %d: want \"theme: term, term\"", n+1)
		}
		i, seen := index[name]
		if !seen {
			i = len(tl.names)
			if i >= 16 {
				return nil, fmt.Errorf("themes.txt line %d: more than 16 themes", n+1)
			}
			index[name] = i
			tl.names = append(tl.names, name)
		}
		bit := Theme(1) << i
		for _, term := range strings.Split(terms, ",") {
			f := strings.Fields(strings.ToLower(strings.ReplaceAll(term, "’", "'")))
			switch {
			case len(f) == 0:
				return nil, fmt.Errorf("themes.txt line %d: empty term", n+1)
			case len(f) == 1:
				tl.words[f[0]] |= bit
			case len(f) <= 3:
				tl.phrases[strings.Join(f, " ")] |= bit
				tl.firstWords[f[0]] = true
			default:
				return nil, fmt.Errorf("themes.txt line %d: %q: at most three words", n+1, term)
			}
		}
	}
	return tl, nil
}

// ThemeNames lists the themes in bit order: ThemeNames()[i] is bit 1<<i.
func ThemeNames() []string { return append([]string(nil), sharedThemes().names...) }

// Names returns the names of the themes set in t, in bit order.
func (t Theme) Names() []string {
	names := sharedThemes().names
	var out []string
	for b := t; b != 0; b &= b - 1 {
		if i := bits.TrailingZeros16(uint16(b)); i < len(names) {
			out = append(out, names[i])
		}
	}
	return out
}

// themes returns the themes of the word tokens of a message. A phrase does
// not cross a sentence boundary.
func (tl *themeLexicon) themes(toks []token, key []byte) (Theme, []byte) {
	var t Theme
	for i := range toks {
		tok := &toks[i]
		if tok.kind != tWord {
			continue
		}
		t |= tl.words[tok.lower]
		if !tl.firstWords[tok.lower] {
			continue
		}
		key = append(key[:0], tok.lower...)
		for j := i + 1; j < len(toks) && j <= i+2; j++ {
			if toks[j-1].brk == brkSentence || toks[j].kind != tWord {
				break
			}
			key = append(append(key, ' '), toks[j].lower...)
			t |= tl.phrases[string(key)] // no allocation: the compiler elides the conversion
		}
	}
	return t, key
}
