package nlp

import (
	"math"
	"strings"
	"testing"
)

// TestDerivedWords checks that unknown derivations of lexicon words are
// rated from their stem, with the sign the derivation implies, and that
// look-alikes that are not derivations stay unrated.
func TestDerivedWords(t *testing.T) {
	a := New()
	s := new(scratch)
	lx := a.lx.words
	tests := []struct {
		word, stem string
		sign       float64 // +1 same sign as the stem, -1 flipped, 0 unrated
	}{
		{"lazily", "lazy", 1},
		{"remarkably", "remarkable", 1},
		{"fantastically", "fantastic", 1},
		{"laziness", "lazy", 1},
		{"sickness", "sick", 1},
		{"crappier", "crappy", 1},
		{"coolest", "cool", 1},
		{"sweetest", "sweet", 1},
		{"unhelpful", "helpful", -1},
		{"uninteresting", "interesting", -1},
		{"favourite", "favorite", 1},
		{"hahahaha", "hahaha", 1},
		{"ahahah", "haha", 1},
		{"lololol", "lol", 1},
		// not derivations: agent nouns, prepositions, "non-" classifiers
		{"career", "", 0},
		{"player", "", 0},
		{"unlike", "", 0},
		{"non-blocking", "", 0},
		{"morning", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.word, func(t *testing.T) {
			if _, ok := lx[tc.word]; ok {
				t.Fatalf("%q is in the lexicon: the case tests nothing", tc.word)
			}
			got := a.variantValence(s, tc.word)
			if tc.sign == 0 {
				if got != 0 {
					t.Errorf("%q rated %.2f, want unrated", tc.word, got)
				}
				return
			}
			stem, ok := lx[tc.stem]
			if !ok {
				t.Fatalf("stem %q not in the lexicon", tc.stem)
			}
			if got == 0 || (got > 0) != (tc.sign*stem > 0) {
				t.Errorf("%q rated %.2f, want the sign of %+.0f x %q (%.2f)", tc.word, got, tc.sign, tc.stem, stem)
			}
		})
	}
}

// TestTokenizerChat checks the tokenizer on chat conventions: hashtags are
// words (split at case changes) and never code, HTML entities are
// separators and escaped emoticons are emoticons, a bracket followed by a
// colon is punctuation, a glued mention is code but not technical.
func TestTokenizerChat(t *testing.T) {
	lx := sharedLexicon()
	tests := []struct {
		text string
		want string // word and emoticon tokens, lower case, space-separated
		tech bool
	}{
		{"#WeAreDoomed again", "we are doomed again", false},
		{"#FAIL!!", "fail", false},
		{"#epic_win", "epic win", false},
		{"#HTMLParser", "html parser", false},
		{"love it &lt;3", "love it <3", false},
		{"you &amp; me &quot;friends&quot;", "you me friends", false},
		{"new photo [pic]: here", "new photo pic here", false},
		{"Hilarious! RT@someone", "hilarious", false},
		{"see parseConfig()", "see", true},
		{"see getUser", "see", true},
		{"my iPhone and YouTube", "my iphone and youtube", false},
		{"read it on Wired.com today", "read it on today", false},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			s := new(scratch)
			st := s.tokenize(tc.text, lx)
			var got []string
			tech := st.tech
			for _, tok := range s.toks {
				switch tok.kind {
				case tWord, tEmoticon:
					got = append(got, strings.ToLower(tok.lower))
				case tCode:
					tech = tech || tok.tech
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("tokens %q, want %q", g, tc.want)
			}
			if tech != tc.tech {
				t.Errorf("technical %v, want %v", tech, tc.tech)
			}
		})
	}
}

// TestNegationAsymmetry: a negated positive word is clearly negative, a
// negated negative word only weakly positive ("not bad" is not "good").
func TestNegationAsymmetry(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	good, notGood, bad, notBad := c("the demo was good"), c("the demo was not good"), c("the demo was bad"), c("the demo was not bad")
	if !(notBad > 0 && notBad < good) {
		t.Errorf("not bad %.3f, want in (0, good %.3f)", notBad, good)
	}
	if !(notGood < 0 && -notGood > notBad) {
		t.Errorf("not good %.3f should be negative and stronger than not bad %.3f", notGood, notBad)
	}
	if !(bad < notGood) {
		t.Errorf("bad %.3f should be below not good %.3f", bad, notGood)
	}
}

// TestEmoticonOutweighsWord: an emoticon states the writer's mood and
// outweighs a word of the same lexicon rating ("good" and ":(" are both
// rated 1.9 in magnitude by VADER; after the rater-agreement shrinkage
// ":(" is slightly weaker, which only makes the test harder).
func TestEmoticonOutweighsWord(t *testing.T) {
	a := New()
	lx := a.lx.words
	if !(lx["good"] > 0 && lx[":("] < 0 && -lx[":("] <= lx["good"]) {
		t.Fatalf("fixture assumption: good %.2f, :( %.2f should be opposite, the emoticon no stronger", lx["good"], lx[":("])
	}
	for _, text := range []string{"good :(", "we had a good day :("} {
		if sc := a.Score(text); !(sc.Compound < 0) {
			t.Errorf("%q: compound %.3f, want below 0", text, sc.Compound)
		}
	}
}

// TestRegister checks which positive messages are read in the technical
// register, seen through the evidence floor that Explain reports (the
// technical floor for praise is larger).
func TestRegister(t *testing.T) {
	a := New()
	tests := []struct {
		text      string
		technical bool
	}{
		{"the release is great, thanks", true},
		{"the new version is awesome", true},
		{"the new version is awesome :)", false},        // emoticon: expressive
		{"the new version is awesome!", false},          // '!': expressive
		{"the build and the deploy are awesome!", true}, // two engineering words
		{"see `make test`, it is awesome!", true},       // code span
		{"you made my day, awesome", false},             // no engineering word
		{"Hilarious! RT@someone awesome pic", false},    // a glued mention is not code
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			sc, ex := a.Explain(tc.text)
			if sc.Compound <= 0 {
				t.Fatalf("fixture should be positive, compound %.3f: %+v", sc.Compound, ex)
			}
			floor := 0.0
			for _, c := range ex {
				if len(c.Why) == 1 && c.Why[0] == "evidence-floor" {
					floor = -c.Amount
				}
			}
			if got := floor > evidenceFloor+1e-9; got != tc.technical {
				t.Errorf("technical register %v (floor %.2f), want %v", got, floor, tc.technical)
			}
		})
	}
}

// TestNegatedIntensifier: "not very good" is milder than "not good";
// "really not good" (booster outside the negation) is stronger.
func TestNegatedIntensifier(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	notVery, not, reallyNot := c("the talk was not very good"), c("the talk was not good"), c("the talk was really not good")
	if !(notVery < 0 && notVery > not) {
		t.Errorf("not very good %.3f, want negative and milder than not good %.3f", notVery, not)
	}
	if !(reallyNot < not) {
		t.Errorf("really not good %.3f, want below not good %.3f", reallyNot, not)
	}
}

// TestExpressiveFloor: the evidence floor keeps one faint word from
// counting as feeling, except in a message the writer marked as feeling
// ('!', emoticon, emoji).
func TestExpressiveFloor(t *testing.T) {
	a := New()
	floor := func(text string) float64 {
		_, ex := a.Explain(text)
		for _, c := range ex {
			if len(c.Why) == 1 && c.Why[0] == "evidence-floor" {
				return math.Abs(c.Amount)
			}
		}
		return 0
	}
	tests := []struct {
		text    string
		floored bool
	}{
		{"sure, see you then", true},
		{"sure, see you then!", false},
		{"sure, see you then 🙂", false},
		{"sure, see you then :)", false},
		// negative evidence is not floored outside the technical register
		{"meh, see you then", false},
		// in the technical register it is
		{"the build log says the test is a bit slow", true},
	}
	for _, tc := range tests {
		if got := floor(tc.text) > 0; got != tc.floored {
			t.Errorf("%q: floored %v, want %v", tc.text, got, tc.floored)
		}
	}
}

// TestAggregate checks the two-level diminishing returns: k rated tokens
// of a sentence scale by k^-0.5, m sentences with sentiment by m^-0.5.
func TestAggregate(t *testing.T) {
	// sentence 1: one rated token; sentence 2: four; sentence 3: none.
	toks := make([]token, 9)
	toks[1].brk = brkSentence
	toks[6].brk = brkSentence
	vals := []float64{2, 0, 1, 1, 1, 1, 0, 0, 0}
	aggregate(toks, vals)
	m := 1 / math.Sqrt(2)
	want := []float64{2 * m, 0, 0.5 * m, 0.5 * m, 0.5 * m, 0.5 * m, 0, 0, 0}
	for i := range want {
		if math.Abs(vals[i]-want[i]) > 1e-12 {
			t.Fatalf("vals %v, want %v", vals, want)
		}
	}
	one := []float64{0, -3, 0}
	aggregate(make([]token, 3), one)
	if one[1] != -3 {
		t.Errorf("a lone rated token is scaled: %v", one)
	}
}

// TestContrastNeedsFirstConjunct: "but" shifts weight from its first
// conjunct to its second; with no rated word before it nothing moves, and
// emoticons are not conjuncts.
func TestContrastNeedsFirstConjunct(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	if got, want := c("but the demo was great"), c("the demo was great"); math.Abs(got-want) > 1e-12 {
		t.Errorf("opening but: %.3f, want the unmarked %.3f", got, want)
	}
	if got, base := c("the demo was fine but the talk was great"), c("the talk was great"); !(got > base) {
		t.Errorf("second conjunct after a rated first: %.3f, want above %.3f", got, base)
	}
	_, ex := a.Explain("ok :) but the talk was long and boring")
	for _, e := range ex {
		if e.Token == ":)" && len(e.Why) > 0 {
			t.Errorf("emoticon reweighted by contrast: %+v", e)
		}
	}
	if got, want := c(":) but the talk was boring"), c(":) the talk was boring"); math.Abs(got-want) > 1e-12 {
		t.Errorf("an emoticon is no first conjunct: %.3f, want %.3f", got, want)
	}
}

// TestInterjectionOutsideNegation: negation does not reach laughter and
// other interjections.
func TestInterjectionOutsideNegation(t *testing.T) {
	a := New()
	for _, text := range []string{"no idea lol", "not the latter LOL", "no way hahahaha"} {
		sc, ex := a.Explain(text)
		if sc.Label != Positive {
			t.Errorf("%q: %v (%.3f), want positive; %+v", text, sc.Label, sc.Compound, ex)
		}
	}
	if sc := a.Score("not good"); sc.Label != Negative {
		t.Errorf("not good: %v, the rule must not stop ordinary negation", sc.Label)
	}
}

// TestVocative: a leading @mention is set off from the sentence after it.
func TestVocative(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	if got, want := c("@ana No."), c("No."); got != want || got >= 0 {
		t.Errorf("@ana No.: %.3f, want the lone refusal %.3f", got, want)
	}
	if got, want := c("@ana @bo but the talk was great"), c("the talk was great"); math.Abs(got-want) > 1e-12 {
		t.Errorf("opening but after mentions: %.3f, want %.3f", got, want)
	}
	// a mention inside a sentence is part of it
	if got, want := c("thanks @ana for the fix"), c("thanks for the fix"); got != want {
		t.Errorf("inner mention: %.3f, want %.3f", got, want)
	}
}

// TestQuestionMarksNotEnthusiasm: repeated '?' adds emphasis to negative
// evidence only.
func TestQuestionMarksNotEnthusiasm(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	if got, want := c("you liked it??"), c("you liked it?"); got != want {
		t.Errorf("positive: ?? %.3f, want as one ? %.3f", got, want)
	}
	if got, one := c("you hated it??"), c("you hated it?"); !(got < one) {
		t.Errorf("negative: ?? %.3f, want below one ? %.3f", got, one)
	}
}

// TestRaterShrinkage checks the empirical-Bayes shrinkage of VADER's
// ratings: the standard error comes from the ten individual ratings, the
// prior variance from the whole lexicon, and a word raters disagreed on
// keeps less of its mean than one they agreed on.
func TestRaterShrinkage(t *testing.T) {
	t.Run("parse", func(t *testing.T) {
		e, err := parseVaderEntry(strings.Split("meh\t-0.3\t0.9\t[-1, -1, -1, -1, -1, 1, 1, 1, 1, -2]", "\t"))
		if err != nil {
			t.Fatal(err)
		}
		// sample variance of the ten ratings: (sum r² - 10·0.09)/9 = 12.1/9
		if want := 12.1 / 9 / 10; math.Abs(e.se2-want) > 1e-12 || e.mean != -0.3 {
			t.Errorf("mean %.2f se² %.5f, want -0.30 %.5f", e.mean, e.se2, want)
		}
		if _, err := parseVaderEntry(strings.Split("x\t1\t0\t[1, a]", "\t")); err == nil {
			t.Error("a malformed rating list parsed")
		}
	})
	t.Run("synthetic", func(t *testing.T) {
		es := []vaderEntry{{mean: 2, se2: 0}, {mean: -2, se2: 0.5}, {mean: 1, se2: 0.5}, {mean: -1, se2: 1}}
		tau2 := shrinkRatings(es)
		// mean(mean²) = 2.5, mean(se²) = 0.5
		if math.Abs(tau2-2) > 1e-12 {
			t.Fatalf("tau² = %v, want 2", tau2)
		}
		want := []float64{2, -2 * 2 / 2.5, 1 * 2 / 2.5, -1 * 2 / 3.0}
		for i, e := range es {
			if math.Abs(e.val-want[i]) > 1e-12 {
				t.Errorf("entry %d: %v, want %v", i, e.val, want[i])
			}
		}
	})
	t.Run("lexicon", func(t *testing.T) {
		lx := sharedLexicon()
		var es []vaderEntry
		if err := eachLine("lexicon/vader_lexicon.txt", func(f []string) error {
			e, err := parseVaderEntry(f)
			es = append(es, e)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if lx.tau2 < 1 || lx.tau2 > 4 {
			t.Fatalf("tau² = %.3f: not the spread of a -4..+4 lexicon", lx.tau2)
		}
		var weakest, strongest vaderEntry
		spread := 0
		for _, e := range es {
			if e.se2 > 0 {
				spread++
			}
			if e.mean != 2 {
				continue
			}
			if weakest.term == "" || e.se2 > weakest.se2 {
				weakest = e
			}
			if strongest.term == "" || e.se2 < strongest.se2 {
				strongest = e
			}
		}
		if spread < len(es)/2 {
			t.Fatalf("only %d of %d entries have a rater spread: the rating lists were not read", spread, len(es))
		}
		w, s := lx.words[weakest.term], lx.words[strongest.term]
		if !(0 < w && w < s && s < 2) {
			t.Errorf("mean 2.0: %q (se² %.3f) rated %.3f, %q (se² %.3f) rated %.3f; want 0 < disputed < agreed < 2",
				weakest.term, weakest.se2, w, strongest.term, strongest.se2, s)
		}
	})
}

// TestDegreeAdverbs: an evaluative adverb before a word of the opposite
// polarity grades it ("ridiculously amazing" is very positive, not mixed);
// with the same polarity, and for sentence adverbs, both keep their rating.
func TestDegreeAdverbs(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	tests := []struct {
		graded, plain string
	}{
		{"a ridiculously amazing song", "a amazing song"},
		{"a crazy good song", "a good song"},
		{"wickedly funny", "funny"},
		{"an awesomely bad film", "a bad film"},
	}
	for _, tc := range tests {
		t.Run(tc.graded, func(t *testing.T) {
			g, p := c(tc.graded), c(tc.plain)
			if math.Abs(g) <= math.Abs(p) || g*p <= 0 {
				t.Errorf("%q %.3f, want the sign of %q (%.3f) and stronger", tc.graded, g, tc.plain, p)
			}
			_, ex := a.Explain(tc.graded)
			if len(ex) == 0 || !strings.Contains(strings.Join(ex[0].Why, ","), "boosted") {
				t.Errorf("%q: want the head boosted, got %+v", tc.graded, ex)
			}
		})
	}
	// Same polarity: the adverb keeps its own rating.
	if g, p := c("horribly wrong"), c("wrong"); !(g < p) {
		t.Errorf("horribly wrong %.3f, want below wrong %.3f", g, p)
	}
	// A sentence adverb comments on the clause, it does not grade.
	if _, ex := a.Explain("sadly good things end"); len(ex) < 2 || ex[0].Token != "sadly" {
		t.Errorf("sadly good things end: want sadly rated, got %+v", ex)
	}
}

// TestBareNegation: a negator that negates no rated word is weak negative
// evidence; spent or cancelled negators add nothing; a negation alone does
// not make a message scorable.
func TestBareNegation(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	if g, p := c("great talk, but the demo didn't run"), c("great talk, but the demo did run"); !(g < p) {
		t.Errorf("bare negation %.3f, want below the affirmative %.3f", g, p)
	}
	sc, ex := a.Explain("great talk, but the demo didn't run")
	found := false
	for _, e := range ex {
		if e.Token == "didn't" && e.Amount < 0 && strings.Contains(strings.Join(e.Why, ","), "bare-negation") {
			found = true
		}
	}
	if !found {
		t.Errorf("want didn't as a bare-negation contribution, got %+v (%v)", ex, sc)
	}
	// Spent on a rated word: only the negation rule applies.
	if _, ex := a.Explain("the talk was not good"); len(ex) != 1 || !strings.Contains(strings.Join(ex[0].Why, ","), "negated") {
		t.Errorf("not good: want one negated contribution, got %+v", ex)
	}
	// Cancelled: "not only" is not a negation.
	if g, p := c("not only the talk was great"), c("the talk was great"); g < p-0.05 {
		t.Errorf("not only ... great %.3f, want about %.3f", g, p)
	}
	if sc := a.Score("we don't need this import"); sc.Status != NoSignal {
		t.Errorf("a lone negation: %v, want NoSignal", sc.Status)
	}
}

// TestAngryExpletives: an expletive before a negative word vents as well
// as grades; before a positive word it is emphasis only.
func TestAngryExpletives(t *testing.T) {
	a := New()
	has := func(text, why string) bool {
		_, ex := a.Explain(text)
		for _, e := range ex {
			if strings.Contains(strings.Join(e.Why, ","), why) {
				return true
			}
		}
		return false
	}
	if !has("I fucking hate standups", "expletive") {
		t.Error("fucking hate: want an expletive contribution")
	}
	if has("that demo was fucking awesome", "expletive") {
		t.Error("fucking awesome: an expletive of a positive word is emphasis only")
	}
	c := func(s string) float64 { return a.Score(s).Compound }
	if f, v := c("I fucking hate standups"), c("I very much hate standups"); !(f < v) {
		t.Errorf("fucking hate %.3f, want below very much hate %.3f", f, v)
	}
}

// TestTagQuestion: a question tag asks to agree with an asserted
// statement, which keeps its sentiment; a real question is damped.
func TestTagQuestion(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	stmt := c("the new build is pretty amazing.")
	for _, text := range []string{
		"the new build is pretty amazing, isn't it?",
		"the new build is pretty amazing, right?",
		"the new build is pretty amazing isn't it?",
	} {
		if got := c(text); math.Abs(got-stmt) > 1e-9 {
			t.Errorf("%q: %.3f, want the statement's %.3f", text, got, stmt)
		}
	}
	for _, text := range []string{"is the new build pretty amazing?", "is that right?"} {
		if got := c(text); got >= stmt {
			t.Errorf("%q: %.3f, a real question should score below the statement %.3f", text, got, stmt)
		}
	}
}
