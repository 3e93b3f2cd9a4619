package analyze

import (
	"commpulse/network"
	"commpulse/pipeline/store"
)

// minGraphNodes is the smallest window, by its noisy count of senders,
// whose organisation-wide structural indices (modularity, NMI, mean best
// Jaccard) are published. They are not sums one person adds to, so no
// sensitivity bounds them and they carry no noise; the gate is on the
// noisy count so that whether they appear says nothing exact. This is a
// documented limit (docs/privacy.md), not a guarantee.
const minGraphNodes = 50

// releaseGraph is the published graph_metrics row of a window: the noisy
// count of its senders, and the structural indices only when that count
// is at least minGraphNodes (nil below).
func releaseGraph(g network.GraphMetrics, nodes float64) store.GraphRelease {
	r := store.GraphRelease{Nodes: nodes}
	if nodes >= minGraphNodes {
		r.Modularity, r.FormalModularity = &g.Modularity, &g.FormalModularity
		r.NMI, r.MeanBestJaccard = &g.TeamCommunityNMI, &g.MeanBestJaccard
	}
	return r
}
