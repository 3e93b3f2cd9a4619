package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// PersonColumn is one column that holds person ids.
type PersonColumn struct {
	Table, Column string
	// Array marks an Array(String) of ids (messages.recipients): erasure
	// removes the person from the array and keeps the row, which is
	// another person's message.
	Array bool
	// Windowed marks a table that analyze writes per window (window_start,
	// window_days). The analyzer re-erases, in each window it writes, the
	// persons erased while it was computing that window (see
	// analyze.eraseInFlight).
	Windowed bool
	// Record marks the erasure record itself: erasure keeps it (it is how
	// an erasure is re-applied after a crash), export and the privacy
	// report list it.
	Record bool
}

// PersonTables is the one list of the columns that hold person ids, in every
// table. Erasure, `commpulse person export` and `commpulse privacy-report`
// all work from it; a new person-level table or column must be added here
// (TestPersonTablesCoverTheSchema fails otherwise).
var PersonTables = []PersonColumn{
	{Table: "messages", Column: "sender"},
	{Table: "messages", Column: "recipients", Array: true},
	{Table: "edges", Column: "src", Windowed: true},
	{Table: "edges", Column: "dst", Windowed: true},
	{Table: "node_metrics", Column: "person", Windowed: true},
	{Table: "erasures", Column: "person", Record: true},
}

// ErasableTables returns the tables erasure deletes from, in PersonTables
// order, each once.
func ErasableTables() []string {
	var out []string
	seen := map[string]bool{}
	for _, pc := range PersonTables {
		if !pc.Record && !seen[pc.Table] {
			seen[pc.Table] = true
			out = append(out, pc.Table)
		}
	}
	return out
}

// EraseSQL returns the statement that physically erases from table the
// persons that the subquery sel selects, in the rows matching scope (empty:
// all rows), or "" when table holds no erasable person column. Rows naming a
// person in a String column are deleted; a person in an Array column is
// removed from it (for messages.recipients, recipient_teams and
// recipient_count follow).
//
// The mechanism is a classic mutation (ALTER TABLE ... DELETE / UPDATE) run
// with mutations_sync = 2, not a lightweight DELETE: a lightweight DELETE
// only masks rows, which stay in the part files until some merge rewrites
// them, with no bound. A mutation rewrites every part holding a matching row
// before the statement returns (parts without one are hard-linked, not
// rewritten); the superseded parts are then outdated and the server removes
// their directories after old_parts_lifetime (see docs/security.md for the
// bound). The price is that a part holding the person is rewritten whole:
// erasing is O(size of the parts touched), which is why ingest erases every
// pending person in one batch.
//
// sel names persons only through the erasures table (for example
// "SELECT person FROM erasures WHERE batch = '...'"), so the statement
// text, which ClickHouse keeps in system.mutations and the query log,
// carries no person id.
func EraseSQL(table, sel, scope string) string { return eraseSQL(table, table, sel, scope) }

// eraseSQL is EraseSQL for the rows of table stored in target (table
// itself, or its LocalTable on a shard of a cluster).
func eraseSQL(table, target, sel, scope string) string {
	return eraseSQLWith(table, target, sel, scope, mutationSettings)
}

// mutationSettings are the settings of every erasure mutation:
// synchronous, on every replica.
const mutationSettings = "mutations_sync = 2"

// replicatedMutationSettings are those of an erasure mutation on a
// Replicated table (erasePersonsReplicated says why the subquery may run).
const replicatedMutationSettings = mutationSettings + ", allow_nondeterministic_mutations = 1"

// eraseSQLWith is eraseSQL with the given SETTINGS.
func eraseSQLWith(table, target, sel, scope, settings string) string {
	var match, arrays []string
	for _, pc := range PersonTables {
		if pc.Table != table || pc.Record {
			continue
		}
		if pc.Array {
			arrays = append(arrays, pc.Column)
		} else {
			match = append(match, fmt.Sprintf("%s IN (%s)", pc.Column, sel))
		}
	}
	if len(match) == 0 && len(arrays) == 0 {
		return ""
	}
	var cmds []string
	if len(match) > 0 {
		cmds = append(cmds, "DELETE WHERE "+scoped(scope, strings.Join(match, " OR ")))
	}
	for _, col := range arrays {
		keep := fmt.Sprintf("r NOT IN (%s)", sel)
		set := []string{}
		if table == "messages" && col == "recipients" {
			// All assignments of one UPDATE read the old values, so
			// recipient_teams is filtered by the old recipients.
			set = append(set,
				fmt.Sprintf("recipient_teams = arrayFilter((t, r) -> %s, recipient_teams, recipients)", keep),
				fmt.Sprintf("recipient_count = length(arrayFilter(r -> %s, recipients))", keep))
		}
		set = append(set, fmt.Sprintf("%s = arrayFilter(r -> %s, %s)", col, keep, col))
		cmds = append(cmds, fmt.Sprintf("UPDATE %s WHERE %s", strings.Join(set, ", "),
			scoped(scope, fmt.Sprintf("arrayExists(r -> r IN (%s), %s)", sel, col))))
	}
	return fmt.Sprintf("ALTER TABLE %s %s SETTINGS %s", target, strings.Join(cmds, ", "), settings)
}

// MatchSQL is the condition "a row of table names a person selected by sel"
// (any person column, arrays included), or "" when table has none.
func MatchSQL(table, sel string) string {
	var or []string
	for _, pc := range PersonTables {
		if pc.Table != table || pc.Record {
			continue
		}
		if pc.Array {
			or = append(or, fmt.Sprintf("arrayExists(r -> r IN (%s), %s)", sel, pc.Column))
		} else {
			or = append(or, fmt.Sprintf("%s IN (%s)", pc.Column, sel))
		}
	}
	if len(or) == 0 {
		return ""
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

func scoped(scope, cond string) string {
	if scope == "" {
		return cond
	}
	return "(" + scope + ") AND (" + cond + ")"
}

// batchSelect selects the persons of one erasure batch.
func batchSelect(batch string) string {
	return fmt.Sprintf("SELECT person FROM erasures WHERE batch = '%s'", batch)
}

// inFlightSelect selects the persons whose erasure may not have reached a
// reader that began reading at since: those whose latest erasures row is
// not done (deletes still running, or interrupted), and those with any row
// written at or after since. Times are rendered as a literal (the statement
// names no person; a time is not personal).
func inFlightSelect(since time.Time) string {
	return fmt.Sprintf("SELECT person FROM erasures GROUP BY person HAVING max(erased_at) >= toDateTime64('%s', 3, 'UTC') OR NOT argMax(done, (erased_at, done))",
		since.UTC().Format("2006-01-02 15:04:05.000"))
}

func newBatch() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("erasure batch id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ErasePersons physically removes every person-level row of the given
// people and records the erasure. In order:
//
//  1. an erasures row per person (batch, done = false) is written first,
//     so that an analyzer computing a window meanwhile sees the erasure
//     as in flight (analyze.eraseInFlight), and so that the deletes can
//     select the persons by batch instead of naming them;
//  2. each erasable table (ErasableTables) is rewritten by EraseSQL,
//     messages first, the analyze outputs after: an analyzer that read
//     messages before step 2 finished writes its window before the
//     erasure of edges and node_metrics, or finds the erasure in flight;
//  3. a second row (done = true) marks the erasure finished; Erased reads
//     it. A crash before it leaves the erasure not done, and ingest
//     erases the person again at start.
//
// Statements never carry an id: the ids travel only as insert data.
//
// On a cluster see erasePersonsCluster.
func (s *Store) ErasePersons(ctx context.Context, persons []string) error {
	if len(persons) == 0 {
		return nil
	}
	if s.cfg.Cluster.Enabled() {
		return s.erasePersonsCluster(ctx, persons)
	}
	batch, err := newBatch()
	if err != nil {
		return err
	}
	if err := s.recordErasure(ctx, persons, batch, false); err != nil {
		return err
	}
	existing, err := s.Tables(ctx)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	sel := batchSelect(batch)
	for _, t := range ErasableTables() {
		if _, ok := existing[t]; !ok {
			continue
		}
		if err := s.conn.Exec(ctx, EraseSQL(t, sel, "")); err != nil {
			return fmt.Errorf("erase from %s: %w", t, err)
		}
	}
	return s.recordErasure(ctx, persons, batch, true)
}

func (s *Store) recordErasure(ctx context.Context, persons []string, batch string, done bool) error {
	return s.recordErasureQuorum(ctx, persons, batch, done, 0)
}

// erasuresInsert is the INSERT of erasures rows; quorum > 0 makes it a
// quorum insert of that many replicas (quorumSettings).
func erasuresInsert(quorum int) string {
	q := "INSERT INTO erasures (person, erased_at, batch, done)"
	if quorum > 0 {
		q += " SETTINGS " + quorumSettings(quorum)
	}
	return q
}

// quorumTimeout bounds a quorum insert of erasures rows: past it the
// insert fails (the erasure with it, retried by ingest at start) rather
// than wait for a replica that is down.
const quorumTimeout = 2 * time.Minute

// quorumSettings make an insert into a Replicated table return only once
// replicas replicas of its shard hold the rows. insert_quorum_parallel = 0
// is the strict mode: a second quorum insert into the table is refused
// while one is not yet confirmed, so two erasure batches never interleave
// half-replicated: within one ingest erasures are serialised; two ingest
// replicas erasing at once see the second refused, and its opt-outs stay
// pending and are erased again (the cost: a retry, never a done row without
// the proof). Likewise, a quorum insert that timed out blocks the next ones
// until the replicas confirm it. On a table
// that is not Replicated the server accepts and ignores these settings
// (checked on the embedded 26.7 engine), which is what lets the replicated
// path run on the test cluster.
func quorumSettings(replicas int) string {
	return fmt.Sprintf("insert_quorum = %d, insert_quorum_parallel = 0, insert_quorum_timeout = %d",
		replicas, quorumTimeout.Milliseconds())
}

// recordErasureQuorum is recordErasure with erasuresInsert(quorum).
func (s *Store) recordErasureQuorum(ctx context.Context, persons []string, batch string, done bool, quorum int) error {
	b, err := s.conn.PrepareBatch(ctx, erasuresInsert(quorum))
	if err != nil {
		return fmt.Errorf("record erasure (done=%v): %w", done, err)
	}
	defer b.Abort() //nolint:errcheck // no-op after Send
	now := time.Now()
	for _, p := range persons {
		if err := b.Append(p, now, batch, done); err != nil {
			return fmt.Errorf("record erasure (done=%v): %w", done, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record erasure (done=%v): %w", done, err)
	}
	return nil
}

// Erased returns which of persons have a finished erasure (their latest
// erasures row is done). It reads every finished erasure and intersects in
// memory rather than sending the ids in the query, which would put them in
// the query log; the erasures table holds one row per person ever erased
// (after merges), small next to any other table.
func (s *Store) Erased(ctx context.Context, persons []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(persons) == 0 {
		return out, nil
	}
	want := make(map[string]bool, len(persons))
	for _, p := range persons {
		want[p] = true
	}
	rows, err := s.conn.Query(ctx, "SELECT person FROM erasures GROUP BY person HAVING argMax(done, (erased_at, done))")
	if err != nil {
		return nil, fmt.Errorf("read erasures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("read erasures: %w", err)
		}
		if want[p] {
			out[p] = true
		}
	}
	return out, rows.Err()
}

// InFlightErased returns the persons whose erasure may have missed a read
// that began at since (see inFlightSelect). The query names no person; the
// ids come back as data.
func (s *Store) InFlightErased(ctx context.Context, since time.Time) (map[string]bool, error) {
	rows, err := s.conn.Query(ctx, inFlightSelect(since))
	if err != nil {
		return nil, fmt.Errorf("read in-flight erasures: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("scan in-flight erasures: %w", err)
		}
		out[p] = true
	}
	return out, rows.Err()
}

// EraseInFlight erases, from the person-level rows of the window
// (windowStart, days), the persons whose erasure is in flight since 'since'
// (inFlightSelect), with the same synchronous mutation ErasePersons uses,
// and returns the rows erased per table. It costs one count per windowed
// table; the mutation runs only where such a person has a row.
//
// On a cluster it does so on every shard's local tables, and the counts are
// the shards' sums.
func (s *Store) EraseInFlight(ctx context.Context, since, windowStart time.Time, days int) (map[string]uint64, error) {
	if !s.cfg.Cluster.Enabled() {
		return s.eraseInFlight(ctx, since, windowStart, days, func(t string) string { return t })
	}
	if s.cfg.Cluster.Replicated {
		return s.eraseInFlightReplicated(ctx, since, windowStart, days)
	}
	shs, err := s.openShards(ctx)
	if err != nil {
		return nil, fmt.Errorf("erase in flight: %w", err)
	}
	defer closeShards(shs)
	erased := map[string]uint64{}
	for _, sh := range shs {
		n, err := sh.st.eraseInFlight(ctx, since, windowStart, days, storedIn)
		for t, k := range n {
			erased[t] += k
		}
		if err != nil {
			return erased, fmt.Errorf("%s: %w", sh, err)
		}
	}
	return erased, nil
}

// eraseInFlight is EraseInFlight on one server, whose rows of a table are
// in target(table).
func (s *Store) eraseInFlight(ctx context.Context, since, windowStart time.Time, days int, target func(string) string) (map[string]uint64, error) {
	sel, scope := inFlightSelect(since), windowScope(windowStart, days)
	erased := map[string]uint64{}
	for _, pc := range PersonTables {
		if _, seen := erased[pc.Table]; !pc.Windowed || seen {
			continue
		}
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+target(pc.Table)+" WHERE "+scope+" AND "+MatchSQL(pc.Table, sel)).Scan(&n); err != nil {
			return erased, fmt.Errorf("count in-flight erased rows of %s: %w", pc.Table, err)
		}
		erased[pc.Table] = n
		if n == 0 {
			continue
		}
		if err := s.conn.Exec(ctx, eraseSQL(pc.Table, target(pc.Table), sel, scope)); err != nil {
			return erased, fmt.Errorf("erase in-flight erased rows of %s: %w", pc.Table, err)
		}
	}
	return erased, nil
}

// windowScope is the condition "a row of the window (windowStart, days)".
func windowScope(windowStart time.Time, days int) string {
	return fmt.Sprintf("window_days = %d AND window_start = toDateTime('%s', 'UTC')", uint16(days), windowStart.UTC().Format(time.DateTime))
}

// storedIn is where a table's rows live on a shard of a cluster: the
// LocalTable of a sharded table, the table itself for one every shard holds
// whole.
func storedIn(table string) string {
	if ClusterLayout[table] == "" {
		return table
	}
	return LocalTable(table)
}

// erasePersonsCluster is ErasePersons on a cluster, without replication
// (with it, see erasePersonsReplicated).
// Distributed tables take no mutation, so it works shard by shard, in the
// order of ErasePersons, each step on every shard before the next:
//
//  1. the erasures row (done = false) on every shard: every shard holds the
//     whole erasures record (ClusterLayout), so each shard's mutations
//     select the batch locally, and an analyzer reading any shard sees the
//     erasure in flight before any row is deleted;
//  2. the mutations of EraseSQL on every shard's local tables;
//  3. a check on every shard that no row of an erasable local table names a
//     person of the batch: the proof that the erasure reached each shard
//     (the shards are the ones system.clusters lists, see openShards); a
//     shard that fails is named in the error and nothing is marked done;
//  4. the done row on every shard. A done row on any shard thus means every
//     shard was erased; a crash before it leaves the erasure not done
//     wherever it is read, and ingest erases again at start.
func (s *Store) erasePersonsCluster(ctx context.Context, persons []string) error {
	if s.cfg.Cluster.Replicated {
		return s.erasePersonsReplicated(ctx, persons)
	}
	batch, err := newBatch()
	if err != nil {
		return err
	}
	shs, err := s.openShards(ctx)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	defer closeShards(shs)
	for _, sh := range shs {
		if err := sh.st.recordErasure(ctx, persons, batch, false); err != nil {
			return fmt.Errorf("erase: %s: %w", sh, err)
		}
	}
	sel := batchSelect(batch)
	for _, sh := range shs {
		tables, err := sh.st.erasableTables(ctx)
		if err != nil {
			return fmt.Errorf("erase: %s: %w", sh, err)
		}
		for _, t := range tables {
			if err := sh.st.conn.Exec(ctx, eraseSQL(t, storedIn(t), sel, "")); err != nil {
				return fmt.Errorf("erase: %s: from %s: %w", sh, storedIn(t), err)
			}
		}
	}
	for _, sh := range shs {
		tables, err := sh.st.erasableTables(ctx)
		if err != nil {
			return fmt.Errorf("erase: %s: check: %w", sh, err)
		}
		for _, t := range tables {
			var n uint64
			if err := sh.st.conn.QueryRow(ctx, "SELECT count() FROM "+storedIn(t)+" WHERE "+MatchSQL(t, sel)).Scan(&n); err != nil {
				return fmt.Errorf("erase: %s: check %s: %w", sh, storedIn(t), err)
			}
			if n > 0 {
				return fmt.Errorf("erase: %s: %d rows of %s still name an erased person", sh, n, storedIn(t))
			}
		}
	}
	for _, sh := range shs {
		if err := sh.st.recordErasure(ctx, persons, batch, true); err != nil {
			return fmt.Errorf("erase: %s: %w", sh, err)
		}
	}
	return nil
}

// erasableTables lists the ErasableTables whose rows exist on this shard of
// a cluster (their storedIn table does). system.tables lists only the
// tables the user may see, so a Distributed table whose local table is
// missing from it is an error, not a table to skip: a user without grants
// on the local tables (an access model without the cluster) would
// otherwise erase nothing and record the erasure done.
func (s *Store) erasableTables(ctx context.Context) ([]string, error) {
	existing, err := s.Tables(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ErasableTables() {
		if _, ok := existing[storedIn(t)]; ok {
			out = append(out, t)
			continue
		}
		if _, ok := existing[t]; ok {
			user := cmp.Or(s.cfg.Username, "default")
			return nil, fmt.Errorf("table %s exists but %s is not listed: missing, or user %s has no grant on it (store.AccessModel with the cluster)", t, storedIn(t), user)
		}
	}
	return out, nil
}
