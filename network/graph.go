package network

import (
	"fmt"
	"slices"
	"sort"
)

// window is the compact, index-based form of one window. Node i is ids[i];
// ids are sorted, so every output ordered by node index is ordered by person.
type window struct {
	ids   []string
	team  []int32  // index into teams, -1 for unknown
	teams []string // sorted team names seen among the nodes

	// Directed pairs, sorted by (src, dst).
	key []uint64 // src<<32 | dst
	w   []float64
	cnt []int32
	// pairAt maps a key to its index in the slices above.
	pairAt map[uint64]int32

	// Undirected, unweighted tie graph in CSR form: the neighbours of node u
	// are adj[off[u]:off[u+1]], sorted and without duplicates.
	off []int32
	adj []int32

	// small counts, per unordered pair (lo<<32 | hi), the interactions that
	// happened in small threads.
	small map[uint64]int32
}

func pairKey(u, v int32) uint64      { return uint64(uint32(u))<<32 | uint64(uint32(v)) }
func splitKey(k uint64) (u, v int32) { return int32(k >> 32), int32(uint32(k)) }

func (g *window) n() int    { return len(g.ids) }
func (g *window) ties() int { return len(g.adj) / 2 }
func (g *window) neighbours(u int32) []int32 {
	return g.adj[g.off[u]:g.off[u+1]]
}

// build validates in and aggregates it into a graph.
func build(in Input, cfg Config) (*window, error) {
	// Pass 1: the node set.
	seen := make(map[string]int32)
	for i, it := range in.Interactions {
		if it.Sender == "" {
			return nil, fmt.Errorf("%w: interaction %d: empty sender", ErrInvalidInput, i)
		}
		if err := checkWeight(it.Weight); err != nil {
			return nil, fmt.Errorf("interaction %d: %w", i, err)
		}
		seen[it.Sender] = 0
		for _, r := range it.Recipients {
			if r == "" {
				return nil, fmt.Errorf("%w: interaction %d: empty recipient", ErrInvalidInput, i)
			}
			seen[r] = 0
		}
	}
	for _, p := range in.Active {
		if p == "" {
			return nil, fmt.Errorf("%w: empty active person id", ErrInvalidInput)
		}
		seen[p] = 0
	}
	if len(seen) > 1<<31-1 {
		return nil, fmt.Errorf("%w: %d persons exceed the supported size", ErrInvalidInput, len(seen))
	}
	g := &window{ids: make([]string, 0, len(seen))}
	for p := range seen {
		g.ids = append(g.ids, p)
	}
	sort.Strings(g.ids)
	for i, p := range g.ids {
		seen[p] = int32(i)
	}

	// Teams.
	teamIdx := map[string]int32{}
	for _, p := range g.ids {
		if t, ok := in.Teams[p]; ok && t != "" {
			teamIdx[t] = 0
		}
	}
	for t := range teamIdx {
		g.teams = append(g.teams, t)
	}
	sort.Strings(g.teams)
	for i, t := range g.teams {
		teamIdx[t] = int32(i)
	}
	g.team = make([]int32, len(g.ids))
	for i, p := range g.ids {
		g.team[i] = -1
		if t, ok := in.Teams[p]; ok && t != "" {
			g.team[i] = teamIdx[t]
		}
	}

	// Pass 2: directed pairs and small-thread counts.
	type agg struct {
		w   float64
		cnt int32
	}
	pairs := make(map[uint64]agg)
	g.small = make(map[uint64]int32)
	var rcpt []int32
	for _, it := range in.Interactions {
		s := seen[it.Sender]
		rcpt = rcpt[:0]
		for _, r := range it.Recipients {
			if ri := seen[r]; ri != s && !slices.Contains(rcpt, ri) {
				rcpt = append(rcpt, ri)
			}
		}
		w := it.Weight
		if w == 0 {
			w = 1
		}
		size := it.ThreadSize
		if size <= 0 {
			size = len(rcpt) + 1
		}
		isSmall := size <= cfg.SmallThreadMaxSize
		for _, r := range rcpt {
			k := pairKey(s, r)
			a := pairs[k]
			a.w += w
			a.cnt++
			pairs[k] = a
			if isSmall {
				g.small[pairKey(min(s, r), max(s, r))]++
			}
		}
	}

	g.key = make([]uint64, 0, len(pairs))
	for k := range pairs {
		g.key = append(g.key, k)
	}
	slices.Sort(g.key)
	g.w = make([]float64, len(g.key))
	g.cnt = make([]int32, len(g.key))
	g.pairAt = make(map[uint64]int32, len(g.key))
	for i, k := range g.key {
		a := pairs[k]
		g.w[i], g.cnt[i] = a.w, a.cnt
		g.pairAt[k] = int32(i)
	}

	// Undirected CSR: every directed pair contributes both directions, then
	// each neighbour list is sorted and de-duplicated.
	n := len(g.ids)
	deg := make([]int32, n+1)
	for _, k := range g.key {
		u, v := splitKey(k)
		deg[u]++
		deg[v]++
	}
	off := make([]int32, n+1)
	for i := 0; i < n; i++ {
		off[i+1] = off[i] + deg[i]
	}
	raw := make([]int32, off[n])
	fill := slices.Clone(off[:n])
	for _, k := range g.key {
		u, v := splitKey(k)
		raw[fill[u]] = v
		fill[u]++
		raw[fill[v]] = u
		fill[v]++
	}
	g.off = make([]int32, n+1)
	g.adj = raw[:0] // compact in place: the write index never passes the read index
	for u := 0; u < n; u++ {
		seg := raw[off[u]:off[u+1]]
		slices.Sort(seg)
		seg = slices.Compact(seg)
		g.adj = append(g.adj, seg...)
		g.off[u+1] = int32(len(g.adj))
	}
	return g, nil
}

// edges returns the directed pairs as output rows.
func (g *window) edges() []Edge {
	out := make([]Edge, len(g.key))
	for i, k := range g.key {
		u, v := splitKey(k)
		out[i] = Edge{Src: g.ids[u], Dst: g.ids[v], Weight: g.w[i], Count: int(g.cnt[i])}
	}
	return out
}

// teamName returns the team of node i, "" when unknown.
func (g *window) teamName(i int) string {
	if t := g.team[i]; t >= 0 {
		return g.teams[t]
	}
	return ""
}

// localMetrics fills the metrics that need only a node's neighbourhood.
func (g *window) localMetrics(dst []NodeMetrics, cfg Config) {
	mutual := make([]int32, g.n())
	for i := range dst {
		dst[i].Person = g.ids[i]
		dst[i].Team = g.teamName(i)
	}
	for i, k := range g.key {
		u, v := splitKey(k)
		dst[u].OutDegree++
		dst[v].InDegree++
		dst[u].OutStrength += g.w[i]
		dst[v].InStrength += g.w[i]
		if _, ok := g.pairAt[pairKey(v, u)]; ok {
			mutual[u]++
		}
	}
	for k, c := range g.small {
		if c >= int32(cfg.InternalMinInteractions) {
			u, v := splitKey(k)
			dst[u].InternalNetworkSize++
			dst[v].InternalNetworkSize++
		}
	}
	stamp := make([]int32, len(g.teams)) // stamp[t] == u+1: team t already counted for u
	for u := range dst {
		if partners := dst[u].InDegree + dst[u].OutDegree - int(mutual[u]); partners > 0 {
			dst[u].Reciprocity = float64(mutual[u]) / float64(partners)
		}
		dst[u].Isolated = mutual[u] == 0
		own := g.team[u]
		if own < 0 {
			continue
		}
		for _, v := range g.neighbours(int32(u)) {
			if t := g.team[v]; t >= 0 && t != own && stamp[t] != int32(u)+1 {
				stamp[t] = int32(u) + 1
				dst[u].CrossTeamBreadth++
			}
		}
	}
}
