package ingest

import (
	"testing"
	"time"
)

// The watchdog's decisions, poll by poll, on a made-up clock: what counts as
// stalled, what does not (backpressure, no lag, not ours, progress), and the
// backoff of rebuilds that do not help.
func TestStallWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const timeout = time.Minute
	mine := map[int]bool{0: true, 1: true}
	ends := map[int]int64{0: 100, 1: 100, 2: 100}
	committed := map[int]int64{0: 10, 1: 100, 2: 10}
	type step struct {
		after    time.Duration // since the previous poll
		blocked  time.Duration // of that, spent blocked on the pipeline
		assigned map[int]bool
		moved    bool // partition 0 delivers a record before this poll
		want     []int
	}
	run := func(t *testing.T, steps []step) *stallWatch {
		t.Helper()
		w := newStallWatch(timeout)
		at, blocked := t0, time.Duration(0)
		progress := map[int]partitionProgress{0: {delivered: 5, next: 15}}
		for i, s := range steps {
			at, blocked = at.Add(s.after), blocked+s.blocked
			if s.moved {
				p := progress[0]
				p.delivered, p.next = p.delivered+1, p.next+1
				progress[0] = p
			}
			got := w.observe(poll{at: at, assigned: s.assigned, ends: ends, committed: committed,
				progress: copyProgress(progress), blocked: blocked})
			var parts []int
			for _, st := range got {
				parts = append(parts, st.partition)
			}
			if !equalInts(parts, s.want) {
				t.Fatalf("poll %d: stalled %v, want %v", i, parts, s.want)
			}
			if len(got) > 0 {
				w.rebuilt(got)
			}
		}
		return w
	}

	t.Run("stalled after the timeout of free time; caught up and foreign partitions never", func(t *testing.T) {
		// Partition 1 has no lag, partition 2 is not ours.
		run(t, []step{
			{assigned: mine},
			{after: 30 * time.Second, assigned: mine},
			{after: 29 * time.Second, assigned: mine},
			{after: time.Second, assigned: mine, want: []int{0}},
		})
	})
	t.Run("backpressure is not a stall", func(t *testing.T) {
		run(t, []step{
			{assigned: mine},
			{after: 10 * time.Minute, blocked: 10 * time.Minute, assigned: mine},
			{after: 59 * time.Second, assigned: mine},
			{after: 10 * time.Minute, blocked: 10*time.Minute - time.Second, assigned: mine, want: []int{0}},
		})
	})
	t.Run("progress resets the clock", func(t *testing.T) {
		run(t, []step{
			{assigned: mine},
			{after: 50 * time.Second, assigned: mine},
			{after: 50 * time.Second, assigned: mine, moved: true},
			{after: 50 * time.Second, assigned: mine},
			{after: 10 * time.Second, assigned: mine, want: []int{0}},
		})
	})
	t.Run("a rebalance or a lost assignment resets the clock; an unknown one skips the poll", func(t *testing.T) {
		run(t, []step{
			{assigned: mine},
			{after: 50 * time.Second, assigned: mine},
			{after: 5 * time.Second, assigned: map[int]bool{}}, // not stable: reset
			{after: 50 * time.Second, assigned: mine},
			{after: 5 * time.Second, assigned: nil}, // not described: judged next poll
			{after: 5 * time.Second, assigned: mine, want: []int{0}},
		})
	})
	t.Run("rebuilds that do not help back off; progress ends the streak", func(t *testing.T) {
		w := run(t, []step{
			{assigned: mine},
			{after: timeout, assigned: mine, want: []int{0}},     // rebuild 1
			{after: timeout, assigned: mine},                     // now 2 x timeout
			{after: timeout, assigned: mine, want: []int{0}},     // rebuild 2
			{after: 3 * timeout, assigned: mine},                 // now 4 x timeout
			{after: timeout, assigned: mine, want: []int{0}},     // rebuild 3
			{after: 8 * timeout, assigned: mine, want: []int{0}}, // capped at 8 x
			{after: time.Second, assigned: mine, moved: true},    // it moved
			{after: timeout - time.Second, assigned: mine},       // clock restarted
			{after: time.Second, assigned: mine, want: []int{0}}, // back to 1 x timeout
		})
		if w.streak != 1 {
			t.Fatalf("streak %d after a rebuild that followed progress, want 1", w.streak)
		}
	})
}

func copyProgress(m map[int]partitionProgress) map[int]partitionProgress {
	out := make(map[int]partitionProgress, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The watchdog's settings are validated with the rest of the config.
func TestStallConfig(t *testing.T) {
	d := Defaults()
	if d.StallTimeout != 2*time.Minute || d.FetchMaxWait != 2*time.Second || d.FetchMaxBytes != 4<<20 {
		t.Fatalf("defaults: stall timeout %s, fetch max wait %s, fetch max bytes %d", d.StallTimeout, d.FetchMaxWait, d.FetchMaxBytes)
	}
	for _, c := range []struct {
		name string
		mod  func(*Config)
	}{
		{"stall timeout under a second", func(c *Config) { c.StallTimeout = 500 * time.Millisecond }},
		{"stall timeout under two lag polls", func(c *Config) { c.StallTimeout, c.LagInterval = 5*time.Second, 3*time.Second }},
		{"fetch max wait of the old 250ms", func(c *Config) { c.FetchMaxWait = 250 * time.Millisecond }},
		{"fetch max bytes tiny", func(c *Config) { c.FetchMaxBytes = 1024 }},
	} {
		cfg := Defaults()
		c.mod(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
