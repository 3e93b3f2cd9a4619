package review

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/store"
)

// The transition table, pair by pair: what Check allows is exactly the
// package doc's table, every other pair is a *TransitionError, and the
// reason goes with dismissed only.
func TestTransitions(t *testing.T) {
	allowed := map[[2]State]bool{
		{New, Acknowledged}:       true,
		{Acknowledged, Confirmed}: true,
		{Acknowledged, Dismissed}: true,
		{Confirmed, Acknowledged}: true,
		{Dismissed, Acknowledged}: true,
	}
	for _, from := range States {
		for _, to := range States {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				reason := NoReason
				if to == Dismissed {
					reason = Expected
				}
				err := Check(from, to, reason)
				switch {
				case to == New:
					if !errors.Is(err, ErrBadState) {
						t.Errorf("Check(%s, new): %v; want ErrBadState (new cannot be set)", from, err)
					}
				case allowed[[2]State{from, to}]:
					if err != nil || !Allowed(from, to) || !slices.Contains(Next(from), to) {
						t.Errorf("Check(%s, %s): %v; want allowed", from, to, err)
					}
				default:
					var te *TransitionError
					if !errors.Is(err, ErrBadTransition) || !errors.As(err, &te) || te.From != from || te.To != to || Allowed(from, to) {
						t.Errorf("Check(%s, %s): %v; want a TransitionError", from, to, err)
					}
				}
			})
		}
	}
	// The reason: required by dismissed, from the fixed list, refused on
	// every other state.
	for _, tc := range []struct {
		to     State
		reason Reason
		err    error
	}{
		{Dismissed, NoReason, ErrBadReason},
		{Dismissed, "because", ErrBadReason},
		{Dismissed, FalsePositive, nil},
		{Dismissed, Expected, nil},
		{Dismissed, Duplicate, nil},
		{Dismissed, Other, nil},
		{Confirmed, FalsePositive, ErrBadReason},
		{Acknowledged, Other, ErrBadReason},
		{"closed", NoReason, ErrBadState},
	} {
		from := Acknowledged
		if err := Check(from, tc.to, tc.reason); !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("Check(%s, %s, %q): %v; want %v", from, tc.to, tc.reason, err, tc.err)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range States {
		if got, err := ParseState(string(s)); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	for _, r := range append([]Reason{NoReason}, Reasons...) {
		if got, err := ParseReason(string(r)); err != nil || got != r {
			t.Errorf("ParseReason(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseState("Confirmed"); !errors.Is(err, ErrBadState) {
		t.Errorf("ParseState(Confirmed): %v", err)
	}
	if _, err := ParseReason("Anna is on leave"); !errors.Is(err, ErrBadReason) {
		t.Errorf("ParseReason(free text): %v", err)
	}
}

func TestReviewers(t *testing.T) {
	a, b := TokenReviewer(strings.Repeat("a", 32)), TokenReviewer(strings.Repeat("b", 32))
	if a == b || !ValidReviewer(a) || !ValidReviewer(b) || !ValidReviewer(CLIReviewer) || len(a) != len("tok_")+12 {
		t.Errorf("TokenReviewer: %q, %q", a, b)
	}
	if strings.Contains(a, "aaaa") {
		t.Errorf("TokenReviewer %q shows the token", a)
	}
	for _, bad := range []string{"", "Jo Bloggs", "jo", "tok_", "tok_0123456789AB", "tok_0123456789abc", "cli "} {
		if ValidReviewer(bad) {
			t.Errorf("ValidReviewer(%q) = true", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	t1, t2 := strings.Repeat("1", 32), "0123456789abcdef0123456789abcdef-x"
	toks, err := NewTokens([]string{t1, t2})
	if err != nil || toks.Len() != 2 {
		t.Fatal(toks.Len(), err)
	}
	if r, ok := toks.Match(t2); !ok || r != TokenReviewer(t2) {
		t.Errorf("Match(t2) = %q, %v", r, ok)
	}
	for _, bad := range []string{"", t1[:31], t1 + "1", strings.ToUpper(t2), " " + t1} {
		if _, ok := toks.Match(bad); ok {
			t.Errorf("Match(%q) accepted", bad)
		}
	}
	for _, bad := range [][]string{nil, {"short"}, {t1, t1}, {t1 + " x"}} {
		if _, err := NewTokens(bad); err == nil {
			t.Errorf("NewTokens(%d tokens): no error", len(bad))
		} else if len(bad) > 0 && strings.Contains(err.Error(), bad[0]) {
			t.Errorf("NewTokens error echoes the token: %v", err)
		}
	}
}

// The suppression rule, case by case: same team and metric, a window that
// overlaps the Days days from the dismissed window's start, a standing
// dismissal.
func TestSuppression(t *testing.T) {
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	d := store.Review{AnomalyKey: store.AnomalyKey{Team: "alpha", Metric: "mean_compound", Granularity: store.Day, WindowStart: day},
		State: Dismissed, Reason: Expected}
	an := func(team, metric string, g store.Granularity, at time.Time) store.Anomaly {
		return store.Anomaly{Team: team, Metric: metric, Granularity: g, WindowStart: at}
	}
	rule := Suppression{Days: 7}
	for _, tc := range []struct {
		name string
		d    store.Review
		a    store.Anomaly
		rule Suppression
		want bool
	}{
		{"the dismissed anomaly itself", d, an("alpha", "mean_compound", store.Day, day), rule, true},
		{"next day", d, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 1)), rule, true},
		{"last day of the window", d, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 6)), rule, true},
		{"first day after it", d, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 7)), rule, false},
		{"the day before", d, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, -1)), rule, false},
		{"an hour inside it", d, an("alpha", "mean_compound", store.Hour, day.Add(30*time.Hour)), rule, true},
		{"another metric", d, an("alpha", "negative_share", store.Day, day.AddDate(0, 0, 1)), rule, false},
		{"another team", d, an("beta", "mean_compound", store.Day, day.AddDate(0, 0, 1)), rule, false},
		{"a reopened review", store.Review{AnomalyKey: d.AnomalyKey, State: Acknowledged}, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 1)), rule, false},
		{"suppression off", d, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 1)), Suppression{}, false},
		{"one day", d, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 1)), Suppression{Days: 1}, false},
		{"an hourly dismissal covers its day", store.Review{AnomalyKey: store.AnomalyKey{Team: "alpha", Metric: "messages", Granularity: store.Hour,
			WindowStart: day.Add(14 * time.Hour)}, State: Dismissed, Reason: FalsePositive}, an("alpha", "messages", store.Day, day), rule, true},
	} {
		if got := tc.rule.Covers(tc.d, tc.a); got != tc.want {
			t.Errorf("%s: Covers = %v, want %v", tc.name, got, tc.want)
		}
		// Range reaches every dismissal that covers: d's start is inside
		// the range of a's window.
		if from, to := tc.rule.Range(tc.a.WindowStart, tc.a.WindowStart.Add(time.Hour)); tc.want && (tc.d.WindowStart.Before(from) || !tc.d.WindowStart.Before(to)) {
			t.Errorf("%s: Range [%s, %s) misses the dismissal at %s", tc.name, from, to, tc.d.WindowStart)
		}
	}
	if got, ok := rule.Suppressed([]store.Review{{State: Dismissed}, d}, an("alpha", "mean_compound", store.Day, day.AddDate(0, 0, 2))); !ok || got != d {
		t.Errorf("Suppressed = %+v, %v", got, ok)
	}
}
