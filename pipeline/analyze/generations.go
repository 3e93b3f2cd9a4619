package analyze

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// Release generations (docs/privacy.md, "How a figure is released"): the
// noise of a figure follows its team, window, generation and exact value,
// so a window may never be released twice at one generation on different
// inputs (fresh noise nothing counts), nor re-released at a used
// generation after an erasure (every figure the erased person had no part
// in republished bit for bit, the others changed: where they wrote).
//
// Two rules beyond the store's counting (store.Generations):
//
//   - A change of the number of shards. Generations are counted over this
//     shard's rows under the current count and every row under any other
//     count, so a team that moves to a new shard takes a generation above
//     every one its old owner used. A shard with no progress of its own
//     under the current count resumes where the newest other count
//     stopped (the earliest last-done window among its shards: a point
//     every new shard agrees on, so their day windows meet), rather than
//     at the earliest message: what it re-releases is only what some old
//     shard had not done, at fresh counted generations. While another
//     count wrote progress within Config.ReshardQuiet, the analyzer
//     refuses to run (ErrShardCountChanged): two counts releasing at once
//     would each count only their own generations.
//   - A retry of a window cut short. The begun mark holds a keyed digest
//     of the window's exact inputs (publish.Publisher.Digest); a retry on
//     the same inputs reuses the begun generation, so its figures are the
//     same bit for bit and cost no new epsilon, and only changed inputs
//     take the next generation. Without it a window failing after its
//     team rows are written is re-released on every tick, and averaging
//     the releases cancels the noise.

// ErrShardCountChanged is the error (errors.Is) of a Step refused because
// progress rows were written under another number of shards within
// Config.ReshardQuiet: shards of the old count still running. Stop every
// old shard, then start the new count (docs/scaling.md section 5).
var ErrShardCountChanged = errors.New("analyze: the number of analyze shards changed while shards of the other count are running")

// ShardCountError is the ErrShardCountChanged of one Step: another count
// of shards (Other) wrote its newest progress row at At, less than Quiet
// before now.
type ShardCountError struct {
	Shards, Other int
	At            time.Time
	Quiet         time.Duration
}

func (e *ShardCountError) Error() string {
	return fmt.Sprintf("analyze: %d shards, but %d shards wrote progress at %s (less than --reshard-quiet %s ago): "+
		"stop every analyzer of the old count before starting the new one (docs/scaling.md section 5)",
		e.Shards, e.Other, e.At.Format(time.RFC3339), e.Quiet)
}

// Is makes errors.Is(err, ErrShardCountChanged) hold.
func (e *ShardCountError) Is(target error) bool { return target == ErrShardCountChanged }

// checkShardCounts refuses to run while another number of shards wrote
// progress within ReshardQuiet of now (a row in the future, a clock ahead,
// counts as recent).
func (a *Analyzer) checkShardCounts(ctx context.Context, now time.Time) error {
	others, err := a.db.OtherShardCounts(ctx)
	if err != nil {
		return a.fail("read", err)
	}
	ns := make([]int, 0, len(others))
	for n := range others {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	for _, n := range ns {
		if at := others[n]; now.Sub(at) < a.cfg.ReshardQuiet {
			a.m.Errors.WithLabelValues("reshard").Inc()
			return &ShardCountError{Shards: a.own.Shards, Other: n, At: at, Quiet: a.cfg.ReshardQuiet}
		}
	}
	return nil
}

// reshardPoint returns, when progress rows of another number of shards
// exist, the window of g the newest such count had done on every one of
// its shards (the earliest of their last-done windows). ok is false when
// there is no other count, or one of its shards had done no window of g.
func (a *Analyzer) reshardPoint(ctx context.Context, g Granularity) (time.Time, int, bool, error) {
	others, err := a.db.OtherShardCounts(ctx)
	if err != nil || len(others) == 0 {
		return time.Time{}, 0, false, err
	}
	prev := 0
	for n, at := range others {
		if prev == 0 || at.After(others[prev]) || (at.Equal(others[prev]) && n > prev) {
			prev = n
		}
	}
	last, err := a.db.ShardsLastDone(ctx, g, prev)
	if err != nil {
		return time.Time{}, 0, false, err
	}
	if len(last) < prev {
		return time.Time{}, prev, false, nil
	}
	var point time.Time
	for _, at := range last {
		if point.IsZero() || at.Before(point) {
			point = at
		}
	}
	return point, prev, true, nil
}

// configDigest is the part of the configuration the released figures
// depend on besides the stored data (the noise key aside: Digest is keyed
// by it).
func configDigest(c Config) string {
	p := c.Privacy
	p.Key = nil
	return fmt.Sprintf("%+v|%+v|%+v|%d|%d|%d", p, c.Network, c.Isolation, c.WorkStartHour, c.WorkEndHour, c.RollingDays)
}

// hourDigests returns the keyed digest of each hour window of ws: its
// exact cells (every team's, before the shard keeps its own) under the
// configuration. An hour releases its cells' volumes only.
func (a *Analyzer) hourDigests(ws []time.Time, cells []publish.HourCell) map[time.Time]string {
	by := map[time.Time][]string{}
	for _, c := range cells {
		w := c.Window.UTC()
		by[w] = append(by[w], fmt.Sprintf("%s|%d|%v", c.Team, c.Senders, c.Messages))
	}
	out := make(map[time.Time]string, len(ws))
	for _, w := range ws {
		w = w.UTC()
		s := by[w]
		sort.Strings(s)
		out[w] = a.pub.Digest(append([]string{"hour", w.Format(time.RFC3339), a.cfgDigest}, s...)...)
	}
	return out
}

// dayDigest returns the keyed digest of the inputs of the day window day:
// its exact cells (every team's) and the stored messages and erasures the
// day's network, and on the day closing a week the rolling window's, are
// computed from (store.InputFingerprint).
func (a *Analyzer) dayDigest(ctx context.Context, day time.Time, cells []publish.DayCell) (string, error) {
	to := day.Add(24 * time.Hour)
	from := day
	if r := a.cfg.RollingDays; r > 0 && to.Weekday() == time.Monday {
		from = to.AddDate(0, 0, -r)
	}
	fp, err := a.db.InputFingerprint(ctx, from, to)
	if err != nil {
		return "", err
	}
	s := make([]string, 0, len(cells))
	for _, c := range cells {
		c.Gen = 0
		s = append(s, fmt.Sprintf("%+v", c))
	}
	sort.Strings(s)
	return a.pub.Digest(append([]string{"day", day.UTC().Format(time.RFC3339), a.cfgDigest, fp}, s...)...), nil
}

// reuseBegun sets the generation of every window of g in [from, to) whose
// release was begun and cut short on the same inputs (digests) back to
// the begun one, provided no release above it happened since.
func (a *Analyzer) reuseBegun(ctx context.Context, g Granularity, from, to time.Time, gens map[time.Time]uint32, digests map[time.Time]string) error {
	begun, err := a.db.BegunWindows(ctx, g, from, to)
	if err != nil {
		return err
	}
	for w, b := range begun {
		if d := digests[w]; b.Inputs != "" && b.Inputs == d && gens[w] == b.Generation+1 {
			gens[w] = b.Generation
			a.log.Info("retrying a window cut short on the same inputs: same generation, same figures",
				"granularity", g, "window", w, "generation", b.Generation)
		}
	}
	return nil
}

// withInputs sets the Inputs of marks from digests.
func withInputs(marks []store.WindowDone, digests map[time.Time]string) []store.WindowDone {
	for i := range marks {
		marks[i].Inputs = digests[marks[i].Start.UTC()]
	}
	return marks
}
