package analyze

import (
	"fmt"
	"time"
)

// Granularity is the length of a team_stats window.
type Granularity string

// The two granularities. Their string values are stored in ClickHouse.
const (
	Hour Granularity = "hour"
	Day  Granularity = "day"
)

// Step is the length of a window of g.
func (g Granularity) Step() time.Duration {
	if g == Day {
		return 24 * time.Hour
	}
	return time.Hour
}

// Floor is the start of the window of g that contains t (UTC-aligned).
func (g Granularity) Floor(t time.Time) time.Time {
	return t.UTC().Truncate(g.Step())
}

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

// afterHours reports whether t is outside working time: before start, at or
// after end (UTC hours), or on a weekend. It mirrors the SQL expression used
// for after_hours_share (afterHoursSQL), which tests check against it.
func afterHours(t time.Time, start, end int) bool {
	t = t.UTC()
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return true
	}
	return t.Hour() < start || t.Hour() >= end
}

// afterHoursSQL is the ClickHouse condition "the message is after hours":
// the flag ingest stamped in the sender's local working hours when the
// directory gives their time zone (messages.after_hours), else the
// organisation default, afterHours on occurred_at in UTC. toDayOfWeek is
// 1 = Monday .. 7 = Sunday.
func afterHoursSQL(start, end int) string {
	return fmt.Sprintf("ifNull(after_hours, toUInt8(toDayOfWeek(occurred_at, 0, 'UTC') >= 6 OR toHour(occurred_at, 'UTC') < %d OR toHour(occurred_at, 'UTC') >= %d)) = 1", start, end)
}

// workday reports whether the UTC day of t is Monday to Friday.
func workday(t time.Time) bool {
	wd := t.UTC().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}
