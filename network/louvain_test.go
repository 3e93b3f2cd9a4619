package network

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"
	"gonum.org/v1/gonum/graph/simple"
)

// gonumGraph is the oracle's copy of an lvGraph (level 0: no self loops).
func gonumGraph(g *lvGraph) *simple.WeightedUndirectedGraph {
	ug := simple.NewWeightedUndirectedGraph(0, 0)
	for u := range g.n() {
		ug.AddNode(simple.Node(u))
	}
	for u := range g.n() {
		for e := g.off[u]; e < g.off[u+1]; e++ {
			if v := g.nbr[e]; int(v) > u {
				ug.SetWeightedEdge(ug.NewWeightedEdge(simple.Node(u), simple.Node(v), g.wt[e]))
			}
		}
	}
	return ug
}

// canonical sorts members and communities so two partitions compare equal
// exactly when they are the same partition.
func canonical(comms [][]int64) [][]int64 {
	for _, c := range comms {
		slices.Sort(c)
	}
	slices.SortFunc(comms, func(a, b []int64) int { return int(a[0] - b[0]) })
	return comms
}

func fromGonum(cs [][]graph.Node) [][]int64 {
	out := make([][]int64, len(cs))
	for i, c := range cs {
		for _, n := range c {
			out[i] = append(out[i], n.ID())
		}
	}
	return canonical(out)
}

func fromPort(cs [][]int32) [][]int64 {
	out := make([][]int64, len(cs))
	for i, c := range cs {
		for _, n := range c {
			out[i] = append(out[i], int64(n))
		}
	}
	return canonical(out)
}

func toGonum(cs [][]int32) [][]graph.Node {
	out := make([][]graph.Node, len(cs))
	for i, c := range cs {
		for _, n := range c {
			out[i] = append(out[i], simple.Node(n))
		}
	}
	return out
}

// TestLouvainMatchesGonum checks the array-based port against gonum's
// community.Modularize: with the same random source both must find the same
// partition, and modularity must agree with community.Q. Weights are
// integers, so every sum is exact whatever the summation order and the two
// implementations take exactly the same decisions.
func TestLouvainMatchesGonum(t *testing.T) {
	cases := []struct {
		name       string
		in         Input
		resolution float64
	}{
		{"karate", karateInput(), 1},
		{"karate γ=0.5", karateInput(), 0.5},
		{"karate γ=2", karateInput(), 2},
		{"small fixture", loadWindow(t, "window_small.json"), 1},
		{"teams of 10", syntheticWindow(300, 10, 3_000, 3), 1},
		{"teams of 50", syntheticWindow(2_000, 50, 30_000, 5), 1},
		{"sparse", syntheticWindow(1_000, 20, 1_200, 9), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Config{}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			w, err := build(tc.in, cfg)
			if err != nil {
				t.Fatal(err)
			}
			lg := undirectedWeights(w)
			ug := gonumGraph(lg)
			scratch := make([]float64, lg.n())
			for seed := range uint64(5) {
				want := community.Modularize(ug, tc.resolution, rand.NewPCG(seed, 7)).Communities()
				got := louvain(lg, tc.resolution, rand.NewPCG(seed, 7))
				if g, w := fromPort(got), fromGonum(want); !slices.EqualFunc(g, w, slices.Equal) {
					t.Fatalf("seed %d: partition differs from gonum: %d communities, gonum %d", seed, len(g), len(w))
				}
				q := modularity(lg, got, tc.resolution, scratch)
				if wq := community.Q(ug, toGonum(got), tc.resolution); math.Abs(q-wq) > 1e-12 {
					t.Errorf("seed %d: Q = %v, gonum %v", seed, q, wq)
				}
			}
		})
	}
}

// TestReduceKeepsWeight checks a reduction conserves the total weight and
// puts each community's internal weight on its self loop.
func TestReduceKeepsWeight(t *testing.T) {
	cfg, _ := Config{}.withDefaults()
	w, err := build(karateInput(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := undirectedWeights(w)
	var comms [][]int32
	for i := range int32(g.n()) {
		if i%4 == 0 {
			comms = append(comms, nil)
		}
		comms[len(comms)-1] = append(comms[len(comms)-1], i)
	}
	total := func(g *lvGraph) (s float64) {
		for u := range g.n() {
			s += g.self[u]
			for e := g.off[u]; e < g.off[u+1]; e++ {
				s += g.wt[e]
			}
		}
		return s
	}
	r := reduce(g, comms, make([]float64, g.n()))
	if r.n() != len(comms) {
		t.Fatalf("%d nodes, want %d", r.n(), len(comms))
	}
	if a, b := total(g), total(r); a != b {
		t.Errorf("total weight %v after reduction, %v before", b, a)
	}
	for ci, c := range comms {
		var in float64
		for _, u := range c {
			for e := g.off[u]; e < g.off[u+1]; e++ {
				if slices.Contains(c, g.nbr[e]) {
					in += g.wt[e]
				}
			}
		}
		if r.self[ci] != in {
			t.Errorf("community %d: self weight %v, want %v", ci, r.self[ci], in)
		}
	}
	// Symmetric rows.
	wt := func(g *lvGraph, u, v int32) float64 {
		for e := g.off[u]; e < g.off[u+1]; e++ {
			if g.nbr[e] == v {
				return g.wt[e]
			}
		}
		return math.NaN()
	}
	for u := range int32(r.n()) {
		for e := r.off[u]; e < r.off[u+1]; e++ {
			if v := r.nbr[e]; wt(r, v, u) != r.wt[e] {
				t.Errorf("weight %d-%d is %v one way, %v the other", u, v, r.wt[e], wt(r, v, u))
			}
		}
	}
}
