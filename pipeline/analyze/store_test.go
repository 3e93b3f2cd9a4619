package analyze

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"commpulse/network"
	"commpulse/nlp"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

// chEnv is a migrated test database.
type chEnv struct {
	t  testing.TB
	st *store.Store
	db string
}

func newCH(t testing.TB) *chEnv {
	t.Helper()
	st, _, name := storetest.Migrated(t)
	return &chEnv{t: t, st: st, db: name}
}

func (e *chEnv) count(q string, args ...any) int {
	e.t.Helper()
	var n uint64
	q = strings.ReplaceAll(q, "{db}", e.db)
	if err := e.st.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return int(n)
}

// fixedClock is an injectable clock.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fixedClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// smallOrg builds messages of two teams over [from, to): "alpha" with 6
// members and "tiny" with 4, each member writing to two teammates every
// working hour, with a seeded compound score (some unscored), plus a team
// "silent" of one member who only ever sends unscored mail.
func smallOrg(from, to time.Time, seed uint64) []store.Message {
	r := rand.New(rand.NewPCG(seed, 1))
	teams := map[string]int{"alpha": 6, "tiny": 4}
	var out []store.Message
	n := 0
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		for _, team := range []string{"alpha", "tiny"} {
			size := teams[team]
			for i := range size {
				if h.Hour() < 8 || h.Hour() > 18 {
					if r.IntN(4) != 0 {
						continue
					}
				}
				rc := []string{fmt.Sprintf("%s_%d", team, (i+1)%size), fmt.Sprintf("%s_%d", team, (i+2)%size)}
				m := store.Message{
					EventID: fmt.Sprintf("ev%07d", n), OccurredAt: h.Add(time.Duration(r.IntN(3600)) * time.Second),
					IngestedAt: h, Channel: "chat", Sender: fmt.Sprintf("%s_%d", team, i), Team: team,
					Recipients: rc, RecipientTeams: []string{team, team}, ThreadID: fmt.Sprintf("th%d", n%7),
					Lang: "en", Status: "no_text", Themes: smallOrgThemes(n),
				}
				if i%2 == 0 {
					// Senders with a time zone in the directory: ingest's
					// stamp, not the UTC rule, decides.
					ah := r.IntN(3) == 0
					m.AfterHours = &ah
				}
				if r.IntN(5) != 0 {
					c := float32(math.Round((r.Float64()*2-1)*1000) / 1000)
					m.Scored, m.Compound, m.Status = true, c, "scored"
					switch {
					case c <= -0.05:
						m.Label = -1
					case c >= 0.05:
						m.Label = 1
					}
				}
				out = append(out, m)
				n++
			}
		}
		// A team whose only member sends only messages without a score (no
		// text): a team-day without a scored message must not turn the
		// sentiment sums NULL.
		if h.Hour() == 11 {
			out = append(out, store.Message{EventID: fmt.Sprintf("ev%07d", n), OccurredAt: h.Add(time.Minute), IngestedAt: h,
				Channel: "email", Sender: "silent_0", Team: "silent", Recipients: []string{"alpha_0"}, RecipientTeams: []string{"alpha"},
				Lang: "en", Status: "no_text"})
			n++
		}
	}
	return out
}

// smallOrgThemes are the theme bits of smallOrg's n-th message, from n
// alone (the random stream stays what the other figures were drawn from):
// workload on four messages in five, recognition on every other, conflict
// on one in seven, blockers on one in eleven, change never.
func smallOrgThemes(n int) uint16 {
	var t uint16
	if n%5 != 0 {
		t |= 1
	}
	if n%2 == 0 {
		t |= 2
	}
	if n%7 == 0 {
		t |= 4
	}
	if n%11 == 0 {
		t |= 8
	}
	return t
}

// testNoiseKey is the noise key of the analyzers the tests build, so a
// test can compute the exact release the analyzer must have published.
var testNoiseKey = []byte("commpulse-analyze-tests-noise-key-0123456789")

// testPublisher is a publisher with the tests' key and cfg's policy.
func testPublisher(t testing.TB, cfg Config) *publish.Publisher {
	t.Helper()
	p := cfg.withDefaults().Privacy
	if p.Key == nil {
		p.Key = testNoiseKey
	}
	pub, err := publish.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// expectDayCell computes in Go the bounded input of one team-day that the
// SQL must compute: per sender of the day, volume weight min(1, capV/n),
// sentiment weight min(1, capS/scored) and theme weight min(1, capT/n)
// (the same n): bit i of a message's themes counts for
// nlp.ThemeNames()[i] at the theme weight.
func expectDayCell(rows []store.Message, team string, day time.Time, capV, capS, capT float64) publish.DayCell {
	nThemes := len(nlp.ThemeNames())
	type per struct {
		n, ah, sc, neg, pos, sum float64
		th                       []float64
	}
	byTeamSender := map[[2]string]*per{}
	nDay, scDay := map[string]float64{}, map[string]float64{}
	for _, m := range rows {
		if m.OccurredAt.Before(day) || !m.OccurredAt.Before(day.Add(24*time.Hour)) {
			continue
		}
		nDay[m.Sender]++
		if m.Scored {
			scDay[m.Sender]++
		}
		if m.Team != team {
			continue
		}
		k := [2]string{m.Team, m.Sender}
		p := byTeamSender[k]
		if p == nil {
			p = &per{th: make([]float64, nThemes)}
			byTeamSender[k] = p
		}
		p.n++
		for i := range nThemes {
			if m.Themes&(1<<i) != 0 {
				p.th[i]++
			}
		}
		if messageAfterHours(m, 9, 18) {
			p.ah++
		}
		if m.Scored {
			p.sc++
			p.sum += float64(m.Compound)
			switch m.Label {
			case -1:
				p.neg++
			case 1:
				p.pos++
			}
		}
	}
	c := publish.DayCell{Window: day, Team: team, Themes: make([]float64, nThemes)}
	for k, p := range byTeamSender {
		wv, wt := math.Min(1, capV/nDay[k[1]]), math.Min(1, capT/nDay[k[1]])
		for i, n := range p.th {
			c.Themes[i] += wt * n
		}
		ws := math.Min(1, capS/math.Max(scDay[k[1]], 1))
		c.Senders++
		c.Messages += wv * p.n
		c.AfterHours += wv * p.ah
		c.Scored += ws * p.sc
		c.SumCompound += ws * p.sum
		c.Negative += ws * p.neg
		c.Positive += ws * p.pos
	}
	return c
}

// expectHourCell is expectDayCell for a team-hour: each sender's first
// capV messages of the UTC day count.
func expectHourCell(rows []store.Message, team string, hour time.Time, capV float64) publish.HourCell {
	day := hour.Truncate(24 * time.Hour)
	byHourSender := map[string]map[time.Time]float64{} // sender -> hour -> n (this team)
	for _, m := range rows {
		if m.Team != team || m.OccurredAt.Before(day) || !m.OccurredAt.Before(hour.Add(time.Hour)) {
			continue
		}
		h := m.OccurredAt.Truncate(time.Hour)
		if byHourSender[m.Sender] == nil {
			byHourSender[m.Sender] = map[time.Time]float64{}
		}
		byHourSender[m.Sender][h]++
	}
	c := publish.HourCell{Window: hour, Team: team}
	for _, hours := range byHourSender {
		n := hours[hour]
		if n == 0 {
			continue
		}
		var before float64
		for h, k := range hours {
			if h.Before(hour) {
				before += k
			}
		}
		c.Senders++
		c.Messages += math.Min(n, math.Max(0, capV-before))
	}
	return c
}

func readStats(t *testing.T, e *chEnv, g Granularity) []TeamStats {
	t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT window_start, toString(team), messages, active_members,
		scored_messages, mean_compound, negative_share, positive_share, after_hours_share
		FROM {db}.team_stats FINAL WHERE granularity = ? ORDER BY window_start, team`, "{db}", e.db), string(g))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []TeamStats
	for rows.Next() {
		var s TeamStats
		var scored, mean, neg, pos, ah *float64
		var active *uint32
		if err := rows.Scan(&s.WindowStart, &s.Team, &s.Messages, &active, &scored, &mean, &neg, &pos, &ah); err != nil {
			t.Fatal(err)
		}
		if active != nil {
			s.ActiveMembers = *active
		}
		nan := math.NaN()
		s.ScoredMessages = deref(scored, 0)
		s.MeanCompound, s.NegativeShare, s.PositiveShare, s.AfterHoursShare = deref(mean, nan), deref(neg, nan), deref(pos, nan), deref(ah, nan)
		out = append(out, s)
	}
	return out
}

// deref is *p, or def for a NULL.
func deref(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

func newAnalyzer(t *testing.T, e *chEnv, cfg Config, al Alerter) (*Analyzer, *prometheus.Registry) {
	t.Helper()
	if cfg.Privacy.Key == nil {
		cfg.Privacy.Key = testNoiseKey
	}
	reg := prometheus.NewRegistry()
	a, err := New(cfg, e.st, al, reg)
	if err != nil {
		t.Fatal(err)
	}
	return a, reg
}

func TestTeamStatsKAndIdempotence(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // Monday
	to := from.Add(48 * time.Hour)
	msgs := smallOrg(from, to, 7)
	if err := e.st.InsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	// A redelivery of the first 100 rows: aggregates must not count them twice.
	if err := e.st.InsertMessages(ctx, msgs[:100]); err != nil {
		t.Fatal(err)
	}
	clock := &fixedClock{t: to.Add(65 * time.Minute)} // day 2 closed (lateness 1h), hour to..to+1h not yet (10m)
	a, reg := newAnalyzer(t, e, Config{Now: clock.Now}, nil)
	n, err := a.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 48+2 {
		t.Fatalf("first step processed %d windows, want 48 hours + 2 days", n)
	}

	// What was stored is exactly the release of the bounded cells a Go
	// model of the SQL computes, under the same key: the SQL bounds each
	// sender as documented, and nothing unreleased reaches the table.
	pub := testPublisher(t, Config{})
	pol := pub.Policy()
	for _, g := range []Granularity{Hour, Day} {
		got := readStats(t, e, g)
		var want []TeamStats
		for w := from; w.Before(to); w = w.Add(g.Step()) {
			for _, team := range []string{"alpha", "tiny"} {
				if g == Day {
					if r, ok := pub.Day(expectDayCell(msgs, team, w, pol.CapVolume, pol.CapSentiment, pol.CapThemes)); ok {
						want = append(want, TeamStats{WindowStart: w, Team: team, Messages: r.Messages, ActiveMembers: uint32(r.Senders),
							ScoredMessages: r.Scored, MeanCompound: r.MeanCompound, NegativeShare: r.NegativeShare,
							PositiveShare: r.PositiveShare, AfterHoursShare: r.AfterHoursShare})
					}
					continue
				}
				if v, ok := pub.Hour(expectHourCell(msgs, team, w, pol.CapVolume)); ok {
					nan := math.NaN()
					want = append(want, TeamStats{WindowStart: w, Team: team, Messages: v,
						MeanCompound: nan, NegativeShare: nan, PositiveShare: nan, AfterHoursShare: nan})
				}
			}
		}
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d team_stats rows, want %d", g, len(got), len(want))
		}
		for i := range want {
			gs, ws := got[i], want[i]
			if gs.Team == "tiny" {
				t.Fatalf("%s: team of 4 has a team_stats row", g)
			}
			if gs.WindowStart != ws.WindowStart || gs.ActiveMembers != ws.ActiveMembers {
				t.Fatalf("%s row %d: got %+v, want %+v", g, i, gs, ws)
			}
			for name, p := range map[string][2]float64{
				"messages": {gs.Messages, ws.Messages}, "scored": {gs.ScoredMessages, ws.ScoredMessages},
				"mean": {gs.MeanCompound, ws.MeanCompound}, "neg": {gs.NegativeShare, ws.NegativeShare},
				"pos": {gs.PositiveShare, ws.PositiveShare}, "after_hours": {gs.AfterHoursShare, ws.AfterHoursShare},
			} {
				if math.IsNaN(p[0]) != math.IsNaN(p[1]) || math.Abs(p[0]-p[1]) > 1e-6 {
					t.Fatalf("%s %s %s: %s = %v, want %v", g, gs.Team, gs.WindowStart, name, p[0], p[1])
				}
			}
		}
	}
	if s := testutil.ToFloat64(a.m.Suppressed.WithLabelValues("day")); s != 4 {
		t.Errorf("suppressed day windows = %v, want 4 (tiny and silent on both days)", s)
	}
	for _, tbl := range []string{"team_network", "team_themes", "anomalies"} {
		if n := e.count("SELECT count() FROM {db}." + tbl + " WHERE team = 'tiny'"); n != 0 {
			t.Errorf("%s holds %d rows of the team of 4", tbl, n)
		}
	}
	if n := e.count("SELECT count() FROM {db}.team_network WHERE team = 'alpha' AND window_days = 1"); n != 2 {
		t.Errorf("team_network holds %d day rows of alpha, want 2", n)
	}
	if n := e.count("SELECT count() FROM {db}.node_metrics WHERE team = 'tiny' AND window_days = 1"); n != 8 {
		t.Errorf("node_metrics holds %d day rows of tiny's members, want 8 (person-level rows are not k-filtered)", n)
	}
	// The rolling window is released weekly (on the day closing a Sunday):
	// Monday and Tuesday close none.
	if n := e.count("SELECT uniqExact(window_start) FROM {db}.graph_metrics WHERE window_days = 28"); n != 0 {
		t.Errorf("rolling network has %d windows, want 0 (weekly release)", n)
	}
	_ = reg

	// Idempotence: re-running every window (Since) leaves exactly the same
	// rows, without FINAL too (old rows deleted, not just shadowed).
	// (team_themes is not here: a re-run is a fresh release, and which
	// noisy theme counts reach the floor changes with it;
	// TestTeamThemesMatchTheModel checks its re-run against the model.)
	tables := []string{"team_stats", "edges", "node_metrics", "team_network", "graph_metrics", "anomalies"}
	before := map[string]int{}
	for _, tbl := range tables {
		before[tbl] = e.count("SELECT count() FROM {db}." + tbl)
	}
	a2, _ := newAnalyzer(t, e, Config{Now: clock.Now, Since: from}, nil)
	if n, err := a2.Step(ctx); err != nil || n != 50 {
		t.Fatalf("re-run: %d windows, %v", n, err)
	}
	// The deletes are asynchronous mutations: wait for them, then count.
	deadline := time.Now().Add(time.Minute)
	for e.count("SELECT count() FROM system.mutations WHERE database = ? AND NOT is_done", e.db) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("delete mutations not done after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tbl := range tables {
		if got := e.count("SELECT count() FROM {db}." + tbl); got != before[tbl] {
			t.Errorf("after re-run %s holds %d rows, before %d", tbl, got, before[tbl])
		}
	}

	// Catch-up: a new analyzer after a day of downtime resumes after the last
	// window done and processes exactly the windows closed since.
	more := smallOrg(to, to.Add(24*time.Hour), 8)
	for i := range more {
		more[i].EventID = "late" + more[i].EventID
	}
	if err := e.st.InsertMessages(ctx, more); err != nil {
		t.Fatal(err)
	}
	clock.Set(to.Add(24*time.Hour + 61*time.Minute))
	a3, _ := newAnalyzer(t, e, Config{Now: clock.Now}, nil)
	if n, err := a3.Step(ctx); err != nil || n != 25 {
		t.Fatalf("catch-up: %d windows (want 24 hours + 1 day), %v", n, err)
	}
	if n, err := a3.Step(ctx); err != nil || n != 0 {
		t.Fatalf("second step with the same clock: %d windows, %v", n, err)
	}
	days := readStats(t, e, Day)
	if !slices.ContainsFunc(days, func(s TeamStats) bool { return s.WindowStart.Equal(to) }) {
		t.Fatal("no team_stats row for the caught-up day")
	}
}

// The replay of external-share history needs each day's messages from
// team_stats (the trials of the drift detector): day rows only, the latest
// version of each row, 0 for a network row without a stats row, and only
// day networks (not the rolling window).
func TestNetworkHistoryJoinsMessages(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	d1 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := e.st.Conn().Exec(ctx, strings.ReplaceAll(q, "{db}", e.db), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO {db}.team_stats (window_start, granularity, team, messages, computed_at) VALUES
		(?, 'day', 'team-a', 90, '2026-11-03 00:00:00'),
		(?, 'day', 'team-a', 120, '2026-11-04 00:00:00'),
		(?, 'hour', 'team-a', 7, '2026-11-04 00:00:00'),
		(?, 'day', 'team-a', 130, '2026-11-04 00:00:00')`, d1, d1, d1, d2)
	exec(`INSERT INTO {db}.team_network (window_start, window_days, team, weight, external_share, computed_at) VALUES
		(?, 1, 'team-a', 25, 0.2, '2026-11-04 00:00:00'),
		(?, 1, 'team-b', 36, 0.1, '2026-11-04 00:00:00'),
		(?, 28, 'team-a', 99, 0.5, '2026-11-04 00:00:00'),
		(?, 1, 'team-a', 21, 0.0, '2026-11-04 00:00:00')`, d1, d1, d1, d2)
	got, err := e.st.NetworkHistory(ctx, d2.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.NetworkPoint{
		{WindowStart: d1, Team: "team-a", External: 0.2, Weight: 25, Messages: 120},
		{WindowStart: d1, Team: "team-b", External: 0.1, Weight: 36, Messages: 0},
		{WindowStart: d2, Team: "team-a", External: 0, Weight: 21, Messages: 130},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("networkHistory:\n got %v\nwant %v", got, want)
	}
}

// Red-team finding: with a window-wide team map, a person's last day could
// decide their team for the whole window and so reclassify every
// colleague's messages to them (internal or external), a change no bound on
// that person's messages controls. Weights now follow the teams recorded on
// each message: removing the mover's messages under their new team changes
// the published inputs by at most their own (bounded) weight.
func TestNetCellsTeamChangeIsBounded(t *testing.T) {
	day := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	build := func(withMove bool) []store.Message {
		var out []store.Message
		n := 0
		add := func(at time.Time, sender, team, to, toTeam string) {
			out = append(out, store.Message{EventID: fmt.Sprintf("ev%05d", n), OccurredAt: at, IngestedAt: at, Channel: "chat",
				Sender: sender, Team: team, Recipients: []string{to}, RecipientTeams: []string{toTeam}, Lang: "en", Status: "no_text"})
			n++
		}
		for i := range 5 {
			for j := range 10 {
				add(day.Add(9*time.Hour+time.Duration(i*10+j)*time.Minute), fmt.Sprintf("a%d", i), "A", "x", "A")
			}
			add(day.Add(12*time.Hour+time.Duration(i)*time.Minute), "x", "A", fmt.Sprintf("a%d", i), "A")
		}
		if withMove {
			for j := range 5 {
				add(day.Add(16*time.Hour+time.Duration(j)*time.Minute), "x", "B", "b0", "B")
			}
		}
		return out
	}
	cells := func(msgs []store.Message) map[string]publish.NetCell {
		e := newCH(t)
		if err := e.st.InsertMessages(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		w, err := e.st.TeamWeights(context.Background(), day, day.Add(24*time.Hour), network.Config{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]publish.NetCell{}
		for _, c := range netCells(day, 1, w, &network.Result{}, 60) {
			out[c.Team] = c
		}
		return out
	}
	with, without := cells(build(true)), cells(build(false))
	if a, b := with["A"], without["A"]; a.Internal != b.Internal || a.External != b.External || a.Senders != b.Senders {
		t.Errorf("the mover's messages under team B changed team A's cell: %+v vs %+v", a, b)
	}
	if with["A"].Internal != 55 {
		t.Errorf("team A internal weight %v, want 55 (50 to x, 5 from x)", with["A"].Internal)
	}
	var l1 float64
	for _, team := range []string{"A", "B"} {
		l1 += math.Abs(with[team].Internal-without[team].Internal) + math.Abs(with[team].External-without[team].External)
	}
	if l1 > 60 {
		t.Errorf("removing the mover's day moved the weights by %v, more than the cap", l1)
	}
}

// The isolation rule takes the day's isolated persons from the computed
// network and reads only the working days of the HistoryDays before it:
// not the day itself, not a weekend, not an older day, not a rolling
// window.
func TestIsolationHistoryReadsTheWindowOnly(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC) // a Wednesday
	at := func(d int) time.Time { return day.AddDate(0, 0, d) }
	q := strings.ReplaceAll(`INSERT INTO {db}.node_metrics (window_start, window_days, person, team, out_degree, isolated, computed_at) VALUES
		(?, 1, 'p1', 'a', 3, false, '2026-11-20 00:00:00'),
		(?, 1, 'p1', 'a', 2, true, '2026-11-20 00:00:00'),
		(?, 1, 'p1', 'a', 1, true, '2026-11-20 00:00:00'),
		(?, 1, 'p1', 'a', 1, true, '2026-11-20 00:00:00'),
		(?, 1, 'p1', 'a', 1, false, '2026-11-20 00:00:00'),
		(?, 28, 'p1', 'a', 1, true, '2026-11-20 00:00:00'),
		(?, 1, 'p2', 'a', 0, true, '2026-11-20 00:00:00'),
		(?, 1, 'p2', 'a', 0, false, '2026-11-21 00:00:00')`, "{db}", e.db)
	// Mon, Tue, Sun (weekend), the Friday before the window, the day
	// itself, a rolling window, and p2's Monday written twice (the later
	// row wins; p2 only received).
	if err := e.st.Conn().Exec(ctx, q, at(-2), at(-1), at(-3), at(-5), day, at(-2), at(-2), at(-2)); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.IsolationHistory(ctx, day, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]store.PastDay{
		"p1": {{Day: at(-2), Sent: true}, {Day: at(-1), Sent: true, Isolated: true}},
		"p2": {{Day: at(-2)}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("isolationHistory = %v, want %v", got, want)
	}

	a, _ := newAnalyzer(t, e, Config{Isolation: IsolationRule{HistoryDays: 3, MinHistory: 1, MaxIsolatedShare: 0.5, SustainedDays: 1}}, nil)
	hist, err := a.personHistories(ctx, day, []network.NodeMetrics{
		{Person: "p1", Team: "a", OutDegree: 2, Isolated: true},
		{Person: "p2", Team: "a"},
		{Person: "p3", Team: "b", Isolated: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	// p1: Tuesday extends today's run (streak 1); Monday, connected, is
	// the baseline. p3 wrote nothing today and has no history.
	wantHist := []PersonHistory{
		{Team: "a", SentDays: 1, Streak: 1, IsolatedToday: true, SentToday: true, WorkingDayNow: true},
		{Team: "b", IsolatedToday: true, WorkingDayNow: true},
	}
	if fmt.Sprint(hist) != fmt.Sprint(wantHist) {
		t.Errorf("personHistories = %v, want %v", hist, wantHist)
	}
}

// messageAfterHours is the model of afterHoursSQL: the stamped flag, else
// the UTC rule.
func messageAfterHours(m store.Message, start, end int) bool {
	if m.AfterHours != nil {
		return *m.AfterHours
	}
	return afterHours(m.OccurredAt, start, end)
}

// A person's time zone in the directory decides their after-hours share:
// the same messages, sent at 10:00 UTC on a weekday, are all after hours
// for a team whose senders ingest stamped (their local evening) and none
// for the same team unstamped (the organisation default, UTC 9-18).
func TestAfterHoursShareFollowsTheTimeZone(t *testing.T) {
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC) // a Wednesday
	cell := func(t *testing.T, stamp *bool) publish.DayCell {
		e := newCH(t)
		var rows []store.Message
		for i := range 6 {
			rows = append(rows, store.Message{EventID: fmt.Sprintf("tz%d", i), OccurredAt: day.Add(10 * time.Hour), IngestedAt: day,
				Channel: "chat", Sender: fmt.Sprintf("s%d", i), Team: "a", Recipients: []string{"s0"}, RecipientTeams: []string{"a"},
				Status: "no_text", AfterHours: stamp})
		}
		if err := e.st.InsertMessages(context.Background(), rows); err != nil {
			t.Fatal(err)
		}
		cells, err := e.st.DayCells(context.Background(), day, day.AddDate(0, 0, 1), 1000, 1000, 1000, 9, 18)
		if err != nil || len(cells) != 1 {
			t.Fatalf("dayCells: %v %v", cells, err)
		}
		return cells[0]
	}
	evening := true
	if c := cell(t, nil); c.AfterHours != 0 || c.Messages != 6 {
		t.Errorf("no time zone (UTC 9-18 default): after-hours %v of %v messages, want 0 of 6", c.AfterHours, c.Messages)
	}
	if c := cell(t, &evening); c.AfterHours != 6 {
		t.Errorf("a time zone where 10:00 UTC is evening: after-hours %v of %v messages, want 6", c.AfterHours, c.Messages)
	}
}

// A broadcast (more distinct recipients than BroadcastMaxRecipients) adds
// no edge, while its sender stays active; a message at the limit ties.
func TestBroadcastAddsNoEdges(t *testing.T) {
	e := newCH(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	people := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%02d", prefix, i))
		}
		return out
	}
	msg := func(id, sender string, to []string) store.Message {
		return store.Message{EventID: id, OccurredAt: day.Add(10 * time.Hour), IngestedAt: day, Channel: "email",
			Sender: sender, Team: "a", Recipients: to, RecipientTeams: make([]string, len(to)), Status: "no_text"}
	}
	rows := []store.Message{
		msg("all-hands", "ceo", people("r", 26)),  // 26 > 25: a broadcast
		msg("team-mail", "lead", people("r", 25)), // at the limit: ties
		msg("chat", "ana", []string{"bo"}),
	}
	if err := e.st.InsertMessages(ctx, rows); err != nil {
		t.Fatal(err)
	}
	in, err := e.st.WindowInput(ctx, day, day.AddDate(0, 0, 1), network.Config{})
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]int{}
	for _, p := range in.Pairs {
		from[p.Src]++
	}
	if from["ceo"] != 0 || from["lead"] != 25 || from["ana"] != 1 {
		t.Fatalf("pairs by sender %v, want ceo 0 (broadcast), lead 25, ana 1", from)
	}
	if !slices.Contains(in.Active, "ceo") {
		t.Errorf("the broadcaster is not active: %v", in.Active)
	}
	// Nor does it move the team weights (external share): the ceo counts
	// as a sender of team a with no pair-message; the lead's 25 do count.
	ws, err := e.st.TeamWeights(ctx, day, day.AddDate(0, 0, 1), network.Config{})
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]uint64{}
	for _, w := range ws {
		weights[w.Sender] = w.Internal + w.External
	}
	if c, ok := weights["ceo"]; !ok || c != 0 || weights["lead"] != 25 || weights["ana"] != 1 {
		t.Errorf("team weights by sender %v, want ceo 0 (present), lead 25, ana 1", weights)
	}
	in, err = e.st.WindowInput(ctx, day, day.AddDate(0, 0, 1), network.Config{BroadcastMaxRecipients: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range in.Pairs {
		if p.Src == "lead" {
			t.Fatalf("BroadcastMaxRecipients 10: the 25-recipient mail still ties")
		}
	}
}
