package network

// This file is an array-based port of gonum's undirected Louvain
// (gonum.org/v1/gonum/graph/community, louvain_undirected.go, v0.17.0;
// Copyright ©2015 The Gonum Authors, BSD-style licence) and of its
// modularity Q.
//
// Why a port: community.Modularize looks every edge weight up in a
// map[[2]int]float64, and its local moving step asks for the weight between
// the moving node and every member of every neighbouring community. On a
// 10,000-person, 500,000-edge window that was ~9 s of map probing, the
// longest stage of Compute. Here each level is a CSR graph and the moving
// node's neighbour weights are scattered into a dense scratch array, so the
// same lookups are array reads.
//
// What is kept exactly: the algorithm and every decision it makes. The
// random source is consumed identically (one Fisher-Yates shuffle of the
// level's nodes per pass, through rand.New(src).IntN), candidate
// communities are visited in increasing index order with the same strict
// comparison, moves append to the destination and swap-remove from the
// source, empty communities are removed by swapping in the last one, and
// node i of a level is community i of the level below. Sums run over the
// same terms in the same member order. gonum's own summation order of
// neighbour weights follows map iteration (it varies from run to run in the
// last bits), so bit-identity with it is not defined; the partition is.

import (
	"math"
	"math/rand/v2"
	"slices"
)

// deltaQTol is gonum's tolerance for a move to count as an improvement.
const deltaQTol = 1e-15

// lvGraph is one level of the Louvain hierarchy: an undirected weighted
// graph in CSR form. The neighbours of u are nbr[off[u]:off[u+1]] with
// weights wt[...], without u itself; self[u] is the weight of u's self loop
// (the internal weight of the community it stands for).
type lvGraph struct {
	off  []int32
	nbr  []int32
	wt   []float64
	self []float64
}

func (g *lvGraph) n() int { return len(g.self) }

// lvLevel is a level and its partition into communities (node lists).
type lvLevel struct {
	g     *lvGraph
	comms [][]int32
}

// undirectedWeights returns window g as an lvGraph weighted by
// w(u->v) + w(v->u), the graph Louvain and Q work on.
func undirectedWeights(g *window) *lvGraph {
	n := g.n()
	lg := &lvGraph{off: make([]int32, n+1), self: make([]float64, n)}
	deg := make([]int32, n)
	for _, k := range g.key {
		u, v := splitKey(k)
		if _, ok := g.pairAt[pairKey(v, u)]; ok && v < u {
			continue
		}
		deg[u]++
		deg[v]++
	}
	for u := range n {
		lg.off[u+1] = lg.off[u] + deg[u]
	}
	lg.nbr = make([]int32, lg.off[n])
	lg.wt = make([]float64, lg.off[n])
	pos := slices.Clone(lg.off[:n])
	for i, k := range g.key {
		u, v := splitKey(k)
		w := g.w[i]
		if j, ok := g.pairAt[pairKey(v, u)]; ok {
			if v < u {
				continue // added when the (v, u) pair was visited
			}
			w += g.w[j]
		}
		lg.nbr[pos[u]], lg.wt[pos[u]] = v, w
		pos[u]++
		lg.nbr[pos[v]], lg.wt[pos[v]] = u, w
		pos[v]++
	}
	return lg
}

// louvain returns the communities (lists of node indexes of g) found by
// gonum's Louvain at the given resolution, with src as the random source.
func louvain(g *lvGraph, resolution float64, src rand.Source) [][]int32 {
	rnd := rand.New(src).IntN
	singletons := func(n int) [][]int32 {
		c := make([][]int32, n)
		for i := range c {
			c[i] = []int32{int32(i)}
		}
		return c
	}
	levels := []*lvLevel{{g: g, comms: singletons(g.n())}}
	scratch := make([]float64, g.n())
	for {
		c := levels[len(levels)-1]
		l := newMover(c, resolution, scratch)
		if l == nil || l.run(rnd) {
			break
		}
		c.comms = compact(l.comms)
		next := reduce(c.g, c.comms, scratch)
		levels = append(levels, &lvLevel{g: next, comms: singletons(next.n())})
	}
	// Expand the top level's communities down to the nodes of g: sub[i]
	// is the nodes of g that node i of the current level stands for.
	sub := singletons(g.n())
	for _, lv := range levels {
		out := make([][]int32, len(lv.comms))
		for i, members := range lv.comms {
			for _, m := range members {
				out[i] = append(out[i], sub[m]...)
			}
		}
		sub = out
	}
	return sub
}

// compact removes empty communities the way gonum does: the last one takes
// the place of each empty one.
func compact(comms [][]int32) [][]int32 {
	for i := 0; i < len(comms); {
		if len(comms[i]) == 0 {
			comms[i] = comms[len(comms)-1]
			comms[len(comms)-1] = nil
			comms = comms[:len(comms)-1]
		} else {
			i++
		}
	}
	return comms
}

// reduce returns the graph whose node i is community i of g (gonum's
// reduceUndirected): self weight the community's internal weight (self
// loops plus twice each internal edge), edges the summed weights between
// communities. scratch must be zero and at least g.n() long; it is left
// zero.
func reduce(g *lvGraph, comms [][]int32, scratch []float64) *lvGraph {
	nc := len(comms)
	commOf := make([]int32, g.n())
	for i, c := range comms {
		for _, u := range c {
			commOf[u] = int32(i)
		}
	}
	r := &lvGraph{off: make([]int32, nc+1), self: make([]float64, nc)}
	type half struct {
		to int32
		w  float64
	}
	// acc[v] accumulates the weight of (ucid, v) for v > ucid; seen marks
	// the communities already in out for the current ucid.
	acc := make([]float64, nc)
	seen := make([]int32, nc)
	for i := range seen {
		seen[i] = -1
	}
	outs := make([][]int32, nc)
	upper := make([][]half, nc) // weights of (ucid, v), v > ucid
	for ucid, comm := range comms {
		var out []int32
		for i, u := range comm {
			lo, hi := g.off[u], g.off[u+1]
			for e := lo; e < hi; e++ {
				scratch[g.nbr[e]] = g.wt[e]
			}
			r.self[ucid] += g.self[u]
			for _, v := range comm[i+1:] {
				r.self[ucid] += 2 * scratch[v]
			}
			for e := lo; e < hi; e++ {
				scratch[g.nbr[e]] = 0
				vcid := commOf[g.nbr[e]]
				if vcid != int32(ucid) && seen[vcid] != int32(ucid) {
					seen[vcid] = int32(ucid)
					out = append(out, vcid)
				}
				if int32(ucid) < vcid {
					acc[vcid] += g.wt[e]
				}
			}
		}
		outs[ucid] = out
		for _, v := range out {
			if v > int32(ucid) {
				upper[ucid] = append(upper[ucid], half{v, acc[v]})
				acc[v] = 0
			}
		}
	}
	// Rows in out order; weight(u, v) is upper[min(u,v)]'s entry for the
	// other end, scattered into acc for the row being filled.
	lower := make([][]half, nc) // weights of (v, u), v < u, stored at u
	for u := range nc {
		for _, h := range upper[u] {
			lower[h.to] = append(lower[h.to], half{int32(u), h.w})
		}
	}
	for u := range nc {
		r.off[u+1] = r.off[u] + int32(len(outs[u]))
	}
	r.nbr = make([]int32, r.off[nc])
	r.wt = make([]float64, r.off[nc])
	for u := range nc {
		for _, h := range upper[u] {
			acc[h.to] = h.w
		}
		for _, h := range lower[u] {
			acc[h.to] = h.w
		}
		base := int(r.off[u])
		for j, v := range outs[u] {
			r.nbr[base+j], r.wt[base+j] = v, acc[v]
		}
		for _, h := range upper[u] {
			acc[h.to] = 0
		}
		for _, h := range lower[u] {
			acc[h.to] = 0
		}
	}
	return r
}

// mover is gonum's undirectedLocalMover over an lvGraph.
type mover struct {
	g          *lvGraph
	nodes      []int32
	degree     []float64 // weighted degree, self loop included
	m2         float64
	comms      [][]int32
	member     []int32
	resolution float64
	moved      bool
	changed    bool
	scratch    []float64 // weights of the moving node's neighbours
	mark       []bool    // candidate communities of the moving node
	candidates []int32
}

func newMover(c *lvLevel, resolution float64, scratch []float64) *mover {
	g := c.g
	n := g.n()
	l := &mover{
		g: g, nodes: make([]int32, n), degree: make([]float64, n), comms: c.comms,
		member: make([]int32, n), resolution: resolution, scratch: scratch,
		mark: make([]bool, len(c.comms)),
	}
	for u := range n {
		l.nodes[u] = int32(u)
		w := g.self[u]
		for e := g.off[u]; e < g.off[u+1]; e++ {
			w += g.wt[e]
		}
		l.degree[u] = w
		l.m2 += w
	}
	if l.m2 == 0 {
		return nil
	}
	for i, cm := range c.comms {
		for _, u := range cm {
			l.member[u] = int32(i)
		}
	}
	return l
}

// run is gonum's localMovingHeuristic: passes over the shuffled nodes until
// one moves nothing. It reports whether no move was made at all.
func (l *mover) run(rnd func(int) int) (done bool) {
	for {
		l.moved = false
		for i := range l.nodes[:len(l.nodes)-1] {
			j := i + rnd(len(l.nodes)-i)
			l.nodes[i], l.nodes[j] = l.nodes[j], l.nodes[i]
		}
		for _, n := range l.nodes {
			dQ, dst, srcComm, srcIdx := l.deltaQ(n)
			if dQ <= deltaQTol {
				continue
			}
			l.move(dst, srcComm, srcIdx)
		}
		if !l.moved {
			return !l.changed
		}
	}
}

func (l *mover) move(dst, srcComm, srcIdx int) {
	l.moved, l.changed = true, true
	sc := l.comms[srcComm]
	n := sc[srcIdx]
	l.member[n] = int32(dst)
	l.comms[dst] = append(l.comms[dst], n)
	sc[srcIdx] = sc[len(sc)-1]
	l.comms[srcComm] = sc[:len(sc)-1]
}

// deltaQ is gonum's: the best modularity gain of moving n to a neighbouring
// community, that community, and n's position in its own.
func (l *mover) deltaQ(n int32) (dQ float64, dst, srcComm, srcIdx int) {
	g := l.g
	aa := g.self[n]
	ka := l.degree[n]
	m2 := l.m2
	gamma := l.resolution

	cand := l.candidates[:0]
	lo, hi := g.off[n], g.off[n+1]
	for e := lo; e < hi; e++ {
		v := g.nbr[e]
		l.scratch[v] = g.wt[e]
		if c := l.member[v]; !l.mark[c] {
			l.mark[c] = true
			cand = append(cand, c)
		}
	}
	if c := l.member[n]; !l.mark[c] {
		l.mark[c] = true
		cand = append(cand, c)
	}
	slices.Sort(cand)

	var dQremove float64
	dQadd := math.Inf(-1)
	dst, srcComm, srcIdx = -1, -1, -1
	for _, i := range cand {
		l.mark[i] = false
		var kaC, sigmaC float64
		removal := false
		for j, u := range l.comms[i] {
			if u == n {
				srcComm, srcIdx = int(i), j
				removal = true
				kaC += aa
			} else {
				kaC += l.scratch[u]
			}
			sigmaC += l.degree[u]
		}
		if removal {
			dQremove = kaC - aa - gamma*ka*(sigmaC-ka)/m2
		} else if d := kaC - gamma*ka*sigmaC/m2; d > dQadd {
			dQadd, dst = d, int(i)
		}
	}
	for e := lo; e < hi; e++ {
		l.scratch[g.nbr[e]] = 0
	}
	l.candidates = cand
	return 2 * (dQadd - dQremove) / m2, dst, srcComm, srcIdx
}

// modularity is gonum's community.Q of the partition comms of g (every node
// in exactly one community), summed in the same order.
func modularity(g *lvGraph, comms [][]int32, resolution float64, scratch []float64) float64 {
	n := g.n()
	k := make([]float64, n)
	var m2 float64
	for u := range n {
		w := g.self[u]
		for e := g.off[u]; e < g.off[u+1]; e++ {
			w += g.wt[e]
		}
		m2 += w
		k[u] = w
	}
	var q float64
	for _, c := range comms {
		for i, u := range c {
			lo, hi := g.off[u], g.off[u+1]
			for e := lo; e < hi; e++ {
				scratch[g.nbr[e]] = g.wt[e]
			}
			ku := k[u]
			q += g.self[u] - resolution*ku*ku/m2
			for _, v := range c[i+1:] {
				q += 2 * (scratch[v] - resolution*ku*k[v]/m2)
			}
			for e := lo; e < hi; e++ {
				scratch[g.nbr[e]] = 0
			}
		}
	}
	return q / m2
}
