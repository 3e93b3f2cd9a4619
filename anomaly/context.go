package anomaly

import "math"

// contextModel is the "context" detector: a count model of the short
// sequences (n-grams) of the quantised series. Every value is mapped to one
// of levels symbols over the range of the values seen so far; the contexts
// of a point are the n-grams ending at it, of lengths 2..order+1.
//
// A point is surprising when its shortest unseen n-gram should have been
// seen: if the prefix of that n-gram occurred m times before and the
// point's symbol has frequency p, a lower-order model expects the n-gram
// E = m p times, and under that model its absence has probability
// exp(-E), a surprise of E/ln 10. A value that is ordinary on its own but
// arrives in a never-heard sequence (a missing daily peak, a stuck sensor,
// a doubled beat) scores high; a rare combination of rare symbols in plain
// noise has a small E and scores little. That second property is what makes
// the detector safe on noisy team series: a plain "fraction of unseen
// contexts" (the idea of NAB's CAD OSE detector) scored 2.7 points higher
// on NAB but raised ten times as many alarms on white noise.
//
// Memory is bounded: at most levels + levels^2 + ... + levels^(order+1)
// distinct n-grams exist (1364 for the defaults).
type contextModel struct {
	levels int
	order  int
	lo, hi float64
	seen   bool
	syms   []int // the last order+1 symbols, newest last
	counts map[uint64]uint32
	freq   []float64 // per-symbol counts
	total  float64
}

func newContextModel(levels, order int) *contextModel {
	return &contextModel{levels: levels, order: order,
		syms: make([]int, 0, order+1), counts: make(map[uint64]uint32),
		freq: make([]float64, levels)}
}

// symbol quantises v into levels equal-width bins over [lo, hi].
func (c *contextModel) symbol(v float64) int {
	if c.hi <= c.lo {
		return 0
	}
	s := int(math.Floor(float64(c.levels) * (v - c.lo) / (c.hi - c.lo)))
	return max(0, min(c.levels-1, s))
}

// gramKey packs the n-gram of the last k symbols of syms, and k itself, into
// one map key (6 bits per symbol; Validate keeps levels and order in range).
func gramKey(syms []int, k int) uint64 {
	h := uint64(k)
	for _, s := range syms[len(syms)-k:] {
		h = h<<6 | uint64(s)
	}
	return h
}

// observe returns the surprise -log10 p of v's context, then learns it.
//
// The range is the running minimum and maximum of all values seen, so the
// quantisation only ever widens: after a new extreme the same value may
// change symbol and a few n-grams look new; their expected counts are small
// because the new symbol mix has little history, which keeps the surprise
// low. (NAB's CAD OSE reads the range of the whole file up front; a stream
// cannot.)
func (c *contextModel) observe(v float64) float64 {
	if !c.seen {
		c.lo, c.hi, c.seen = v, v, true
	}
	c.lo, c.hi = math.Min(c.lo, v), math.Max(c.hi, v)
	sym := c.symbol(v)
	if len(c.syms) == c.order+1 {
		copy(c.syms, c.syms[1:])
		c.syms = c.syms[:c.order]
	}
	c.syms = append(c.syms, sym)

	n := len(c.syms)
	out := 0.0
	if c.total > 0 {
		p := c.freq[sym] / c.total
		for k := 2; k <= n; k++ {
			if c.counts[gramKey(c.syms, k)] > 0 {
				continue
			}
			// The prefix was counted once more than it has successors: its
			// latest occurrence is the one v now follows.
			m := float64(c.counts[gramKey(c.syms[:n-1], k-1)]) - 1
			out = math.Max(0, m*p) / math.Ln10
			break
		}
	}
	for k := 1; k <= n; k++ {
		c.counts[gramKey(c.syms, k)]++
	}
	c.freq[sym]++
	c.total++
	return out
}
