package review

import (
	"time"

	"commpulse/pipeline/store"
)

// DefaultSuppressDays is how long a dismissal suppresses repeats by
// default (analyze's --review-suppress-days).
const DefaultSuppressDays = 7

// Suppression is the rule by which a dismissal suppresses repeats ("a
// dismissal suppresses repeats for a window"):
//
// While the current review of an anomaly D is dismissed (any reason), the
// alert of every anomaly A of the same team and metric, of either
// granularity, whose window overlaps [D's window start, D's window start
// + Days days) is not published. A is still stored, listed and reviewable
// like any other; it is counted in commpulse_alerts_suppressed_total.
//
// The window is in data time (window starts), not review time, so a
// catch-up or a re-run suppresses the same alerts as the live run did.
// Reopening D (dismissed -> acknowledged) lifts the rule for anomalies
// found from then on; alerts suppressed meanwhile are not sent late. A
// dismissal of a team's mean sentiment during a reorg thus silences that
// team's mean-sentiment alerts for the week after, not the team's other
// metrics, not other teams.
type Suppression struct {
	// Days is the length of the suppression window; 0 or less: no
	// suppression.
	Days int
}

func (s Suppression) length() time.Duration { return time.Duration(s.Days) * 24 * time.Hour }

// Range is where the dismissals that can suppress an anomaly with window
// start in [from, to) start: [from - Days, to + one day), a day being the
// longest window. The analyzer reads the standing dismissals of this
// range (store.StandingDismissals).
func (s Suppression) Range(from, to time.Time) (time.Time, time.Time) {
	return from.Add(-s.length()), to.Add(store.Day.Step())
}

// Covers reports whether the standing dismissal d suppresses the alert of
// a.
func (s Suppression) Covers(d store.Review, a store.Anomaly) bool {
	if s.Days <= 0 || d.State != Dismissed || d.Team != a.Team || d.Metric != a.Metric {
		return false
	}
	end := a.WindowStart.Add(a.Granularity.Step())
	return end.After(d.WindowStart) && a.WindowStart.Before(d.WindowStart.Add(s.length()))
}

// Suppressed returns the first dismissal of ds that covers a.
func (s Suppression) Suppressed(ds []store.Review, a store.Anomaly) (store.Review, bool) {
	for _, d := range ds {
		if s.Covers(d, a) {
			return d, true
		}
	}
	return store.Review{}, false
}
