package network

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/simple"
)

// communities is the outcome of community detection on one window.
type communities struct {
	label            []int // community of each node
	count            int
	modularity       float64 // Q of label
	formalModularity float64 // Q of the team partition
}

// detectCommunities runs gonum's Louvain (community.Modularize) on the
// undirected graph weighted by w(u->v) + w(v->u), seeded by cfg.Seed, and
// scores both its partition and the formal team partition with community.Q.
//
// Louvain is randomised: a different seed can give a different partition.
// cfg.LouvainRuns runs are made with seeds derived from cfg.Seed and the
// partition of highest modularity is kept (see Config.LouvainRuns).
func detectCommunities(g *window, cfg Config) communities {
	n := g.n()
	res := communities{label: make([]int, n)}
	if n == 0 {
		return res
	}
	ug := simple.NewWeightedUndirectedGraph(0, 0)
	for i := range g.ids {
		ug.AddNode(simple.Node(i))
	}
	g.eachTie(func(u, v int32, i, j int) {
		w := g.w[i]
		if j >= 0 {
			w += g.w[j]
		}
		ug.SetWeightedEdge(ug.NewWeightedEdge(simple.Node(u), simple.Node(v), w))
	})

	var comms [][]graph.Node
	if len(g.key) == 0 {
		// gonum's Louvain needs at least one edge; without ties every
		// person is a community of their own.
		for i := range n {
			comms = append(comms, []graph.Node{simple.Node(i)})
		}
	} else {
		runs := cfg.LouvainRuns
		if runs == 0 {
			runs = 1
			if g.ties() <= AutoLouvainMaxTies {
				runs = AutoLouvainRuns
			}
		}
		best := math.Inf(-1)
		for r := range runs {
			src := rand.NewPCG(cfg.Seed, 0x6c6f757661696e+uint64(r)) // "louvain"
			c := community.Modularize(ug, cfg.Resolution, src).Communities()
			if q := community.Q(ug, c, cfg.Resolution); q > best {
				best, comms = q, c
			}
		}
	}
	// Number communities by decreasing size, ties by smallest member, so the
	// ids do not depend on gonum's internal order.
	for _, c := range comms {
		slices.SortFunc(c, func(a, b graph.Node) int { return int(a.ID() - b.ID()) })
	}
	slices.SortFunc(comms, func(a, b []graph.Node) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return int(a[0].ID() - b[0].ID())
	})
	for ci, c := range comms {
		for _, nd := range c {
			res.label[nd.ID()] = ci
		}
	}
	res.count = len(comms)

	formal := make([][]graph.Node, len(g.teams))
	for i, t := range g.team {
		if t >= 0 {
			formal[t] = append(formal[t], simple.Node(i))
		} else {
			formal = append(formal, []graph.Node{simple.Node(i)})
		}
	}
	if len(g.key) > 0 {
		res.modularity = community.Q(ug, comms, cfg.Resolution)
		res.formalModularity = community.Q(ug, formal, cfg.Resolution)
	}
	return res
}

// nmi is the normalised mutual information 2·I(C;T)/(H(C)+H(T)) between the
// community labels and the team labels over nodes with a known team (t >= 0).
// Two partitions that are both a single block carry no information and are
// reported as identical (1); no labelled node at all gives 0.
func nmi(comm []int, team []int32) float64 {
	type cell struct{ c, t int }
	joint := map[cell]float64{}
	pc := map[int]float64{}
	pt := map[int]float64{}
	var total float64
	for i, t := range team {
		if t < 0 {
			continue
		}
		joint[cell{comm[i], int(t)}]++
		pc[comm[i]]++
		pt[int(t)]++
		total++
	}
	if total == 0 {
		return 0
	}
	entropy := func(m map[int]float64) float64 {
		var h float64
		for _, c := range m {
			p := c / total
			h -= p * math.Log(p)
		}
		return h
	}
	hc, ht := entropy(pc), entropy(pt)
	if hc+ht == 0 {
		return 1
	}
	var mi float64
	for k, c := range joint {
		p := c / total
		mi += p * math.Log(p/((pc[k.c]/total)*(pt[k.t]/total)))
	}
	return max(0, min(1, 2*mi/(hc+ht)))
}
