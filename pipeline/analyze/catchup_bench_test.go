package analyze

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"commpulse/internal/chlocal/chtest"
	"commpulse/pipeline/store"
)

// corpusOrg generates days of e-mail shaped like the public corpus of the
// catch-up issue (75k messages, about 31k pseudonymised people, 6 months):
// people persons, most of whom appear rarely (sending and receiving are
// heavy-tailed: a few hundred people write most of the mail), in thousands
// of teams, most of them below k = 5 members; about perDay messages a day
// (fewer on weekends), each to one or a few recipients (now and then a
// broadcast), half of them replies in a recent thread. Bodies are long:
// the scorer's compound saturates towards ±1 and token counts run in the
// hundreds. Deterministic for a seed. The first message is at 00:05 of
// the first day, so the analyzer's hour chunks start at midnight.
func corpusOrg(start time.Time, days, people, perDay int, seed uint64) []store.Message {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	id := func(i int) string { return fmt.Sprintf("p_%016x", uint64(i+1)*0x9e3779b97f4a7c15) }
	// Teams: three in four have 1-4 members, one in five 5-20, a few
	// 20-80, and about twenty departments 100-400. Members are drawn from
	// a random order of the people.
	order := r.Perm(people)
	team := make([]string, people)
	var members [][]int
	for i := 0; i < people; {
		var size int
		switch u := r.Float64(); {
		case u < 0.75:
			size = 1 + r.IntN(4)
		case u < 0.97:
			size = 5 + r.IntN(16)
		case u < 0.995:
			size = 20 + r.IntN(61)
		default:
			size = 100 + r.IntN(301)
		}
		size = min(size, people-i)
		name := fmt.Sprintf("team-%05d", len(members))
		ms := make([]int, size)
		for j := range size {
			ms[j] = order[i+j]
			team[order[i+j]] = name
		}
		members = append(members, ms)
		i += size
	}
	teamOf := make([]int, people)
	for t, ms := range members {
		for _, p := range ms {
			teamOf[p] = t
		}
	}
	// Activity: Zipf-like weights over a ranking of the people; who writes
	// a lot is also who is written to a lot (the same ranks), with a
	// flatter tail for receiving. The ranking is a weighted random order
	// (Efraimidis-Spirakis: by u^(1/w)) that puts the members of the
	// departments, and less so of the 20-80 teams, near the top: as in the
	// corpus, the heavy senders work in a few large departments, so some
	// teams reach k senders on most days while most never do.
	keys := make([]float64, people)
	for p := range people {
		w := 1.0
		switch n := len(members[teamOf[p]]); {
		case n >= 100:
			w = 40
		case n >= 20:
			w = 4
		}
		keys[p] = math.Pow(r.Float64(), 1/w)
	}
	rank := make([]int, people)
	for i := range rank {
		rank[i] = i
	}
	sort.Slice(rank, func(i, j int) bool { return keys[rank[i]] > keys[rank[j]] })
	sendCum, recvCum := make([]float64, people), make([]float64, people)
	var s, q float64
	for i := range people {
		s += 1 / math.Pow(float64(i+1), 1.1)
		q += 1 / math.Pow(float64(i+5), 0.85)
		sendCum[i], recvCum[i] = s, q
	}
	draw := func(cum []float64) int {
		return rank[sort.SearchFloat64s(cum, r.Float64()*cum[len(cum)-1])]
	}
	type thread struct {
		id string
	}
	var recent []thread
	var out []store.Message
	n := 0
	for d := range days {
		day := start.AddDate(0, 0, d)
		count := perDay * 117 / 100 // weekdays carry most of the mail
		if !workday(day) {
			count = perDay * 58 / 100
		}
		count += r.IntN(count/5+1) - count/10
		for m := range count {
			at := day.Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
			if r.Float64() < 0.8 {
				at = day.Add(8*time.Hour + time.Duration(r.Int64N(int64(10*time.Hour))))
			}
			if d == 0 && m == 0 {
				at = day.Add(5 * time.Minute)
			}
			sender := draw(sendCum)
			nr := 1 + int(r.ExpFloat64()*1.5)
			if r.Float64() < 0.01 {
				nr = 30 + r.IntN(40)
			}
			var rc []int
			for tries := 0; len(rc) < nr && tries < 4*nr; tries++ {
				var c int
				if tm := members[teamOf[sender]]; len(tm) > 1 && r.Float64() < 0.35 {
					c = tm[r.IntN(len(tm))]
				} else {
					c = draw(recvCum)
				}
				if c != sender && !slices.Contains(rc, c) {
					rc = append(rc, c)
				}
			}
			recips, rteams := make([]string, len(rc)), make([]string, len(rc))
			for i, c := range rc {
				recips[i], rteams[i] = id(c), team[c]
			}
			th := fmt.Sprintf("th_%07d", n)
			if len(recent) > 0 && r.Float64() < 0.5 {
				th = recent[r.IntN(len(recent))].id
			} else {
				recent = append(recent, thread{th})
				if len(recent) > 200 {
					recent = recent[1:]
				}
			}
			msg := store.Message{
				EventID: fmt.Sprintf("ev%08d", n), OccurredAt: at, IngestedAt: at.Add(time.Duration(1+r.IntN(30)) * time.Second),
				Channel: "email", Sender: id(sender), Team: team[sender], Recipients: recips, RecipientTeams: rteams,
				ThreadID: th, Lang: "en", Tokens: uint32(150 + r.ExpFloat64()*600), Status: "no_text",
			}
			// Long bodies: VADER's compound of a few hundred tokens is
			// mostly near ±1; a few are neutral, a few unscored.
			if u := r.Float64(); u < 0.95 {
				msg.Scored, msg.Status, msg.ScorerVersion = true, "scored", "vader-3.3.2"
				switch v := r.Float64(); {
				case v < 0.6:
					msg.Compound, msg.Label = float32(0.6+0.4*r.Float64()), 1
				case v < 0.85:
					msg.Compound, msg.Label = float32(-0.6-0.4*r.Float64()), -1
				default:
					msg.Compound, msg.Label = float32(0.09*r.Float64()-0.045), 0
				}
				pos := 0.05 + 0.15*r.Float64()
				neg := 0.02 + 0.08*r.Float64()
				if msg.Label < 0 {
					pos, neg = neg, pos
				}
				msg.Pos, msg.Neg, msg.Neu = float32(pos), float32(neg), float32(1-pos-neg)
			}
			out = append(out, msg)
			n++
		}
	}
	return out
}

// windowTimes collects the time of each window from the analyzer's own
// progress logs ("day window analyzed" and "hour windows analyzed", both
// with "took"): a slog.Handler at debug level.
type windowTimes struct {
	mu    sync.Mutex
	day   map[string]time.Duration // by day, YYYY-MM-DD
	hours map[string]time.Duration // hour chunks, by the day of their first hour
	next  slog.Handler
}

func (w *windowTimes) Enabled(context.Context, slog.Level) bool { return true }
func (w *windowTimes) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *windowTimes) WithGroup(string) slog.Handler            { return w }
func (w *windowTimes) Handle(ctx context.Context, rec slog.Record) error {
	var (
		key  string
		took time.Duration
	)
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "day":
			key = a.Value.String()
		case "from":
			if t, ok := a.Value.Any().(time.Time); ok {
				key = t.UTC().Format(time.DateOnly)
			}
		case "took":
			took = a.Value.Duration()
		}
		return true
	})
	w.mu.Lock()
	switch rec.Message {
	case "day window analyzed":
		w.day[key] += took
	case "hour windows analyzed":
		w.hours[key] += took
	}
	w.mu.Unlock()
	if w.next != nil && w.next.Enabled(ctx, rec.Level) {
		return w.next.Handle(ctx, rec)
	}
	return nil
}

// BenchmarkCatchUp30kOrg times `analyze --once` on an organisation shaped
// like the public e-mail corpus of the catch-up issue: 30,000 people, most
// of them rare, about 6,000 teams (most below k), about 400 e-mails a day
// over 180 days (corpusOrg). The analyzer starts from nothing and catches
// up to the end with the product's settings (hour windows in chunks of 24,
// then day windows with the day network and the weekly 28-day rolling
// network), as one Step. Each day's cost is its day window plus its 24
// hour windows, from the analyzer's progress logs; the table of every day
// is logged. Linear catch-up means that cost does not grow with history:
// the benchmark fails when day 170 (the median of days 168-172, so the
// weekly rolling window does not decide it) costs more than 1.5 times day
// 10 (median of days 8-12), or when the whole catch-up takes 3 minutes or
// more. COMMPULSE_CATCHUP_DAYS shortens the corpus for a quick look (the
// gates then compare day 10 with the day 10 before the last).
//
//	go test -run '^$' -bench CatchUp30kOrg -benchtime 1x -timeout 30m ./pipeline/analyze/
func BenchmarkCatchUp30kOrg(b *testing.B) {
	days := 180
	if v, err := strconv.Atoi(os.Getenv("COMMPULSE_CATCHUP_DAYS")); err == nil && v >= 25 {
		days = v
	}
	recompute := os.Getenv("COMMPULSE_CATCHUP_RECOMPUTE") != ""
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	t0 := time.Now()
	msgs := corpusOrg(start, days, 30_000, 400, 12)
	senders := map[string]bool{}
	people := map[string]bool{}
	for _, m := range msgs {
		senders[m.Sender], people[m.Sender] = true, true
		for _, r := range m.Recipients {
			people[r] = true
		}
	}
	b.Logf("corpus: %d messages, %d people seen (%d senders), %d days, generated in %s",
		len(msgs), len(people), len(senders), days, time.Since(t0).Round(time.Millisecond))
	srv := chtest.Server(b)
	ctx := context.Background()
	late, last := days-10, days-1
	var wt *windowTimes
	var total, goCPU, chCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := chtest.NewDatabase(b, srv)
		// Retention long enough that the server's clock does not expire the
		// corpus while it is analyzed.
		st, err := store.Open(store.Config{Addr: []string{srv.Addr()}, Database: db, TTLDays: 3650})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for j := 0; j < len(msgs); j += 20_000 {
			if err := st.InsertMessages(ctx, msgs[j:min(j+20_000, len(msgs))]); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("inserted %d messages in %s", len(msgs), time.Since(t1).Round(time.Millisecond))
		wt = &windowTimes{day: map[string]time.Duration{}, hours: map[string]time.Duration{}}
		if os.Getenv("COMMPULSE_BENCH_LOG") != "" {
			wt.next = benchLogger().Handler()
		}
		clock := &fixedClock{t: start.AddDate(0, 0, days).Add(time.Hour)}
		var since time.Time
		if recompute {
			// A first pass writes every window; the timed one recomputes
			// them all (--since the first day).
			first, err := New(Config{Now: clock.Now}, st, nil, nilRegistry{})
			if err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := first.Step(ctx); err != nil {
				b.Fatal(err)
			}
			b.Logf("first pass in %s", time.Since(t1).Round(time.Millisecond))
			since = start
		}
		var (
			tc  *timedConn
			ast = st
		)
		if os.Getenv("COMMPULSE_CATCHUP_PROFILE") != "" {
			ast = st.WithConn(func(c driver.Conn) driver.Conn {
				tc = &timedConn{Conn: c, runs: map[string][]time.Duration{}}
				return tc
			})
		}
		a, err := New(Config{Now: clock.Now, Since: since, Logger: slog.New(wt)}, ast, nil, nilRegistry{})
		if err != nil {
			b.Fatal(err)
		}
		chPID := srv.PID()
		goCPU0, chCPU0 := selfCPU(), procCPU(chPID)
		b.StartTimer()
		t2 := time.Now()
		n, err := a.Step(ctx)
		if err != nil {
			b.Fatal(err)
		}
		total = time.Since(t2)
		b.StopTimer()
		goCPU = selfCPU() - goCPU0
		if chCPU0 >= 0 {
			chCPU = procCPU(chPID) - chCPU0
		}
		if want := days * 25; n != want {
			b.Fatalf("analyzed %d windows, want %d", n, want)
		}
		if tc != nil {
			tc.profile(b)
			serverState(b, st, db)
		}
		st.Close()
	}
	cost := func(d int) (hour, day time.Duration) {
		k := start.AddDate(0, 0, d).Format(time.DateOnly)
		return wt.hours[k], wt.day[k]
	}
	b.Logf("%4s %-10s %3s %9s %9s %9s", "day", "date", "dow", "hours_ms", "day_ms", "sum_ms")
	for d := range days {
		h, dy := cost(d)
		b.Logf("%4d %s %3s %9.1f %9.1f %9.1f", d, start.AddDate(0, 0, d).Format(time.DateOnly),
			start.AddDate(0, 0, d).Weekday().String()[:3], ms(h), ms(dy), ms(h+dy))
	}
	var sumH, sumD time.Duration
	for _, d := range wt.hours {
		sumH += d
	}
	for _, d := range wt.day {
		sumD += d
	}
	b.Logf("hour chunks: %d, %s in all; day windows: %d, %s in all", len(wt.hours), sumH.Round(time.Millisecond), len(wt.day), sumD.Round(time.Millisecond))
	median := func(center int) float64 {
		var v []float64
		for d := center - 2; d <= center+2; d++ {
			h, dy := cost(d)
			v = append(v, ms(h+dy))
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	h10, d10 := cost(10)
	hl, dl := cost(late)
	m10, ml := median(10), median(min(late, last-2))
	ratio := ml / m10
	b.ReportMetric(ms(h10+d10), "day10-ms")
	b.ReportMetric(ms(hl+dl), fmt.Sprintf("day%d-ms", late))
	b.ReportMetric(m10, "day10-median-ms")
	b.ReportMetric(ml, fmt.Sprintf("day%d-median-ms", late))
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(total.Seconds(), "total-s")
	b.ReportMetric(goCPU.Seconds(), "go-cpu-s")
	b.ReportMetric(chCPU.Seconds(), "ch-cpu-s")
	b.Logf("day 10: %.0f ms (hours %.0f, day %.0f; median of days 8-12 %.0f); day %d: %.0f ms (hours %.0f, day %.0f; median %.0f); ratio %.2f; total %s (CPU: Go %s, ClickHouse %s)",
		ms(h10+d10), ms(h10), ms(d10), m10, late, ms(hl+dl), ms(hl), ms(dl), ml, ratio, total.Round(time.Millisecond),
		goCPU.Round(time.Millisecond), chCPU.Round(time.Millisecond))
	if ratio > 1.5 {
		b.Errorf("day %d costs %.2f times day 10 (median %.0f ms vs %.0f ms): the catch-up is not linear", late, ratio, ml, m10)
	}
	if total >= 3*time.Minute {
		b.Errorf("catch-up of %d days took %s, want under 3 minutes", days, total.Round(time.Millisecond))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timedConn times every statement the analyzer sends (test profiling
// only): a query until its rows are closed, a batch until it is sent.
type timedConn struct {
	driver.Conn
	mu   sync.Mutex
	runs map[string][]time.Duration
}

var spaces = regexp.MustCompile(`\s+`)

func (c *timedConn) record(q string, t0 time.Time) {
	d := time.Since(t0)
	q = strings.TrimSpace(spaces.ReplaceAllString(q, " "))
	if len(q) > 150 {
		q = q[:150]
	}
	c.mu.Lock()
	c.runs[q] = append(c.runs[q], d)
	c.mu.Unlock()
}

func (c *timedConn) Query(ctx context.Context, q string, args ...any) (driver.Rows, error) {
	t0 := time.Now()
	rows, err := c.Conn.Query(ctx, q, args...)
	if err != nil {
		c.record(q, t0)
		return nil, err
	}
	return &timedRows{Rows: rows, done: func() { c.record(q, t0) }}, nil
}

func (c *timedConn) QueryRow(ctx context.Context, q string, args ...any) driver.Row {
	defer c.record(q, time.Now())
	return c.Conn.QueryRow(ctx, q, args...)
}

func (c *timedConn) Exec(ctx context.Context, q string, args ...any) error {
	defer c.record(q, time.Now())
	return c.Conn.Exec(ctx, q, args...)
}

func (c *timedConn) PrepareBatch(ctx context.Context, q string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	t0 := time.Now()
	b, err := c.Conn.PrepareBatch(ctx, q, opts...)
	if err != nil {
		return nil, err
	}
	return &timedBatch{Batch: b, done: func() { c.record(q, t0) }}, nil
}

type timedRows struct {
	driver.Rows
	once sync.Once
	done func()
}

func (r *timedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}

type timedBatch struct {
	driver.Batch
	done func()
}

func (b *timedBatch) Send() error {
	err := b.Batch.Send()
	b.done()
	return err
}

// profile logs, per statement, how often it ran, its total time, and its
// mean time over its first and its last tenth of runs: what grows.
func (c *timedConn) profile(b *testing.B) {
	type row struct {
		q                  string
		n                  int
		total, early, late time.Duration
	}
	var out []row
	for q, ds := range c.runs {
		r := row{q: q, n: len(ds)}
		tenth := max(1, len(ds)/10)
		for i, d := range ds {
			r.total += d
			if i < tenth {
				r.early += d / time.Duration(tenth)
			}
			if i >= len(ds)-tenth {
				r.late += d / time.Duration(tenth)
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].total > out[j].total })
	b.Logf("%6s %9s %9s %9s  %s", "runs", "total_ms", "early_ms", "late_ms", "statement")
	for _, r := range out[:min(len(out), 30)] {
		b.Logf("%6d %9.0f %9.1f %9.1f  %s", r.n, ms(r.total), ms(r.early), ms(r.late), r.q)
	}
}

// serverState logs the active parts and the mutations (done and pending)
// of each table of db.
func serverState(b *testing.B, st *store.Store, db string) {
	ctx := context.Background()
	rows, err := st.Conn().Query(ctx, `SELECT p.table, p.parts, p.rows, ifNull(m.total, 0), ifNull(m.pending, 0)
		FROM (SELECT table, count() AS parts, sum(rows) AS rows FROM system.parts WHERE database = ? AND active GROUP BY table) AS p
		LEFT JOIN (SELECT table, count() AS total, countIf(NOT is_done) AS pending FROM system.mutations WHERE database = ? GROUP BY table) AS m
		ON p.table = m.table ORDER BY p.table`, db, db)
	if err != nil {
		b.Logf("server state: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var (
			table                   string
			parts, n, muts, pending uint64
		)
		if err := rows.Scan(&table, &parts, &n, &muts, &pending); err != nil {
			b.Logf("server state: %v", err)
			return
		}
		b.Logf("%-18s %4d parts %9d rows %5d mutations (%d pending)", table, parts, n, muts, pending)
	}
}
