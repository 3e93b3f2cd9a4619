package event

import (
	"strings"
	"testing"
)

func TestDefaultPseudonymByHand(t *testing.T) {
	for _, id := range []string{
		"p_0123456789abcdef", "h_" + strings.Repeat("a", 64), "h_" + strings.Repeat("a", 65), "p_0123456789abcde",
		"x_0123456789abcdef", "P_0123456789abcdef", "p-0123456789abcdef", "p_0123456789ABCDEF", "p_0123456789abcdeg",
		"p_0123456789abcdef\n", "", "p_", "pp_0123456789abcdef", "p_0123456789abcdefé",
	} {
		if got, want := isDefaultPseudonym(id), DefaultPseudonym.MatchString(id); got != want {
			t.Errorf("%q: by hand %v, regexp %v", id, got, want)
		}
	}
	same := MustPseudonymPattern(DefaultPseudonymPattern)
	if !matchPseudonym(same, "p_0123456789abcdef") || matchPseudonym(same, "p_0123") {
		t.Error("a pattern equal to the default is not matched as the default")
	}
	other := MustPseudonymPattern(`e[0-9]+`)
	if !matchPseudonym(other, "e123") || matchPseudonym(other, "p_0123456789abcdef") {
		t.Error("a configured pattern is not used")
	}
}

func FuzzDefaultPseudonym(f *testing.F) {
	f.Add("p_0123456789abcdef")
	f.Add("h_" + strings.Repeat("f", 64))
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := isDefaultPseudonym(id), DefaultPseudonym.MatchString(id); got != want {
			t.Fatalf("%q: by hand %v, regexp %v", id, got, want)
		}
	})
}
