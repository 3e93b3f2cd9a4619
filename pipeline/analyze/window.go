package analyze

import "time"

// LastClosed returns the start of the newest window of g that is closed at
// now, i.e. whose end plus lateness is not after now.
func LastClosed(g Granularity, lateness time.Duration, now time.Time) time.Time {
	return g.Floor(now.Add(-lateness)).Add(-g.Step())
}

// Pending returns the starts of the windows of g to process, in order: from
// next (rounded down to a window start) up to and including the last closed
// window at now. It is empty when nothing is closed yet.
func Pending(g Granularity, lateness time.Duration, next, now time.Time) []time.Time {
	last := LastClosed(g, lateness, now)
	var out []time.Time
	for w := g.Floor(next); !w.After(last); w = w.Add(g.Step()) {
		out = append(out, w)
	}
	return out
}

// workday reports whether the UTC day of t is Monday to Friday.
func workday(t time.Time) bool {
	wd := t.UTC().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}
