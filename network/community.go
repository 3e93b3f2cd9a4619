package network

import (
	"math"
	"math/rand/v2"
	"slices"
)

// communities is the outcome of community detection on one window.
type communities struct {
	label            []int // community of each node
	count            int
	modularity       float64 // Q of label
	formalModularity float64 // Q of the team partition
}

// detectCommunities runs Louvain (louvain.go: an array-based port of
// gonum's community.Modularize that takes the same decisions) on the
// undirected graph weighted by w(u->v) + w(v->u), seeded by cfg.Seed, and
// scores both its partition and the formal team partition with modularity
// (gonum's community.Q).
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
	ug := undirectedWeights(g)
	scratch := make([]float64, n)

	var comms [][]int32
	if len(g.key) == 0 {
		// Louvain needs at least one edge; without ties every person is a
		// community of their own.
		for i := range n {
			comms = append(comms, []int32{int32(i)})
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
			c := louvain(ug, cfg.Resolution, src)
			if q := modularity(ug, c, cfg.Resolution, scratch); q > best {
				best, comms = q, c
			}
		}
	}
	// Number communities by decreasing size, ties by smallest member, so the
	// ids do not depend on the algorithm's internal order.
	for _, c := range comms {
		slices.Sort(c)
	}
	slices.SortFunc(comms, func(a, b []int32) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return int(a[0] - b[0])
	})
	for ci, c := range comms {
		for _, nd := range c {
			res.label[nd] = ci
		}
	}
	res.count = len(comms)

	formal := make([][]int32, len(g.teams))
	for i, t := range g.team {
		if t >= 0 {
			formal[t] = append(formal[t], int32(i))
		} else {
			formal = append(formal, []int32{int32(i)})
		}
	}
	if len(g.key) > 0 {
		res.modularity = modularity(ug, comms, cfg.Resolution, scratch)
		res.formalModularity = modularity(ug, formal, cfg.Resolution, scratch)
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
