// Package nab implements the scoring rules of the Numenta Anomaly Benchmark
// (NAB, numenta/NAB) and a loader for its corpus layout, so the detectors of
// package anomaly can be measured against the published scoreboard.
//
// The scorer follows NAB's sweeper faithfully:
//
//   - the first min(floor(0.15 n), 750) rows of a series are probation and
//     are not scored at all;
//   - sigma(y) = 2/(1+e^(5y)) - 1, and -1 for y >= 3;
//   - a flagged row i inside a window [l, r] of width w = r-l+1 is worth
//     sigma(-(r-i+1)/w) * tp / sigma(-1); a window keeps only its best
//     detection and costs -fn when nothing in it is flagged;
//   - a flagged row outside every window costs
//     fp * sigma(|prevR-i| / (prevW-1)) after a window, or -fp before the
//     first window;
//   - one threshold for the whole corpus, found by sweeping the sorted scores
//     (rows with equal scores are flagged together) for the best total S;
//   - normalised = 100 (S - S_null) / (S_perfect - S_null) with
//     S_null = -fn * windows and S_perfect = tp * windows.
//
// The package does no I/O except in corpus.go, which reads the NAB directory
// layout (data/<category>/<series>.csv and labels/combined_windows.json).
package nab

import (
	"fmt"
	"math"
	"sort"
)

// Profile is one NAB cost matrix.
type Profile struct {
	Name       string
	TP, FP, FN float64
}

// The three NAB application profiles.
var (
	Standard    = Profile{Name: "standard", TP: 1, FP: 0.11, FN: 1}
	RewardLowFP = Profile{Name: "reward_low_FP", TP: 1, FP: 0.22, FN: 1}
	RewardLowFN = Profile{Name: "reward_low_FN", TP: 1, FP: 0.11, FN: 2}
	Profiles    = []Profile{Standard, RewardLowFP, RewardLowFN}
)

// Window is a labelled anomaly window as inclusive row indices.
type Window struct{ Start, End int }

// Scored is one series' detector output together with its labels.
type Scored struct {
	Name    string
	Scores  []float64 // one anomaly score per row, in [0, 1]
	Windows []Window  // sorted, non-overlapping
}

// Result is the corpus-wide score of one profile at its best threshold.
type Result struct {
	Profile    Profile
	Threshold  float64 // rows with score >= Threshold are flagged
	Raw        float64 // S at the threshold
	Null       float64 // S of the detector that never fires
	Perfect    float64 // S of a detector that fires at every window's start
	Normalized float64 // 100 (Raw-Null)/(Perfect-Null)
	Windows    int     // windows that contain at least one scored row
	Detected   int     // windows with at least one flagged row at the threshold
	FP         int     // flagged rows outside every window at the threshold
}

// Probation returns the number of leading rows NAB does not score.
func Probation(n int) int {
	return int(math.Min(math.Floor(0.15*float64(n)), 0.15*5000))
}

// ScaledSigmoid is NAB's sigma(y) = 2/(1+e^(5y)) - 1, clamped to -1 for y >= 3.
func ScaledSigmoid(y float64) float64 {
	if y >= 3 {
		return -1
	}
	return 2/(1+math.Exp(5*y)) - 1
}

// point is one scorable row: its detector score, the value it adds to S when
// flagged (relative to the profile weights) and its window (-1: none).
type point struct {
	score  float64
	weight float64
	window int
}

// sweepPoints turns one series into scorable points; windows are numbered
// from base. It returns the points and the number of windows seen.
func sweepPoints(s Scored, p Profile, base int) ([]point, int, error) {
	n := len(s.Scores)
	prob := Probation(n)
	maxTP := ScaledSigmoid(-1)
	pts := make([]point, 0, n-prob)
	win := 0  // next window to enter
	cur := -1 // index in s.Windows of the window we are in, or -1
	prevR, prevW := -1, 0
	ids := map[int]int{} // s.Windows index -> global id, for windows with scored rows
	for i := 0; i < n; i++ {
		if cur < 0 && win < len(s.Windows) && s.Windows[win].Start == i {
			cur = win
			win++
		}
		var pt point
		if cur >= 0 {
			w := s.Windows[cur]
			width := float64(w.End - w.Start + 1)
			pt.weight = ScaledSigmoid(-float64(w.End-i+1)/width) * p.TP / maxTP
			id, ok := ids[cur]
			if !ok {
				id = base + len(ids)
				if i >= prob {
					ids[cur] = id
				}
			}
			pt.window = id
		} else {
			pos := 3.0
			if prevR >= 0 {
				pos = math.Abs(float64(prevR-i)) / float64(prevW-1)
			}
			pt.weight = ScaledSigmoid(pos) * p.FP
			pt.window = -1
		}
		if i >= prob {
			sc := s.Scores[i]
			if math.IsNaN(sc) || sc < 0 || sc > 1 {
				return nil, 0, fmt.Errorf("nab: %s row %d: score %v outside [0,1]", s.Name, i, sc)
			}
			pt.score = sc
			pts = append(pts, pt)
		}
		if cur >= 0 && s.Windows[cur].End == i {
			prevR = i
			prevW = s.Windows[cur].End - s.Windows[cur].Start + 1
			cur = -1
		}
	}
	if win != len(s.Windows) {
		return nil, 0, fmt.Errorf("nab: %s: window %d starts outside the series or overlaps", s.Name, win)
	}
	return pts, len(ids), nil
}

// Score sweeps one corpus-wide threshold over all series and returns the
// best total with its normalised value.
func Score(corpus []Scored, p Profile) (Result, error) {
	var all []point
	windows := 0
	for _, s := range corpus {
		pts, nw, err := sweepPoints(s, p, windows)
		if err != nil {
			return Result{}, err
		}
		all = append(all, pts...)
		windows += nw
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })

	best := make([]float64, windows) // best weight per window, starts at -fn
	for i := range best {
		best[i] = -p.FN
	}
	res := Result{
		Profile:   p,
		Threshold: 1.1,
		Null:      -p.FN * float64(windows),
		Perfect:   p.TP * float64(windows),
		Windows:   windows,
	}
	total := res.Null
	res.Raw = total
	hit := make([]bool, windows)
	detected, fp := 0, 0
	for i := 0; i < len(all); {
		thr := all[i].score
		for ; i < len(all) && all[i].score == thr; i++ {
			pt := all[i]
			if pt.window < 0 {
				total += pt.weight
				fp++
				continue
			}
			if !hit[pt.window] {
				hit[pt.window] = true
				detected++
			}
			if pt.weight > best[pt.window] {
				total += pt.weight - best[pt.window]
				best[pt.window] = pt.weight
			}
		}
		if total > res.Raw {
			res.Raw, res.Threshold, res.Detected, res.FP = total, thr, detected, fp
		}
	}
	if res.Perfect != res.Null {
		res.Normalized = 100 * (res.Raw - res.Null) / (res.Perfect - res.Null)
	}
	return res, nil
}
