package network

import (
	"math/rand/v2"
)

// louvainGraph is an undirected weighted graph in CSR form, the input of one
// Louvain level: the neighbours of u are adj[off[u]:off[u+1]] (never u
// itself) with weights w[off[u]:off[u+1]], and self[u] is u's self-loop
// weight. On a reduced graph self[c] is the weight inside community c,
// every internal tie counted from both ends, so that the weighted degree
// k(c) = self[c] + Σ w and the total 2m are those of the graph it reduces.
type louvainGraph struct {
	off  []int32
	adj  []int32
	w    []float64
	self []float64
}

func (g *louvainGraph) n() int { return len(g.off) - 1 }

// louvainTol is the smallest modularity gain that moves a node: gonum's
// deltaQtol.
const louvainTol = 1e-15

// tieGraph returns the window's undirected tie graph weighted by
// w(u->v) + w(v->u): the graph of community detection and modularity. It
// shares off and adj with g.
func tieGraph(g *window) *louvainGraph {
	lg := &louvainGraph{off: g.off, adj: g.adj, w: make([]float64, len(g.adj)), self: make([]float64, g.n())}
	// at returns the position of v among u's neighbours (sorted).
	at := func(u, v int32) int32 {
		lo, hi := g.off[u], g.off[u+1]
		for lo < hi {
			mid := int32(uint32(lo+hi) >> 1)
			if g.adj[mid] < v {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	g.eachTie(func(u, v int32, i, j int) {
		w := g.w[i]
		if j >= 0 {
			w += g.w[j]
		}
		lg.w[at(u, v)] = w
		lg.w[at(v, u)] = w
	})
	return lg
}

// louvain is one run of the Louvain method (Blondel, Guillaume, Lambiotte
// and Lefebvre, J. Stat. Mech. 2008, P10008) at resolution gamma, with the
// node order drawn from src. It returns the community of every node of g,
// numbered 0..count-1 in no particular order, and count.
//
// It is gonum's community.Modularize for undirected graphs (v0.17,
// louvain_undirected.go) move for move: the same shuffles drawn from the
// same source, the same gain formulas evaluated in the same order, the same
// tie-break (among equal gains the lowest community index), the same
// tolerance, and the same renumbering of communities between levels (an
// empty community's slot is taken by the last one). With integer weights,
// such as the message counts analyze passes in, every sum is exact and the
// partition is identical to gonum's for the same seed; TestLouvainMatchesGonum
// checks this on the karate club and on synthetic windows. What differs is
// the cost. gonum sums a node's weight to a candidate community by looking up
// the edge to every member in a map, so moving one node costs the size of
// the communities around it, and a level costs up to nodes × community size
// (a window of 11,000 people and 20,000 ties, whose largest communities
// hold 600-1,300 people, took 1.2 s per run on the 2-core dev machine).
// Here a node's weights to its neighbours' communities are accumulated in
// one pass over its ties and every community's total degree is kept up to
// date, so a sweep costs O(ties); the same run takes under 10 ms.
func louvain(g *louvainGraph, gamma float64, src rand.Source) (label []int32, count int) {
	rnd := rand.New(src).IntN
	n0 := g.n()
	label = make([]int32, n0) // level node of each node of g
	for i := range label {
		label[i] = int32(i)
	}
	count = n0
	for {
		n := g.n()
		k := make([]float64, n)
		var m2 float64
		for u := range n {
			w := g.self[u]
			for _, x := range g.w[g.off[u]:g.off[u+1]] {
				w += x
			}
			k[u] = w
			m2 += w
		}
		if m2 == 0 {
			return label, count
		}
		comm := make([]int32, n) // community of each level node
		tot := make([]float64, n)
		size := make([]int32, n)
		for u := range n {
			comm[u], tot[u], size[u] = int32(u), k[u], 1
		}
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		acc := make([]float64, n) // weight from the current node to community c
		seen := make([]uint32, n) // seen[c] == visit: c is a candidate of this visit
		var visit uint32
		var cand []int32
		changed := false
		for {
			// Fisher-Yates, drawing exactly as gonum's shuffle does.
			for i := range order[:len(order)-1] {
				j := i + rnd(len(order)-i)
				order[i], order[j] = order[j], order[i]
			}
			moved := false
			for _, u := range order {
				own := comm[u]
				cand = cand[:0]
				visit++
				if visit == 0 { // wrapped: forget every stamp
					clear(seen)
					visit = 1
				}
				for p := g.off[u]; p < g.off[u+1]; p++ {
					c := comm[g.adj[p]]
					if seen[c] != visit {
						seen[c] = visit
						acc[c] = 0
						cand = append(cand, c)
					}
					acc[c] += g.w[p]
				}
				if seen[own] != visit {
					seen[own] = visit
					acc[own] = 0
				}
				ka := k[u]
				dQremove := acc[own] - gamma*ka*(tot[own]-ka)/m2
				best, dst := 0.0, int32(-1)
				for _, c := range cand {
					if c == own {
						continue
					}
					dQ := acc[c] - gamma*ka*tot[c]/m2
					if dst < 0 || dQ > best || (dQ == best && c < dst) {
						best, dst = dQ, c
					}
				}
				if dst < 0 || 2*(best-dQremove)/m2 <= louvainTol {
					continue
				}
				tot[own] -= ka
				size[own]--
				tot[dst] += ka
				size[dst]++
				comm[u] = dst
				moved, changed = true, true
			}
			if !moved {
				break
			}
		}
		if !changed {
			return label, count
		}

		// Renumber the non-empty communities as gonum's reduction does:
		// scanning up, an empty slot is filled by the current last one.
		slot := make([]int32, n) // slot i holds community slot[i]
		for i := range slot {
			slot[i] = int32(i)
		}
		m := n
		for i := 0; i < m; {
			if size[slot[i]] == 0 {
				slot[i] = slot[m-1]
				m--
			} else {
				i++
			}
		}
		next := make([]int32, n) // community -> node of the next level
		for i, c := range slot[:m] {
			next[c] = int32(i)
		}
		for i, u := range label {
			label[i] = next[comm[u]]
		}
		count = m
		g = reduce(g, comm, next, m)
	}
}

// reduce returns the graph of the communities of g: node next[comm[u]]
// aggregates the nodes u of one community, its self-loop is the weight
// inside it (both directions) and an edge sums the ties between two
// communities.
func reduce(g *louvainGraph, comm, next []int32, m int) *louvainGraph {
	n := g.n()
	// Members of each new node, by counting sort.
	start := make([]int32, m+1)
	for u := range n {
		start[next[comm[u]]+1]++
	}
	for c := range m {
		start[c+1] += start[c]
	}
	members := make([]int32, n)
	fill := make([]int32, m)
	copy(fill, start[:m])
	for u := range n {
		c := next[comm[u]]
		members[fill[c]] = int32(u)
		fill[c]++
	}
	r := &louvainGraph{off: make([]int32, m+1), self: make([]float64, m)}
	acc := make([]float64, m)
	seen := make([]int32, m)
	var cand []int32
	for c := range int32(m) {
		cand = cand[:0]
		for _, u := range members[start[c]:start[c+1]] {
			r.self[c] += g.self[u]
			for p := g.off[u]; p < g.off[u+1]; p++ {
				d := next[comm[g.adj[p]]]
				if d == c {
					r.self[c] += g.w[p]
					continue
				}
				if seen[d] != c+1 {
					seen[d] = c + 1
					acc[d] = 0
					cand = append(cand, d)
				}
				acc[d] += g.w[p]
			}
		}
		for _, d := range cand {
			r.adj = append(r.adj, d)
			r.w = append(r.w, acc[d])
		}
		r.off[c+1] = int32(len(r.adj))
	}
	return r
}

// modularity is Q of the partition label (groups 0..count-1) of g at
// resolution gamma, as community.Q defines it:
// Q = 1/2m Σ_c [ Σ_{u,v∈c} A_uv - γ (Σ_{u∈c} k_u)² / 2m ]. It is 0 for a
// graph without weight.
func modularity(g *louvainGraph, label []int32, count int, gamma float64) float64 {
	in := make([]float64, count)
	tot := make([]float64, count)
	var m2 float64
	for u := range g.n() {
		c := label[u]
		k := g.self[u]
		in[c] += g.self[u]
		for p := g.off[u]; p < g.off[u+1]; p++ {
			k += g.w[p]
			if label[g.adj[p]] == c {
				in[c] += g.w[p]
			}
		}
		tot[c] += k
		m2 += k
	}
	if m2 == 0 {
		return 0
	}
	var q float64
	for c := range count {
		q += in[c] - gamma*tot[c]*tot[c]/m2
	}
	return q / m2
}
