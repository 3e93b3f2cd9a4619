package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      Policy
		n      int
		lo, hi time.Duration // bounds of the delay
	}{
		{"first attempt, no jitter", Policy{Min: time.Second, Max: time.Minute}, 0, time.Second, time.Second},
		{"doubles", Policy{Min: time.Second, Max: time.Minute}, 3, 8 * time.Second, 8 * time.Second},
		{"capped", Policy{Min: time.Second, Max: 10 * time.Second}, 20, 10 * time.Second, 10 * time.Second},
		{"huge attempt does not overflow", Policy{Min: time.Second, Max: 10 * time.Second}, 1 << 30, 10 * time.Second, 10 * time.Second},
		{"equal jitter keeps half", New(time.Second, time.Minute), 2, 2 * time.Second, 4 * time.Second},
		{"full jitter", Policy{Min: time.Second, Max: time.Minute, Jitter: 1}, 1, 0, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := tc.p.Delay(tc.n)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("delay %s outside [%s, %s]", d, tc.lo, tc.hi)
				}
				seen[d] = true
			}
			if jittered := tc.p.Jitter > 0; jittered != (len(seen) > 1) {
				t.Errorf("%d distinct delays in 200 draws with jitter %v", len(seen), tc.p.Jitter)
			}
		})
	}
}

func TestWaitStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if New(time.Hour, time.Hour).Wait(ctx, 0) {
		t.Fatal("Wait slept through a cancelled context")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep did not report a full sleep")
	}
}
