package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"commpulse/network"
)

func TestNetworkCommand(t *testing.T) {
	const (
		karateEdges = "../../network/testdata/karate_edges.csv"
		karateTeams = "../../network/testdata/karate_teams.csv"
	)
	dir := t.TempDir()
	badWeight := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(badWeight, []byte("src,dst,weight\na,b,1\nb,c,heavy\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // substring expected on stderr
		check  func(t *testing.T, r network.Result)
	}{
		{
			name: "karate undirected with factions",
			args: []string{"network", "--edges", karateEdges, "--teams", karateTeams, "--undirected"},
			check: func(t *testing.T, r network.Result) {
				if r.Graph.Nodes != 34 || r.Graph.Ties != 78 {
					t.Errorf("graph %+v", r.Graph)
				}
				// networkx nx.pagerank(nx.karate_club_graph()), see
				// network/karate_test.go for the source.
				want := map[string]float64{"k00": 0.09700181758983709, "k32": 0.07169213006588289, "k33": 0.1009179167487121}
				for _, n := range r.Nodes {
					if w, ok := want[n.Person]; ok && math.Abs(n.PageRank-w) > 1e-3 {
						t.Errorf("%s pagerank %v, want %v", n.Person, n.PageRank, w)
					}
				}
				if r.Graph.Modularity < 0.41 || len(r.Teams) != 2 {
					t.Errorf("modularity %v, %d team rows", r.Graph.Modularity, len(r.Teams))
				}
			},
		},
		{
			name: "k above both factions",
			args: []string{"network", "--edges", karateEdges, "--teams", karateTeams, "--k", "18"},
			check: func(t *testing.T, r network.Result) {
				if len(r.Teams) != 0 {
					t.Errorf("team rows %+v with k=18 and 17-member factions", r.Teams)
				}
				// Directed reading: each row one way only.
				if r.Graph.Edges != 78 {
					t.Errorf("edges = %d, want 78", r.Graph.Edges)
				}
			},
		},
		{name: "missing edges flag", args: []string{"network"}, code: 2, stderr: "--edges is required"},
		{name: "bad weight", args: []string{"network", "--edges", badWeight}, code: 1, stderr: "line 3"},
		{name: "missing file", args: []string{"network", "--edges", filepath.Join(dir, "nope.csv")}, code: 1, stderr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if tt.check == nil {
				return
			}
			var r network.Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("output is not a network.Result: %v", err)
			}
			tt.check(t, r)
		})
	}
}
