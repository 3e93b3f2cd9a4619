package network

import (
	"math"
	"math/rand/v2"
	"sync"

	"gonum.org/v1/gonum/graph/network"
	"gonum.org/v1/gonum/graph/simple"
)

// betweennessConfidence is 1-δ of the reported sampling error bound.
const betweennessConfidence = 0.95

// betweenness returns normalised betweenness per node on the undirected tie
// graph, whether it is exact, and the per-node error bound (0 when exact).
//
// Windows of at most cfg.ExactBetweennessMaxNodes nodes use gonum's exact
// Brandes (network.Betweenness). Larger ones use betweennessSampled: gonum's
// exact code is O(n·m) with map-based bookkeeping (10k nodes / 500k ties is
// hours), and its Brandes core is unexported, so the pivot sampler below is
// written by hand (like louvain, for a similar reason).
func betweenness(g *window, cfg Config) (bc []float64, exact bool, bound float64) {
	if g.n() <= cfg.ExactBetweennessMaxNodes {
		return exactBetweenness(g), true, 0
	}
	bc, bound = betweennessSampled(g.off, g.adj, cfg.BetweennessSamples, cfg.Seed, cfg.Workers)
	return bc, bound == 0, bound
}

// exactBetweenness is gonum's Brandes on the undirected tie graph, scaled to
// networkx's normalisation.
func exactBetweenness(g *window) []float64 {
	n := g.n()
	out := make([]float64, n)
	if n < 3 {
		return out
	}
	ug := simple.NewUndirectedGraph()
	for i := range g.ids {
		ug.AddNode(simple.Node(i))
	}
	for u := int32(0); int(u) < n; u++ {
		for _, v := range g.neighbours(u) {
			if u < v {
				ug.SetEdge(ug.NewEdge(simple.Node(u), simple.Node(v)))
			}
		}
	}
	// gonum sums over ordered (s, t) pairs, so every unordered pair counts
	// twice; networkx divides the unordered sum by (n-1)(n-2)/2.
	norm := 1 / (float64(n-1) * float64(n-2))
	for id, b := range network.Betweenness(ug) {
		out[id] = b * norm
	}
	return out
}

// betweennessSampled estimates normalised betweenness centrality on the
// undirected, unweighted graph given in CSR form (the neighbours of u are
// adj[off[u]:off[u+1]], len(off) = n+1) from k pivot sources drawn without
// replacement (Brandes and Pich, "Centrality estimation in large networks",
// 2007): Brandes' dependency accumulation runs from each pivot s only, and
// the summed dependencies δ_s(v) are scaled by n/k. The estimator is
// unbiased. The result is normalised like networkx (divided by (n-1)(n-2),
// the ordered-pair count), so it lies in [0, 1].
//
// Error: each pivot contributes X_s = n·δ_s(v)/((n-1)(n-2)) with
// 0 <= δ_s(v) <= n-2, so X_s lies in [0, n/(n-1)]. Hoeffding's inequality
// (which also holds for sampling without replacement) gives, for every node
// separately,
//
//	P(|estimate - exact| >= ε) <= 2·exp(-2kε² / (n/(n-1))²),
//
// and bound is the ε at which that probability is 5%:
// (n/(n-1))·sqrt(ln(40)/(2k)), about 0.06 for k = 512. This is an additive
// bound on the normalised scale: it is tight enough to rank the brokers of a
// window (whose normalised betweenness is typically 0.01-0.3) but says little
// about the many nodes near 0; raising k shrinks it as 1/sqrt(k) and costs
// linear time. The bound is distribution-free and therefore loose: on the
// 400-node test window the largest error over all nodes was 6-50 times
// smaller than the bound (TestBetweennessSampled logs both). For k >= n every
// node is a pivot, the result is exact and bound is 0.
//
// Pivots are split over workers goroutines; each keeps its own O(n) state,
// so the memory cost is O(workers·n) beyond the graph.
func betweennessSampled(off, adj []int32, k int, seed uint64, workers int) (bc []float64, bound float64) {
	n := len(off) - 1
	if n < 0 {
		n = 0
	}
	bc = make([]float64, n)
	if n < 3 || k < 1 {
		return bc, 0
	}
	if workers < 1 {
		workers = 1
	}
	pivots := make([]int32, n)
	for i := range pivots {
		pivots[i] = int32(i)
	}
	if k >= n {
		k = n
	} else {
		// Partial Fisher-Yates: the first k entries are a uniform sample.
		rng := rand.New(rand.NewPCG(seed, 0x6e6574776f726b)) // "network"
		for i := 0; i < k; i++ {
			j := i + rng.IntN(n-i)
			pivots[i], pivots[j] = pivots[j], pivots[i]
		}
		bound = float64(n) / float64(n-1) * math.Sqrt(math.Log(2/(1-betweennessConfidence))/(2*float64(k)))
	}
	pivots = pivots[:k]
	workers = min(workers, k)

	partial := make([][]float64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := newBrandes(n, len(adj))
			for i := w; i < k; i += workers {
				b.accumulate(off, adj, pivots[i])
			}
			partial[w] = b.bc
		}()
	}
	wg.Wait()
	// Summing in worker order keeps the result deterministic for a fixed
	// worker count.
	scale := float64(n) / float64(k) / (float64(n-1) * float64(n-2))
	for _, p := range partial {
		for i, v := range p {
			bc[i] += v
		}
	}
	for i := range bc {
		bc[i] *= scale
	}
	return bc, bound
}

// brandes is the per-worker state of single-source dependency accumulation.
// The forward BFS records each node's predecessors (neighbours at distance
// d-1) in pred, a buffer laid out like the CSR adjacency (node w's
// predecessors at pred[off[w]:off[w]+npred[w]], at most its degree), so the
// backward pass visits only the shortest-path DAG instead of re-scanning
// every neighbour. Dependencies still reach each node in the order of
// decreasing BFS position, so sums are bit-for-bit those of the textbook
// loop.
type brandes struct {
	dist  []int32
	sigma []float64
	delta []float64
	order []int32 // BFS order, doubles as the stack
	npred []int32
	pred  []int32
	bc    []float64
}

func newBrandes(n, m int) *brandes {
	b := &brandes{
		dist:  make([]int32, n),
		sigma: make([]float64, n),
		delta: make([]float64, n),
		order: make([]int32, 0, n),
		npred: make([]int32, n),
		pred:  make([]int32, m),
		bc:    make([]float64, n),
	}
	for i := range b.dist {
		b.dist[i] = -1
	}
	return b
}

// accumulate adds δ_s(v) to bc[v] for every v != s.
func (b *brandes) accumulate(off, adj []int32, s int32) {
	b.order = append(b.order[:0], s)
	b.dist[s] = 0
	b.sigma[s] = 1
	for head := 0; head < len(b.order); head++ {
		v := b.order[head]
		dv := b.dist[v]
		sv := b.sigma[v]
		for _, w := range adj[off[v]:off[v+1]] {
			dw := b.dist[w]
			if dw < 0 {
				dw = dv + 1
				b.dist[w] = dw
				b.order = append(b.order, w)
			}
			if dw == dv+1 {
				b.sigma[w] += sv
				b.pred[off[w]+b.npred[w]] = v
				b.npred[w]++
			}
		}
	}
	for i := len(b.order) - 1; i > 0; i-- { // order[0] is s
		w := b.order[i]
		coeff := (1 + b.delta[w]) / b.sigma[w]
		for _, v := range b.pred[off[w] : off[w]+b.npred[w]] {
			b.delta[v] += b.sigma[v] * coeff
		}
		b.bc[w] += b.delta[w]
	}
	for _, w := range b.order {
		b.dist[w], b.sigma[w], b.delta[w], b.npred[w] = -1, 0, 0, 0
	}
}
