package network

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Pair is one directed sender -> recipient pair of a window with its
// interactions already aggregated: how many there were, what they weighed,
// and how many of them happened in small threads.
//
// Why pairs and not one row per message: every metric depends on a message
// only through its (sender, recipient) pair, its weight, and whether its
// thread was small (InternalNetworkSize). Aggregating those per pair is
// what a database does well (analyze reads GROUP BY sender, recipient), and
// a window then costs the size of its edge set (500,000 pairs for a
// 10,000-person day) instead of its messages. The price is that Compute
// never sees a thread: the caller sizes threads and counts Small against
// Config.SmallThreadMaxSize, and de-duplicates a message's recipients (a
// message reaching the same person twice is one interaction of the pair).
type Pair struct {
	// Src and Dst are the pseudonymous ids of the sender and the recipient.
	// Required. A pair with Src == Dst (a message to oneself) adds no edge:
	// it only makes Src a node, like Input.Active.
	Src string `json:"src"`
	Dst string `json:"dst"`
	// Count is the number of interactions (messages) from Src that reached
	// Dst; it is Edge.Count. Zero means 1.
	Count int `json:"count"`
	// Weight is the summed weight of those interactions: the edge weight
	// of strengths, PageRank, communities and ExternalShare. Zero means
	// Count (every interaction weighs 1). Callers that want a broadcast to
	// count less than a direct message can sum 1/len(recipients); the
	// package does not decide that for them.
	Weight float64 `json:"weight"`
	// Small is how many of the Count interactions belonged to threads of at
	// most Config.SmallThreadMaxSize participants, in [0, Count]. It
	// decides NodeMetrics.InternalNetworkSize.
	Small int `json:"small"`
}

// Input is everything Compute needs to know about one window.
type Input struct {
	// Pairs are the window's directed pairs. A pair may appear more than
	// once (an edge list with repeated rows): its Count, Weight and Small
	// add up. Order does not matter.
	Pairs []Pair
	// Teams maps a person to their formal team (the directory). Persons not
	// in the map have an unknown team: they are nodes of the graph, but they
	// belong to no team, never count as a team member and are left out of the
	// community/team agreement figures.
	Teams map[string]string
	// Active lists persons known to be active in the window beyond those
	// appearing in Pairs, for example people whose only messages had no
	// resolvable recipient. They become nodes without ties (and are
	// therefore isolated). Ids already in Pairs may be repeated here.
	Active []string
}

// Config tunes Compute. The zero value is usable: every zero field takes the
// default documented on it.
type Config struct {
	// MinGroupSize is k of the privacy rule: a team gets a TeamMetrics row
	// only when it has at least k active members in the window. Default 5.
	MinGroupSize int
	// SmallThreadMaxSize is the largest thread (in participants) that counts
	// as "small" for InternalNetworkSize: the bound Pair.Small is counted
	// against. Compute sees no threads and only validates it; it is here so
	// that the caller that counts Small and the Config that documents
	// InternalNetworkSize agree on one number. Default 5.
	SmallThreadMaxSize int
	// BroadcastMaxRecipients: a message to more distinct recipients than
	// this is a broadcast (an announcement, an all-hands mail). It counts
	// for volume but creates no ties, so that one announcement does not tie
	// its sender to the whole company. Like SmallThreadMaxSize it is applied
	// by the caller that builds the Pairs (Compute sees no messages) and
	// documented here. Default 25, the low end of Worklytics' 25-100 range:
	// well above Viva's "meaningful interaction" (a small group) so that a
	// team thread still ties, low enough that a department mail does not.
	BroadcastMaxRecipients int
	// InternalMinInteractions is how many small-thread interactions (either
	// direction: Pair.Small of u->v plus v->u) a pair needs for the partner to count in the person's
	// InternalNetworkSize. Default 2.
	InternalMinInteractions int
	// Damping is the PageRank damping factor. Default 0.85.
	Damping float64
	// PageRankTolerance stops the power iteration when the L2 norm of the
	// change falls below it. Default 1e-10.
	PageRankTolerance float64
	// Resolution is the Louvain resolution γ (1 is classic modularity).
	// Default 1.
	Resolution float64
	// ExactBetweennessMaxNodes: graphs with at most this many nodes get exact
	// betweenness from gonum's network.Betweenness; larger ones are sampled.
	// Default 500. gonum's Brandes is O(n·m) with map-based bookkeeping: on
	// the 2-core dev machine it took 1.3 s at 500 nodes / 10k edges and 21 s
	// at 2,000 nodes / 40k edges, where the array-based sampler with every
	// node as pivot (also exact) took 0.33 s.
	ExactBetweennessMaxNodes int
	// BetweennessSamples is the number of pivot sources of the sampled
	// estimator. It fixes the error bound reported in
	// GraphMetrics.BetweennessErrorBound (≈ 0.06 for 512). Default 512.
	BetweennessSamples int
	// LouvainRuns is how many Louvain runs (seeds derived from Seed) are made;
	// the partition with the highest modularity wins. Zero means automatic:
	// AutoLouvainRuns runs, fewer on windows so large that AutoLouvainRuns
	// runs would cover more than AutoLouvainTieBudget ties, and never fewer
	// than one (runs = clamp(budget / ties, 1, AutoLouvainRuns)). A single
	// run on a small graph lands in a visibly worse local optimum for some
	// seeds (karate club: Q 0.397 instead of 0.416+); on a 28-day catch-up
	// window (11k people, 20k ties) the best of 10 runs beat the first by 0
	// to 0.0007 in Q (three windows measured). Runs cost O(ties) each,
	// about 30 ms at 425k ties on the 2-core dev machine, so the budget
	// gives 10 runs up to 500k ties (about 0.35 s, run beside PageRank and
	// betweenness) and bounds the cost of larger windows. It used to be 10
	// runs up to 20k ties and one above, when gonum's Louvain took 1.2 s a
	// run at 20k ties; the windows in between now get 10 runs, the first of
	// which is the old single run, so their modularity can only rise.
	LouvainRuns int
	// Seed makes Louvain and pivot sampling reproducible.
	Seed uint64
	// Workers bounds the goroutines of the sampled betweenness. Default
	// runtime.GOMAXPROCS(0).
	Workers int
}

// Defaults.
const (
	DefaultMinGroupSize             = 5
	DefaultSmallThreadMaxSize       = 5
	DefaultBroadcastMaxRecipients   = 25
	DefaultInternalMinInteractions  = 2
	DefaultDamping                  = 0.85
	DefaultPageRankTolerance        = 1e-10
	DefaultResolution               = 1
	DefaultExactBetweennessMaxNodes = 500
	DefaultBetweennessSamples       = 512
	AutoLouvainRuns                 = 10
	AutoLouvainTieBudget            = 5_000_000
)

// withDefaults returns c with every zero field set to its default, or an
// error for values that cannot be meant.
func (c Config) withDefaults() (Config, error) {
	if c.MinGroupSize == 0 {
		c.MinGroupSize = DefaultMinGroupSize
	}
	if c.SmallThreadMaxSize == 0 {
		c.SmallThreadMaxSize = DefaultSmallThreadMaxSize
	}
	if c.BroadcastMaxRecipients == 0 {
		c.BroadcastMaxRecipients = DefaultBroadcastMaxRecipients
	}
	if c.InternalMinInteractions == 0 {
		c.InternalMinInteractions = DefaultInternalMinInteractions
	}
	if c.Damping == 0 {
		c.Damping = DefaultDamping
	}
	if c.PageRankTolerance == 0 {
		c.PageRankTolerance = DefaultPageRankTolerance
	}
	if c.Resolution == 0 {
		c.Resolution = DefaultResolution
	}
	if c.ExactBetweennessMaxNodes == 0 {
		c.ExactBetweennessMaxNodes = DefaultExactBetweennessMaxNodes
	}
	if c.BetweennessSamples == 0 {
		c.BetweennessSamples = DefaultBetweennessSamples
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case c.MinGroupSize < 1:
		return c, fmt.Errorf("network: min group size %d < 1", c.MinGroupSize)
	case c.SmallThreadMaxSize < 2:
		return c, fmt.Errorf("network: small thread max size %d < 2", c.SmallThreadMaxSize)
	case c.BroadcastMaxRecipients < 1:
		return c, fmt.Errorf("network: broadcast max recipients %d < 1", c.BroadcastMaxRecipients)
	case c.InternalMinInteractions < 1:
		return c, fmt.Errorf("network: internal min interactions %d < 1", c.InternalMinInteractions)
	case !(c.Damping > 0 && c.Damping < 1):
		return c, fmt.Errorf("network: damping %v outside (0, 1)", c.Damping)
	case !(c.PageRankTolerance > 0):
		return c, fmt.Errorf("network: pagerank tolerance %v not positive", c.PageRankTolerance)
	case !(c.Resolution > 0):
		return c, fmt.Errorf("network: resolution %v not positive", c.Resolution)
	case c.ExactBetweennessMaxNodes < 0:
		return c, fmt.Errorf("network: exact betweenness max nodes %d < 0", c.ExactBetweennessMaxNodes)
	case c.BetweennessSamples < 1:
		return c, fmt.Errorf("network: betweenness samples %d < 1", c.BetweennessSamples)
	case c.LouvainRuns < 0:
		return c, fmt.Errorf("network: louvain runs %d < 0", c.LouvainRuns)
	case c.Workers < 1:
		return c, fmt.Errorf("network: workers %d < 1", c.Workers)
	}
	return c, nil
}

// Edge is one directed sender -> recipient pair of the window.
type Edge struct {
	Src    string  `json:"src"`
	Dst    string  `json:"dst"`
	Weight float64 `json:"weight"` // sum of Pair.Weight
	Count  int     `json:"count"`  // sum of Pair.Count: the number of interactions
}

// NodeMetrics are the figures of one active person in one window.
type NodeMetrics struct {
	Person string `json:"person"`
	Team   string `json:"team"` // "" when not in the directory

	InDegree    int     `json:"in_degree"`    // distinct persons who wrote to them
	OutDegree   int     `json:"out_degree"`   // distinct persons they wrote to
	InStrength  float64 `json:"in_strength"`  // summed weight received
	OutStrength float64 `json:"out_strength"` // summed weight sent
	// Reciprocity is |partners written to AND heard from| / |all partners|,
	// 0 for a person without partners.
	Reciprocity float64 `json:"reciprocity"`
	// InternalNetworkSize is Viva Insights' internal network size: the
	// number of partners inside the organisation (with a team in the
	// directory: an external domain's participant is not one) with at
	// least Config.InternalMinInteractions interactions (either direction)
	// in threads of at most Config.SmallThreadMaxSize participants: the
	// people someone actually works with, as opposed to reaches by
	// broadcast.
	InternalNetworkSize int `json:"internal_network_size"`
	// CrossTeamBreadth is Viva Insights' network breadth: the number of
	// distinct other teams with whose members the person had at least
	// Config.InternalMinInteractions interactions (either direction, summed
	// over the team's members) in threads of at most
	// Config.SmallThreadMaxSize participants. A one-off message or a large
	// thread does not widen it. Unknown teams are not counted; 0 for
	// persons without a team.
	CrossTeamBreadth int `json:"cross_team_breadth"`
	// PageRank on the weighted directed graph; sums to 1 over the window.
	PageRank float64 `json:"pagerank"`
	// Betweenness on the undirected tie graph, normalised like networkx
	// (divided by (n-1)(n-2)/2, so in [0, 1]). Sampled for large windows, see
	// GraphMetrics.BetweennessExact and BetweennessErrorBound.
	Betweenness float64 `json:"betweenness"`
	// Community is the Louvain community, numbered 0.. by decreasing size
	// (ties broken by smallest member id); stable for a fixed Seed.
	Community int `json:"community"`
	// Isolated marks an active person with no reciprocated tie in the window:
	// nobody they both wrote to and heard from. It deliberately flags pure
	// broadcasters (announcements nobody answers) and pure receivers as
	// isolated: what matters for wellbeing is two-way contact, not volume.
	// Persons of the directory who were not active at all are not nodes and
	// are neither isolated nor counted; their absence is a team_stats matter.
	Isolated bool `json:"isolated"`
}

// TeamMetrics are the figures of one team in one window. Only teams with at
// least Config.MinGroupSize active members get a row.
type TeamMetrics struct {
	Team          string `json:"team"`
	MembersActive int    `json:"members_active"`
	// InternalTies and ExternalTies count undirected ties with both ends in
	// the team, and with exactly one end in it.
	InternalTies int `json:"internal_ties"`
	ExternalTies int `json:"external_ties"`
	// Density is InternalTies / (n(n-1)/2) over the active members.
	Density float64 `json:"density"`
	// EIIndex is Krackhardt and Stern's (E-I)/(E+I) over ties: -1 all ties
	// internal, +1 all external, 0 also when the team has no ties at all.
	EIIndex float64 `json:"ei_index"`
	// IsolatedMembers counts active members with NodeMetrics.Isolated.
	IsolatedMembers int `json:"isolated_members"`
	// ExternalShare is the share of the members' outgoing interaction weight
	// that went to non-members (weighted and directed, unlike EIIndex which
	// counts ties); 0 when the members sent nothing.
	ExternalShare float64 `json:"external_share"`
	// Communities is the number of distinct detected communities the active
	// members fall into.
	Communities int `json:"communities"`
	// BestCommunity is the community with the highest Jaccard overlap with
	// the team's active members, and BestJaccard that overlap (1 means the
	// community is exactly the team).
	BestCommunity int     `json:"best_community"`
	BestJaccard   float64 `json:"best_jaccard"`
}

// GraphMetrics are window-level figures.
type GraphMetrics struct {
	Nodes int `json:"nodes"`
	Edges int `json:"edges"` // directed pairs
	Ties  int `json:"ties"`  // undirected ties
	// Communities is the number of Louvain communities, Modularity their
	// modularity Q on the undirected weighted graph.
	Communities int     `json:"communities"`
	Modularity  float64 `json:"modularity"`
	// FormalModularity is Q of the directory partition on the same graph
	// (persons without a team each form their own group). Close to
	// Modularity means the org chart already captures how people talk.
	FormalModularity float64 `json:"formal_modularity"`
	// TeamCommunityNMI is the normalised mutual information between detected
	// communities and teams over persons with a known team, using the
	// arithmetic-mean normalisation 2·I/(H(C)+H(T)): 1 identical partitions,
	// 0 independent ones.
	TeamCommunityNMI float64 `json:"team_community_nmi"`
	// MeanBestJaccard is the mean of TeamMetrics.BestJaccard over the teams
	// that have a row (0 when none does).
	MeanBestJaccard float64 `json:"mean_best_jaccard"`
	// BetweennessExact tells whether betweenness is exact. When it is not,
	// BetweennessSamples pivots were used and, for each node separately,
	// |estimate - exact| <= BetweennessErrorBound (normalised units) with
	// probability at least 95%. See betweennessSampled.
	BetweennessExact      bool    `json:"betweenness_exact"`
	BetweennessSamples    int     `json:"betweenness_samples"`
	BetweennessErrorBound float64 `json:"betweenness_error_bound"`
}

// Result is the output of Compute. Edges are sorted by (Src, Dst), Nodes by
// Person and Teams by Team.
type Result struct {
	Edges []Edge        `json:"edges"`
	Nodes []NodeMetrics `json:"nodes"`
	Teams []TeamMetrics `json:"teams"`
	Graph GraphMetrics  `json:"graph"`
}

// ErrInvalidInput is wrapped by every error about the content of Input.
var ErrInvalidInput = errors.New("network: invalid input")

// Compute builds the window's graph and computes every metric. It fails only
// on an invalid Config or Input (empty id, negative count, Small outside
// [0, Count], negative or non-finite weight); an empty window yields an
// empty Result.
func Compute(in Input, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g, err := build(in)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Edges: g.edges(),
		Nodes: make([]NodeMetrics, g.n()),
	}
	g.localMetrics(res.Nodes, cfg)

	// PageRank, betweenness and Louvain are independent; Louvain (gonum,
	// single-threaded) is the longest on large windows, so it runs beside
	// the other two rather than after them.
	var (
		wg     sync.WaitGroup
		pr, bc []float64
		exact  bool
		bound  float64
		comm   communities
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		comm = detectCommunities(g, cfg)
	}()
	go func() {
		defer wg.Done()
		pr = pageRank(g, cfg)
		bc, exact, bound = betweenness(g, cfg)
	}()
	wg.Wait()
	for i := range res.Nodes {
		res.Nodes[i].PageRank = pr[i]
		res.Nodes[i].Betweenness = bc[i]
	}
	for i, c := range comm.label {
		res.Nodes[i].Community = c
	}

	res.Teams = teamMetrics(g, res.Nodes, comm, cfg)

	var meanJ float64
	for _, t := range res.Teams {
		meanJ += t.BestJaccard
	}
	if len(res.Teams) > 0 {
		meanJ /= float64(len(res.Teams))
	}
	res.Graph = GraphMetrics{
		Nodes:                 g.n(),
		Edges:                 len(res.Edges),
		Ties:                  g.ties(),
		Communities:           comm.count,
		Modularity:            comm.modularity,
		FormalModularity:      comm.formalModularity,
		TeamCommunityNMI:      nmi(comm.label, g.team),
		MeanBestJaccard:       meanJ,
		BetweennessExact:      exact,
		BetweennessErrorBound: bound,
	}
	if !exact {
		res.Graph.BetweennessSamples = min(cfg.BetweennessSamples, g.n())
	}
	return res, nil
}

func checkWeight(w float64) error {
	if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
		return fmt.Errorf("%w: weight %v", ErrInvalidInput, w)
	}
	return nil
}
