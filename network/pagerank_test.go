package network

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/graph/network"
	"gonum.org/v1/gonum/graph/simple"
)

// TestPageRankMatchesGonum holds the port to gonum's network.PageRankSparse
// on the same weighted directed graphs, dangling nodes included (the small
// fixture has receivers who never write, the sparse window many more).
func TestPageRankMatchesGonum(t *testing.T) {
	cases := []struct {
		name string
		in   Input
	}{
		{"karate", karateInput()},
		{"small fixture", loadWindow(t, "window_small.json")},
		{"teams of 10", syntheticWindow(300, 10, 3_000, 3)},
		{"sparse", syntheticWindow(1_000, 20, 800, 9)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Config{}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			g, err := build(tc.in, cfg)
			if err != nil {
				t.Fatal(err)
			}
			dg := simple.NewWeightedDirectedGraph(0, 0)
			for i := range g.ids {
				dg.AddNode(simple.Node(i))
			}
			for i, k := range g.key {
				u, v := splitKey(k)
				dg.SetWeightedEdge(dg.NewWeightedEdge(simple.Node(u), simple.Node(v), g.w[i]))
			}
			want := network.PageRankSparse(dg, cfg.Damping, cfg.PageRankTolerance)
			got := pageRank(g, cfg)
			var sum float64
			for i, r := range got {
				sum += r
				if d := math.Abs(r - want[int64(i)]); d > 1e-9 {
					t.Errorf("node %d: %v, gonum %v (|Δ| %.2g)", i, r, want[int64(i)], d)
				}
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("ranks sum to %v, want 1", sum)
			}
		})
	}
}
