package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"commpulse/network"
)

func init() {
	register(command{
		name:    "network",
		summary: "compute graph metrics of an edge list (CSV src,dst,weight) and print them as JSON",
		run:     runNetwork,
	})
}

// runNetwork is the offline front end of package network, for checks on
// known graphs: it reads an edge list, optionally a person,team directory,
// and prints network.Result as JSON. Each CSV row becomes one network.Pair:
// one direct message (a thread of two, so small) of the given weight;
// repeated rows add up.
func runNetwork(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("network", stderr)
	var (
		edgesPath  = fs.String("edges", "", "edge list CSV: src,dst[,weight] per row, optional header; - for stdin (required)")
		teamsPath  = fs.String("teams", "", "optional directory CSV: person,team per row, optional header")
		undirected = fs.Bool("undirected", false, "treat every row as a tie in both directions (for undirected reference graphs)")
		cfg        network.Config
	)
	fs.IntVar(&cfg.MinGroupSize, "k", network.DefaultMinGroupSize, "minimum active members for a team row")
	fs.IntVar(&cfg.SmallThreadMaxSize, "small-thread", network.DefaultSmallThreadMaxSize, "largest thread counted as small for internal network size")
	fs.IntVar(&cfg.ExactBetweennessMaxNodes, "exact-betweenness-max-nodes", network.DefaultExactBetweennessMaxNodes, "above this many nodes betweenness is sampled")
	fs.IntVar(&cfg.BetweennessSamples, "betweenness-samples", network.DefaultBetweennessSamples, "pivots of the sampled betweenness")
	fs.IntVar(&cfg.LouvainRuns, "louvain-runs", 0, "Louvain runs, best modularity kept (0 = automatic)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of Louvain and betweenness sampling")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *edgesPath == "" {
		return usageError{errors.New("--edges is required")}
	}

	var in network.Input
	err := readCSV(*edgesPath, 2, func(rec []string) error {
		w := 1.0
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			var err error
			if w, err = strconv.ParseFloat(strings.TrimSpace(rec[2]), 64); err != nil {
				return fmt.Errorf("weight %q: %w", rec[2], err)
			}
		}
		src, dst := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		in.Pairs = append(in.Pairs, network.Pair{Src: src, Dst: dst, Count: 1, Weight: w, Small: 1})
		if *undirected {
			in.Pairs = append(in.Pairs, network.Pair{Src: dst, Dst: src, Count: 1, Weight: w, Small: 1})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("edges: %w", err)
	}
	if *teamsPath != "" {
		in.Teams = map[string]string{}
		err := readCSV(*teamsPath, 2, func(rec []string) error {
			in.Teams[strings.TrimSpace(rec[0])] = strings.TrimSpace(rec[1])
			return nil
		})
		if err != nil {
			return fmt.Errorf("teams: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := network.Compute(in, cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// readCSV calls row for every record of the CSV file at path ("-" is stdin)
// with at least minFields fields, skipping a header: a first row whose first
// field is "src" or "person". Errors carry the line number.
func readCSV(path string, minFields int, row func([]string) error) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.ReuseRecord = true
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if first {
			if h := strings.ToLower(strings.TrimSpace(rec[0])); h == "src" || h == "person" {
				continue
			}
		}
		if len(rec) < minFields {
			return fmt.Errorf("line %d: %d fields, want at least %d", line, len(rec), minFields)
		}
		if err := row(rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}
