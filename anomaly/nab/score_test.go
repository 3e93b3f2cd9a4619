package nab

import (
	"math"
	"strings"
	"testing"
)

// series builds a Scored of n rows with the given flagged rows set to 1.
func series(n int, windows []Window, flagged ...int) Scored {
	s := Scored{Name: "t", Scores: make([]float64, n), Windows: windows}
	for _, i := range flagged {
		s.Scores[i] = 1
	}
	return s
}

func TestScaledSigmoid(t *testing.T) {
	for _, tc := range []struct {
		y, want float64
	}{
		{-1, 0.98661},
		{-0.5, 0.84828},
		{0, 0},
		{1, -0.98661},
		{3, -1},
		{10, -1},
	} {
		if got := ScaledSigmoid(tc.y); math.Abs(got-tc.want) > 1e-5 {
			t.Errorf("ScaledSigmoid(%v) = %v, want %v", tc.y, got, tc.want)
		}
	}
}

func TestProbation(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{100, 15}, {1000, 150}, {4032, 604}, {5000, 750}, {22695, 750}} {
		if got := Probation(tc.n); got != tc.want {
			t.Errorf("Probation(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestScoreHandBuilt checks the raw score S of tiny corpora against values
// worked out by hand from the NAB rules. Series have 1000 rows, so rows
// 0..149 are probation.
func TestScoreHandBuilt(t *testing.T) {
	w := []Window{{Start: 500, End: 599}} // width 100
	sig := ScaledSigmoid
	for _, tc := range []struct {
		name    string
		s       Scored
		p       Profile
		wantRaw float64
	}{
		{"no detection is -fn", series(1000, w), Standard, -1},
		{"detection at window start is tp", series(1000, w, 500), Standard, 1},
		{"detection at window end is ~0", series(1000, w, 599), Standard, sig(-1.0/100) / sig(-1)},
		{"mid-window detection", series(1000, w, 550), Standard, sig(-50.0/100) / sig(-1)},
		{"best detection per window counts once", series(1000, w, 550, 500, 520), Standard, 1},
		{"fp before any window is -fp, window missed", series(1000, w, 300), Standard, -1 - 0.11},
		{"fp in probation is ignored", series(1000, w, 100, 500), Standard, 1},
		{"fp right after window is cheap", series(1000, w, 500, 600), Standard, 1 + 0.11*sig(1.0/99)},
		{"fp far after window is -fp", series(1000, w, 500, 950), Standard, 1 - 0.11},
		{"low-FP profile doubles fp cost", series(1000, w, 500, 950), RewardLowFP, 1 - 0.22},
		{"low-FN profile doubles fn cost", series(1000, w), RewardLowFN, -2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// With 0/1 scores the sweep has two candidate thresholds: 1
			// (flag the listed rows) and 0 (flag everything). Check the
			// threshold-1 total directly against the expected raw score.
			pts, nw, err := sweepPoints(tc.s, tc.p, 0)
			if err != nil {
				t.Fatal(err)
			}
			best := make([]float64, nw)
			for i := range best {
				best[i] = -tc.p.FN
			}
			total := -tc.p.FN * float64(nw)
			for _, pt := range pts {
				if pt.score < 1 {
					continue
				}
				if pt.window < 0 {
					total += pt.weight
				} else if pt.weight > best[pt.window] {
					total += pt.weight - best[pt.window]
					best[pt.window] = pt.weight
				}
			}
			if math.Abs(total-tc.wantRaw) > 1e-9 {
				t.Fatalf("S at threshold 1 = %v, want %v", total, tc.wantRaw)
			}
			res, err := Score([]Scored{tc.s}, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			// The sweep may only do better than "flag the listed rows" or
			// "flag nothing" (S_null).
			if res.Raw < math.Max(tc.wantRaw, res.Null)-1e-9 {
				t.Fatalf("Score().Raw = %v, below the threshold-1 total %v", res.Raw, tc.wantRaw)
			}
		})
	}
}

func TestScoreNormalisation(t *testing.T) {
	w := []Window{{Start: 200, End: 299}, {Start: 600, End: 699}}
	for _, tc := range []struct {
		name string
		s    Scored
		want float64
	}{
		{"perfect detector scores 100", series(1000, w, 200, 600), 100},
		{"null detector scores 0", series(1000, w), 0},
		{"one of two windows at its start scores 50", series(1000, w, 200), 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range Profiles {
				res, err := Score([]Scored{tc.s}, p)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(res.Normalized-tc.want) > 1e-6 {
					t.Errorf("%s: Normalized = %v, want %v", p.Name, res.Normalized, tc.want)
				}
			}
		})
	}
}

// TestScoreSweepPicksThreshold: a window detected at score 0.9 and many FPs
// at 0.5 must give a threshold above 0.5.
func TestScoreSweepPicksThreshold(t *testing.T) {
	s := series(1000, []Window{{Start: 500, End: 599}})
	s.Scores[500] = 0.9
	for i := 200; i < 400; i += 10 {
		s.Scores[i] = 0.5
	}
	res, err := Score([]Scored{s}, Standard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Threshold != 0.9 || res.Detected != 1 || res.FP != 0 {
		t.Fatalf("got threshold %v detected %d fp %d, want 0.9 / 1 / 0", res.Threshold, res.Detected, res.FP)
	}
}

func TestScoreRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Scored
		want string
	}{
		{"score above 1", Scored{Name: "x", Scores: []float64{0, 0, 2, 0, 0, 0, 0, 0, 0, 0}}, "outside [0,1]"},
		{"window outside series", Scored{Name: "x", Scores: make([]float64, 10), Windows: []Window{{20, 30}}}, "window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Score([]Scored{tc.s}, Standard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
