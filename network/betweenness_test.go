package network

import (
	"fmt"
	"math"
	"testing"
)

// csrOf builds the undirected CSR form of a small edge list through build,
// so the tests exercise the same adjacency Compute uses.
func csrOf(t *testing.T, n int, edges [][2]int) *window {
	t.Helper()
	in := Input{}
	for i := range n {
		in.Active = append(in.Active, fmt.Sprintf("v%04d", i))
	}
	for _, e := range edges {
		in.Pairs = append(in.Pairs, Pair{Src: fmt.Sprintf("v%04d", e[0]), Dst: fmt.Sprintf("v%04d", e[1])})
	}
	g, err := build(in)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestBetweennessKnownGraphs(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		edges [][2]int
		want  []float64 // normalised by (n-1)(n-2)/2 unordered pairs
	}{
		// Path 0-1-2-3-4: node 1 lies on the paths of {0,2},{0,3},{0,4}; node
		// 2 on {0,3},{0,4},{1,3},{1,4}; 6 pairs exclude each node.
		{name: "path", n: 5, edges: [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}}, want: []float64{0, 3.0 / 6, 4.0 / 6, 3.0 / 6, 0}},
		// Star: the centre is on every path between two leaves.
		{name: "star", n: 5, edges: [][2]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}}, want: []float64{1, 0, 0, 0, 0}},
		// 4-cycle: each pair of opposite nodes has two shortest paths, so
		// each node carries half of one pair: 0.5 / 3.
		{name: "cycle", n: 4, edges: [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 0}}, want: []float64{0.5 / 3, 0.5 / 3, 0.5 / 3, 0.5 / 3}},
		// Direction is ignored: a reversed edge gives the same path.
		{name: "directions", n: 3, edges: [][2]int{{1, 0}, {1, 2}}, want: []float64{0, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := csrOf(t, tt.n, tt.edges)
			exact := exactBetweenness(g)
			all, bound := betweennessSampled(g.off, g.adj, tt.n, 1, 2) // every node a pivot
			if bound != 0 {
				t.Errorf("bound with all pivots = %v, want 0", bound)
			}
			for i, w := range tt.want {
				if math.Abs(exact[i]-w) > 1e-12 {
					t.Errorf("gonum exact node %d = %v, want %v", i, exact[i], w)
				}
				if math.Abs(all[i]-w) > 1e-12 {
					t.Errorf("all-pivot Brandes node %d = %v, want %v", i, all[i], w)
				}
			}
		})
	}
}

// The sampled estimator against gonum's exact betweenness on a window with
// community structure: with every node as pivot it is exact; with fewer
// pivots the error stays within the stated bound, and shrinks with k.
func TestBetweennessSampled(t *testing.T) {
	in := syntheticWindow(400, 20, 3000, 5)
	g, err := build(in)
	if err != nil {
		t.Fatal(err)
	}
	exact := exactBetweenness(g)
	maxErr := func(est []float64) float64 {
		var m float64
		for i := range est {
			m = max(m, math.Abs(est[i]-exact[i]))
		}
		return m
	}

	all, _ := betweennessSampled(g.off, g.adj, g.n(), 9, 3)
	if e := maxErr(all); e > 1e-12 {
		t.Fatalf("all pivots: max error %v, want exact", e)
	}

	prev := math.Inf(1)
	for _, k := range []int{25, 100, 300} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			// Average over seeds so that "shrinks with k" is not a coin flip.
			var sumErr float64
			var bound float64
			const seeds = 5
			for seed := range uint64(seeds) {
				est, b := betweennessSampled(g.off, g.adj, k, seed, 2)
				bound = b
				e := maxErr(est)
				if e > b {
					t.Errorf("seed %d: max error %.4f over all nodes exceeds the per-node bound %.4f", seed, e, b)
				}
				sumErr += e
			}
			mean := sumErr / seeds
			t.Logf("k=%d: mean max-abs error %.5f, stated 95%% bound %.4f", k, mean, bound)
			if mean >= prev {
				t.Errorf("error did not shrink: %.5f at k=%d after %.5f", mean, k, prev)
			}
			prev = mean
		})
	}

	t.Run("workers do not change the estimate", func(t *testing.T) {
		one, _ := betweennessSampled(g.off, g.adj, 60, 4, 1)
		three, _ := betweennessSampled(g.off, g.adj, 60, 4, 3)
		for i := range one {
			if math.Abs(one[i]-three[i]) > 1e-12 {
				t.Fatalf("node %d: %v with 1 worker, %v with 3", i, one[i], three[i])
			}
		}
	})
}

// Compute switches to sampling above the threshold and says so.
func TestBetweennessModeReported(t *testing.T) {
	in := syntheticWindow(300, 20, 2000, 8)
	tests := []struct {
		name      string
		cfg       Config
		exact     bool
		samples   int
		boundZero bool
	}{
		{name: "exact below threshold", cfg: Config{}, exact: true, boundZero: true},
		{name: "sampled above threshold", cfg: Config{ExactBetweennessMaxNodes: 100, BetweennessSamples: 64}, samples: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Compute(in, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			gm := res.Graph
			if gm.BetweennessExact != tt.exact || gm.BetweennessSamples != tt.samples || (gm.BetweennessErrorBound == 0) != tt.boundZero {
				t.Errorf("graph metrics %+v", gm)
			}
		})
	}
}
