package network

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// syntheticWindow builds a reproducible window of people persons in teams of
// teamSize, with exactly edges distinct directed sender -> recipient pairs:
// 60% inside the team, 25% inside the department (10 teams), 15% anywhere,
// which gives the community structure a real organisation has. Each pair is
// one interaction of weight 1..5 in a thread of 2..12 participants (small
// when of at most DefaultSmallThreadMaxSize).
func syntheticWindow(people, teamSize, edges int, seed uint64) Input {
	rng := rand.New(rand.NewPCG(seed, 1))
	id := func(i int) string { return fmt.Sprintf("p%06d", i) }
	in := Input{Teams: make(map[string]string, people)}
	for i := range people {
		in.Teams[id(i)] = fmt.Sprintf("t%04d", i/teamSize)
	}
	dept := teamSize * 10
	seen := make(map[[2]int]bool, edges)
	in.Pairs = make([]Pair, 0, edges)
	for len(in.Pairs) < edges {
		u := rng.IntN(people)
		var v int
		switch r := rng.Float64(); {
		case r < 0.60:
			v = u/teamSize*teamSize + rng.IntN(teamSize)
		case r < 0.85:
			v = u/dept*dept + rng.IntN(dept)
		default:
			v = rng.IntN(people)
		}
		if v >= people || v == u || seen[[2]int{u, v}] {
			continue
		}
		seen[[2]int{u, v}] = true
		p := Pair{Src: id(u), Dst: id(v), Count: 1}
		if size := 2 + rng.IntN(11); size <= DefaultSmallThreadMaxSize {
			p.Small = 1
		}
		p.Weight = float64(1 + rng.IntN(5))
		in.Pairs = append(in.Pairs, p)
	}
	return in
}

// BenchmarkCompute10k is the metrics part of the acceptance window: 10,000
// people and 500,000 distinct directed edges (target: the whole
// read-metrics-write cycle within 30 s). It reports the peak heap in use
// observed after the run (peak-heap-MB) and the total bytes allocated
// (B/op).
func BenchmarkCompute10k(b *testing.B) {
	in := syntheticWindow(10_000, 50, 500_000, 42)
	b.ReportAllocs()
	var res *Result
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		var err error
		res, err = Compute(in, Config{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.StopTimer()
	if res.Graph.Edges != 500_000 || res.Graph.Nodes != 10_000 {
		b.Fatalf("window has %d nodes, %d edges", res.Graph.Nodes, res.Graph.Edges)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(res.Graph.Modularity, "modularity")
	b.ReportMetric(res.Graph.BetweennessErrorBound, "bc-error-bound")
}
