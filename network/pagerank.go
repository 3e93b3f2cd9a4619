package network

import (
	"gonum.org/v1/gonum/graph/network"
	"gonum.org/v1/gonum/graph/simple"
)

// pageRank returns the PageRank of every node on the weighted directed graph,
// indexed by node. It is gonum's sparse, edge-weighted PageRank: a dangling
// node (one who wrote to nobody) spreads its rank uniformly, as in networkx,
// so an undirected graph given as both directions reproduces networkx's
// undirected PageRank.
//
// gonum starts the power iteration from a random vector (the global
// math/rand/v2 source, not Config.Seed), so results agree between runs only
// to about cfg.PageRankTolerance; the default 1e-10 is far below anything
// stored or compared.
func pageRank(g *window, cfg Config) []float64 {
	out := make([]float64, g.n())
	if g.n() == 0 {
		return out
	}
	dg := simple.NewWeightedDirectedGraph(0, 0)
	for i := range g.ids {
		dg.AddNode(simple.Node(i))
	}
	for i, k := range g.key {
		u, v := splitKey(k)
		dg.SetWeightedEdge(dg.NewWeightedEdge(simple.Node(u), simple.Node(v), g.w[i]))
	}
	for id, r := range network.PageRankSparse(dg, cfg.Damping, cfg.PageRankTolerance) {
		out[id] = r
	}
	return out
}
