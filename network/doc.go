// Package network turns one window of communication into graph metrics:
// edges in, plain structs out. It is pure: no I/O, no globals, no clock, and
// for a fixed Config.Seed the output is deterministic up to the convergence
// tolerance of PageRank.
//
// The input of a window is a list of aggregated directed Pairs (a sender, a
// recipient, how many interactions, their summed weight and how many were
// in small threads), a person -> team directory and the persons known to be
// active. The caller aggregates messages into pairs (analyze does it in
// ClickHouse); Compute turns them into
//
//   - Edges: one row per directed sender -> recipient pair with summed weight
//     and interaction count (the edges table),
//   - NodeMetrics: one row per active person (node_metrics),
//   - TeamMetrics: one row per team with at least Config.MinGroupSize active
//     members (team_network); smaller teams produce no row at all, which is
//     the privacy rule "no team-level figure below k",
//   - GraphMetrics: window-level figures such as the modularity of the
//     detected communities and of the formal team partition, and how well the
//     two agree (normalised mutual information and best-match Jaccard).
//
// Which graph each metric is computed on matters and is fixed here:
//
//   - degrees, strengths, reciprocity and PageRank use the directed, weighted
//     graph (edge u -> v weighs Pair.Weight: the sum of the weights of u's
//     interactions that reached v);
//   - betweenness, density, E-I index, cross-team breadth and isolation use the
//     undirected, unweighted tie graph (u and v are tied if either wrote to
//     the other), because a communication "path" through a broker does not
//     depend on who started each conversation, and weights as distances would
//     make frequent contact look far;
//   - community detection (Louvain) and both modularities use the undirected
//     graph weighted by w(u->v) + w(v->u).
//
// PageRank (network.PageRankSparse) and the exact betweenness of small
// windows (network.Betweenness) are gonum's. Two algorithms are written
// here, on the package's arrays: a pivot-sampled Brandes betweenness for
// large windows, because gonum offers only the exact O(n·m) algorithm and
// keeps its Brandes core unexported (GraphMetrics.BetweennessErrorBound
// states its error), and Louvain with its modularity, which follow gonum's
// community.Modularize and community.Q move for move and give the same
// partitions at a fraction of the cost (see louvain; the tests compare them
// with gonum's).
package network
