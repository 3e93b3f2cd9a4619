package anomaly

import "sort"

// rolling is a fixed-capacity sliding window that keeps its values both in
// arrival order (ring) and sorted, so order statistics (median, quantiles,
// ranks) cost O(log n) and an update costs one O(n) memmove. For the window
// sizes used here (hundreds of rows) that beats heap-based two-sided
// structures and keeps every quantile available, which the robust baseline,
// the entropy test and the rank calibration all need.
type rolling struct {
	ring   []float64
	sorted []float64
	next   int
	full   bool
}

func newRolling(capacity int) *rolling {
	return &rolling{ring: make([]float64, capacity), sorted: make([]float64, 0, capacity)}
}

func (r *rolling) len() int { return len(r.sorted) }

// push adds v, evicting the oldest value once the window is full.
func (r *rolling) push(v float64) {
	if r.full {
		old := r.ring[r.next]
		i := sort.SearchFloat64s(r.sorted, old)
		copy(r.sorted[i:], r.sorted[i+1:])
		r.sorted = r.sorted[:len(r.sorted)-1]
	}
	r.ring[r.next] = v
	r.next++
	if r.next == len(r.ring) {
		r.next = 0
		r.full = true
	}
	i := sort.SearchFloat64s(r.sorted, v)
	r.sorted = append(r.sorted, 0)
	copy(r.sorted[i+1:], r.sorted[i:])
	r.sorted[i] = v
}

// quantile returns the q-quantile (linear interpolation between order
// statistics). The window must not be empty.
func (r *rolling) quantile(q float64) float64 {
	n := len(r.sorted)
	if n == 1 {
		return r.sorted[0]
	}
	pos := q * float64(n-1)
	i := int(pos)
	if i >= n-1 {
		return r.sorted[n-1]
	}
	f := pos - float64(i)
	return r.sorted[i]*(1-f) + r.sorted[i+1]*f
}

// countAtMost returns how many values are <= v.
func (r *rolling) countAtMost(v float64) int {
	return sort.Search(len(r.sorted), func(i int) bool { return r.sorted[i] > v })
}

// last returns the k-th most recent value (k = 0 is the newest).
func (r *rolling) last(k int) float64 {
	i := r.next - 1 - k
	for i < 0 {
		i += len(r.ring)
	}
	return r.ring[i]
}
