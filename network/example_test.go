package network_test

import (
	"fmt"

	"commpulse/network"
)

// The analyze step aggregates a window's deduplicated messages into
// directed Pairs (in ClickHouse), passes the directory, and writes the
// three slices of the Result to the edges, node_metrics and team_network
// tables. Here p1 wrote once to p2 and p3 together (a thread of three),
// p2 answered p1 and p3 wrote to p4, all in small threads.
func ExampleCompute() {
	in := network.Input{
		Pairs: []network.Pair{
			{Src: "p1", Dst: "p2", Count: 1, Small: 1},
			{Src: "p1", Dst: "p3", Count: 1, Small: 1},
			{Src: "p2", Dst: "p1", Count: 1, Small: 1},
			{Src: "p3", Dst: "p4", Count: 1, Small: 1},
		},
		Teams:  map[string]string{"p1": "core", "p2": "core", "p3": "core", "p4": "ops"},
		Active: []string{"p5"}, // active, but wrote to nobody resolvable
	}
	res, err := network.Compute(in, network.Config{MinGroupSize: 3, Seed: 1})
	if err != nil {
		panic(err)
	}
	for _, e := range res.Edges {
		fmt.Printf("edge %s->%s weight %.0f\n", e.Src, e.Dst, e.Weight)
	}
	for _, n := range res.Nodes {
		fmt.Printf("node %s team=%q out=%d in=%d isolated=%v\n", n.Person, n.Team, n.OutDegree, n.InDegree, n.Isolated)
	}
	for _, t := range res.Teams {
		fmt.Printf("team %s active=%d internal=%d external=%d\n", t.Team, t.MembersActive, t.InternalTies, t.ExternalTies)
	}
	// Output:
	// edge p1->p2 weight 1
	// edge p1->p3 weight 1
	// edge p2->p1 weight 1
	// edge p3->p4 weight 1
	// node p1 team="core" out=2 in=1 isolated=false
	// node p2 team="core" out=1 in=1 isolated=false
	// node p3 team="core" out=1 in=1 isolated=true
	// node p4 team="ops" out=0 in=1 isolated=true
	// node p5 team="" out=0 in=0 isolated=true
	// team core active=3 internal=2 external=1
}
