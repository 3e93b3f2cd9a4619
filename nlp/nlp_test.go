package nlp

import (
	"math"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/jdkato/prose/v2"
)

// TestDirections checks the sign of the score for the phenomena the
// scorer models. Each case names the rule it exercises.
func TestDirections(t *testing.T) {
	a := New()
	tests := []struct {
		name  string
		text  string
		label Label
	}{
		{"lexicon positive", "Great job on the release, thanks all!", Positive},
		{"lexicon negative", "This is terrible.", Negative},
		{"negation flips", "This is not good.", Negative},
		{"negation of negative", "Honestly, not bad at all.", Positive},
		{"negation scope over think", "I don't think this is a good idea", Negative},
		{"contraction negator", "It isn't helpful.", Negative},
		{"negation ends at clause", "Not my area, but great work", Positive},
		{"contrast but", "The idea is nice but the code is awful", Negative},
		{"contrast however sentence", "The design is good. However, the tests are terrible.", Negative},
		{"work vocabulary burnout", "I'm completely burned out", Negative},
		{"work vocabulary kudos", "kudos to the team", Positive},
		{"work vocabulary outage", "another outage tonight", Negative},
		{"shipped", "We shipped it", Positive},
		{"code review lgtm", "LGTM", Positive},
		{"plus one", "+1 from me", Positive},
		{"negated phrase", "this doesn't make sense", Negative},
		{"technical register: thanks alone is phatic", "Thanks, merged the PR into the release branch.", Neutral},
		{"everyday register: thanks is warm", "Thanks, you made my day.", Positive},
		{"technical homonym aimed at a person", "this build is killing me", Negative},
		{"phrase this is broken", "this is broken", Negative},
		{"phrase works for me", "works for me", Positive},
		{"shortcode tada", "released :tada:", Positive},
		{"shortcode rage", "flaky again :rage:", Negative},
		{"shortcode facepalm", "forgot the migration :facepalm:", Negative},
		{"emoji", "done 🎉", Positive},
		{"emoji negative", "deploy failed 😡", Negative},
		{"emoticon", "see you tomorrow :)", Positive},
		{"emoticon glued to a word", "see you tomorrow!:(", Negative},
		{"dismay face D: (case-folded duplicate in VADER)", "they cancelled the demo D:", Negative},
		{"chat emoticon missing from VADER", "friday deploy again -_-", Negative},
		{"chat emoticon missing from VADER, positive", "see you there ^^", Positive},
		{"run-together hashtag", "monday again #sofrustrating", Negative},
		{"technical kill is not violence", "kill the process and restart it", Neutral},
		{"code span ignored", "run `make kill-all-bad-workers` first", Neutral},
		{"quoted line ignored", "> this is awful\nmerged in main", Neutral},
		{"idiom", "I can't wait for the offsite", Positive},
		{"negated idiom reads positive", "couldn't be happier with the launch", Positive},
		{"negated idiom reads negative", "I can't stand these meetings", Negative},
		{"elongation", "sooo goood", Positive},
		{"certainty adverb boosts, is not praise", "definitely a problem", Negative},
		{"certainty adverb alone agrees", "Definitely!", Positive},
		{"stance adverb as discourse marker is not praise", "Honestly, the layoffs news has everyone worried.", Negative},
		{"camel-case hashtag", "monday again #EpicFail", Negative},
		{"escaped heart", "thanks team &lt;3", Positive},
		{"chat interjection", "yikes, the deploy", Negative},
		{"un- prefix", "that was unhelpful", Negative},
		{"no before a clause is an answer, not a negator", "no it's fine", Positive},
		{"anything but is a negation", "the migration was anything but easy", Negative},
		{"never ... so is a superlative", "I have never slept so well", Positive},
		{"a wish with a clause is not praise", "I wish I could come", Neutral},
		{"a wish as greeting is", "wishing you a great trip", Positive},
		{"a wish with a noun-phrase subject is counterfactual", "I wish my laptop was faster", Neutral},
		{"can't ... enough is a superlative", "I can't thank you enough", Positive},
		{"not good enough stays negative", "the fix is not good enough", Negative},
		{"an expletive is outside negation", "no docs, not a fucking comment", Negative},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, ex := a.Explain(tc.text)
			if sc.Label != tc.label {
				t.Errorf("%q: label %v (compound %.3f, status %v), want %v; contributions %+v",
					tc.text, sc.Label, sc.Compound, sc.Status, tc.label, ex)
			}
		})
	}
}

// TestModifiers checks that modifiers move intensity in the documented
// direction relative to the unmodified sentence.
func TestModifiers(t *testing.T) {
	a := New()
	c := func(s string) float64 { return a.Score(s).Compound }
	tests := []struct {
		name           string
		weaker, strong string
	}{
		{"booster", "the demo was good", "the demo was very good"},
		{"dampener", "the demo was slightly good", "the demo was good"},
		{"caps among mixed case", "the demo was good", "the demo was GOOD"},
		{"exclamation", "the demo was good", "the demo was good!!!"},
		{"after but counts more", "good but bad", "bad but good"},
		{"negative booster", "the outage was bad", "the outage was extremely bad"},
		{"modal: irrealis is milder", "it would be great", "it is great"},
		{"modal: should", "you should be proud", "you are proud"},
		{"word inside a capitalised name", "we watched Kick Ass tonight", "we watched kick ass tonight"},
		{"reporting voice", "the launch went great", "we think the launch went great"},
		{"a predicated evaluation is not a report", "the launch went great", "the launch is great"},
		{"taboo intensifier is emphasis", "the demo was very good", "the demo was fucking good"},
		{"counterfactual wish is irrealis", "I wish it was great", "it is great"},
		{"repeated ? presses a complaint", "why is it broken again?", "why is it broken again???"},
		{"reporting voice sharing a link", "postmortem of the terrible outage https://example.com/pm", "postmortem of our terrible outage https://example.com/pm"},
		{"staccato full stops stress each word", "I hate burpees.", "I. Hate. Burpees."},
		{"a link tempers a personal message too", "I loved this talk https://example.com/t", "I loved this talk"},
		{"reporting voice ends at '!'", "postmortem of the terrible outage https://example.com/pm", "postmortem of the terrible outage! https://example.com/pm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, s := math.Abs(c(tc.weaker)), math.Abs(c(tc.strong))
			if tc.name == "after but counts more" {
				w, s = c(tc.weaker), c(tc.strong)
			}
			if !(s > w) {
				t.Errorf("%q (%.3f) should score above %q (%.3f)", tc.strong, s, tc.weaker, w)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	a := New()
	tests := []struct {
		name string
		text string
		want Status
	}{
		{"empty", "", NoText},
		{"blank", " \n\t ", NoText},
		{"no scorable words", "Meeting is at 3pm in room 4.", NoSignal},
		{"only code", "`go test ./...` https://example.com/x", NoSignal},
		{"german", "Das ist nicht gut, aber ich bin sehr müde heute", NotEnglish},
		{"spanish", "Muchas gracias por la ayuda, el equipo está muy contento", NotEnglish},
		{"french", "Merci pour la revue, c'est très bien fait", NotEnglish},
		{"russian", "Это очень хорошо, спасибо", NotEnglish},
		{"japanese", "ありがとうございます、とても良いです", NotEnglish},
		{"swedish", "Tack för hjälpen, det är jättebra", NotEnglish},
		{"polish", "Dziękuję bardzo, to jest super robota", NotEnglish},
		{"turkish", "Çok teşekkürler, bu harika bir iş", NotEnglish},
		{"indonesian", "Terima kasih, ini sangat bagus untuk tim", NotEnglish},
		{"english", "Thanks, this is really good", Scored},
		{"english with a loanword", "We had a great café meeting with the vendor", Scored},
		{"english with one foreign name", "Great talk by Jose de la Cruz today", Scored},
		{"emoji only", "🎉", Scored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := a.Score(tc.text)
			if sc.Status != tc.want {
				t.Fatalf("%q: status %v, want %v", tc.text, sc.Status, tc.want)
			}
			if sc.Status != Scored && (sc.Compound != 0 || sc.Label != Neutral) {
				t.Errorf("unscored message carries a score: %+v", sc)
			}
			if sc.Status == Scored {
				if d := sc.Pos + sc.Neu + sc.Neg; math.Abs(d-1) > 1e-9 {
					t.Errorf("shares sum to %v, want 1", d)
				}
			}
		})
	}
}

func TestThresholds(t *testing.T) {
	text := "sure, ok" // faintly positive
	def := New().Score(text)
	strict := New(WithThresholds(-0.9, 0.9)).Score(text)
	if def.Compound != strict.Compound {
		t.Fatalf("thresholds changed the compound: %v vs %v", def.Compound, strict.Compound)
	}
	if strict.Label != Neutral {
		t.Errorf("with thresholds +-0.9, compound %.3f labelled %v", strict.Compound, strict.Label)
	}
	off := New(WithLanguageCheck(false)).Score("Das ist great und super")
	if off.Status != Scored {
		t.Errorf("language check off: status %v, want scored", off.Status)
	}
}

// TestExplainSumsToScore checks that the contributions are the whole
// story: squashing their sum (the evidence floor is one of them)
// reproduces the compound.
func TestExplainSumsToScore(t *testing.T) {
	a := New()
	for _, text := range []string{
		"It works, but it is SLOW and ugly!!!",
		"I don't think this is a good idea",
		"Kudos team :tada: shipped on time",
		"Is it broken? If it fails, we roll back.",
	} {
		t.Run(text, func(t *testing.T) {
			sc, ex := a.Explain(text)
			var sum float64
			for _, c := range ex {
				sum += c.Amount
				if c.Start >= 0 && !strings.HasPrefix(text[c.Start:], c.Token) {
					t.Errorf("contribution %q does not point at its offset %d", c.Token, c.Start)
				}
			}
			if got := sum / math.Sqrt(sum*sum+normAlpha); math.Abs(got-sc.Compound) > 1e-9 {
				t.Errorf("contributions give %.4f, score is %.4f: %+v", got, sc.Compound, ex)
			}
			if len(ex) == 0 {
				t.Error("no contributions for a sentiment-bearing text")
			}
		})
	}
}

// TestConcurrent scores from many goroutines and compares with a serial
// run (run with -race to check the pooling).
func TestConcurrent(t *testing.T) {
	a := New()
	msgs := []string{"Great job!", "this is broken", "I don't think this is a good idea", "LGTM :+1:", "sooo goood 🎉"}
	want := make([]Score, len(msgs))
	for i, m := range msgs {
		want[i] = a.Score(m)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 500; k++ {
				i := k % len(msgs)
				if got := a.Score(msgs[i]); got != want[i] {
					t.Errorf("concurrent score of %q = %+v, want %+v", msgs[i], got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestTokenizerAgreesWithProse checks that the hand tokenizer finds the
// same words as prose's tokenizer on ordinary prose, apart from the
// documented differences (contractions kept whole, punctuation dropped).
func TestTokenizerAgreesWithProse(t *testing.T) {
	lx := sharedLexicon()
	for _, text := range []string{
		"The release went well, thanks to everyone who helped!",
		"I don't think it's ready; we'll see (maybe) tomorrow.",
		"Honestly -- it was a \"great\" week... not.",
		"Deploy at 5pm? Sure, that's fine.",
	} {
		t.Run(text, func(t *testing.T) {
			doc, err := prose.NewDocument(text, prose.WithSegmentation(false), prose.WithTagging(false), prose.WithExtraction(false))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, tok := range doc.Tokens() {
				w := tok.Text
				if strings.HasPrefix(w, "'") || w == "n't" { // contraction suffix: glue back
					if len(want) > 0 {
						want[len(want)-1] += w
					}
					continue
				}
				if r, _ := utf8.DecodeRuneInString(w); isWordRune(r) || w == ":)" {
					want = append(want, w)
				}
			}
			s := new(scratch)
			s.tokenize(text, lx)
			var got []string
			for _, tok := range s.toks {
				if tok.kind == tWord || tok.kind == tEmoticon {
					got = append(got, tok.text)
				} else if tok.kind == tCode { // numbers: prose keeps them as words
					got = append(got, tok.text)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("tokens differ\n got: %q\nprose: %q", got, want)
			}
		})
	}
}

// FuzzScore: never panics, compound always in [-1, 1], shares valid.
func FuzzScore(f *testing.F) {
	for _, s := range []string{"", "Great job!", "not bad", ":tada: :+1:", "🎉👍🏽", "`code", "> quote\nok",
		"\xff\xfe", "DON'T CARE", "a\u2019b", "::::", "http://x", "sooooooo", "if?", "but but but"} {
		f.Add(s)
	}
	a := New()
	f.Fuzz(func(t *testing.T, text string) {
		sc, _ := a.Explain(text)
		if !(sc.Compound >= -1 && sc.Compound <= 1) {
			t.Fatalf("compound %v out of range for %q", sc.Compound, text)
		}
		for _, v := range []float64{sc.Pos, sc.Neu, sc.Neg} {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("share %v out of range for %q: %+v", v, text, sc)
			}
		}
		if a.Score(text) != sc {
			t.Fatalf("Score and Explain disagree for %q", text)
		}
	})
}
