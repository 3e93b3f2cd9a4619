package analyze

import (
	"context"
	"time"

	"commpulse/network"
)

// Erasure while a window is in flight.
//
// The analyzer reads a window's messages, computes for a while, then writes
// person-level rows (edges, node_metrics). A person erased by ingest in
// between would come back: ingest's erasure deleted their rows before the
// analyzer wrote new ones from what it had read. Two steps prevent it, both
// driven by the erasures table, which ingest writes BEFORE it deletes
// (store.ErasePersons):
//
//   - dropErased, after the compute and before the write, drops from the
//     result every person whose erasure is in flight (started since the
//     read began, or not finished): the common case writes nothing to undo;
//   - eraseInFlight, after the write, asks again and erases those persons'
//     rows of the window with the same synchronous mutation ingest uses
//     (store.EraseInFlight): it catches an erasure recorded during the write.
//
// Why that is enough: ingest erases messages first and the analyze tables
// after, and marks the erasure done only then. An analyzer that could have
// read the person's messages began its read before the messages were gone;
// if it writes after ingest erased edges and node_metrics, then at its
// post-write check the erasure is either not done, or done at a time after
// the read began. Either way the person is selected.
//
// "Since the read began" is compared on the erasures rows' erased_at, which
// is ingest's wall clock; erasureMargin absorbs the skew between the ingest
// and analyze hosts and the time an insert takes to become visible. The
// price of the margin: a person who opts in again within it loses their
// rows of the windows computed in that time (until the window is
// recomputed, e.g. with --since), the safe side of the trade.
const erasureMargin = 5 * time.Minute

// SetBetweenReadAndWrite installs a test hook that runs after a network
// window's read and compute and before its write (before dropErased reads
// the erasures). Tests use it to interleave an erasure with an analyzer
// pass deterministically; production leaves it nil.
func (c *Config) SetBetweenReadAndWrite(f func(ctx context.Context, windowStart time.Time, days int)) {
	c.betweenReadAndWrite = f
}

// dropErased removes from res, in place, the nodes and edges of persons
// whose erasure is in flight since readStart. Team and graph figures keep
// the person's contribution: they name no one and are k-safe (see
// docs/security.md, "What remains after an erasure").
func (a *Analyzer) dropErased(ctx context.Context, readStart, windowStart time.Time, days int, res *network.Result) error {
	if h := a.cfg.betweenReadAndWrite; h != nil {
		h(ctx, windowStart, days)
	}
	gone, err := a.db.InFlightErased(ctx, readStart.Add(-erasureMargin))
	if err != nil || len(gone) == 0 {
		return err
	}
	nodes := res.Nodes[:0]
	for _, n := range res.Nodes {
		if !gone[n.Person] {
			nodes = append(nodes, n)
		}
	}
	edges := res.Edges[:0]
	for _, e := range res.Edges {
		if !gone[e.Src] && !gone[e.Dst] {
			edges = append(edges, e)
		}
	}
	res.Nodes, res.Edges = nodes, edges
	return nil
}

// eraseInFlight erases, from the person-level rows of the window
// (windowStart, days) just written, the persons whose erasure is in flight
// since readStart. It costs one small query when no erasure is in flight,
// plus a count per windowed table when one is (store.EraseInFlight); the
// mutation runs only when a row of such a person is there.
func (a *Analyzer) eraseInFlight(ctx context.Context, readStart, windowStart time.Time, days int) error {
	since := readStart.Add(-erasureMargin)
	gone, err := a.db.InFlightErased(ctx, since)
	if err != nil || len(gone) == 0 {
		return err
	}
	erased, err := a.db.EraseInFlight(ctx, since, windowStart, days)
	for table, n := range erased {
		if n > 0 {
			a.log.Info("erased rows of a person erased while their window was computed", "table", table, "rows", n,
				"window", windowStart.Format(time.DateOnly), "days", days)
		}
	}
	return err
}
