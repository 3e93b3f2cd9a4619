package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestSupersedes(t *testing.T) {
	if !Supersedes(false, 0.9, 0.1) || Supersedes(true, 0.5, 0.5) || Supersedes(true, 0.6, 0.5) || !Supersedes(true, 0.5, 0.6) {
		t.Fatal("Supersedes: want the higher score, the first on a tie")
	}
}

func teamPoints(step time.Duration, n int) ([]time.Time, []float64) {
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	ts, vs := make([]time.Time, n), make([]float64, n)
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * step)
		vs[i] = 10 + 3*math.Sin(2*math.Pi*float64(ts[i].Hour())/24) + rng.NormFloat64()
	}
	return ts, vs
}

func TestTeamGranularityAndDays(t *testing.T) {
	for _, tc := range []struct {
		step time.Duration
		want Granularity
	}{{time.Hour, GranularityHour}, {24 * time.Hour, GranularityDay}} {
		ts, vs := teamPoints(tc.step, 24*30)
		auto, _ := NewTeam(TeamProfile())
		fixed := TeamProfile()
		fixed.Granularity = tc.want
		fx, _ := NewTeam(fixed)
		days := 0
		for i := range ts {
			a, b := auto.Observe(ts[i], vs[i]), fx.Observe(ts[i], vs[i])
			if i == 0 {
				a.Day = b.Day // undecided on the first point
			}
			if a != b {
				t.Fatalf("step %v row %d: auto %+v, fixed %+v", tc.step, i, a, b)
			}
			if a.Day {
				days++
			}
			if a.Score < 0 || a.Score > 1 || a.Alarm != (a.Score >= 0.5) {
				t.Fatalf("row %d: score %v alarm %v", i, a.Score, a.Alarm)
			}
		}
		if auto.Granularity() != tc.want {
			t.Fatalf("step %v: granularity %v", tc.step, auto.Granularity())
		}
		wantDays := len(ts)
		if tc.want == GranularityHour {
			wantDays = len(ts) / 24
		}
		if days != wantDays {
			t.Fatalf("step %v: %d day verdicts, want %d", tc.step, days, wantDays)
		}
	}
}

// An hourly gap closes the open day on the next point.
func TestTeamGapClosesDay(t *testing.T) {
	ts, vs := teamPoints(time.Hour, 24*3)
	d, _ := NewTeam(TeamProfile())
	var closed []int
	for i := range ts {
		if i >= 30 && i < 48 { // day 2 loses its last 18 hours
			continue
		}
		if d.Observe(ts[i], vs[i]).Day {
			closed = append(closed, i)
		}
	}
	if len(closed) != 3 || closed[0] != 23 || closed[1] != 48 || closed[2] != 71 {
		t.Fatalf("days closed at rows %v, want 23, 48 (after the gap), 71", closed)
	}
}
