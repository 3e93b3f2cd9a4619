package network

import (
	"os"
	"testing"
	"time"
)

// TestStageTimes is a temporary profiling aid; it never asserts times.
func TestStageTimes(t *testing.T) {
	if os.Getenv("NETWORK_STAGES") == "" {
		t.Skip("set NETWORK_STAGES=1")
	}
	in := syntheticWindow(10_000, 50, 500_000, 42)
	cfg, _ := Config{Seed: 1}.withDefaults()
	st := time.Now()
	g, _ := build(in, cfg)
	t.Logf("build %v", time.Since(st))
	st = time.Now()
	nodes := make([]NodeMetrics, g.n())
	g.localMetrics(nodes, cfg)
	_ = g.edges()
	t.Logf("local %v", time.Since(st))
	st = time.Now()
	pageRank(g, cfg)
	t.Logf("pagerank %v", time.Since(st))
	st = time.Now()
	_, _, bound := betweenness(g, cfg)
	t.Logf("betweenness %v bound %v", time.Since(st), bound)
	st = time.Now()
	c := detectCommunities(g, cfg)
	t.Logf("louvain %v q=%v formal=%v n=%d", time.Since(st), c.modularity, c.formalModularity, c.count)
	st = time.Now()
	teamMetrics(g, nodes, c, cfg)
	t.Logf("teams %v", time.Since(st))
}
