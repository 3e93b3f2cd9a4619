package analyze

import (
	"context"
	"errors"
	"fmt"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// IsolationRule decides when a person counts as newly isolated: what a
// people-analytics partner means by "cut off", not "quiet today". A member
// is newly isolated on the working day that completes SustainedDays
// consecutive working days on each of which they were still active (they
// sent messages) and had no reciprocated tie (network.NodeMetrics.Isolated:
// nobody they both wrote to and heard from), after a baseline in which
// they were connected: on the other working days of the HistoryDays before
// today (those not in the run), they sent on at least MinHistory days and
// were isolated on at most MaxIsolatedShare of them.
//
// What it leaves out, on purpose:
//   - someone who wrote nothing (a day off, a focus day, a receiver who did
//     not answer): they are not active, so not judged;
//   - one day without an answer: the run must last SustainedDays;
//   - someone for whom isolation is normal (a pure broadcaster): the
//     baseline must show ties;
//   - the days after the run completed: each episode counts once, on the
//     day it reaches SustainedDays;
//   - weekends, which are neither judged nor part of a run or a baseline
//     (a Saturday message nobody answers is not a sign of anything).
//
// The rule's output is team-level: the number of newly isolated members of
// a k-safe team, never who they are.
//
// The published count is noisy, and a team with nobody newly isolated is
// released every working day: at ε 2 a true zero reads three or more on
// about one working day in 280, so without a floor the noise alone raised
// 0.25 alerts per team-quarter on generated organisations with nothing
// planted (docs/detectors.md, "Alert budget"). The rule therefore alerts
// only on a count above what the noise makes of nobody: at least the
// publication layer's PeopleNoiseFloor for a per-working-day probability of
// NoiseAlertsPerQuarter / 65.25 (the working days of a quarter), computed
// from the policy's own noise, so a larger day-isolated ε lowers it (to
// MinPeople from ε 3 at the default rate) and a smaller one raises it.
type IsolationRule struct {
	HistoryDays      int
	MinHistory       int
	MaxIsolatedShare float64
	SustainedDays    int
	// NoiseAlertsPerQuarter is how many isolation alerts per team and
	// quarter the publication noise alone may raise on a team with nobody
	// newly isolated: the share of the alert budget (1 per team-quarter)
	// the rule may spend on noise.
	NoiseAlertsPerQuarter float64
}

// quarterWorkdays is the number of Monday-to-Friday days of an average
// quarter (365.25 / 4 x 5/7).
const quarterWorkdays = 365.25 / 4 * 5 / 7

// DefaultIsolationRule: three working days cut off while still writing,
// after two weeks (calendar) of history with at least five active working
// days, isolated on at most a quarter of them. Three days: a single
// unanswered day is ordinary (people are busy, out, or in meetings), a
// working week is too late to be early.
//
// NoiseAlertsPerQuarter 0.02, a fiftieth of the alert budget: the noise
// may cost a team one false isolation alert in 50 quarters. At day-isolated
// ε 2 that needs a published count of 5 (a true zero reaches 5 with
// probability 6.8e-5 a working day, 4 with 4.9e-4, over the 3.1e-4 the
// rate allows), so an alert means at least about five members cut off at
// once; from ε 3, three (MinPeople).
func DefaultIsolationRule() IsolationRule {
	return IsolationRule{HistoryDays: 14, MinHistory: 5, MaxIsolatedShare: 0.25, SustainedDays: 3, NoiseAlertsPerQuarter: 0.02}
}

// noiseFloor is the smallest published count the rule alerts on under
// pub's policy: MinPeople or more, whatever the noise of a true zero
// reaches with probability at most NoiseAlertsPerQuarter/quarterWorkdays
// on a working day (0 when counts of people are not published).
func (r IsolationRule) noiseFloor(pub *publish.Publisher) int {
	return pub.NewlyIsolatedFloor(r.NoiseAlertsPerQuarter / quarterWorkdays)
}

func (r IsolationRule) validate() error {
	switch {
	case r.HistoryDays < 1:
		return errors.New("analyze: isolation history days must be >= 1")
	case r.MinHistory < 1 || r.MinHistory > r.HistoryDays:
		return errors.New("analyze: isolation min history must be in [1, history days]")
	case r.MaxIsolatedShare < 0 || r.MaxIsolatedShare >= 1:
		return errors.New("analyze: isolation max isolated share must be in [0, 1)")
	case !(r.NoiseAlertsPerQuarter > 0 && r.NoiseAlertsPerQuarter < quarterWorkdays):
		return errors.New("analyze: isolation noise alerts per quarter must be > 0 and below the working days of a quarter")
	case r.SustainedDays < 1 || r.SustainedDays > r.HistoryDays:
		return errors.New("analyze: isolation sustained days must be in [1, history days]")
	case r.MinHistory+r.SustainedDays-1 > minWorkdays(r.HistoryDays):
		// The run's earlier days and the baseline share the history's
		// working days: a rule that needs more than the fewest any
		// HistoryDays hold could never fire.
		return fmt.Errorf("analyze: isolation min history %d + sustained days %d - 1 exceed the %d working days %d days always hold",
			r.MinHistory, r.SustainedDays, minWorkdays(r.HistoryDays), r.HistoryDays)
	}
	return nil
}

// minWorkdays is the fewest Monday-to-Friday days among n consecutive days.
func minWorkdays(n int) int {
	fewest := n
	for start := range 7 {
		w := 0
		for d := range n {
			if wd := (start + d) % 7; wd < 5 {
				w++
			}
		}
		fewest = min(fewest, w)
	}
	return fewest
}

// PersonHistory is what the rule knows about one person isolated today:
// Streak, the consecutive working days just before today on which they
// sent and were isolated; and over the earlier working days of the
// history (the baseline, before that run), on how many they sent and on
// how many of those they were isolated.
type PersonHistory struct {
	Team          string
	SentDays      int
	IsolatedDays  int
	Streak        int
	IsolatedToday bool
	SentToday     bool
	WorkingDayNow bool
}

// personHistories returns the PersonHistory of every person isolated in
// the day network of day: nodes is the computed network.Result of that
// window (after in-flight erasures were dropped), the same rows written to
// node_metrics, used as they are rather than read back. Their earlier days
// come from Store.IsolationHistory, the HistoryDays before day, read only
// when someone is isolated.
func (a *Analyzer) personHistories(ctx context.Context, day time.Time, nodes []network.NodeMetrics) ([]PersonHistory, error) {
	if !anyIsolated(nodes) {
		return nil, nil
	}
	past, err := a.db.IsolationHistory(ctx, day, a.cfg.Isolation.HistoryDays)
	if err != nil {
		return nil, err
	}
	return isolationHistories(day, nodes, past, a.cfg.Isolation.HistoryDays), nil
}

func anyIsolated(nodes []network.NodeMetrics) bool {
	for _, n := range nodes {
		if n.Isolated {
			return true
		}
	}
	return false
}

// isolationHistories builds the PersonHistory of every person isolated in
// nodes (the day network of day) from past, each person's PastDay records
// of the working days of the historyDays before day.
func isolationHistories(day time.Time, nodes []network.NodeMetrics, past map[string][]store.PastDay, historyDays int) []PersonHistory {
	var today []network.NodeMetrics
	for _, n := range nodes {
		if n.Isolated {
			today = append(today, n)
		}
	}
	if len(today) == 0 {
		return nil
	}
	// The working days before day, newest first: a run is consecutive in
	// these, so a working day without a record (the person was not a node)
	// ends it.
	var workdays []time.Time
	for d := day.AddDate(0, 0, -1); !d.Before(day.AddDate(0, 0, -historyDays)); d = d.AddDate(0, 0, -1) {
		if workday(d) {
			workdays = append(workdays, d)
		}
	}
	out := make([]PersonHistory, len(today))
	for i, n := range today {
		h := PersonHistory{Team: n.Team, IsolatedToday: true, SentToday: n.OutDegree > 0, WorkingDayNow: workday(day)}
		byDay := make(map[time.Time]store.PastDay, len(past[n.Person]))
		for _, d := range past[n.Person] {
			byDay[d.Day] = d
		}
		for _, d := range workdays {
			if r, ok := byDay[d]; ok && r.Sent && r.Isolated {
				h.Streak++
				delete(byDay, d)
				continue
			}
			break
		}
		for _, r := range byDay { // the baseline: what the run left
			if r.Sent {
				h.SentDays++
				if r.Isolated {
					h.IsolatedDays++
				}
			}
		}
		out[i] = h
	}
	return out
}

// Newly reports whether h is a newly isolated person: today completes
// their run of SustainedDays, and their baseline was connected.
func (r IsolationRule) Newly(h PersonHistory) bool {
	if !h.IsolatedToday || !h.SentToday || !h.WorkingDayNow || h.Streak+1 != r.SustainedDays || h.SentDays < r.MinHistory {
		return false
	}
	return float64(h.IsolatedDays) <= r.MaxIsolatedShare*float64(h.SentDays)
}

// anomalies counts newly isolated members per team, for the teams in
// kSafe only, releases each count through pub (noisy, and nothing below
// the policy's MinPeople: no alert ever reads "one member"), and returns
// one anomaly per team whose released count reaches the noise floor
// (noiseFloor). Only working days are released: the rule judges nobody on
// a weekend, so a weekend count is zero by construction and a release of
// it could only add noise alerts.
func (r IsolationRule) anomalies(day time.Time, gen uint32, hist []PersonHistory, kSafe map[string]bool, pub *publish.Publisher) []Anomaly {
	if !workday(day) {
		return nil
	}
	floor := r.noiseFloor(pub)
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
		if v == nil || *v < floor {
			continue
		}
		// A count of MinPeople (three) scores 0.5, a warning; each member
		// more adds 0.1, so six or more is critical. Below the noise floor
		// nothing is raised (at ε 2 the first alert is at five, 0.7).
		score := min(1, 0.5+0.1*float64(*v-pub.Policy().MinPeople))
		out = append(out, Anomaly{
			WindowStart: day, Granularity: Day, Team: team, Metric: MetricIsolatedMembers,
			Value: float64(*v), Expected: 0, Low: 0, High: 0, Score: score, Severity: SeverityOf(score),
			Direction: "up", Detector: DetectorIsolation,
		})
	}
	return out
}
