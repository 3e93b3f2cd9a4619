package analyze

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"commpulse/network"
	"commpulse/pipeline/publish"
	"commpulse/pipeline/store"
)

// alwaysFailNetwork: the organisation network cannot be written (or, the
// same to the accounting, the process is OOM-killed computing it): every
// pass fails after the day's team rows are released.
type alwaysFailNetwork struct{ Store }

func (f *alwaysFailNetwork) WriteNetwork(context.Context, time.Time, int, *network.Result, []publish.NetRelease, store.GraphRelease, int, float64, time.Time) error {
	return errInjected
}

// retryDay sets up one closed day window of two teams whose network always
// fails to be written, and returns the analyzer over it.
func retryDay(t *testing.T) (*chEnv, *Analyzer, time.Time, []store.Message) {
	t.Helper()
	e := newCH(t)
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	msgs, _, _ := redteamOrg(from, []string{"team-a", "team-b"})
	var day1, day2 []store.Message
	for _, m := range msgs {
		if m.OccurredAt.Before(from.Add(24 * time.Hour)) {
			day1 = append(day1, m)
		} else {
			day2 = append(day2, m)
		}
	}
	if err := e.st.InsertMessages(context.Background(), day1); err != nil {
		t.Fatal(err)
	}
	clock := &fixedClock{t: from.Add(24*time.Hour + 65*time.Minute)}
	a, err := New(Config{Now: clock.Now, Privacy: publish.Policy{Key: testNoiseKey}}, &alwaysFailNetwork{e.st}, nil, nilRegistry{})
	if err != nil {
		t.Fatal(err)
	}
	return e, a, from, day2
}

// Finding 2 of the red-team review of the release generations (MEDIUM):
// a window that keeps failing after its team rows are written. Before the
// fix Run re-released it at a new generation on every tick without bound
// (60 ticks: 60 releases, epsilon 1395 for the day row, and the mean of
// the releases cancels the noise). Now the begun mark holds a keyed digest
// of the window's exact inputs, and a retry on the same inputs reuses the
// generation: 60 ticks publish one release, the same figures bit for bit,
// epsilon of one release.
func TestRetryOnSameInputsReusesTheGeneration(t *testing.T) {
	e, a, from, _ := retryDay(t)
	ctx := context.Background()
	const ticks = 60 // one hour of Run at the default --tick
	var sum, sum2, eps float64
	var first relRow
	for i := range ticks {
		if _, err := a.Step(ctx); !errors.Is(err, errInjected) {
			t.Fatalf("tick %d: %v", i, err)
		}
		r := redteamRows(t, e, "day", "team-a")[from.Format(time.DateTime)]
		if i == 0 {
			first = r
		} else if r != first {
			t.Fatalf("tick %d released %+v, tick 0 %+v: the same inputs gave other figures", i, r, first)
		}
		sum += r.messages
		sum2 += r.messages * r.messages
		eps = r.eps
	}
	mean := sum / ticks
	t.Logf("after %d failing ticks: team-a's day messages %v on every tick (sd of the releases %.2f); epsilon column %v",
		ticks, first.messages, math.Sqrt(math.Max(0, sum2/ticks-mean*mean)), eps)
	if want := a.pub.Policy().DayEpsilon(); eps != want {
		t.Errorf("one failing day window, retried %d times, records epsilon %v; want %v (one release)", ticks, eps, want)
	}
}

// The other half of the rule: a retry on changed inputs (a late message,
// an erasure) takes the next generation, fresh noise its epsilon counts,
// never the begun generation with noise nothing counts.
func TestRetryOnChangedInputsTakesTheNextGeneration(t *testing.T) {
	e, a, from, _ := retryDay(t)
	ctx := context.Background()
	key := from.Format(time.DateTime)
	if _, err := a.Step(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("first Step: %v", err)
	}
	before := redteamRows(t, e, "day", "team-a")[key]
	late := store.Message{EventID: "late-1", OccurredAt: from.Add(11 * time.Hour), IngestedAt: from.Add(25 * time.Hour), Channel: "chat",
		Sender: "team-a_3", Team: "team-a", Recipients: []string{"team-a_4"}, RecipientTeams: []string{"team-a"},
		Lang: "en", Status: "scored", Scored: true, Compound: 0.5}
	if err := e.st.InsertMessages(ctx, []store.Message{late}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Step(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("second Step: %v", err)
	}
	after := redteamRows(t, e, "day", "team-a")[key]
	t.Logf("team-a's day: %+v, after a late message %+v", before, after)
	if want := 2 * a.pub.Policy().DayEpsilon(); after.eps != want {
		t.Errorf("retry on changed inputs records epsilon %v, want %v (two releases)", after.eps, want)
	}
	if after == before {
		t.Errorf("retry on changed inputs republished the same figures")
	}
	// And a third try on the now unchanged inputs reuses generation 1.
	if _, err := a.Step(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("third Step: %v", err)
	}
	if again := redteamRows(t, e, "day", "team-a")[key]; again != after {
		t.Errorf("third try on the same inputs: %+v, want %+v", again, after)
	}
}
