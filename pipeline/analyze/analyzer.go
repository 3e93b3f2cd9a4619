package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/internal/backoff"
	"commpulse/network"
	"commpulse/pipeline/metrics"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// Analyzer processes closed windows. Step is the unit of work; Run repeats
// it every tick. An Analyzer is not safe for concurrent Step calls (Run
// makes them one at a time); Ready may be called from any goroutine.
type Analyzer struct {
	cfg    Config
	db     Store
	pub    *publish.Publisher
	alerts Alerter
	m      *metrics.Analyze
	log    *slog.Logger
	own    store.AnalyzeShard // the teams this analyzer owns (shard.go)
	// cfgDigest is the configuration part of a release's input digest
	// (generations.go).
	cfgDigest string

	// Per granularity: the next window to process (zero: not known, read it
	// from ClickHouse and rebuild the detectors) and the detectors.
	next   map[Granularity]time.Time
	banks  map[Granularity]*bank
	since  time.Time                 // consumed by the first Step that succeeds
	resume map[Granularity]time.Time // where a failed re-run from since goes on

	mu      sync.Mutex
	lastErr error
	started bool

	// wait sleeps between passes (backoff.Sleep; tests record the waits).
	wait func(context.Context, time.Duration) bool
}

// New returns an Analyzer reading and writing through st (a *store.Store
// in production). alerts
// may be nil (anomalies are then stored and counted, not published).
// Metrics are registered on reg.
func New(cfg Config, st Store, alerts Alerter, reg prometheus.Registerer) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pub, err := publish.New(cfg.Privacy)
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	own := store.AnalyzeShard{Shard: cfg.Shard, Shards: cfg.Shards}
	if got := st.AnalyzeShard(); got != own {
		return nil, fmt.Errorf("analyze: shard %d of %d, but the store is scoped to shard %d of %d (store.ForAnalyzeShard)",
			own.Shard, own.Shards, got.Shard, got.Shards)
	}
	return &Analyzer{
		cfg: cfg, db: st, pub: pub, alerts: alerts, own: own, cfgDigest: configDigest(cfg),
		m: metrics.NewAnalyze(reg), log: cfg.Logger,
		next: map[Granularity]time.Time{}, banks: map[Granularity]*bank{}, resume: map[Granularity]time.Time{},
		since: cfg.Since, wait: backoff.Sleep,
	}, nil
}

// Ready is nil once a Step has reached ClickHouse and the last one did not
// fail.
func (a *Analyzer) Ready() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started {
		return errors.New("analyzer has not completed a pass yet")
	}
	return a.lastErr
}

func (a *Analyzer) setResult(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.started, a.lastErr = true, err
	if err == nil {
		a.m.Ready.Set(1)
	} else {
		a.m.Ready.Set(0)
	}
}

// Run calls Step now and then Config.Tick after each pass until ctx ends.
// A failed Step is logged and counted, and the next pass retries from the
// first window not done after a wait that doubles per consecutive failure,
// from Tick up to Config.RetryMax (see there); Run only returns (nil) when
// ctx ends.
func (a *Analyzer) Run(ctx context.Context) error {
	retry := backoff.New(a.cfg.Tick, max(a.cfg.Tick, a.cfg.RetryMax))
	failures := 0
	for {
		wait := a.cfg.Tick
		if _, err := a.Step(ctx); err != nil && ctx.Err() == nil {
			wait = max(a.cfg.Tick, retry.Delay(failures))
			failures++
			a.log.Warn("analyze pass failed; retrying", "err", err, "consecutive_failures", failures, "retry_in", wait.Round(time.Second))
		} else {
			failures = 0
		}
		if !a.wait(ctx, wait) {
			return nil
		}
	}
}

// Step processes every window that is closed at Config.Now and not yet
// done, hours first, then days, and returns how many it processed. On error
// the windows done so far stay done; the detectors of the failed
// granularity are dropped and rebuilt from ClickHouse on the next Step.
func (a *Analyzer) Step(ctx context.Context) (int, error) {
	// Another number of shards wrote progress recently: old shards are
	// still running (generations.go). Nothing is released until they stop.
	if err := a.checkShardCounts(ctx, a.cfg.Now()); err != nil {
		a.setResult(err)
		return 0, err
	}
	n := 0
	var err error
	for _, g := range []Granularity{Hour, Day} {
		var k int
		k, err = a.stepGranularity(ctx, g)
		n += k
		if err != nil {
			// A re-run (--since) resumes at the window that failed, not at
			// Since again: the windows it released already would be
			// released once more, at a new generation, on every retry.
			if w, ok := a.next[g]; ok && !a.since.IsZero() {
				a.resume[g] = w
			}
			delete(a.next, g)
			delete(a.banks, g)
			break
		}
	}
	if err == nil {
		a.since = time.Time{}
		clear(a.resume)
	}
	a.setResult(err)
	return n, err
}

func (a *Analyzer) fail(stage string, err error) error {
	a.m.Errors.WithLabelValues(stage).Inc()
	return err
}

// start decides the first window of g to process and rebuilds its
// detectors from the history before it. ok is false when there is nothing
// to analyze yet (no messages).
func (a *Analyzer) start(ctx context.Context, g Granularity) (time.Time, bool, error) {
	var first time.Time
	switch {
	case !a.since.IsZero():
		first = g.Floor(a.since)
		if w, ok := a.resume[g]; ok {
			first = w
		}
	default:
		last, ok, err := a.db.LastDone(ctx, g)
		if err != nil {
			return time.Time{}, false, a.fail("read", err)
		}
		// After a change of the number of shards, a shard with no progress
		// of its own (or only older than it) resumes where the previous
		// count stopped on every one of its shards: the same window on
		// every new shard (generations.go).
		point, prev, resharded, err := a.reshardPoint(ctx, g)
		if err != nil {
			return time.Time{}, false, a.fail("read", err)
		}
		if resharded && (!ok || last.Before(point)) {
			a.log.Info("resuming after a change of the number of shards", "granularity", g, "shards", a.own.Shards,
				"previous_shards", prev, "after", point)
			first = point.Add(g.Step())
			break
		}
		if ok {
			first = last.Add(g.Step())
			break
		}
		earliest, ok, err := a.db.EarliestMessage(ctx)
		if err != nil {
			return time.Time{}, false, a.fail("read", err)
		}
		if !ok {
			return time.Time{}, false, nil
		}
		first = g.Floor(earliest)
	}
	b, err := a.rebuild(ctx, g, first)
	if err != nil {
		return time.Time{}, false, a.fail("read", err)
	}
	a.banks[g] = b
	a.next[g] = first
	return first, true, nil
}

// rebuild replays the stored k-safe history of g before 'before' into fresh
// detectors: the state a long-running analyzer would have.
func (a *Analyzer) rebuild(ctx context.Context, g Granularity, before time.Time) (*bank, error) {
	b := newBank(g, a.cfg.HourlyDetector, nil, a.pub.HourNoise())
	if g == Day {
		b = newBank(g, a.cfg.DailyDetector, &a.cfg.DailyDrift, a.pub.DayNoise())
	}
	minScored := a.minScored(g)
	hist, err := a.db.StatsHistory(ctx, g, before)
	if err != nil {
		return nil, err
	}
	for _, s := range hist {
		if a.own.Owns(s.Team) {
			b.observeStats(s, minScored)
		}
	}
	points := len(hist)
	if g == Day {
		nh, err := a.db.NetworkHistory(ctx, before)
		if err != nil {
			return nil, err
		}
		for _, p := range nh {
			if !a.own.Owns(p.Team) {
				continue
			}
			b.observeExternal(p.Team, p.WindowStart, p.External, p.Weight, a.externalTrials(p.Weight), a.cfg.MinWeightDay)
		}
		points += len(nh)
	}
	a.log.Info("detectors rebuilt from history", "granularity", g, "before", before, "points", points, "series", len(b.dets))
	return b, nil
}

func (a *Analyzer) minScored(g Granularity) int {
	if g == Day {
		return a.cfg.MinScoredDay
	}
	return a.cfg.MinScoredHour
}

func (a *Analyzer) stepGranularity(ctx context.Context, g Granularity) (int, error) {
	next, ok := a.next[g]
	if !ok {
		var err error
		if next, ok, err = a.start(ctx, g); err != nil || !ok {
			return 0, err
		}
	}
	lateness := a.cfg.LatenessHour
	if g == Day {
		lateness = a.cfg.LatenessDay
	}
	pending := Pending(g, lateness, next, a.cfg.Now())
	done := 0
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		chunk := pending[:1]
		if g == Hour {
			chunk = pending[:min(len(pending), a.cfg.HourChunk)]
		}
		pending = pending[len(chunk):]
		t0 := time.Now()
		var err error
		if g == Hour {
			err = a.processHours(ctx, chunk)
		} else {
			err = a.processDay(ctx, chunk[0])
		}
		if err != nil {
			return done, err
		}
		per := time.Since(t0).Seconds() / float64(len(chunk))
		for range chunk {
			a.m.WindowSeconds.WithLabelValues(string(g)).Observe(per)
		}
		a.m.Windows.WithLabelValues(string(g)).Add(float64(len(chunk)))
		last := chunk[len(chunk)-1]
		a.m.LastClosedWindow.WithLabelValues(string(g)).Set(float64(last.Unix()))
		a.next[g] = last.Add(g.Step())
		done += len(chunk)
	}
	return done, nil
}

// releaseDays passes the team-day cells through the publication layer:
// the released rows, and per window how many teams it suppressed (fewer
// than k senders).
func (a *Analyzer) releaseDays(cells []publish.DayCell, gens map[time.Time]uint32) (kept []TeamStats, suppressed map[time.Time]int) {
	suppressed = map[time.Time]int{}
	eps := a.pub.Policy().DayEpsilon()
	for _, c := range cells {
		c.Gen = gens[c.Window.UTC()]
		r, ok := a.pub.Day(c)
		if !ok {
			suppressed[c.Window]++
			continue
		}
		kept = append(kept, TeamStats{
			WindowStart: r.Window, Granularity: Day, Team: r.Team, Messages: r.Messages,
			ActiveMembers: uint32(r.Senders), ScoredMessages: r.Scored, MeanCompound: r.MeanCompound,
			NegativeShare: r.NegativeShare, PositiveShare: r.PositiveShare, AfterHoursShare: r.AfterHoursShare,
			Epsilon: eps * float64(c.Gen+1),
		})
	}
	return kept, suppressed
}

// releaseThemes passes the same team-day cells through the theme rule:
// a team-day releases themes only when Day releases its row (the same
// cell, the same k gate), and epsilon records the loss of the team-day's
// theme releases so far.
func (a *Analyzer) releaseThemes(cells []publish.DayCell, gens map[time.Time]uint32) []store.TeamTheme {
	eps := a.pub.Policy().ThemesEpsilon()
	var out []store.TeamTheme
	for _, c := range cells {
		c.Gen = gens[c.Window.UTC()]
		for _, r := range a.pub.Themes(c) {
			out = append(out, store.TeamTheme{WindowStart: r.Window, Team: r.Team, Theme: r.Theme, Messages: r.Messages,
				Epsilon: eps * float64(c.Gen+1)})
		}
	}
	return out
}

// releaseHours is releaseDays for team-hours: the message volume only.
func (a *Analyzer) releaseHours(cells []publish.HourCell, gens map[time.Time]uint32) (kept []TeamStats, suppressed map[time.Time]int) {
	suppressed = map[time.Time]int{}
	nan := math.NaN()
	eps := a.pub.Policy().Epsilon.HourMessages
	for _, c := range cells {
		c.Gen = gens[c.Window.UTC()]
		v, ok := a.pub.Hour(c)
		if !ok {
			suppressed[c.Window]++
			continue
		}
		kept = append(kept, TeamStats{WindowStart: c.Window, Granularity: Hour, Team: c.Team, Messages: v,
			MeanCompound: nan, NegativeShare: nan, PositiveShare: nan, AfterHoursShare: nan, Epsilon: eps * float64(c.Gen+1)})
	}
	return kept, suppressed
}

// processHours analyzes the hour windows ws (consecutive) in one pass.
func (a *Analyzer) processHours(ctx context.Context, ws []time.Time) error {
	t0 := time.Now()
	from, to := ws[0], ws[len(ws)-1].Add(time.Hour)
	now := a.cfg.Now()
	cells, err := a.db.HourCells(ctx, from, to, a.cfg.Privacy.CapVolume)
	if err != nil {
		return a.fail("read", err)
	}
	digests := a.hourDigests(ws, cells)
	cells = owned(a.own, cells, func(c publish.HourCell) string { return c.Team })
	gens, err := a.db.Generations(ctx, Hour, from, to)
	if err != nil {
		return a.fail("read", err)
	}
	if err := a.reuseBegun(ctx, Hour, from, to, gens, digests); err != nil {
		return a.fail("read", err)
	}
	if err := a.db.MarkBegun(ctx, withInputs(begun(Hour, ws, gens), digests), now); err != nil {
		return a.fail("write", err)
	}
	kept, suppressed := a.releaseHours(cells, gens)
	if err := a.db.WriteTeamStats(ctx, Hour, from, to, kept, a.cfg.Privacy.K, now); err != nil {
		return a.fail("write", err)
	}
	found := a.detectHours(a.banks[Hour], kept)
	fresh, err := a.publish(ctx, Hour, from, to, found, nil, now)
	if err != nil {
		return err
	}
	marks := withInputs(a.marks(Hour, ws, gens, kept, suppressed, found), digests)
	if err := a.db.MarkDone(ctx, marks, now); err != nil {
		return a.fail("write", err)
	}
	a.log.Debug("hour windows analyzed", "from", from, "to", to, "team_rows", len(kept), "anomalies", len(found), "alerted", fresh,
		"took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// processDay analyzes one day window: team stats and themes, the day and
// rolling networks, and the day's anomalies.
func (a *Analyzer) processDay(ctx context.Context, day time.Time) error {
	t0 := time.Now()
	to := day.Add(24 * time.Hour)
	now := a.cfg.Now()
	k := a.cfg.Privacy.K
	cells, err := a.db.DayCells(ctx, day, to, a.cfg.Privacy.CapVolume, a.cfg.Privacy.CapSentiment, a.cfg.Privacy.CapThemes,
		a.cfg.WorkStartHour, a.cfg.WorkEndHour)
	if err != nil {
		return a.fail("read", err)
	}
	digest, err := a.dayDigest(ctx, day, cells)
	if err != nil {
		return a.fail("read", err)
	}
	digests := map[time.Time]string{day.UTC(): digest}
	// Every sender's bound is computed over all teams of the day (the
	// query reads them all); a shard then keeps its own teams' cells.
	cells = owned(a.own, cells, func(c publish.DayCell) string { return c.Team })
	gens, err := a.db.Generations(ctx, Day, day, to)
	if err != nil {
		return a.fail("read", err)
	}
	if err := a.reuseBegun(ctx, Day, day, to, gens, digests); err != nil {
		return a.fail("read", err)
	}
	gen := gens[day]
	if err := a.db.MarkBegun(ctx, withInputs(begun(Day, []time.Time{day}, gens), digests), now); err != nil {
		return a.fail("write", err)
	}
	kept, suppressed := a.releaseDays(cells, gens)
	if err := a.db.WriteTeamStats(ctx, Day, day, to, kept, k, now); err != nil {
		return a.fail("write", err)
	}
	themes := a.releaseThemes(cells, gens)
	if err := a.db.WriteTeamThemes(ctx, day, to, themes, k, now); err != nil {
		return a.fail("write", err)
	}
	var (
		net     netWindow
		allKept = kept // every team's released rows of the day (belonging scores against them all)
	)
	if a.own.Sharded() {
		net, allKept, err = a.shardedDay(ctx, day, gen, kept, now)
	} else {
		net, err = a.dayNetworks(ctx, day, gen, now)
	}
	if err != nil {
		return err
	}

	bel, err := a.belonging(ctx, day, allKept, net.teams, now)
	if err != nil {
		return err
	}
	warnings, continuing, err := a.forecast(ctx, day, kept, bel, now)
	if err != nil {
		return err
	}

	ownNet := owned(a.own, net.teams, func(t publish.NetRelease) string { return t.Team })
	found := a.detectDay(a.banks[Day], day, kept, ownNet)
	kSafe := map[string]bool{}
	for _, t := range ownNet {
		kSafe[t.Team] = true
	}
	hist, err := a.personHistories(ctx, day, net.res.Nodes)
	if err != nil {
		return a.fail("read", err)
	}
	iso := a.cfg.Isolation.anomalies(day, gen, hist, kSafe, a.pub)
	sort.Slice(iso, func(i, j int) bool { return iso[i].Team < iso[j].Team })
	found = append(found, iso...)
	drifting, err := a.continuingDrifts(ctx, day, found)
	if err != nil {
		return err
	}
	found = append(found, warnings...)
	if continuing == nil {
		continuing = map[string]bool{}
	}
	maps.Copy(continuing, drifting)

	fresh, err := a.publish(ctx, Day, day, to, found, continuing, now)
	if err != nil {
		return err
	}
	if err := a.db.MarkDone(ctx, withInputs(a.marks(Day, []time.Time{day}, gens, kept, suppressed, found), digests), now); err != nil {
		return a.fail("write", err)
	}
	a.log.Info("day window analyzed", "day", day.Format(time.DateOnly), "teams", len(kept), "theme_rows", len(themes),
		"suppressed", suppressed[day], "network_teams", len(net.teams), "nodes", net.res.Graph.Nodes,
		"edges", net.res.Graph.Edges, "anomalies", len(found), "alerted", fresh, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// dayNetworks computes, releases and writes the organisation's networks
// that close with the day window day: the day's and, when the day closes
// a week, the rolling window's. It returns the day's.
func (a *Analyzer) dayNetworks(ctx context.Context, day time.Time, gen uint32, now time.Time) (netWindow, error) {
	to := day.Add(24 * time.Hour)
	net, err := a.network(ctx, day, to, 1, gen, now)
	if err != nil {
		return netWindow{}, err
	}
	// The rolling window is released once a week (on the day that closes a
	// Sunday), so one person-day falls into RollingReleases of them rather
	// than 28.
	if r := a.cfg.RollingDays; r > 0 && to.Weekday() == time.Monday {
		if _, err := a.network(ctx, to.AddDate(0, 0, -r), to, r, gen, now); err != nil {
			return netWindow{}, err
		}
	}
	return net, nil
}

// detectHours runs the hourly detectors of b over released hour rows
// (ordered by window, then team) and returns their anomalies.
func (a *Analyzer) detectHours(b *bank, kept []TeamStats) []Anomaly {
	var found []Anomaly
	for _, s := range kept {
		found = append(found, b.observeStats(s, a.cfg.MinScoredHour)...)
	}
	return found
}

// detectDay runs the daily detectors of b over one day's released figures:
// the team_stats rows (ordered by team) and the day network's team
// releases. It sees released figures only; the isolation rule, which
// reads person-level history, is not part of it.
func (a *Analyzer) detectDay(b *bank, day time.Time, kept []TeamStats, teams []publish.NetRelease) []Anomaly {
	var found []Anomaly
	for _, s := range kept {
		found = append(found, b.observeStats(s, a.cfg.MinScoredDay)...)
	}
	for _, t := range teams {
		if an, ok := b.observeExternal(t.Team, day, t.ExternalShare, t.Weight, a.externalTrials(t.Weight), a.cfg.MinWeightDay); ok {
			found = append(found, an)
		}
	}
	return found
}

// externalTrials is the effective number of trials of a published
// external share: the binomial n whose sampling variance equals the
// sampling variance of weight trials plus the variance the noise on the
// two weights adds to their ratio (delta method). The drift detector and
// the share gate weigh a day by it, so a noisy day moves them as little
// as it should.
func (a *Analyzer) externalTrials(weight float64) func(ref float64) float64 {
	sd := a.pub.NetNoise()
	return func(share float64) float64 {
		if math.IsNaN(share) || weight < 1 {
			return 0
		}
		return effectiveTrials(share, weight, sd*sd*((1-share)*(1-share)+share*share))
	}
}

// effectiveTrials returns n_eff with p(1-p)/n_eff = p(1-p)/n + noiseVarNum/n²,
// where noiseVarNum is the variance the noise adds to the numerator of the
// ratio (in units of trials squared).
func effectiveTrials(p, n, noiseVarNum float64) float64 {
	if n <= 0 {
		return 0
	}
	pq := math.Max(p*(1-p), 0.01*0.99)
	return pq / (pq/n + noiseVarNum/(n*n))
}

// netWindow is what network() computed and released for one window.
type netWindow struct {
	res   *network.Result
	teams []publish.NetRelease
}

// network computes the network of [from, to), days long, releases its
// team and graph figures, and writes them with the person-level rows.
func (a *Analyzer) network(ctx context.Context, from, to time.Time, days int, gen uint32, now time.Time) (netWindow, error) {
	t0 := time.Now() // also the erasure read mark: erasures from here on may be missing from the read
	in, err := a.db.WindowInput(ctx, from, to, a.cfg.Network)
	if err != nil {
		return netWindow{}, a.fail("read", err)
	}
	t1 := time.Now()
	res, err := network.Compute(in, a.cfg.Network)
	if err != nil {
		return netWindow{}, a.fail("network", fmt.Errorf("network of %s (%d days): %w", from.Format(time.DateOnly), days, err))
	}
	if err := a.dropErased(ctx, t0, from, days, res); err != nil {
		return netWindow{}, a.fail("read", err)
	}
	weights, err := a.db.TeamWeights(ctx, from, to, a.cfg.Network)
	if err != nil {
		return netWindow{}, a.fail("read", err)
	}
	var teams []publish.NetRelease
	for _, c := range netCells(from, days, weights, res, a.cfg.Privacy.CapVolume) {
		c.Gen = gen
		if r, ok := a.pub.Net(c); ok {
			teams = append(teams, r)
		}
	}
	// The organisation's senders, not its nodes: a person's messages add
	// every recipient as a node, so the node count moves by a degree.
	nodes, _ := a.pub.Nodes(from, days, gen, len(in.Active))
	t2 := time.Now()
	if err := a.db.WriteNetwork(ctx, from, days, res, teams, releaseGraph(res.Graph, nodes), a.cfg.Privacy.K, a.pub.NetEpsilon(days)*float64(gen+1), now); err != nil {
		return netWindow{}, a.fail("write", err)
	}
	if err := a.eraseInFlight(ctx, t0, from, days); err != nil {
		return netWindow{}, a.fail("write", err)
	}
	a.log.Debug("network window analyzed", "from", from.Format(time.DateOnly), "days", days,
		"read", t1.Sub(t0).Round(time.Millisecond), "compute", t2.Sub(t1).Round(time.Millisecond),
		"write", time.Since(t2).Round(time.Millisecond))
	return netWindow{res: res, teams: teams}, nil
}

// netCells builds the exact, bounded network input of each team of a
// window from the senders' team weights: its distinct senders (receivers do
// not count towards k; a sender whose team changed in the window counts in
// both, which the sender noise is calibrated to), the outgoing weight its
// senders sent inside and outside the team, each sender's total over all
// teams bounded by capVolume (a sender of n > cap pair-messages counts each
// at cap/n), and its isolated members (published only when counts of
// people are switched on).
func netCells(from time.Time, days int, weights []store.TeamWeight, res *network.Result, capVolume float64) []publish.NetCell {
	type acc struct {
		senders          int
		internal, extern float64
		isolated         int
	}
	byTeam := map[string]*acc{}
	get := func(team string) *acc {
		c := byTeam[team]
		if c == nil {
			c = &acc{}
			byTeam[team] = c
		}
		return c
	}
	// weights is sorted by sender: one pass bounds each sender's total.
	for i := 0; i < len(weights); {
		j := i
		var total float64
		for j < len(weights) && weights[j].Sender == weights[i].Sender {
			total += float64(weights[j].Internal + weights[j].External)
			j++
		}
		w := 1.0
		if total > capVolume {
			w = capVolume / total
		}
		for _, tw := range weights[i:j] {
			c := get(tw.Team)
			c.senders++
			c.internal += w * float64(tw.Internal)
			c.extern += w * float64(tw.External)
		}
		i = j
	}
	for _, n := range res.Nodes {
		if n.Isolated && n.Team != "" {
			get(n.Team).isolated++
		}
	}
	out := make([]publish.NetCell, 0, len(byTeam))
	for team, c := range byTeam {
		out = append(out, publish.NetCell{Window: from, Days: days, Team: team, Senders: c.senders,
			Internal: c.internal, External: c.extern, Isolated: c.isolated})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Team < out[j].Team })
	return out
}

// publish alerts the anomalies not stored yet for [from, to) but those a
// standing dismissal suppresses (review.go), then replaces the stored
// anomalies of the range, suppressed ones included. It returns how many
// were new. An anomaly whose key is in quiet (an early warning that
// continues the day before's) is stored and not alerted. Publishing before storing makes a crash in between re-alert on
// the next run (at-least-once) rather than lose the alert.
func (a *Analyzer) publish(ctx context.Context, g Granularity, from, to time.Time, found []Anomaly, quiet map[string]bool, now time.Time) (int, error) {
	for i := range found {
		found[i].DetectedAt = now
		if found[i].Onset.IsZero() {
			found[i].Onset = found[i].WindowStart // a change of its own window only
		}
		found[i].Explanation = Explain(a.cfg, found[i])
	}
	stored, err := a.db.StoredAnomalies(ctx, g, from, to)
	if err != nil {
		return 0, a.fail("read", err)
	}
	var fresh []Alert
	for _, an := range found {
		if !stored[an.Key()] && !quiet[an.Key()] {
			fresh = append(fresh, NewAlert(an))
		}
	}
	alerts, err := a.unsuppressed(ctx, from, to, fresh)
	if err != nil {
		return 0, a.fail("read", err)
	}
	if a.alerts != nil && len(alerts) > 0 {
		if err := a.alerts.Publish(ctx, alerts); err != nil {
			return 0, a.fail("alert", err)
		}
		a.m.Alerts.Add(float64(len(alerts)))
	}
	if err := a.db.WriteAnomalies(ctx, g, from, to, found); err != nil {
		return 0, a.fail("write", err)
	}
	for _, al := range fresh {
		a.m.Anomalies.WithLabelValues(al.Metric, string(al.Severity)).Inc()
	}
	a.countWarnings(fresh)
	return len(fresh), nil
}

// begun builds the begun marks (Store.MarkBegun) of windows ws, each at
// the generation its release takes.
func begun(g Granularity, ws []time.Time, gens map[time.Time]uint32) []store.WindowDone {
	out := make([]store.WindowDone, len(ws))
	for i, w := range ws {
		out[i] = store.WindowDone{Granularity: g, Start: w, Generation: gens[w.UTC()]}
	}
	return out
}

// marks builds the progress rows of windows ws.
func (a *Analyzer) marks(g Granularity, ws []time.Time, gens map[time.Time]uint32, kept []TeamStats, suppressed map[time.Time]int, found []Anomaly) []store.WindowDone {
	idx := map[time.Time]*store.WindowDone{}
	out := begun(g, ws, gens)
	for i, w := range ws {
		idx[w] = &out[i]
	}
	for _, s := range kept {
		if d := idx[s.WindowStart]; d != nil {
			d.Teams++
		}
	}
	for w, n := range suppressed {
		if d := idx[w]; d != nil {
			d.Suppressed = uint32(n)
			// Day windows only: an hourly count of suppressed team-windows
			// is exact and would show, on a quiet night, when a small team
			// wrote (the metric is for operators, but cheap to keep coarse).
			if g == Day {
				a.m.Suppressed.WithLabelValues(string(g)).Add(float64(n))
			}
		}
	}
	for _, an := range found {
		if d := idx[an.WindowStart]; d != nil {
			d.Anomalies++
		}
	}
	return out
}
