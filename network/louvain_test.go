package network

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/simple"
)

// gonumTieGraph is the graph detectCommunities handed to gonum before
// louvain replaced community.Modularize: the tie graph weighted by
// w(u->v) + w(v->u).
func gonumTieGraph(g *window) *simple.WeightedUndirectedGraph {
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
	return ug
}

// labelsOf turns gonum communities into canonical labels.
func labelsOf(n int, comms [][]graph.Node) ([]int32, int) {
	label := make([]int32, n)
	for c, members := range comms {
		for _, nd := range members {
			label[nd.ID()] = int32(c)
		}
	}
	canonicalCommunities(label, len(comms))
	return label, len(comms)
}

// louvainCases are the graphs louvain is compared with gonum on: the karate
// club, windows with team structure at three densities (the sparse one,
// most people with one or two ties, is shaped like a catch-up window), and
// one with large weights.
func louvainCases(t testing.TB) map[string]*window {
	heavy := syntheticWindow(300, 15, 3000, 9)
	for i := range heavy.Pairs {
		heavy.Pairs[i].Weight *= 1000
	}
	cases := map[string]Input{
		"karate": karateInput(),
		"dense":  syntheticWindow(400, 20, 8000, 5),
		"medium": syntheticWindow(1500, 30, 6000, 6),
		"sparse": syntheticWindow(3000, 10, 2500, 7),
		"heavy":  heavy,
	}
	out := map[string]*window{}
	for name, in := range cases {
		g, err := build(in)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = g
	}
	return out
}

// TestLouvainMatchesGonum: louvain is gonum's community.Modularize move for
// move, so with integer weights it finds the very same partition for the
// same random source, at every resolution, and modularity agrees with
// community.Q. This is what lets the faster code keep the quality the
// karate tests were tuned on.
func TestLouvainMatchesGonum(t *testing.T) {
	for name, g := range louvainCases(t) {
		ug := gonumTieGraph(g)
		lg := tieGraph(g)
		for _, gamma := range []float64{1, 0.5, 2} {
			seeds := uint64(6)
			if testing.Short() {
				seeds = 2
			}
			for seed := range seeds {
				t.Run(fmt.Sprintf("%s/gamma=%v/seed=%d", name, gamma, seed), func(t *testing.T) {
					comms := community.Modularize(ug, gamma, rand.NewPCG(seed, 3)).Communities()
					want, wantN := labelsOf(g.n(), comms)
					got, gotN := louvain(lg, gamma, rand.NewPCG(seed, 3))
					canonicalCommunities(got, gotN)
					if gotN != wantN || !slices.Equal(got, want) {
						t.Fatalf("louvain: %d communities, gonum %d; partitions differ", gotN, wantN)
					}
					q, wantQ := modularity(lg, got, gotN, gamma), community.Q(ug, comms, gamma)
					if math.Abs(q-wantQ) > 1e-12 {
						t.Errorf("modularity %.15f, community.Q %.15f", q, wantQ)
					}
				})
			}
		}
	}
}

// TestModularityMatchesGonum compares modularity with community.Q on
// partitions Louvain did not make: the formal teams, everyone alone, and
// everyone together.
func TestModularityMatchesGonum(t *testing.T) {
	for name, g := range louvainCases(t) {
		ug, lg := gonumTieGraph(g), tieGraph(g)
		n := g.n()
		parts := map[string][]int32{"alone": make([]int32, n), "together": make([]int32, n), "teams": make([]int32, n)}
		for i := range n {
			parts["alone"][i] = int32(i)
			parts["teams"][i] = g.team[i]
		}
		for pname, label := range parts {
			count := int(slices.Max(label)) + 1
			comms := make([][]graph.Node, count)
			for u, c := range label {
				comms[c] = append(comms[c], simple.Node(u))
			}
			for _, gamma := range []float64{1, 0.5} {
				q, want := modularity(lg, label, count, gamma), community.Q(ug, comms, gamma)
				if math.Abs(q-want) > 1e-12 {
					t.Errorf("%s/%s/gamma=%v: modularity %.15f, community.Q %.15f", name, pname, gamma, q, want)
				}
			}
		}
	}
}

// TestBestLouvainKeepsBestRun: more runs never lower the modularity kept,
// and the run kept is the best of those made (the lowest among equals).
func TestBestLouvainKeepsBestRun(t *testing.T) {
	g, err := build(syntheticWindow(1500, 30, 6000, 6))
	if err != nil {
		t.Fatal(err)
	}
	lg := tieGraph(g)
	cfg := Config{Seed: 2, Resolution: 1}
	var qs []float64
	for r := range 8 {
		label, count := louvain(lg, 1, rand.NewPCG(cfg.Seed, 0x6c6f757661696e+uint64(r)))
		canonicalCommunities(label, count)
		qs = append(qs, modularity(lg, label, count, 1))
	}
	for runs := 1; runs <= len(qs); runs++ {
		want := slices.Max(qs[:runs])
		if got := bestLouvain(lg, runs, cfg).q; got != want {
			t.Errorf("%d runs: kept Q %v, best of the runs %v", runs, got, want)
		}
	}
}

func TestLouvainRuns(t *testing.T) {
	tests := []struct {
		ties, cfg, want int
	}{
		{ties: 78, want: AutoLouvainRuns},
		{ties: 20_001, want: AutoLouvainRuns},
		{ties: AutoLouvainTieBudget / AutoLouvainRuns, want: AutoLouvainRuns},
		{ties: AutoLouvainTieBudget / 4, want: 4},
		{ties: AutoLouvainTieBudget, want: 1},
		{ties: 4 * AutoLouvainTieBudget, want: 1},
		{ties: 4 * AutoLouvainTieBudget, cfg: 3, want: 3},
		{ties: 78, cfg: 1, want: 1},
	}
	for _, tt := range tests {
		if got := louvainRuns(tt.ties, Config{LouvainRuns: tt.cfg}); got != tt.want {
			t.Errorf("louvainRuns(%d ties, LouvainRuns %d) = %d, want %d", tt.ties, tt.cfg, got, tt.want)
		}
	}
}
