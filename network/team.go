package network

// teamMetrics computes one row per team with at least cfg.MinGroupSize active
// members, in team order. Teams below k are skipped entirely, not zeroed: a
// row of zeros would still publish that the team was small.
func teamMetrics(g *window, nodes []NodeMetrics, comm communities, cfg Config) []TeamMetrics {
	members := make([][]int32, len(g.teams))
	for i, t := range g.team {
		if t >= 0 {
			members[t] = append(members[t], int32(i))
		}
	}
	commSize := make([]int, comm.count)
	for _, c := range comm.label {
		commSize[c]++
	}

	var out []TeamMetrics
	inTeam := make(map[int]int) // community -> members of the current team in it
	for t, ms := range members {
		if len(ms) < cfg.MinGroupSize {
			continue
		}
		tm := TeamMetrics{Team: g.teams[t], MembersActive: len(ms)}
		var sent, sentOut float64
		clear(inTeam)
		for _, u := range ms {
			if nodes[u].Isolated {
				tm.IsolatedMembers++
			}
			inTeam[comm.label[u]]++
			for _, v := range g.neighbours(u) {
				if g.team[v] == int32(t) {
					if u < v {
						tm.InternalTies++
					}
				} else {
					tm.ExternalTies++
				}
			}
			sent += nodes[u].OutStrength
		}
		for _, u := range ms {
			// Out-edges of u are the contiguous key range [u<<32, (u+1)<<32).
			for i := lowerBound(g.key, pairKey(u, 0)); i < len(g.key); i++ {
				src, dst := splitKey(g.key[i])
				if src != u {
					break
				}
				if g.team[dst] != int32(t) {
					sentOut += g.w[i]
				}
			}
		}
		n := float64(len(ms))
		tm.Density = float64(tm.InternalTies) / (n * (n - 1) / 2)
		if e, i := tm.ExternalTies, tm.InternalTies; e+i > 0 {
			tm.EIIndex = float64(e-i) / float64(e+i)
		}
		if sent > 0 {
			tm.ExternalShare = sentOut / sent
		}
		tm.Communities = len(inTeam)
		tm.BestCommunity = -1
		for c, k := range inTeam {
			j := float64(k) / float64(len(ms)+commSize[c]-k)
			if j > tm.BestJaccard || (j == tm.BestJaccard && c < tm.BestCommunity) {
				tm.BestCommunity, tm.BestJaccard = c, j
			}
		}
		out = append(out, tm)
	}
	return out
}

// lowerBound returns the first index i with keys[i] >= k.
func lowerBound(keys []uint64, k uint64) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keys[m] < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
