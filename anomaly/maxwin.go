package anomaly

// slidingMax is the maximum of the last n values pushed, in O(1) amortised
// time per push (monotonic deque of (index, value) pairs, stored in a ring).
type slidingMax struct {
	n          int
	seq        int
	idx        []int
	val        []float64
	head, size int
}

func newSlidingMax(n int) *slidingMax {
	return &slidingMax{n: n, idx: make([]int, n+1), val: make([]float64, n+1)}
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
	for m.size > 0 && m.val[m.at(m.size-1)] <= v {
		m.size--
	}
	i := m.at(m.size)
	m.idx[i], m.val[i] = m.seq, v
	m.size++
	for m.size > 0 && m.idx[m.head] <= m.seq-m.n {
		m.head = (m.head + 1) % len(m.idx)
		m.size--
	}
	m.seq++
}
