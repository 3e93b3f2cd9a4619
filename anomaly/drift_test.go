package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// driftMonday is a Monday; simulated series start on it.
var driftMonday = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// teamDay draws one day of a simulated team: about n messages on working
// days and a twentieth of that at weekends (synth's weekend factor is
// 0.06), each negative with probability p.
func teamDay(rng *rand.Rand, day time.Time, n int, p float64) (share float64, scored int) {
	if isWeekend(day) {
		n = max(1, n/16)
	}
	scored = max(1, n+int(math.Round(math.Sqrt(float64(n))*rng.NormFloat64())))
	neg := 0
	for range scored {
		if rng.Float64() < p {
			neg++
		}
	}
	return float64(neg) / float64(scored), scored
}

// TestDriftFindsSlowDecline plants synth's slow decline (negative share
// rising linearly from the baseline to 0.60 over 14 days) after three
// weeks of history, in teams of different sizes, and checks that the drift
// detector reports most of its days, none of the three weeks before and
// none of the week after.
func TestDriftFindsSlowDecline(t *testing.T) {
	for _, tc := range []struct {
		n        int
		p0       float64
		minFound int
	}{
		{n: 250, p0: 0.15, minFound: 11},
		{n: 120, p0: 0.25, minFound: 10},
		{n: 60, p0: 0.10, minFound: 9},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), 3))
		d, err := NewDrift(DefaultDriftConfig(), DriftShare, Up)
		if err != nil {
			t.Fatal(err)
		}
		found, before, after := 0, 0, 0
		var (
			missed []string
			onset  time.Time // of the first alarm
		)
		for i := range 42 {
			day := driftMonday.AddDate(0, 0, i)
			p := tc.p0
			planted := i >= 21 && i < 35
			if planted {
				frac := (float64(i-21) + 0.5) / 14
				p += frac * (0.60 - tc.p0)
			}
			v, n := teamDay(rng, day, tc.n, p)
			e := d.Observe(day, v, n)
			if e.Alarm && onset.IsZero() {
				onset = e.Onset
				if onset.IsZero() || onset.After(day) {
					t.Errorf("n %d: alarm on %s with onset %v, want a day on or before it", tc.n, day.Format(time.DateOnly), onset)
				}
			}
			switch {
			case planted && e.Alarm:
				found++
			case planted:
				missed = append(missed, day.Format("Mon 01-02"))
			case e.Alarm && i < 21:
				before++
			case e.Alarm:
				after++
			}
		}
		t.Logf("n %d p0 %.2f: found %d of 14 decline days (missed %v), %d alarms before, %d after; onset %s", tc.n, tc.p0, found, missed, before, after, onset.Format("Mon 01-02"))
		// The onset estimate of a linear decline: the run starts once the
		// day's expected departure nears Shift/2, never before the decline
		// and within its first week.
		start := driftMonday.AddDate(0, 0, 21)
		if onset.Before(start.AddDate(0, 0, -2)) || onset.After(start.AddDate(0, 0, 7)) {
			t.Errorf("n %d p0 %.2f: onset %s, want within 2 days before and 7 after the decline's start %s", tc.n, tc.p0,
				onset.Format(time.DateOnly), start.Format(time.DateOnly))
		}
		if found < tc.minFound || before > 0 || after > 0 {
			t.Errorf("n %d p0 %.2f: found %d of 14 (want >= %d), %d alarms before and %d after the decline (want 0)", tc.n, tc.p0, found, tc.minFound, before, after)
		}
	}
}

// TestDriftEndsWithTheIncident plants a three-day drop to 0.8 negative:
// the CUSUM is capped at its threshold and a day far below the run's level
// ends the run, so the working day after the drop does not alarm (an
// uncapped statistic would still be hundreds of nats high).
func TestDriftEndsWithTheIncident(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	d, _ := NewDrift(DefaultDriftConfig(), DriftShare, Up)
	var alarms []int
	for i := range 35 {
		day := driftMonday.AddDate(0, 0, i)
		p := 0.15
		if i >= 22 && i < 25 { // Tuesday to Thursday of week 4
			p = 0.8
		}
		v, n := teamDay(rng, day, 200, p)
		if d.Observe(day, v, n).Alarm {
			alarms = append(alarms, i)
		}
	}
	if len(alarms) != 3 || alarms[0] != 22 || alarms[2] != 24 {
		t.Errorf("alarms on days %v, want 22, 23, 24", alarms)
	}
}

// TestDriftFalseAlarmRate runs 600 simulated teams for 16 weeks without
// any drift (binomial noise around a fixed share; for means, Gaussian
// noise of 0.4 per message) and bounds the share of scored days that
// alarm. Measured: see the log (the bound leaves room for the seed).
func TestDriftFalseAlarmRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var days, shareAlarms, meanAlarms int
	for team := range 600 {
		size := 30 + rng.IntN(370)
		p0 := 0.05 + 0.35*rng.Float64()
		ds, _ := NewDrift(DefaultDriftConfig(), DriftShare, Up)
		dm, _ := NewDrift(DefaultDriftConfig(), DriftMean, Down)
		for i := range 112 {
			day := driftMonday.AddDate(0, 0, i+team%7)
			v, n := teamDay(rng, day, size, p0)
			es := ds.Observe(day, v, n)
			em := dm.Observe(day, 0.3+0.4*rng.NormFloat64()/math.Sqrt(float64(n)), n)
			if es.Warmup {
				continue
			}
			days++
			if es.Alarm {
				shareAlarms++
			}
			if em.Alarm {
				meanAlarms++
			}
		}
	}
	rs, rm := float64(shareAlarms)/float64(days), float64(meanAlarms)/float64(days)
	t.Logf("false alarms per 1000 scored team-days: share %.2f, mean %.2f (%d days)", 1000*rs, 1000*rm, days)
	if rs > 2e-3 || rm > 2e-3 {
		t.Errorf("false alarm rate share %.4f, mean %.4f per day: want <= 0.002", rs, rm)
	}
}

// TestDriftOverdispersion feeds days whose share varies from day to day
// more than binomially (each day's true share drawn around the baseline
// with sd 0.04, as threads of one mood would do): the between-day
// variance of the reference raises the noise floor, so plain overdispersed
// days do not alarm more often than binomial ones do.
func TestDriftOverdispersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	var days, alarms int
	for team := range 300 {
		d, _ := NewDrift(DefaultDriftConfig(), DriftShare, Up)
		for i := range 112 {
			day := driftMonday.AddDate(0, 0, i+team%7)
			p := min(max(0.2+0.04*rng.NormFloat64(), 0.01), 0.99)
			v, n := teamDay(rng, day, 300, p)
			if e := d.Observe(day, v, n); !e.Warmup {
				days++
				if e.Alarm {
					alarms++
				}
			}
		}
	}
	r := float64(alarms) / float64(days)
	t.Logf("overdispersed days: %.2f false alarms per 1000 team-days", 1000*r)
	if r > 2e-3 {
		t.Errorf("false alarm rate %.4f per day with overdispersion: want <= 0.002", r)
	}
}

// TestDriftNewLevelAfterMaxRun: a lasting step is reported while it is
// new, and after MaxRun days it is the baseline.
func TestDriftNewLevelAfterMaxRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	cfg := DefaultDriftConfig()
	d, _ := NewDrift(cfg, DriftShare, Up)
	var first, last int = -1, -1
	for i := range 120 {
		day := driftMonday.AddDate(0, 0, i)
		p := 0.15
		if i >= 28 {
			p = 0.35
		}
		v, n := teamDay(rng, day, 200, p)
		if d.Observe(day, v, n).Alarm {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first != 28 || last < 28+cfg.MaxRun-3 || last >= 28+cfg.MaxRun+cfg.MinReference {
		t.Errorf("step on day 28: alarms from day %d to %d, want from 28 to about %d", first, last, 28+cfg.MaxRun)
	}
}

// TestDriftReplay: the state is a function of the days fed, so a detector
// rebuilt from the first part of a series continues exactly like one that
// saw it all (how the analyzer recovers after a restart).
func TestDriftReplay(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type point struct {
		t time.Time
		v float64
		n int
	}
	var pts []point
	for i := range 60 {
		day := driftMonday.AddDate(0, 0, i)
		p := 0.2
		if i >= 30 {
			p = 0.2 + 0.02*float64(i-30)
		}
		v, n := teamDay(rng, day, 150, p)
		pts = append(pts, point{day, v, n})
	}
	whole, _ := NewDrift(DefaultDriftConfig(), DriftShare, Up)
	var want []DriftVerdict
	for _, p := range pts {
		want = append(want, whole.Observe(p.t, p.v, p.n))
	}
	for _, cut := range []int{10, 31, 40} {
		re, _ := NewDrift(DefaultDriftConfig(), DriftShare, Up)
		for _, p := range pts[:cut] {
			re.Observe(p.t, p.v, p.n)
		}
		for i, p := range pts[cut:] {
			if got := re.Observe(p.t, p.v, p.n); got != want[cut+i] {
				t.Fatalf("cut %d, day %d: %+v, want %+v", cut, cut+i, got, want[cut+i])
			}
		}
	}
	alarms := 0
	for _, v := range want {
		if v.Alarm {
			alarms++
		}
	}
	if alarms == 0 {
		t.Error("the planted drift raised no alarm")
	}
}

func TestDriftConfigValidate(t *testing.T) {
	if err := DefaultDriftConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*DriftConfig){
		"shift":   func(c *DriftConfig) { c.Shift = 0 },
		"h":       func(c *DriftConfig) { c.Threshold = -1 },
		"release": func(c *DriftConfig) { c.Release = c.Threshold },
		"ref":     func(c *DriftConfig) { c.Reference = c.MinReference - 1 },
		"conf":    func(c *DriftConfig) { c.VarianceConfidence = 1 },
		"endz":    func(c *DriftConfig) { c.EndZ = 0 },
	} {
		c := DefaultDriftConfig()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
	if _, err := NewDrift(DefaultDriftConfig(), DriftShare, Flat); err == nil {
		t.Error("direction Flat accepted")
	}
}

// TestDriftSpike checks the Shewhart limit: one working day of messages
// well above a stable daily count (a mean of one value a day) alarms on
// its own with SpikeZ, not without it (the CUSUM alone is too slow for one
// jump), and the ordinary day after it does not alarm.
func TestDriftSpike(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spikeZ float64
		want   bool
	}{
		{"shewhart limit", 6, true},
		{"cusum only", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultDriftConfig()
			cfg.SpikeZ = tc.spikeZ
			d, err := NewDrift(cfg, DriftMean, Up)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 5))
			count := func(day time.Time) float64 {
				if isWeekend(day) {
					return math.Round(16 + 4*rng.NormFloat64())
				}
				return math.Round(275 + 20*rng.NormFloat64())
			}
			var spike, next DriftVerdict
			for i := range 32 {
				day := driftMonday.AddDate(0, 0, i)
				v := count(day)
				if i == 24 { // a Friday, after three weeks of history
					v = 275 + 10*20 // ten standard deviations
				}
				e := d.Observe(day, v, 1)
				switch {
				case i == 24:
					spike = e
				case i == 25:
					next = e
				case e.Alarm:
					t.Errorf("false alarm on day %d (%v, z %.1f)", i, v, e.Z)
				}
			}
			t.Logf("spike 475 against expected %.0f: z %.1f, score %.2f", spike.Expected, spike.Z, spike.Score)
			if spike.Alarm != tc.want {
				t.Errorf("spike of z %.1f (expected %.0f): alarm %v, want %v", spike.Z, spike.Expected, spike.Alarm, tc.want)
			}
			if next.Alarm {
				t.Errorf("the day after the spike alarmed (z %.1f)", next.Z)
			}
		})
	}
}

// TestDriftSpikeLimit: the Shewhart limit is exactly SpikeZ standard
// errors of a day. On a stable daily count, one working day set 0.3
// standard errors above the limit (against the baseline Drift reports
// before it) alarms, and the same day 0.3 below it does not: the CUSUM
// alone gains Shift (z - Shift/2) from it, far from the threshold.
func TestDriftSpikeLimit(t *testing.T) {
	cfg := DefaultDriftConfig()
	for _, tc := range []struct {
		name string
		dz   float64
		want bool
	}{
		{"above the limit", 0.3, true},
		{"below the limit", -0.3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDrift(cfg, DriftMean, Up)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 7))
			for i := range 32 {
				day := driftMonday.AddDate(0, 0, i)
				v := math.Round(275 + 20*rng.NormFloat64())
				if isWeekend(day) {
					v = math.Round(16 + 4*rng.NormFloat64())
				}
				if i == 24 { // a Friday
					mean, se, ok := d.Baseline(day, 1)
					if !ok {
						t.Fatal("no baseline after three weeks")
					}
					v = mean + (cfg.SpikeZ+tc.dz)*se
				}
				e := d.Observe(day, v, 1)
				if i == 24 {
					t.Logf("z %.2f (limit %g): alarm %v, statistic %.2f of %.2f", e.Z, cfg.SpikeZ, e.Alarm, e.Statistic, cfg.Threshold)
					if e.Alarm != tc.want || e.Statistic >= cfg.Threshold {
						t.Errorf("a day at z %.2f against the limit %g: alarm %v, want %v (statistic %.2f)", e.Z, cfg.SpikeZ, e.Alarm, tc.want, e.Statistic)
					}
				} else if e.Alarm {
					t.Errorf("false alarm on day %d (z %.1f)", i, e.Z)
				}
			}
		})
	}
}
