package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// erasePersonsReplicated is ErasePersons on a replicated cluster
// (--replicated: Replicated*MergeTree local tables, each shard a set of
// replicas kept in step through Keeper). It keeps the order of
// erasePersonsCluster, each step on every shard before the next:
//
//  1. the erasures rows of the batch (done = false) on every shard, as a
//     quorum insert (quorumSettings) whose quorum is the number of
//     replicas system.clusters lists for that shard: the insert returns
//     only once every replica of the shard holds the batch. So every
//     replica of every shard holds the batch before any mutation is
//     issued.
//  2. the mutations of EraseSQL on each shard's local tables, issued on
//     one replica of the shard (its pool picks one) and replicated through
//     Keeper, with mutations_sync = 2: the statement returns when every
//     replica has run it. Each replica evaluates the mutation's subquery
//     (SELECT person FROM erasures WHERE batch = '...') on its own copy of
//     erasures, which ClickHouse cannot know to be the same on every
//     replica, so it refuses such a mutation on a Replicated table unless
//     allow_nondeterministic_mutations = 1. After step 1 every copy holds
//     the batch, and the batch's rows never change (a batch id is used
//     once; later rows carry other batches), so the subquery selects the
//     same persons on every replica: it is deterministic in effect, and the
//     mutation runs with allow_nondeterministic_mutations = 1
//     (replicatedMutationSettings). Parts a replica fetches after the
//     mutation was created are covered by it too (a replicated mutation
//     applies to every block number allocated before it), so a row written
//     before step 2 cannot escape on a lagging replica.
//  3. the proof, on EVERY replica of every shard (not one per shard: a
//     replica on which the mutation failed, or that is down, would keep
//     the person's rows): a pool per replica listed in system.clusters
//     (openReplicas), which must first hold every person of the batch in
//     its erasures copy (else its count below would prove nothing), then
//     count 0 rows matching the batch in each erasable local table. Any
//     other count, or a replica that does not answer, fails the erasure
//     naming the shard and the replica, and nothing is marked done.
//  4. the done rows on every shard, with the same quorum, so that a done
//     row read on any replica means every replica was checked. A crash or
//     failure before it leaves the erasure not done, and ingest erases
//     again at start, as on one server.
//
// No statement names a person: ids travel as insert data only.
//
// On a table that is not Replicated the quorum and
// allow_nondeterministic_mutations settings are accepted and have no
// effect, so this same path runs on the embedded test cluster (plain
// MergeTree shards, a replica posing as a second one by proxy); what only
// a real replicated cluster runs is the replication itself (Keeper, the
// quorum's wait, replicas applying the mutation). See docs/scaling.md.
func (s *Store) erasePersonsReplicated(ctx context.Context, persons []string) error {
	batch, err := newBatch()
	if err != nil {
		return err
	}
	shs, err := s.openShards(ctx)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	defer closeShards(shs)
	reps, err := s.openReplicas(shs)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	defer closeReplicas(reps)
	for _, sh := range shs {
		if err := sh.st.recordErasureQuorum(ctx, persons, batch, false, sh.listed); err != nil {
			return fmt.Errorf("erase: %s: quorum of %d: %w", sh, sh.listed, err)
		}
	}
	sel := batchSelect(batch)
	tables := map[int][]string{}
	for _, sh := range shs {
		ts, err := sh.st.erasableTables(ctx)
		if err != nil {
			return fmt.Errorf("erase: %s: %w", sh, err)
		}
		tables[sh.num] = ts
		for _, t := range ts {
			if err := sh.st.conn.Exec(ctx, eraseSQLWith(t, storedIn(t), sel, "", replicatedMutationSettings)); err != nil {
				return fmt.Errorf("erase: %s: from %s: %w", sh, storedIn(t), err)
			}
		}
	}
	if err := proveErased(ctx, reps, tables, sel, "", batch, distinct(persons)); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	for _, sh := range shs {
		if err := sh.st.recordErasureQuorum(ctx, persons, batch, true, sh.listed); err != nil {
			return fmt.Errorf("erase: %s: quorum of %d: %w", sh, sh.listed, err)
		}
	}
	return nil
}

// eraseInFlightReplicated is EraseInFlight on a replicated cluster: the
// count, the mutation (issued on one replica per shard, mutations_sync = 2,
// allow_nondeterministic_mutations = 1) and then the proof on every
// replica, as in erasePersonsReplicated, with inFlightSelect for the
// subquery and the window as scope. A shard's count is the most rows any
// of its replicas holds (a replica behind on the window's insert counts
// fewer); the counts returned are the shards' sums.
//
// Why the subquery may run on each replica's own copy of erasures: every
// erasures row is written with a quorum of all the shard's replicas
// (erasePersonsReplicated), so every row whose insert has returned is on
// every replica. Replicas can differ only on a batch whose insert is still
// running; that erasure has not issued its own mutations yet, and those,
// created after this window was written, will erase the person from it on
// every replica. Each replica's proof reads the same copy its mutation
// read, so a row that arrives in between fails the proof (and the pass
// retries) rather than passing unerased.
func (s *Store) eraseInFlightReplicated(ctx context.Context, since, windowStart time.Time, days int) (map[string]uint64, error) {
	shs, err := s.openShards(ctx)
	if err != nil {
		return nil, fmt.Errorf("erase in flight: %w", err)
	}
	defer closeShards(shs)
	reps, err := s.openReplicas(shs)
	if err != nil {
		return nil, fmt.Errorf("erase in flight: %w", err)
	}
	defer closeReplicas(reps)
	sel, scope := inFlightSelect(since), windowScope(windowStart, days)
	var windowed []string
	for _, pc := range PersonTables {
		if pc.Windowed && !slices.Contains(windowed, pc.Table) {
			windowed = append(windowed, pc.Table)
		}
	}
	erased := map[string]uint64{}
	tables := map[int][]string{}
	for _, sh := range shs {
		tables[sh.num] = windowed
	}
	for _, t := range windowed {
		count := "SELECT count() FROM " + storedIn(t) + " WHERE " + scoped(scope, MatchSQL(t, sel))
		for _, sh := range shs {
			var most uint64
			for _, r := range reps {
				if r.shard != sh.num {
					continue
				}
				var n uint64
				if err := r.st.conn.QueryRow(ctx, count).Scan(&n); err != nil {
					return erased, fmt.Errorf("erase in flight: %s: count %s: %w", r, storedIn(t), err)
				}
				most = max(most, n)
			}
			erased[t] += most
			if most == 0 {
				continue
			}
			if err := sh.st.conn.Exec(ctx, eraseSQLWith(t, storedIn(t), sel, scope, replicatedMutationSettings)); err != nil {
				return erased, fmt.Errorf("erase in flight: %s: from %s: %w", sh, storedIn(t), err)
			}
		}
	}
	if err := proveErased(ctx, reps, tables, sel, scope, "", 0); err != nil {
		return erased, fmt.Errorf("erase in flight: %w", err)
	}
	return erased, nil
}

// proveErased checks on every replica that no row of tables[its shard]
// in scope names a person selected by sel. With a batch, the replica must
// first hold persons distinct persons of it in its erasures copy: sel reads
// that copy, and a replica missing the batch would count 0 for any rows.
// The first failure is returned, naming the shard and the replica.
func proveErased(ctx context.Context, reps []replica, tables map[int][]string, sel, scope, batch string, persons int) error {
	for _, r := range reps {
		if batch != "" {
			var held uint64
			if err := r.st.conn.QueryRow(ctx, "SELECT uniqExact(person) FROM ("+batchSelect(batch)+")").Scan(&held); err != nil {
				return fmt.Errorf("%s: check erasures: %w", r, err)
			}
			if held != uint64(persons) {
				return fmt.Errorf("%s: its erasures hold %d of the %d persons of the batch", r, held, persons)
			}
		}
		for _, t := range tables[r.shard] {
			var n uint64
			if err := r.st.conn.QueryRow(ctx, "SELECT count() FROM "+storedIn(t)+" WHERE "+scoped(scope, MatchSQL(t, sel))).Scan(&n); err != nil {
				return fmt.Errorf("%s: check %s: %w", r, storedIn(t), err)
			}
			if n > 0 {
				return fmt.Errorf("%s: %d rows of %s still name an erased person", r, n, storedIn(t))
			}
		}
	}
	return nil
}

func distinct(xs []string) int {
	seen := make(map[string]bool, len(xs))
	for _, x := range xs {
		seen[x] = true
	}
	return len(seen)
}
