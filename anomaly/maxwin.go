package anomaly

// slidingMax is the maximum of the last n values pushed, in O(1) amortised
// time per push (monotonic deque of (index, value) pairs in a ring). The
// ring grows on demand up to n+1 entries: a monotonic deque of real
// surprises holds a few dozen entries, so a long calibration horizon
// (DefaultConfig's 30000 points) costs no memory up front.
type slidingMax struct {
	n          int
	seq        int
	idx        []int
	val        []float64
	head, size int
	// ties counts the pushes that reached the current maximum (within
	// tieTol) since it became the maximum; see Detector.calibrate.
	ties int
}

// tieTol is the relative tolerance within which a surprise equals the
// running maximum (NAB, before the discord detector: 1e-9 63.5, 1e-2
// 64.1, 5e-2 62.7), and tieRatio the calibrated ratio such a repeated tie
// scores (see Detector.calibrate).
const (
	tieTol   = 1e-2
	tieRatio = 0.95
)

func newSlidingMax(n int) *slidingMax {
	c := min(n+1, 16)
	return &slidingMax{n: n, idx: make([]int, c), val: make([]float64, c)}
}

func (m *slidingMax) at(k int) int { return (m.head + k) % len(m.idx) }

// max returns the maximum of the window, or 0 when it is empty.
func (m *slidingMax) max() float64 {
	if m.size == 0 {
		return 0
	}
	return m.val[m.head]
}

func (m *slidingMax) push(v float64) {
	switch old := m.max(); {
	case m.size == 0 || v > old*(1+tieTol):
		m.ties = 1
	case v >= old*(1-tieTol):
		m.ties++
	}
	for m.size > 0 && m.val[m.at(m.size-1)] <= v {
		m.size--
	}
	if m.size == len(m.idx) {
		m.grow()
	}
	i := m.at(m.size)
	m.idx[i], m.val[i] = m.seq, v
	m.size++
	for m.size > 0 && m.idx[m.head] <= m.seq-m.n {
		m.head = (m.head + 1) % len(m.idx)
		m.size--
		m.ties = 1 // the old maximum expired; count afresh
	}
	m.seq++
}

// grow doubles the ring (at most to n+1 entries), unrolling it to head 0.
func (m *slidingMax) grow() {
	c := min(2*len(m.idx), m.n+1)
	idx, val := make([]int, c), make([]float64, c)
	for k := 0; k < m.size; k++ {
		idx[k], val[k] = m.idx[m.at(k)], m.val[m.at(k)]
	}
	m.idx, m.val, m.head = idx, val, 0
}
