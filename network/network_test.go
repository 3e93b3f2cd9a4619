package network

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"
)

// loadWindow reads a JSON window fixture from testdata.
func loadWindow(t *testing.T, name string) Input {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return in
}

func nodeByPerson(t *testing.T, res *Result, p string) NodeMetrics {
	t.Helper()
	for _, n := range res.Nodes {
		if n.Person == p {
			return n
		}
	}
	t.Fatalf("no node %q", p)
	return NodeMetrics{}
}

// The expectations below are worked out by hand from
// testdata/window_small.json; the comments give the reasoning.
func TestSmallWindowNodes(t *testing.T) {
	res, err := Compute(loadWindow(t, "window_small.json"), Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// a1..a5, b1..b4, x1 (not in the directory) and z9 (only in Active).
	if res.Graph.Nodes != 11 {
		t.Errorf("nodes = %d, want 11", res.Graph.Nodes)
	}
	// a1->a2 a2->a1 a1->a3 a3->a1 a4->{a1,a2,a3,a5,b1} b1->a1 a1->b1
	// b1->b2 b2->b1 b3->b4 x1->a1: the repeated a1->a2 row adds up and the
	// self pair a1->a1 adds nothing.
	if res.Graph.Edges != 15 {
		t.Errorf("edges = %d, want 15", res.Graph.Edges)
	}
	for i := 1; i < len(res.Edges); i++ {
		p, c := res.Edges[i-1], res.Edges[i]
		if p.Src > c.Src || (p.Src == c.Src && p.Dst >= c.Dst) {
			t.Fatalf("edges not sorted/unique at %d: %v then %v", i, p, c)
		}
	}
	for _, e := range res.Edges {
		switch {
		case e.Src == "a1" && e.Dst == "a2":
			if e.Count != 2 || e.Weight != 2 {
				t.Errorf("a1->a2 = %+v, want count 2 weight 2 (two rows; count 0 means 1, weight 0 means count)", e)
			}
		case e.Src == "b1" && e.Dst == "b2":
			if e.Weight != 2.5 {
				t.Errorf("b1->b2 weight %v, want 2.5", e.Weight)
			}
		}
	}

	tests := []struct {
		person        string
		team          string
		in, out       int
		reciprocity   float64
		internal      int
		crossTeam     int
		isolated      bool
		inStr, outStr float64
	}{
		// Partners a2 a3 a4 b1 x1, reciprocated with a2 a3 b1. Internal:
		// a2 (3 small-thread messages) and b1 (2 DMs); a3 has only one
		// small-thread message, the reply (small 0) was in a 10-person
		// thread.
		{person: "a1", team: "a", in: 5, out: 3, reciprocity: 3.0 / 5, internal: 2, crossTeam: 1, inStr: 5, outStr: 4},
		{person: "a2", team: "a", in: 2, out: 1, reciprocity: 1.0 / 2, internal: 1, inStr: 3, outStr: 1},
		// A broadcaster nobody answers: isolated, and the 6-person thread
		// is not small (small 0 on all five pairs), so its tie to team b
		// does not widen a4's breadth either.
		{person: "a4", team: "a", in: 0, out: 5, reciprocity: 0, isolated: true, crossTeam: 0, outStr: 5},
		// A pure receiver is isolated too.
		{person: "a5", team: "a", in: 1, isolated: true, inStr: 1},
		{person: "b1", team: "b", in: 3, out: 2, reciprocity: 2.0 / 3, internal: 2, crossTeam: 1, inStr: 3, outStr: 3.5},
		// Unknown team: no cross-team breadth.
		{person: "x1", team: "", out: 1, isolated: true, outStr: 1},
		// Active without any interaction.
		{person: "z9", team: "", isolated: true},
	}
	for _, tt := range tests {
		t.Run(tt.person, func(t *testing.T) {
			n := nodeByPerson(t, res, tt.person)
			if n.Team != tt.team || n.InDegree != tt.in || n.OutDegree != tt.out ||
				n.InternalNetworkSize != tt.internal || n.CrossTeamBreadth != tt.crossTeam ||
				n.Isolated != tt.isolated || n.InStrength != tt.inStr || n.OutStrength != tt.outStr ||
				math.Abs(n.Reciprocity-tt.reciprocity) > 1e-12 {
				t.Errorf("got %+v\nwant %+v", n, tt)
			}
		})
	}

	t.Run("pagerank sums to 1", func(t *testing.T) {
		var sum float64
		for _, n := range res.Nodes {
			if n.PageRank <= 0 {
				t.Errorf("%s: pagerank %v, want > 0 (teleport reaches everyone)", n.Person, n.PageRank)
			}
			sum += n.PageRank
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("sum = %v", sum)
		}
	})
}

func TestTeamRows(t *testing.T) {
	in := loadWindow(t, "window_small.json")
	tests := []struct {
		k     int
		teams []string
	}{
		{k: 0, teams: []string{"a"}}, // default k = 5: team b has 4 active members
		{k: 5, teams: []string{"a"}},
		{k: 4, teams: []string{"a", "b"}},
		{k: 6, teams: nil},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			res, err := Compute(in, Config{MinGroupSize: tt.k, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tm := range res.Teams {
				got = append(got, tm.Team)
			}
			if len(got) != len(tt.teams) {
				t.Fatalf("k=%d: team rows %v, want %v", tt.k, got, tt.teams)
			}
			for i := range got {
				if got[i] != tt.teams[i] {
					t.Fatalf("k=%d: team rows %v, want %v", tt.k, got, tt.teams)
				}
			}
		})
	}

	t.Run("team a figures", func(t *testing.T) {
		res, err := Compute(in, Config{Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		a := res.Teams[0]
		// Internal ties a1-a2 a1-a3 a1-a4 a2-a4 a3-a4 a4-a5 = 6 of 10
		// possible; external a1-b1 a1-x1 a4-b1 = 3. Isolated a4 and a5.
		// Sent weight 4 (a1) + 1 + 1 + 5 (a4) = 11, of which a1->b1 and
		// a4->b1 left the team.
		want := TeamMetrics{Team: "a", MembersActive: 5, InternalTies: 6, ExternalTies: 3,
			Density: 0.6, EIIndex: -1.0 / 3, IsolatedMembers: 2, ExternalShare: 2.0 / 11}
		if a.Team != want.Team || a.MembersActive != want.MembersActive ||
			a.InternalTies != want.InternalTies || a.ExternalTies != want.ExternalTies ||
			a.IsolatedMembers != want.IsolatedMembers ||
			math.Abs(a.Density-want.Density) > 1e-12 || math.Abs(a.EIIndex-want.EIIndex) > 1e-12 ||
			math.Abs(a.ExternalShare-want.ExternalShare) > 1e-12 {
			t.Errorf("got  %+v\nwant %+v", a, want)
		}
		if a.Communities < 1 || a.BestJaccard <= 0 || a.BestJaccard > 1 || a.BestCommunity < 0 {
			t.Errorf("community overlap %+v", a)
		}
	})
}

// A team of exactly four active members must never produce a team row, even
// when it is perfectly connected, whatever else is in the window.
func TestFourActiveMembersNoRow(t *testing.T) {
	var in Input
	in.Teams = map[string]string{}
	for _, p := range []string{"q1", "q2", "q3", "q4"} {
		in.Teams[p] = "quartet"
		for _, r := range []string{"q1", "q2", "q3", "q4"} {
			if r != p {
				in.Pairs = append(in.Pairs, Pair{Src: p, Dst: r})
			}
		}
	}
	// A fifth directory member who was not active does not count.
	in.Teams["q5"] = "quartet"
	res, err := Compute(in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Teams) != 0 {
		t.Fatalf("team rows %+v, want none for 4 active members", res.Teams)
	}
	if len(res.Nodes) != 4 {
		t.Fatalf("%d nodes, want 4 (inactive directory members are not nodes)", len(res.Nodes))
	}
	// Once q5 is active the team reaches k = 5.
	in.Active = []string{"q5"}
	res, err = Compute(in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Teams) != 1 || res.Teams[0].MembersActive != 5 || res.Teams[0].IsolatedMembers != 1 {
		t.Fatalf("team rows %+v, want one row with 5 active members, 1 isolated", res.Teams)
	}
}

func TestInvalid(t *testing.T) {
	ok := []Pair{{Src: "a", Dst: "b"}}
	tests := []struct {
		name  string
		in    Input
		cfg   Config
		input bool // error wraps ErrInvalidInput
	}{
		{name: "empty sender", in: Input{Pairs: []Pair{{Dst: "b"}}}, input: true},
		{name: "empty recipient", in: Input{Pairs: []Pair{{Src: "a"}}}, input: true},
		{name: "negative weight", in: Input{Pairs: []Pair{{Src: "a", Dst: "b", Weight: -1}}}, input: true},
		{name: "NaN weight", in: Input{Pairs: []Pair{{Src: "a", Dst: "b", Weight: math.NaN()}}}, input: true},
		{name: "negative count", in: Input{Pairs: []Pair{{Src: "a", Dst: "b", Count: -1}}}, input: true},
		{name: "small above count", in: Input{Pairs: []Pair{{Src: "a", Dst: "b", Count: 2, Small: 3}}}, input: true},
		{name: "negative small", in: Input{Pairs: []Pair{{Src: "a", Dst: "b", Small: -1}}}, input: true},
		{name: "empty active", in: Input{Active: []string{""}}, input: true},
		{name: "damping", in: Input{Pairs: ok}, cfg: Config{Damping: 1.5}},
		{name: "k", in: Input{Pairs: ok}, cfg: Config{MinGroupSize: -1}},
		{name: "samples", in: Input{Pairs: ok}, cfg: Config{BetweennessSamples: -3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compute(tt.in, tt.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrInvalidInput) != tt.input {
				t.Errorf("errors.Is(%v, ErrInvalidInput) = %v, want %v", err, !tt.input, tt.input)
			}
		})
	}
}

func TestEmptyWindow(t *testing.T) {
	res, err := Compute(Input{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Nodes)+len(res.Edges)+len(res.Teams) != 0 || res.Graph.Nodes != 0 {
		t.Errorf("empty window gave %+v", res)
	}
}

func TestNMI(t *testing.T) {
	tests := []struct {
		name string
		comm []int
		team []int32
		want float64
	}{
		{name: "identical", comm: []int{0, 0, 1, 1}, team: []int32{0, 0, 1, 1}, want: 1},
		{name: "relabelled", comm: []int{5, 5, 2, 2}, team: []int32{0, 0, 1, 1}, want: 1},
		{name: "independent", comm: []int{0, 1, 0, 1}, team: []int32{0, 0, 1, 1}, want: 0},
		{name: "unknown team ignored", comm: []int{0, 0, 1, 1, 0}, team: []int32{0, 0, 1, 1, -1}, want: 1},
		{name: "single blocks", comm: []int{0, 0}, team: []int32{3, 3}, want: 1},
		{name: "no labels", comm: []int{0}, team: []int32{-1}, want: 0},
		// comm splits one team in two: I = H(T) = ln 2, H(C) = 1.5 ln 2.
		{name: "refinement", comm: []int{0, 0, 1, 2}, team: []int32{0, 0, 1, 1}, want: 2 * 1 / (1 + 1.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nmi(tt.comm, tt.team); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("nmi = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	in := syntheticWindow(600, 20, 6000, 3)
	cfg := Config{Seed: 11, ExactBetweennessMaxNodes: 100, BetweennessSamples: 50}
	a, err := Compute(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compute(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Graph.Modularity != b.Graph.Modularity || a.Graph.Communities != b.Graph.Communities {
		t.Fatalf("graph metrics differ between runs: %+v vs %+v", a.Graph, b.Graph)
	}
	for i := range a.Nodes {
		x, y := a.Nodes[i], b.Nodes[i]
		if x.Community != y.Community || x.Betweenness != y.Betweenness || math.Abs(x.PageRank-y.PageRank) > 1e-8 {
			t.Fatalf("node %s differs: %+v vs %+v", x.Person, x, y)
		}
	}
}

// TestVivaDefinitions: a team widens a person's breadth only with at
// least InternalMinInteractions small-thread interactions with its
// members, summed over them; a single message, or a tie in a large thread
// only, does not. The internal network counts partners with a team only:
// an external domain's participant (no directory record) is outside.
func TestVivaDefinitions(t *testing.T) {
	in := Input{
		Teams: map[string]string{"p": "a", "c1": "c", "c2": "c", "d1": "d", "e1": "e", "f1": "f"},
		Pairs: []Pair{
			{Src: "p", Dst: "c1", Count: 1, Small: 1}, // team c: 1 + 1 over two members
			{Src: "c2", Dst: "p", Count: 1, Small: 1},
			{Src: "p", Dst: "d1", Count: 1, Small: 1}, // team d: one message
			{Src: "p", Dst: "e1", Count: 9, Small: 0}, // team e: a large thread only
			{Src: "p", Dst: "f1", Count: 2, Small: 2}, // team f: two DMs
			{Src: "f1", Dst: "p", Count: 1, Small: 1}, // and a reply
		},
	}
	res, err := Compute(in, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		person            string
		breadth, internal int
	}{
		{"p", 2, 1},  // breadth c and f; internal f1 only (x is external)
		{"c1", 0, 0}, // one message from p
		{"f1", 1, 1}, // three with p
		{"e1", 0, 0},
	} {
		t.Run(tc.person, func(t *testing.T) {
			n := nodeByPerson(t, res, tc.person)
			if n.CrossTeamBreadth != tc.breadth || n.InternalNetworkSize != tc.internal {
				t.Errorf("breadth %d, internal %d; want %d, %d", n.CrossTeamBreadth, n.InternalNetworkSize, tc.breadth, tc.internal)
			}
		})
	}
}
