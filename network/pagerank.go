package network

import "math"

// pageRank returns the PageRank of every node on the weighted directed graph,
// indexed by node. It is a port of gonum's sparse, edge-weighted PageRank
// (network.PageRankSparse, v0.17.0) onto the window's sorted pair arrays: a
// node's out-edges are a contiguous run of g.key, so the transition matrix
// is read in place instead of being rebuilt from a map-based
// simple.WeightedDirectedGraph (that rebuild was most of the cost on a
// 500,000-edge window). As in gonum and networkx, a dangling node (one who
// wrote to nobody) spreads its rank uniformly, so an undirected graph given
// as both directions reproduces networkx's undirected PageRank.
//
// The iteration is gonum's: v = H·last + (dangling·last) + (1-d)/n·Σlast,
// until the L2 norm of the change is below cfg.PageRankTolerance. gonum
// starts from a random vector; this port starts from the uniform one, so it
// is deterministic. Either way the result is the same fixed point to about
// cfg.PageRankTolerance (TestPageRankMatchesGonum).
func pageRank(g *window, cfg Config) []float64 {
	n := g.n()
	if n == 0 {
		return []float64{}
	}
	damp := cfg.Damping
	// coef[e] is column src(e) of H at row dst(e): damp·w/z, z the sender's
	// total out-weight; senders with z = 0 are dangling.
	coef := make([]float64, len(g.key))
	var dangling []int32
	df := damp / float64(n)
	hasOut := make([]bool, n)
	for lo := 0; lo < len(g.key); {
		u, _ := splitKey(g.key[lo])
		hi := lo
		var z float64
		for hi < len(g.key) {
			if s, _ := splitKey(g.key[hi]); s != u {
				break
			}
			z += g.w[hi]
			hi++
		}
		hasOut[u] = true
		if z != 0 {
			for e := lo; e < hi; e++ {
				coef[e] = (g.w[e] * damp) / z
			}
		} else {
			dangling = append(dangling, u)
		}
		lo = hi
	}
	for u := range n {
		if !hasOut[u] {
			dangling = append(dangling, int32(u))
		}
	}

	last := make([]float64, n)
	v := make([]float64, n)
	for i := range v {
		v[i] = 1 / float64(n)
	}
	dt := (1 - damp) / float64(n)
	for {
		last, v = v, last
		clear(v)
		for e, k := range g.key {
			s, d := splitKey(k)
			v[d] += coef[e] * last[s]
		}
		var with, sum float64
		for _, u := range dangling {
			with += df * last[u]
		}
		for _, x := range last {
			sum += x
		}
		add := with + dt*sum
		var diff float64
		for i := range v {
			v[i] += add
			d := v[i] - last[i]
			diff += d * d
		}
		if math.Sqrt(diff) < cfg.PageRankTolerance {
			return v
		}
	}
}
