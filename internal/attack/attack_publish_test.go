package attack

// The publication attacks: an analyst with read access to the published
// views (team_stats_k, team_network_k, anomalies_k, graph_metrics_k) tries
// to learn one person's figures by combining published cells. Each test
// runs the real analyzer on the real ClickHouse and attacks what it
// published. Where the defence is noise, a Monte Carlo over 2000 noise keys
// of the same cells (the same releases the analyzer makes: the test checks
// the published values equal them for the analyzer's key) states how far
// the attacker's best estimate misses, with what probability. The claims
// are the table in docs/privacy.md.

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

var pubKey = []byte("commpulse-attack-suite-noise-key-0123456789")

// pubEnv is a migrated database with messages and an analyzer pass over them.
type pubEnv struct {
	t  *testing.T
	st *store.Store
	db string
}

func pubSetup(t *testing.T, msgs []store.Message, now time.Time) *pubEnv {
	t.Helper()
	return pubSetupWith(t, msgs, now, nil)
}

// pubSetupWith is pubSetup with the analyzer configuration changed by
// tune (when not nil) from analyze.Defaults().
func pubSetupWith(t *testing.T, msgs []store.Message, now time.Time, tune func(*analyze.Config)) *pubEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	st, _, db := storetest.Migrated(t)
	ctx := context.Background()
	if err := st.InsertMessages(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	cfg := analyze.Defaults()
	cfg.Privacy.Key = pubKey
	cfg.Now = func() time.Time { return now }
	if tune != nil {
		tune(&cfg)
	}
	a, err := analyze.New(cfg, st, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	return &pubEnv{t: t, st: st, db: db}
}

// floats runs a query returning one Float64 column (NULL as NaN).
func (e *pubEnv) floats(q string, args ...any) []float64 {
	e.t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(q, "{db}", e.db), args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []float64
	for rows.Next() {
		var v *float64
		if err := rows.Scan(&v); err != nil {
			e.t.Fatalf("%s: %v", q, err)
		}
		if v == nil {
			out = append(out, math.NaN())
		} else {
			out = append(out, *v)
		}
	}
	return out
}

func (e *pubEnv) count(q string, args ...any) int {
	e.t.Helper()
	var n uint64
	if err := e.st.Conn().QueryRow(context.Background(), strings.ReplaceAll(q, "{db}", e.db), args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return int(n)
}

// msg builds one scored message.
func msg(id int, at time.Time, sender, team string, rcpt []string, compound float32) store.Message {
	m := store.Message{EventID: fmt.Sprintf("ev%06d", id), OccurredAt: at, IngestedAt: at, Channel: "chat",
		Sender: sender, Team: team, Recipients: rcpt, Lang: "en", Status: "scored", Scored: true, Compound: compound}
	for range rcpt {
		m.RecipientTeams = append(m.RecipientTeams, team)
	}
	switch {
	case compound <= -0.05:
		m.Label = -1
	case compound >= 0.05:
		m.Label = 1
	}
	return m
}

// analyzerPublisher is the publisher the analyzer of pubSetup releases
// with: the model of its releases must reproduce what it published.
func analyzerPublisher(t *testing.T) *publish.Publisher {
	t.Helper()
	p := analyze.Defaults().Privacy
	p.Key = pubKey
	pub, err := publish.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// monteCarlo returns the share of 2000 noise keys for which f's
// estimation error is at least minErr.
func monteCarlo(t *testing.T, minErr float64, f func(pub *publish.Publisher) float64) float64 {
	t.Helper()
	const n = 2000
	miss := 0
	for i := range n {
		p := analyze.Defaults().Privacy
		p.Key = []byte(fmt.Sprintf("attack-monte-carlo-key-%08d-padding-padding", i))
		pub, err := publish.New(p)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(f(pub)) >= minErr {
			miss++
		}
	}
	return float64(miss) / n
}

var monday = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// Finding 1: a team-day minus its published hours gave the exact messages,
// mean compound and negative share of whoever wrote in the suppressed
// hours. Five members write 09:00-17:00; a sixth writes 6 negative messages
// alone at 21:00.
func TestAttackHourInsideDay(t *testing.T) {
	var msgs []store.Message
	id := 0
	members := []string{"p_a1", "p_a2", "p_a3", "p_a4", "p_a5"}
	for h := 9; h < 17; h++ {
		for i, p := range members {
			id++
			msgs = append(msgs, msg(id, monday.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Minute), p, "alpha",
				[]string{members[(i+1)%5]}, 0.4))
		}
	}
	for i := range 6 {
		id++
		msgs = append(msgs, msg(id, monday.Add(21*time.Hour+time.Duration(i)*time.Minute), "p_late", "alpha", []string{"p_a1"}, -0.8))
	}
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))

	// Hourly sentiment is never published: the sentiment half of the
	// attack has no cells to subtract.
	if n := e.count("SELECT count() FROM {db}.team_stats_k WHERE granularity = 'hour' AND (mean_compound IS NOT NULL OR negative_share IS NOT NULL)"); n != 0 {
		t.Fatalf("%d hour rows publish sentiment", n)
	}
	if n := e.count("SELECT count() FROM {db}.team_stats_k WHERE granularity = 'hour' AND window_start = ?", monday.Add(21*time.Hour)); n != 0 {
		t.Fatal("the 21:00 hour of one sender was published")
	}
	day := e.floats("SELECT messages FROM {db}.team_stats_k WHERE granularity = 'day'")
	hours := e.floats("SELECT messages FROM {db}.team_stats_k WHERE granularity = 'hour'")
	if len(day) != 1 || len(hours) != 8 {
		t.Fatalf("published %d day rows and %d hour rows, want 1 and 8", len(day), len(hours))
	}
	var sumHours float64
	for _, h := range hours {
		sumHours += h
	}
	estimate := day[0] - sumHours
	t.Logf("attacker's estimate of the hidden messages: %.1f (truth 6)", estimate)

	// The same releases under 2000 other keys: the published values equal
	// them for the analyzer's key, so the distribution is the attacker's.
	dayCell := publish.DayCell{Window: monday, Team: "alpha", Senders: 6, Messages: 46, AfterHours: 6, Scored: 46,
		SumCompound: 40*0.4 - 6*0.8, Negative: 6, Positive: 40}
	hourCell := func(h int) publish.HourCell {
		return publish.HourCell{Window: monday.Add(time.Duration(h) * time.Hour), Team: "alpha", Senders: 5, Messages: 5}
	}
	attack := func(pub *publish.Publisher) float64 {
		d, _ := pub.Day(dayCell)
		est := d.Messages
		for h := 9; h < 17; h++ {
			v, _ := pub.Hour(hourCell(h))
			est -= v
		}
		return est - 6
	}
	if got := attack(analyzerPublisher(t)) + 6; math.Abs(got-estimate) > 1e-6 {
		t.Fatalf("the model of the releases (%.3f) is not what the analyzer published (%.3f)", got, estimate)
	}
	p := monteCarlo(t, 5, attack)
	t.Logf("the estimate misses the hidden 6 messages by >= 5 with probability %.3f", p)
	if p < 0.9 {
		t.Errorf("hour-inside-day differencing: miss by >= 5 messages with probability %.3f, want >= 0.9", p)
	}
}

// Finding 2: k counted receivers. One sender and four receive-only
// members: nothing about the team is published.
func TestAttackReceiversDoNotCount(t *testing.T) {
	var msgs []store.Message
	rcpt := []string{"p_r1", "p_r2", "p_r3", "p_r4"}
	for i := range 40 {
		msgs = append(msgs, msg(i, monday.Add(10*time.Hour+time.Duration(i)*time.Minute), "p_s1", "solo", rcpt, -0.5))
	}
	// Receivers belong to the team too (they show up as its nodes).
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))
	for _, v := range []string{"team_stats_k", "team_network_k", "anomalies_k"} {
		if n := e.count("SELECT count() FROM {db}." + v + " WHERE team = 'solo'"); n != 0 {
			t.Errorf("%s publishes %d rows of a team with one sender", v, n)
		}
	}
	if n := e.count("SELECT count() FROM {db}.node_metrics WHERE team = 'solo'"); n == 0 {
		t.Fatal("premise: the team's people are in the network")
	}
}

// Finding 3: organisation totals minus the published teams gave the
// suppressed teams' volume. No published view holds a message total; the
// only organisation-wide count is the noisy number of people.
func TestAttackTotalsMinusTeams(t *testing.T) {
	var msgs []store.Message
	id := 0
	for team, size := range map[string]int{"big": 6, "hidden": 2} {
		for i := range size {
			for j := range 10 {
				id++
				p := fmt.Sprintf("p_%s%d", team, i)
				msgs = append(msgs, msg(id, monday.Add(10*time.Hour+time.Duration(j)*time.Minute), p, team,
					[]string{fmt.Sprintf("p_%s%d", team, (i+1)%size)}, 0.2))
			}
		}
	}
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))
	for view, cols := range map[string][]string{
		"graph_metrics_k": {"edges", "ties", "messages"},
		"team_stats_k":    {"total_messages"},
	} {
		for _, c := range cols {
			if n := e.count("SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?", e.db, view, c); n != 0 {
				t.Errorf("%s publishes an organisation total %s", view, c)
			}
		}
	}
	if n := e.count("SELECT count() FROM system.columns WHERE database = ? AND table = 'analyzer_windows' AND name = 'messages'", e.db); n != 0 {
		t.Error("analyzer_windows holds message totals")
	}
	nodes := e.floats("SELECT nodes FROM {db}.graph_metrics_k WHERE window_days = 1")
	members := e.floats("SELECT toFloat64(members_active) FROM {db}.team_network_k WHERE window_days = 1")
	if len(nodes) != 1 || len(members) != 1 {
		t.Fatalf("published %d graph rows and %d team rows, want 1 and 1", len(nodes), len(members))
	}
	t.Logf("attacker's estimate of the hidden team's people: %.0f (truth 2)", nodes[0]-members[0])
	attack := func(pub *publish.Publisher) float64 {
		n, _ := pub.Nodes(monday, 1, 0, 8)
		r, _ := pub.Net(publish.NetCell{Window: monday, Days: 1, Team: "big", Senders: 6, Internal: 60})
		return n - r.Senders - 2
	}
	p := monteCarlo(t, 1, attack)
	t.Logf("the estimate misses the hidden team's 2 people by >= 1 with probability %.3f", p)
	if p < 0.75 {
		t.Errorf("totals minus teams: miss by >= 1 person with probability %.3f, want >= 0.75", p)
	}
}

// Finding 4: isolated_members = 1 was published exactly, as a warning,
// in teams of 5. No published count of people is below three.
func TestAttackSmallCountsOfPeople(t *testing.T) {
	var msgs []store.Message
	id := 0
	members := []string{"p_b1", "p_b2", "p_b3", "p_b4", "p_b5", "p_b6"}
	for d := range 21 {
		day := monday.AddDate(0, 0, d)
		for i, p := range members {
			for j := range 6 {
				to := members[(i+1+j%2)%6]
				if p == "p_b6" && d >= 18 {
					to = "p_b1" // from day 18 nobody answers p_b6 and p_b6 answers nobody's
				}
				if to == "p_b6" && d >= 18 {
					to = members[(i+2)%5]
				}
				id++
				msgs = append(msgs, msg(id, day.Add(10*time.Hour+time.Duration(i*10+j)*time.Minute), p, "beta", []string{to}, 0.1))
			}
		}
	}
	e := pubSetup(t, msgs, monday.AddDate(0, 0, 21).Add(2*time.Hour))
	if n := e.count("SELECT count() FROM {db}.team_network_k WHERE isolated_members < 3"); n != 0 {
		t.Errorf("team_network_k publishes %d counts of isolated members below three", n)
	}
	if n := e.count("SELECT count() FROM {db}.anomalies_k WHERE metric = 'isolated_members' AND value < 3"); n != 0 {
		t.Errorf("anomalies_k publishes %d isolation counts below three", n)
	}
	if n := e.count("SELECT count() FROM {db}.node_metrics WHERE person = 'p_b6' AND isolated AND window_days = 1"); n == 0 {
		t.Fatal("premise: p_b6 is isolated on some day")
	}
	// A published isolation alert for one isolated member is rare and, when
	// it happens, reads "three or more": it never says "one".
	p := monteCarlo(t, 0.5, func(pub *publish.Publisher) float64 {
		if v := pub.NewlyIsolated(monday, 0, "beta", 1); v != nil {
			return 0 // published: the attacker learns something
		}
		return 1
	})
	t.Logf("one newly isolated member is not reported with probability %.3f", p)
	if p < 0.95 {
		t.Errorf("one isolated member reported with probability %.3f, want <= 0.05", 1-p)
	}
}

// A team at exactly k: four colluding members know their own messages and
// subtract them from the published day to get the fifth's mean compound.
// The fifth wrote 10 messages at -0.6.
func TestAttackTeamAtExactlyK(t *testing.T) {
	colluders := []string{"p_c1", "p_c2", "p_c3", "p_c4"}
	var msgs []store.Message
	id := 0
	for i, p := range colluders {
		for j := range 10 {
			id++
			msgs = append(msgs, msg(id, monday.Add(10*time.Hour+time.Duration(i*10+j)*time.Minute), p, "gamma", []string{"p_c5"}, 0.5))
		}
	}
	for j := range 10 {
		id++
		msgs = append(msgs, msg(id, monday.Add(15*time.Hour+time.Duration(j)*time.Minute), "p_c5", "gamma", []string{"p_c1"}, -0.6))
	}
	e := pubSetup(t, msgs, monday.Add(26*time.Hour))
	mean := e.floats("SELECT mean_compound FROM {db}.team_stats_k WHERE granularity = 'day'")
	scored := e.floats("SELECT scored_messages FROM {db}.team_stats_k WHERE granularity = 'day'")
	if len(mean) != 1 {
		t.Fatalf("%d day rows, want 1", len(mean))
	}
	// Best estimate: the target's sum is the published mean times the
	// published scored, less the colluders' 40 x 0.5.
	estimate := func(mean, scored float64) float64 { return (mean*scored - 20) / 10 }
	t.Logf("colluders' estimate of the target's mean compound: %.3f (truth -0.6)", estimate(mean[0], scored[0]))
	cell := publish.DayCell{Window: monday, Team: "gamma", Senders: 5, Messages: 50, AfterHours: 0, Scored: 50,
		SumCompound: 20 - 6, Negative: 10, Positive: 40}
	attack := func(pub *publish.Publisher) float64 {
		r, _ := pub.Day(cell)
		return estimate(r.MeanCompound, r.Scored) + 0.6
	}
	if got := attack(analyzerPublisher(t)) - 0.6; math.Abs(got-estimate(mean[0], scored[0])) > 1e-6 {
		t.Fatalf("the model of the release (%.4f) is not what the analyzer published (%.4f)", got, estimate(mean[0], scored[0]))
	}
	// At ε per figure the colluders learn a day mean of a target who wrote
	// at least CapSentiment messages to within Laplace noise of scale
	// 1/ε_sentiment (0.17 at the default 6): docs/privacy.md.
	p := monteCarlo(t, 0.1, attack)
	t.Logf("the colluders' estimate misses the target's mean by >= 0.1 with probability %.3f (>= 0.2: %.3f)", p, monteCarlo(t, 0.2, attack))
	if p < 0.5 {
		t.Errorf("team at exactly k: miss by >= 0.1 with probability %.3f, want >= 0.5", p)
	}
}

// A member leaving between consecutive windows: the same five write the
// same on Monday and Tuesday, a sixth only on Monday; Monday minus
// Tuesday is the sixth's contribution plus noise.
func TestAttackConsecutiveWindows(t *testing.T) {
	members := []string{"p_d1", "p_d2", "p_d3", "p_d4", "p_d5"}
	var msgs []store.Message
	id := 0
	for d := range 2 {
		day := monday.AddDate(0, 0, d)
		for i, p := range members {
			for j := range 8 {
				id++
				msgs = append(msgs, msg(id, day.Add(10*time.Hour+time.Duration(i*8+j)*time.Minute), p, "delta", []string{members[(i+1)%5]}, 0.3))
			}
		}
	}
	for j := range 12 {
		id++
		msgs = append(msgs, msg(id, monday.Add(16*time.Hour+time.Duration(j)*time.Minute), "p_leaver", "delta", []string{"p_d1"}, -0.9))
	}
	e := pubSetup(t, msgs, monday.Add(50*time.Hour))
	negs := e.floats("SELECT negative_share * scored_messages FROM {db}.team_stats_k WHERE granularity = 'day' ORDER BY window_start")
	if len(negs) != 2 {
		t.Fatalf("%d day rows, want 2", len(negs))
	}
	t.Logf("attacker's estimate of the leaver's negative messages: %.1f (truth 12)", negs[0]-negs[1])
	c1 := publish.DayCell{Window: monday, Team: "delta", Senders: 6, Messages: 52, Scored: 52, SumCompound: 12 - 10.8, Negative: 12, Positive: 40}
	c2 := publish.DayCell{Window: monday.AddDate(0, 0, 1), Team: "delta", Senders: 5, Messages: 40, Scored: 40, SumCompound: 12, Positive: 40}
	attack := func(pub *publish.Publisher) float64 {
		a, _ := pub.Day(c1)
		b, _ := pub.Day(c2)
		return a.NegativeShare*a.Scored - b.NegativeShare*b.Scored - 12
	}
	p := monteCarlo(t, 1.4, attack)
	t.Logf("the estimate misses the leaver's 12 negative messages by >= 1.4 with probability %.3f (>= 3: %.3f)", p, monteCarlo(t, 3, attack))
	if p < 0.5 {
		t.Errorf("consecutive windows: miss by >= 1.4 with probability %.3f, want >= 0.5", p)
	}
}

// rerun re-releases every window from since with a new analyzer (as
// `commpulse analyze --since` does) and waits for its deletes.
func (e *pubEnv) rerun(since, now time.Time) {
	e.t.Helper()
	cfg := analyze.Defaults()
	cfg.Privacy.Key = pubKey
	cfg.Now = func() time.Time { return now }
	cfg.Since = since
	a, err := analyze.New(cfg, e.st, nil, prometheus.NewRegistry())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := a.Step(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); e.count("SELECT count() FROM system.mutations WHERE database = ? AND NOT is_done", e.db) > 0; {
		if time.Now().After(deadline) {
			e.t.Fatal("delete mutations not done after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// published reads every published team_stats figure, keyed by row and column.
func (e *pubEnv) published() map[string]float64 {
	e.t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT granularity, toString(window_start), team,
		messages, ifNull(scored_messages, -1), ifNull(mean_compound, -9), ifNull(negative_share, -9), ifNull(positive_share, -9),
		ifNull(after_hours_share, -9), epsilon FROM {db}.team_stats_k`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var g, w, team string
		var v [7]float64
		if err := rows.Scan(&g, &w, &team, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
			e.t.Fatal(err)
		}
		for i, name := range []string{"messages", "scored", "mean", "negative", "positive", "after_hours", "epsilon"} {
			if v[i] != -9 && v[i] != -1 {
				out[g+"|"+w+"|"+team+"|"+name] = v[i]
			}
		}
	}
	return out
}

// Re-running windows (--since, after late data or an erasure) re-releases
// them. Each re-release is a new generation with fresh noise, so averaging
// the releases does reduce the noise: that is a privacy cost, and it is
// counted. team_stats.epsilon holds the loss of all the window's releases
// so far, which an analyst sees next to the figure.
func TestAttackRerunsAreCounted(t *testing.T) {
	members := []string{"p_e1", "p_e2", "p_e3", "p_e4", "p_e5", "p_e6"}
	var msgs []store.Message
	id := 0
	for i, p := range members {
		for j := range 9 {
			id++
			msgs = append(msgs, msg(id, monday.Add(10*time.Hour+time.Duration(i*9+j)*time.Minute), p, "eps", []string{members[(i+1)%6]}, float32(j%3)*0.3-0.3))
		}
	}
	now := monday.Add(26 * time.Hour)
	e := pubSetup(t, msgs, now)
	first := e.published()
	pol := analyze.Defaults().Privacy
	dayEps := pol.DayEpsilon()
	if first["day|"+monday.Format(time.DateTime)+"|eps|epsilon"] != dayEps {
		t.Fatalf("first release: epsilon %v, want %v (%v)", first["day|"+monday.Format(time.DateTime)+"|eps|epsilon"], dayEps, first)
	}
	for n := 2; n <= 3; n++ {
		e.rerun(monday, now)
		got := e.published()
		key := "day|" + monday.Format(time.DateTime) + "|eps|"
		if got[key+"epsilon"] != float64(n)*dayEps {
			t.Errorf("release %d: the day row records epsilon %v, want %v", n, got[key+"epsilon"], float64(n)*dayEps)
		}
		if got[key+"mean"] == first[key+"mean"] && got[key+"messages"] == first[key+"messages"] {
			t.Errorf("release %d republished the first release's figures: a re-run must draw fresh noise", n)
		}
	}
}

// Finding: after an erasure, a re-run (the documented way to clear the
// person's contribution from computed windows) republished bit for bit
// every figure the person had no part in, since the noise was a function
// of the exact value alone: comparing the two releases told exactly in
// which hours the erased person wrote and whether they sent any negative
// message. Every re-release now draws fresh noise, so no figure repeats.
func TestAttackErasureRerunEquality(t *testing.T) {
	members := []string{"p_f1", "p_f2", "p_f3", "p_f4", "p_f5"}
	var msgs []store.Message
	id := 0
	for h := 9; h < 17; h++ {
		for i, p := range members {
			id++
			msgs = append(msgs, msg(id, monday.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Minute), p, "zeta",
				[]string{members[(i+1)%5]}, 0.3))
		}
	}
	for _, h := range []int{9, 15} {
		for j := range 3 {
			id++
			msgs = append(msgs, msg(id, monday.Add(time.Duration(h)*time.Hour+time.Duration(30+j)*time.Minute), "p_fz", "zeta", []string{"p_f1"}, 0.6))
		}
	}
	now := monday.Add(26 * time.Hour)
	e := pubSetup(t, msgs, now)
	before := e.published()
	if err := e.st.ErasePersons(context.Background(), []string{"p_fz"}); err != nil {
		t.Fatal(err)
	}
	e.rerun(monday, now)
	after := e.published()
	same := 0
	var which []string
	for k, v := range after {
		if strings.HasSuffix(k, "|epsilon") {
			continue
		}
		// A share or mean clamped to its bound (0, 1, -1) reads the same
		// whatever the noise: clamping is post-processing, not a repeat.
		if (strings.HasSuffix(k, "|positive") || strings.HasSuffix(k, "|negative") || strings.HasSuffix(k, "|after_hours") ||
			strings.HasSuffix(k, "|mean")) && (v == 0 || v == 1 || v == -1) {
			continue
		}
		if b, ok := before[k]; ok && b == v {
			same++
			which = append(which, k)
		}
	}
	if len(after) < 10 {
		t.Fatalf("only %d published figures after the re-run: the test would prove nothing", len(after))
	}
	if same > 0 {
		t.Errorf("%d figures were republished bit for bit after the erasure (each tells the person had no part in it): %v", same, which)
	}
}

// The explanation of an anomaly is the one free-text output: could it carry
// more than its row? The attacker reads anomalies_k and recomputes every
// explanation from the row's published figures and the public analyzer
// configuration: the texts must be identical (so they disclose nothing the
// row does not), name the team, and hold no person id. The org: one team
// of 6 over 5 weeks, whose sentiment turns sharply negative on two days.
func TestAttackExplanationsAddNothing(t *testing.T) {
	members := []string{"p_e1", "p_e2", "p_e3", "p_e4", "p_e5", "p_e6"}
	start := monday.AddDate(0, 0, -21)
	var msgs []store.Message
	id := 0
	for d := range 35 {
		day := start.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for i, p := range members {
			for j := range 8 {
				c := float32(0.3 + 0.05*float32((i+j+d)%3))
				if d >= 31 && d <= 32 {
					c = -0.7
				}
				id++
				msgs = append(msgs, msg(id, day.Add(9*time.Hour+time.Duration(i*40+j*5)*time.Minute), p, "epsilon",
					[]string{members[(i+1+j%3)%6]}, c))
			}
		}
	}
	e := pubSetup(t, msgs, start.AddDate(0, 0, 35).Add(2*time.Hour))
	rows, err := e.st.Conn().Query(context.Background(), `SELECT window_start, granularity, team, metric, value, expected, low, high,
		score, severity, direction, detector, explanation, onset FROM anomalies_k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			a      analyze.Anomaly
			g, sev string
		)
		if err := rows.Scan(&a.WindowStart, &g, &a.Team, &a.Metric, &a.Value, &a.Expected, &a.Low, &a.High,
			&a.Score, &sev, &a.Direction, &a.Detector, &a.Explanation, &a.Onset); err != nil {
			t.Fatal(err)
		}
		a.Granularity, a.Severity = analyze.Granularity(g), analyze.Severity(sev)
		if n++; n == 1 {
			t.Logf("for example: %s", a.Explanation)
		}
		if again := analyze.Explain(analyze.Defaults(), a); again != a.Explanation {
			t.Errorf("the explanation holds more than its row:\nstored     %q\nrecomputed %q", a.Explanation, again)
		}
		if !strings.Contains(a.Explanation, a.Team) {
			t.Errorf("explanation %q does not name its team", a.Explanation)
		}
		for _, p := range members {
			if strings.Contains(a.Explanation, p) {
				t.Errorf("explanation %q names a person", a.Explanation)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("premise: the planted drop raised no published anomaly")
	}
	t.Logf("%d anomalies, every explanation recomputed from its row", n)
}
