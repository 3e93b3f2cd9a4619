package anomaly

import "math"

// Discord normalisation modes (Config.DiscordNorm).
const (
	DiscordRaw  = 0 // compare windows as they are (level and shape)
	DiscordMean = 1 // remove each window's mean (shape and amplitude)
	DiscordZ    = 2 // z-normalise each window (shape only)
)

// discordModel is the "discord" detector: the distance from the current
// stretch of the series to its nearest neighbour among past stretches.
//
// The residuals are downsampled by piecewise aggregate approximation (PAA:
// the mean of every step points), and a window is the last length PAA
// values, i.e. step x length raw points. Each time a PAA value completes,
// the current window is compared with every earlier window that does not
// overlap it, out of the last memory PAA values (a bounded memory: old
// behaviour is forgotten, the cost per point is memory x length / step).
// The distance is the root mean square difference of the (optionally
// mean-removed or z-normalised) windows; the surprise is that distance
// over the median of the recent nearest-neighbour distances, so it reads
// "how much further from anything seen than usual", whatever the scale.
// A shape that the series never produced before, longer than the context
// detector's few points (a flat day in a daily cycle, a missing peak),
// scores high; a repetition of any earlier shape scores low.
//
// State: 2 (memory + length) PAA values and 256 recent distances, about
// 20 KB per scale with the defaults; the search early-abandons a
// candidate once its partial distance exceeds the best so far.
type discordModel struct {
	step, length, memory int
	norm                 int

	acc  float64 // sum of the current PAA segment
	accN int
	buf  []float64 // PAA values, oldest first (compacted when long)
	typ  *rolling  // recent nearest-neighbour distances
}

func newDiscordModel(step, length, memory, norm int) *discordModel {
	return &discordModel{step: step, length: length, memory: memory, norm: norm,
		buf: make([]float64, 0, 2*(memory+length)),
		typ: newRolling(256)}
}

// observe feeds one residual. It returns the surprise and true when the
// point completed a PAA segment (and so a new window was scored).
func (m *discordModel) observe(u float64) (float64, bool) {
	m.acc += u
	m.accN++
	if m.accN < m.step {
		return 0, false
	}
	x := m.acc / float64(m.step)
	m.acc, m.accN = 0, 0
	if len(m.buf) == cap(m.buf) {
		m.compact()
	}
	m.buf = append(m.buf, x)

	L, n := m.length, len(m.buf)
	// Candidates must not overlap the current window: start <= n-2L.
	lastStart := n - 2*L
	if lastStart < 2*L { // too little history for a meaningful neighbour
		return 0, false
	}
	first := max(0, n-L-m.memory)
	cur := m.buf[n-L:]
	cm, cs := m.stats(cur)
	best := math.Inf(1)
	for j := first; j <= lastStart; j++ {
		if d := m.dist(cur, cm, cs, j, best); d < best {
			best = d
		}
	}
	best = math.Sqrt(best / float64(L))
	s := 0.0
	if m.typ.len() >= 8 {
		t := m.typ.quantile(0.5)
		s = best / math.Max(t, 1e-9)
	}
	m.typ.push(best)
	return s, true
}

// stats returns the mean and standard deviation of w (two passes: NAB's
// byte counters reach 1e8, where sums of squares lose the variance).
func (m *discordModel) stats(w []float64) (mean, sd float64) {
	for _, x := range w {
		mean += x
	}
	mean /= float64(len(w))
	v := 0.0
	for _, x := range w {
		v += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(v / float64(len(w)))
}

// dist is the squared distance between cur (mean cm, sd cs) and the window
// at j, abandoned early once it exceeds bound.
func (m *discordModel) dist(cur []float64, cm, cs float64, j int, bound float64) float64 {
	w := m.buf[j : j+m.length]
	switch m.norm {
	case DiscordRaw:
		d := 0.0
		for i, a := range cur {
			e := a - w[i]
			d += e * e
			if d >= bound {
				return d
			}
		}
		return d
	case DiscordMean:
		wm, _ := m.stats(w)
		off := cm - wm
		d := 0.0
		for i, a := range cur {
			e := a - w[i] - off
			d += e * e
			if d >= bound {
				return d
			}
		}
		return d
	default:
		wm, ws := m.stats(w)
		// Flat windows: floor the spread so noise-free stretches compare
		// by level differences instead of dividing by zero.
		ca, wa := 1/math.Max(cs, 1e-9), 1/math.Max(ws, 1e-9)
		d := 0.0
		for i, a := range cur {
			e := (a-cm)*ca - (w[i]-wm)*wa
			d += e * e
			if d >= bound {
				return d
			}
		}
		return d
	}
}

// compact drops PAA values older than the memory so the buffer stays
// bounded (amortised O(1) per value: it runs once every memory+length).
func (m *discordModel) compact() {
	keep := m.memory + m.length
	drop := len(m.buf) - keep
	copy(m.buf, m.buf[drop:])
	m.buf = m.buf[:keep]
}

// discordScaleFactor is the ratio of the PAA steps of successive discord
// scales (Config.DiscordScales).
const discordScaleFactor = 2
