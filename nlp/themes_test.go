package nlp

import (
	"slices"
	"strings"
	"testing"
)

func TestThemes(t *testing.T) {
	a := New()
	tests := []struct {
		text string
		want []string
	}{
		{"Thanks so much for the quick fix, great job!", []string{"recognition"}},
		{"I'm completely swamped, the deadline is tomorrow and we're behind schedule", []string{"workload"}},
		{"The build is broken again and I'm blocked on the deploy", []string{"blockers"}},
		{"Honestly I disagree, and blaming the on-call person is unfair", []string{"conflict"}},
		{"Any news about the reorg? Nobody knows what is happening", []string{"change"}},
		{"Thank you for staying late, I know everyone is exhausted", []string{"workload", "recognition"}},
		{"Deadline tomorrow.", []string{"workload"}}, // no rated word (NoSignal): still a theme
		{"Let's meet at 3 to go over the slides", nil},
		{"The blockchain demo went well", nil},                            // no stemming: "block" words only as listed
		{"We were waiting. On Monday it shipped", nil},                    // a phrase does not cross a sentence break
		{"Das Projekt ist leider blockiert und alle sind erschöpft", nil}, // not English: no themes
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			s := a.Score(tt.text)
			if got := s.Themes.Names(); !slices.Equal(got, tt.want) {
				t.Fatalf("themes %v (status %v), want %v", got, s.Status, tt.want)
			}
		})
	}
}

// The bits are stored: a theme keeps its bit.
func TestThemeNamesAreStableBits(t *testing.T) {
	want := []string{"workload", "recognition", "conflict", "blockers", "change"}
	if got := ThemeNames(); !slices.Equal(got[:len(want)], want) {
		t.Fatalf("theme bits %v, want %v first", got, want)
	}
	if Theme(1<<1 | 1<<3).Names()[1] != "blockers" {
		t.Fatal("Names does not follow bit order")
	}
}

func TestParseThemesErrors(t *testing.T) {
	for _, src := range []string{"no colon here", "w: a b c d", "w: ok, ,"} {
		if _, err := parseThemes(src); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("parseThemes(%q) = %v, want an error naming line 1", src, err)
		}
	}
}
