package synth

import (
	"math/rand/v2"
	"testing"

	"commpulse/nlp"
)

// TestTemplatesScoreAsIntended checks the generated texts against the
// project's scorer: a planted sentiment drop is only visible downstream if
// negative templates score negative. A template that the scorer reads
// otherwise is reported by name so it can be reworded.
func TestTemplatesScoreAsIntended(t *testing.T) {
	a := nlp.New()
	want := map[Tone]nlp.Label{TonePositive: nlp.Positive, ToneNeutral: nlp.Neutral, ToneNegative: nlp.Negative}
	// Minimum agreement per tone. Neutral workplace chatter is the hardest
	// for a lexicon scorer (a "fix" or a "hotfix" carries weight).
	minAgree := map[Tone]float64{TonePositive: 0.95, ToneNeutral: 0.9, ToneNegative: 0.95}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tone := range []Tone{TonePositive, ToneNeutral, ToneNegative} {
		t.Run(tone.String(), func(t *testing.T) {
			for _, meeting := range []bool{false, true} {
				agree, n := 0, 2000
				for range n {
					txt := renderText(r, tone, meeting)
					s := a.Score(txt)
					if s.Label == want[tone] {
						agree++
					} else if testing.Verbose() {
						t.Logf("meeting=%v %q scored %s (%.2f)", meeting, txt, s.Label, s.Compound)
					}
				}
				if got := float64(agree) / float64(n); got < minAgree[tone] {
					t.Errorf("meeting=%v: %.0f%% of %s texts score %s, want >= %.0f%%", meeting, 100*got, tone, want[tone], 100*minAgree[tone])
				}
			}
		})
	}
}
