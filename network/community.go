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

// detectCommunities runs Louvain (louvain: gonum's community.Modularize,
// reimplemented on arrays) on the undirected graph weighted by
// w(u->v) + w(v->u), seeded by cfg.Seed, and scores both its partition and
// the formal team partition with modularity (community.Q).
//
// Louvain is randomised: a different seed can give a different partition.
// louvainRuns(cfg) runs are made with seeds derived from cfg.Seed and the
// partition of highest modularity is kept, ties going to the lowest run
// (see Config.LouvainRuns).
func detectCommunities(g *window, cfg Config) communities {
	n := g.n()
	res := communities{label: make([]int, n)}
	if n == 0 {
		return res
	}
	lg := tieGraph(g)
	var best louvainResult
	if len(g.key) == 0 {
		// Without ties every person is a community of their own.
		best.label = make([]int32, n)
		for i := range best.label {
			best.label[i] = int32(i)
		}
		best.count = n
	} else {
		best = bestLouvain(lg, louvainRuns(g.ties(), cfg), cfg)
	}
	for i, c := range best.label {
		res.label[i] = int(c)
	}
	res.count = best.count

	// The formal partition: one group per team, persons without a team each
	// a group of their own.
	formal := make([]int32, n)
	groups := len(g.teams)
	for i, t := range g.team {
		if t >= 0 {
			formal[i] = t
		} else {
			formal[i] = int32(groups)
			groups++
		}
	}
	if len(g.key) > 0 {
		res.modularity = best.q
		res.formalModularity = modularity(lg, formal, groups, cfg.Resolution)
	}
	return res
}

// louvainRuns is the number of Louvain runs of a window of ties ties:
// cfg.LouvainRuns, or when that is zero AutoLouvainRuns within
// AutoLouvainTieBudget, at least one.
func louvainRuns(ties int, cfg Config) int {
	if cfg.LouvainRuns > 0 {
		return cfg.LouvainRuns
	}
	return max(1, min(AutoLouvainRuns, AutoLouvainTieBudget/max(ties, 1)))
}

// louvainResult is one Louvain run: the community of every node, numbered
// canonically (see canonicalCommunities), and its modularity.
type louvainResult struct {
	label []int32
	count int
	q     float64
}

// bestLouvain makes runs Louvain runs on g, run r drawing from
// PCG(cfg.Seed, "louvain"+r), and returns the one of highest modularity,
// the first among equals. The runs are sequential: a run of a 425,000-tie
// window takes about 30 ms, and Compute already runs community detection
// beside PageRank and betweenness, which take longer and use the other
// cores.
func bestLouvain(g *louvainGraph, runs int, cfg Config) louvainResult {
	var best louvainResult
	for r := range runs {
		src := rand.NewPCG(cfg.Seed, 0x6c6f757661696e+uint64(r)) // "louvain"
		label, count := louvain(g, cfg.Resolution, src)
		canonicalCommunities(label, count)
		if q := modularity(g, label, count, cfg.Resolution); r == 0 || q > best.q {
			best = louvainResult{label: label, count: count, q: q}
		}
	}
	return best
}

// canonicalCommunities renumbers label (communities 0..count-1) in place by
// decreasing size, ties by smallest member, so the ids do not depend on the
// order Louvain happened to create them in.
func canonicalCommunities(label []int32, count int) {
	size := make([]int, count)
	first := make([]int32, count)
	for i := range first {
		first[i] = -1
	}
	for u, c := range label {
		size[c]++
		if first[c] < 0 {
			first[c] = int32(u)
		}
	}
	byRank := make([]int32, count)
	for i := range byRank {
		byRank[i] = int32(i)
	}
	slices.SortFunc(byRank, func(a, b int32) int {
		if size[a] != size[b] {
			return size[b] - size[a]
		}
		return int(first[a] - first[b])
	})
	rank := make([]int32, count)
	for r, c := range byRank {
		rank[c] = int32(r)
	}
	for u, c := range label {
		label[u] = rank[c]
	}
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
