package network

import (
	"cmp"
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

	// Directed pairs, sorted by (src, dst) and unique.
	key   []uint64 // src<<32 | dst
	w     []float64
	cnt   []int
	small []int // interactions in small threads (Pair.Small)
	// rev is the index of the reverse pair (dst -> src), -1 when there is
	// none.
	rev []int32

	// Undirected, unweighted tie graph in CSR form: the neighbours of node u
	// are adj[off[u]:off[u+1]], sorted and without duplicates.
	off []int32
	adj []int32
}

func pairKey(u, v int32) uint64      { return uint64(uint32(u))<<32 | uint64(uint32(v)) }
func splitKey(k uint64) (u, v int32) { return int32(k >> 32), int32(uint32(k)) }

func (g *window) n() int    { return len(g.ids) }
func (g *window) ties() int { return len(g.adj) / 2 }
func (g *window) neighbours(u int32) []int32 {
	return g.adj[g.off[u]:g.off[u+1]]
}

// eachTie calls f once per undirected tie {u, v}: i is the directed pair
// u -> v, j the reverse pair v -> u or -1 when there is none. A tie with
// both directions is visited once, at its pair with u < v.
func (g *window) eachTie(f func(u, v int32, i, j int)) {
	for i, k := range g.key {
		u, v := splitKey(k)
		j := int(g.rev[i])
		if j >= 0 && v < u {
			continue // visited at the (v, u) pair
		}
		f(u, v, i, j)
	}
}

// build validates in and indexes it as a graph. Pairs are already
// aggregated; only repeated pairs of in are summed here.
func build(in Input) (*window, error) {
	// Pass 1: validation and the node set.
	seen := make(map[string]int32)
	for i, p := range in.Pairs {
		if p.Src == "" || p.Dst == "" {
			return nil, fmt.Errorf("%w: pair %d: empty id", ErrInvalidInput, i)
		}
		if c := pairCount(p); p.Count < 0 || p.Small < 0 || p.Small > c {
			return nil, fmt.Errorf("%w: pair %d: count %d, small %d", ErrInvalidInput, i, p.Count, p.Small)
		}
		if err := checkWeight(p.Weight); err != nil {
			return nil, fmt.Errorf("pair %d: %w", i, err)
		}
		seen[p.Src] = 0
		seen[p.Dst] = 0
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

	// Pass 2: the directed pairs by key, repeated pairs summed.
	type row struct {
		key        uint64
		w          float64
		cnt, small int
		at         int // index in in.Pairs
	}
	rows := make([]row, 0, len(in.Pairs))
	for at, p := range in.Pairs {
		s, d := seen[p.Src], seen[p.Dst]
		if s == d {
			continue
		}
		c := pairCount(p)
		w := p.Weight
		if w == 0 {
			w = float64(c)
		}
		rows = append(rows, row{key: pairKey(s, d), w: w, cnt: c, small: p.Small, at: at})
	}
	// Ties broken by input position, so a repeated pair's weights add up in
	// input order (a stable sort took twice as long on 500,000 pairs).
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.at, b.at)
	})
	merged := rows[:0] // in place, like adj below
	for _, r := range rows {
		if last := len(merged) - 1; last >= 0 && merged[last].key == r.key {
			merged[last].w += r.w
			merged[last].cnt += r.cnt
			merged[last].small += r.small
			continue
		}
		merged = append(merged, r)
	}
	m := len(merged)
	g.key, g.w, g.cnt, g.small = make([]uint64, m), make([]float64, m), make([]int, m), make([]int, m)
	for i, r := range merged {
		g.key[i], g.w[i], g.cnt[i], g.small[i] = r.key, r.w, r.cnt, r.small
	}
	g.rev = make([]int32, m)
	for i, k := range g.key {
		u, v := splitKey(k)
		g.rev[i] = -1
		if j := lowerBound(g.key, pairKey(v, u)); j < m && g.key[j] == pairKey(v, u) {
			g.rev[i] = int32(j)
		}
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
		out[i] = Edge{Src: g.ids[u], Dst: g.ids[v], Weight: g.w[i], Count: g.cnt[i]}
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
	}
	// withTeam[(u, t)]: u's small-thread interactions with members of
	// another team t, summed over those members (CrossTeamBreadth).
	withTeam := make(map[uint64]int)
	cross := func(u, v int32, small int) {
		if own, t := g.team[u], g.team[v]; own >= 0 && t >= 0 && t != own {
			withTeam[uint64(u)<<32|uint64(uint32(t))] += small
		}
	}
	g.eachTie(func(u, v int32, i, j int) {
		small := g.small[i]
		if j >= 0 {
			mutual[u]++
			mutual[v]++
			small += g.small[j]
		}
		// Internal network: partners inside the organisation, i.e. with a
		// team in the directory; an external domain's participant is not one.
		if small >= cfg.InternalMinInteractions {
			if g.team[v] >= 0 {
				dst[u].InternalNetworkSize++
			}
			if g.team[u] >= 0 {
				dst[v].InternalNetworkSize++
			}
		}
		if small > 0 {
			cross(u, v, small)
			cross(v, u, small)
		}
	})
	for key, n := range withTeam {
		if n >= cfg.InternalMinInteractions {
			dst[key>>32].CrossTeamBreadth++
		}
	}
	for u := range dst {
		if partners := dst[u].InDegree + dst[u].OutDegree - int(mutual[u]); partners > 0 {
			dst[u].Reciprocity = float64(mutual[u]) / float64(partners)
		}
		dst[u].Isolated = mutual[u] == 0
	}
}

// pairCount is p.Count with its default: zero means one interaction.
func pairCount(p Pair) int {
	if p.Count == 0 {
		return 1
	}
	return p.Count
}
