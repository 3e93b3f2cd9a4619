package analyze

import (
	"context"
	"errors"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
)

// IsolationRule decides when a person counts as newly isolated in a day
// window: isolated that day (network.NodeMetrics.Isolated: no reciprocated
// tie), on a working day, after having been active on at least MinHistory
// of the previous HistoryDays working days and isolated on at most
// MaxIsolatedShare of those. Someone who is always isolated (a pure
// broadcaster) never triggers it; someone who stays isolated stops
// triggering once isolation became their normal. Weekends are neither
// judged nor used as history: a Saturday message nobody answers is not a
// sign of anything.
//
// The rule's output is team-level: the number of newly isolated members of
// a k-safe team, never who they are.
type IsolationRule struct {
	HistoryDays      int
	MinHistory       int
	MaxIsolatedShare float64
}

// DefaultIsolationRule: two weeks of history, at least five active days,
// isolated on at most a quarter of them.
func DefaultIsolationRule() IsolationRule {
	return IsolationRule{HistoryDays: 14, MinHistory: 5, MaxIsolatedShare: 0.25}
}

func (r IsolationRule) validate() error {
	switch {
	case r.HistoryDays < 1:
		return errors.New("analyze: isolation history days must be >= 1")
	case r.MinHistory < 1 || r.MinHistory > r.HistoryDays:
		return errors.New("analyze: isolation min history must be in [1, history days]")
	case r.MaxIsolatedShare < 0 || r.MaxIsolatedShare >= 1:
		return errors.New("analyze: isolation max isolated share must be in [0, 1)")
	}
	return nil
}

// PersonHistory is what the rule knows about one person isolated today:
// on how many earlier working days (within HistoryDays) they were active,
// and on how many of those isolated.
type PersonHistory struct {
	Team          string
	ActiveDays    int
	IsolatedDays  int
	IsolatedToday bool
	WorkingDayNow bool
}

// personHistories returns the PersonHistory of every person isolated in
// the day network of day: nodes is the computed network.Result of that
// window (after in-flight erasures were dropped), the same rows written to
// node_metrics, used as they are rather than read back. Their earlier days
// come from db.isolationHistory, the HistoryDays before day, read only when
// someone is isolated.
func (a *Analyzer) personHistories(ctx context.Context, day time.Time, nodes []network.NodeMetrics) ([]PersonHistory, error) {
	var today []network.NodeMetrics
	for _, n := range nodes {
		if n.Isolated {
			today = append(today, n)
		}
	}
	if len(today) == 0 {
		return nil, nil
	}
	past, err := a.db.IsolationHistory(ctx, day, a.cfg.Isolation.HistoryDays)
	if err != nil {
		return nil, err
	}
	out := make([]PersonHistory, len(today))
	for i, n := range today {
		p := past[n.Person]
		out[i] = PersonHistory{Team: n.Team, ActiveDays: p.Active, IsolatedDays: p.Isolated,
			IsolatedToday: true, WorkingDayNow: workday(day)}
	}
	return out, nil
}

// Newly reports whether h is a newly isolated person.
func (r IsolationRule) Newly(h PersonHistory) bool {
	if !h.IsolatedToday || !h.WorkingDayNow || h.ActiveDays < r.MinHistory {
		return false
	}
	return float64(h.IsolatedDays) <= r.MaxIsolatedShare*float64(h.ActiveDays)
}

// anomalies counts newly isolated members per team, for the teams in
// kSafe only, releases each count through pub (noisy, and nothing below
// the policy's MinPeople: no alert ever reads "one member"), and returns
// one anomaly per team whose released count was published.
func (r IsolationRule) anomalies(day time.Time, gen uint32, hist []PersonHistory, kSafe map[string]bool, pub *publish.Publisher) []Anomaly {
	count := map[string]int{}
	for _, h := range hist {
		if kSafe[h.Team] && r.Newly(h) {
			count[h.Team]++
		}
	}
	// Every k-safe team is released, the ones with no isolated member too:
	// releasing only the teams with one would itself say who has one.
	var out []Anomaly
	for team := range kSafe {
		v := pub.NewlyIsolated(day, gen, team, count[team])
		if v == nil {
			continue
		}
		// The smallest published count (MinPeople, three) is a warning; each
		// member more adds 0.1, so six or more is critical. The count is
		// noisy: at its default budget a team with two newly isolated
		// members reads three on about one day in eight.
		score := min(1, 0.5+0.1*float64(*v-pub.Policy().MinPeople))
		out = append(out, Anomaly{
			WindowStart: day, Granularity: Day, Team: team, Metric: MetricIsolatedMembers,
			Value: float64(*v), Expected: 0, Low: 0, High: 0, Score: score, Severity: SeverityOf(score),
			Direction: "up", Detector: DetectorIsolation,
		})
	}
	return out
}
