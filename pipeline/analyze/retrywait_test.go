package analyze

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/pipeline/store"
)

// outageStore is a Store through an outage: while down, its first read of
// a pass (OtherShardCounts) fails; otherwise the store is empty (no
// progress, no messages), so a pass succeeds at once. Every other method
// is the nil embedded interface: a pass that reached one would panic.
type outageStore struct {
	Store
	down bool
}

func (s *outageStore) OtherShardCounts(context.Context) (map[int]time.Time, error) {
	if s.down {
		return nil, fmt.Errorf("ClickHouse down: %w", errInjected)
	}
	return nil, nil
}
func (s *outageStore) LastDone(context.Context, Granularity) (time.Time, bool, error) {
	return time.Time{}, false, nil
}
func (s *outageStore) EarliestMessage(context.Context) (time.Time, bool, error) {
	return time.Time{}, false, nil
}
func (s *outageStore) AnalyzeShard() store.AnalyzeShard {
	return store.AnalyzeShard{Shard: 0, Shards: 1}
}

// TestRunBacksOffWhileFailing: through an outage Run waits longer after
// each failed pass (doubling from the tick, with at most half of it
// jittered away, capped at RetryMax), never less than a tick, and the
// first pass that succeeds goes back to the tick. The waits are recorded,
// not slept.
func TestRunBacksOffWhileFailing(t *testing.T) {
	tick, retryMax := time.Minute, 10*time.Minute
	// Passes 1-7 fail, 8-9 succeed, 10-11 fail, 12 succeeds.
	failing := map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 10: true, 11: true}
	st := &outageStore{down: failing[1]}
	a, err := New(Config{Tick: tick, RetryMax: retryMax, Privacy: Config{}.withDefaults().Privacy, Logger: testLogger()}, st, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	a.cfg.Privacy.Key = testNoiseKey
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	a.wait = func(_ context.Context, d time.Duration) bool {
		waits = append(waits, d)
		st.down = failing[len(waits)+1] // the next pass
		if len(waits) == 12 {
			cancel()
			return false
		}
		return true
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 12 {
		t.Fatalf("%d waits, want 12", len(waits))
	}
	// The nominal wait after the n-th consecutive failure: tick x 2^(n-1),
	// capped; the drawn one is in [nominal/2, nominal] and >= tick.
	nominal := func(n int) time.Duration { return min(retryMax, tick<<(n-1)) }
	consecutive := 0
	for i, w := range waits {
		pass := i + 1
		if !failing[pass] {
			consecutive = 0
			if w != tick {
				t.Errorf("pass %d succeeded: waited %s, want the tick %s", pass, w, tick)
			}
			continue
		}
		consecutive++
		lo, hi := max(tick, nominal(consecutive)/2), nominal(consecutive)
		if w < lo || w > hi {
			t.Errorf("pass %d, failure %d in a row: waited %s, want %s to %s", pass, consecutive, w, lo, hi)
		}
	}
	t.Logf("waits: %v", waits)
	if got := a.Ready(); got != nil {
		t.Errorf("Ready after a successful last pass: %v", got)
	}
}
