package forecast

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Direction says which way a metric gets worse.
type Direction int8

const (
	// Below: lower is worse (belonging, mean sentiment). Warn fires when
	// even the interval's upper bound is under the threshold.
	Below Direction = iota + 1
	// Above: higher is worse (negative share). Warn fires when even the
	// interval's lower bound is over the threshold.
	Above
)

func (d Direction) String() string {
	switch d {
	case Below:
		return "below"
	case Above:
		return "above"
	}
	return fmt.Sprintf("Direction(%d)", int8(d))
}

// Warning is an early warning: the first forecast day whose whole
// prediction interval is past the threshold.
type Warning struct {
	Day  time.Time
	Step int // days after the last input day
	// Threshold is the configured threshold; Bound the interval bound
	// that crossed it (the upper bound for Below, the lower for Above);
	// By how far past the threshold it is (> 0); Mean, Lower, Upper the
	// day's forecast.
	Threshold, Bound, By float64
	Mean, Lower, Upper   float64
	// Days is the number of forecast days whose interval is past the
	// threshold (the first included).
	Days int
	// Horizon is the number of days forecast.
	Horizon int
	// Explanation says the above in a sentence or three for a
	// people-analytics partner.
	Explanation string
}

// Warn returns the early warning of f against threshold, or false when no
// forecast day's interval lies entirely past it. The rule is deliberately
// the conservative one: for a lower-is-worse metric, a day warns only when
// its upper bound is under the threshold; at the default level of 0.8 the
// model itself would give such a day at least a 90% chance of being under
// it. Measured, that is optimistic: in the backtest 0.60 of warned days
// were under the threshold (docs/forecast.md), because a forecast that
// warns is one whose level has just dropped, and some drops are noise the
// level then recovers from. The explanation therefore claims no
// probability. Days
// that cannot be forecast (Day.OK false) never warn. A NaN threshold
// never warns. Warn panics on a Direction other than Below and Above: that
// is a programming error, not data.
func Warn(f Forecast, threshold float64, dir Direction) (Warning, bool) {
	if dir != Below && dir != Above {
		panic("forecast: Warn: unknown direction " + dir.String())
	}
	w := Warning{Threshold: threshold, Horizon: len(f.Days)}
	found := false
	for _, d := range f.Days {
		if !d.OK {
			continue
		}
		bound, by := d.Upper, threshold-d.Upper
		if dir == Above {
			bound, by = d.Lower, d.Lower-threshold
		}
		if !(by > 0) {
			continue
		}
		w.Days++
		if !found {
			found = true
			w.Day, w.Step, w.Bound, w.By = d.Day, d.Step, bound, by
			w.Mean, w.Lower, w.Upper = d.Mean, d.Lower, d.Upper
		}
	}
	if !found {
		return Warning{}, false
	}
	w.Explanation = explain(f, w, dir)
	return w, true
}

// explain writes the warning for a reader who knows the team and the
// metric, not the model.
func explain(f Forecast, w Warning, dir Direction) string {
	label := f.Label
	if label == "" {
		label = "the series"
	}
	verb, side, end := "fall below", "under", "high"
	if dir == Above {
		verb, side, end = "rise above", "over", "low"
	}
	// Two significant digits of the range's width, or as many decimals as
	// the margin needs to show (a margin of 0.1 under 71 must not print a
	// range that ends at 71).
	dec := max(decimals(w.Upper-w.Lower), min(4, -int(math.Floor(math.Log10(w.By)))))
	numAt := func(x float64, d int) string {
		s := fmt.Sprintf("%.*f", d, x)
		if strings.Trim(s, "-0.") == "" {
			s = strings.TrimPrefix(s, "-") // no "-0.0"
		}
		return s
	}
	num := func(x float64) string { return numAt(x, dec) }
	// The threshold as configured (60, 0.25), and the margin with at
	// least one significant digit: neither may read as something else.
	thr := numAt(w.Threshold, exact(w.Threshold))
	by := num(w.By)
	when := "tomorrow"
	if w.Step > 1 {
		when = fmt.Sprintf("in %d days", w.Step)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Early warning: %s is likely to %s %s %s (%s).", label, verb, thr, when, w.Day.Format("Mon 2 Jan"))
	fmt.Fprintf(&b, " Expected %s, likely range %s to %s; even the %s end of that range is %s %s the threshold.",
		num(w.Mean), num(w.Lower), num(w.Upper), end, by, side)
	if w.Days > 1 {
		fmt.Fprintf(&b, " %d of the next %d days look the same.", w.Days, w.Horizon)
	}
	fmt.Fprintf(&b, " (The likely range is where the model expects %.0f in 10 days to fall.)", math.Round(10*f.Level))
	fmt.Fprintf(&b, " Based on %d published days up to %s; a forecast from past patterns, not a measurement: worth a conversation with the team's lead, not a conclusion.",
		f.Observed, f.LastObserved.Format("Mon 2 Jan"))
	return b.String()
}

// decimals is the number of decimals that shows a range of width w to
// about two significant digits (0 to 4).
func decimals(w float64) int {
	if !(w > 0) || math.IsInf(w, 0) {
		return 2
	}
	return min(4, max(0, 1-int(math.Floor(math.Log10(w)))))
}

// exact is the fewest decimals, up to 4, that write x exactly (4 when
// none does).
func exact(x float64) int {
	for d := 0; d < 4; d++ {
		p := math.Pow(10, float64(d))
		if math.Abs(math.Round(x*p)/p-x) <= 1e-9*math.Max(1, math.Abs(x)) {
			return d
		}
	}
	return 4
}
