package anomaly_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"commpulse/anomaly"
	"commpulse/anomaly/nab"
)

// The team-series generator: hourly series with the rhythm of a team's
// aggregates and the anomalies the product is meant to find, labelled the
// NAB way (one window per anomaly, row indices) so nab.Score scores them.
//
// A series is value = offset + scale * (rhythm(hour, weekday) + sd(hour,
// weekday) * noise), 20 weeks of hours from Monday 2025-01-06 00:00 UTC,
// with AR(1) noise (phi 0.3, unit variance). Rhythm: weekdays 09-18 at
// 3 + sin(pi (h-9)/9), evenings 18-22 at 1, nights at 0, weekends 0.5 (+0.5
// 10-18). Noise sd: 1 in weekday working hours, 1.6 off hours, 2 at
// weekends. offset is uniform in [-10, 10], scale log-uniform in [0.2, 20].
//
// Six anomalies per series, in sd units of the hour they touch:
//   - drop:    3 days from 00:00 of a day, -1.6 sd;
//   - spike:   3 working hours of a weekday, +4 sd;
//   - decline: 14 days from 00:00, linear from 0 to -3 sd, then back;
//   - burst:   5 days from 00:00, noise sd x 3;
//   - weekend: one Saturday and Sunday with a weekday's rhythm and noise;
//   - shift:   permanent, +-2.5 working-hour sd, from 00:00 of a day.
//
// The first five are placed in a random order from day 28 on, at least 7
// days apart, the slack spread at random; the shift comes last, at least
// 3 weeks before the end. Windows: from 12 hours before the onset to 12
// hours after the end (the shift: 7 days after its onset).
const (
	genWeeks = 20
	genHours = genWeeks * 7 * 24
)

var genStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday

type genSeries struct {
	times   []time.Time
	values  []float64
	windows []nab.Window
	kinds   []string // per window
}

func rhythm(h int, weekend bool) (level, sd float64) {
	if weekend {
		level, sd = 0.5, 2
		if h >= 10 && h < 18 {
			level = 1
		}
		return
	}
	switch {
	case h >= 9 && h < 18:
		return 3 + math.Sin(math.Pi*float64(h-9)/9), 1
	case h >= 18 && h < 22:
		return 1, 1.6
	}
	return 0, 1.6
}

func generateTeamSeries(rng *rand.Rand) genSeries {
	offset := -10 + 20*rng.Float64()
	scale := math.Exp(math.Log(0.2) + (math.Log(20)-math.Log(0.2))*rng.Float64())
	type event struct {
		kind       string
		start, end int // hours, end exclusive
	}
	// Durations in days of the first five kinds, in a random order.
	kinds := []string{"drop", "spike", "decline", "burst", "weekend"}
	days := map[string]int{"drop": 3, "spike": 1, "decline": 14, "burst": 5, "weekend": 2}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	const gap = 7
	first, lastDay := 28, genWeeks*7-21-9 // the shift needs room after them
	need := 0
	for _, k := range kinds {
		need += days[k] + gap + 2 // +2: a weekend may have to be reached
	}
	slack := lastDay - first - need
	cuts := make([]int, len(kinds))
	for i := range cuts {
		cuts[i] = rng.IntN(slack/len(kinds) + 1)
	}
	var evs []event
	day := first
	for i, k := range kinds {
		day += cuts[i]
		switch k {
		case "weekend":
			for (genStart.AddDate(0, 0, day)).Weekday() != time.Saturday {
				day++
			}
		case "spike":
			for wd := genStart.AddDate(0, 0, day).Weekday(); wd == time.Saturday || wd == time.Sunday; wd = genStart.AddDate(0, 0, day).Weekday() {
				day++
			}
		}
		s := day * 24
		e := s + days[k]*24
		if k == "spike" {
			s += 9 + rng.IntN(6)
			e = s + 3
		}
		evs = append(evs, event{k, s, e})
		day += days[k] + gap
	}
	shiftDay := day + rng.IntN(max(1, genWeeks*7-21-day))
	evs = append(evs, event{"shift", shiftDay * 24, genHours})
	shiftSign := 1.0
	if rng.IntN(2) == 0 {
		shiftSign = -1
	}

	g := genSeries{times: make([]time.Time, genHours), values: make([]float64, genHours)}
	ar := 0.0
	const phi = 0.3
	for i := range genHours {
		t := genStart.Add(time.Duration(i) * time.Hour)
		h, wd := t.Hour(), t.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		var active []event
		for _, ev := range evs {
			if i >= ev.start && i < ev.end {
				active = append(active, ev)
			}
		}
		for _, ev := range active {
			if ev.kind == "weekend" {
				weekend = false
			}
		}
		level, sd := rhythm(h, weekend)
		noiseSD := sd
		ar = phi*ar + math.Sqrt(1-phi*phi)*rng.NormFloat64()
		for _, ev := range active {
			switch ev.kind {
			case "drop":
				level -= 1.6 * sd
			case "spike":
				level += 4 * sd
			case "decline":
				level -= 3 * sd * float64(i-ev.start) / float64(ev.end-ev.start)
			case "burst":
				noiseSD *= 3
			case "shift":
				level += shiftSign * 2.5
			}
		}
		g.times[i] = t
		g.values[i] = offset + scale*(level+noiseSD*ar)
	}
	for _, ev := range evs {
		l, r := ev.start-12, ev.end+12
		if ev.kind == "shift" {
			r = ev.start + 7*24
		}
		g.windows = append(g.windows, nab.Window{Start: max(l, 0), End: min(r, genHours-1)})
		g.kinds = append(g.kinds, ev.kind)
	}
	// Windows in row order (the shift is last by construction).
	return g
}

// ewmaScores is the baseline: a plain EWMA z-score, z = (x - m)/sqrt(v)
// against an exponentially weighted mean m and variance v (weight alpha),
// scored |z|/(|z|+3), 0 for the first 48 points.
func ewmaScores(values []float64, alpha float64) []float64 {
	out := make([]float64, len(values))
	m, v := values[0], 0.0
	for i, x := range values {
		if i > 0 {
			d := x - m
			if i >= 48 && v > 0 {
				z := math.Abs(d) / math.Sqrt(v)
				out[i] = z / (z + 3)
			}
			m += alpha * d
			v = (1 - alpha) * (v + alpha*d*d)
		}
	}
	return out
}

func teamScores(t testing.TB, g genSeries, cfg anomaly.TeamConfig) []float64 {
	d, err := anomaly.NewTeam(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(g.values))
	for i := range g.values {
		out[i] = d.Observe(g.times[i], g.values[i]).Score
	}
	return out
}

const seriesPerSeed = 8

// corpus generates the seed's series.
func corpus(seed uint64) []genSeries {
	rng := rand.New(rand.NewPCG(seed, 0x7ea3))
	out := make([]genSeries, seriesPerSeed)
	for i := range out {
		out[i] = generateTeamSeries(rng)
	}
	return out
}

func nabStandard(t testing.TB, gs []genSeries, score func(genSeries) []float64) nab.Result {
	sc := make([]nab.Scored, len(gs))
	for i, g := range gs {
		sc[i] = nab.Scored{Name: fmt.Sprintf("team-%d", i), Scores: score(g), Windows: g.windows}
	}
	r, err := nab.Score(sc, nab.Standard)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Seeds: parameters (of the profile and of the baseline's alpha) were
// chosen on tuningSeeds only; heldOutSeeds were run once, after. (Seeds
// 101-104 were run once with the first, untuned profile, and are not
// held out any more: they are reported with the tuning seeds.)
var (
	tuningSeeds  = []uint64{1, 2, 3, 4, 101, 102, 103, 104}
	heldOutSeeds = []uint64{201, 202, 203, 204}
)

// ewmaAlpha is the baseline's weight, the best of 0.005-0.2 on the tuning
// seeds (mean 73.4; 0.05, the first value tried, 67.5: see
// TestTeamSeriesNAB's log with COMMPULSE_TEAM_SWEEP=1). Both are reported.
const (
	ewmaAlpha      = 0.02
	ewmaAlphaFirst = 0.05
)

// faithfulProfile is the team profile with the analyzer's hourly detector
// unchanged (SeasonalConfig): what TeamProfile's two changes are measured
// against.
func faithfulProfile() anomaly.TeamConfig {
	c := anomaly.TeamProfile()
	c.Hourly = anomaly.SeasonalConfig()
	return c
}

func TestTeamSeriesGenerator(t *testing.T) {
	a, b := corpus(7), corpus(7)
	for i := range a {
		for j := range a[i].values {
			if a[i].values[j] != b[i].values[j] {
				t.Fatalf("series %d row %d differs between two draws of one seed", i, j)
			}
		}
		if len(a[i].windows) != 6 {
			t.Fatalf("series %d: %d windows, want 6", i, len(a[i].windows))
		}
		for k, w := range a[i].windows {
			if w.Start > w.End || (k > 0 && w.Start <= a[i].windows[k-1].End) {
				t.Fatalf("series %d: windows %v overlap or are out of order", i, a[i].windows)
			}
			if w.Start < nab.Probation(genHours) {
				t.Fatalf("series %d: window %v inside NAB's probation", i, w)
			}
		}
	}
}

func TestTeamSeriesNAB(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 8 corpora")
	}
	cfg := anomaly.TeamProfile()
	if os.Getenv("COMMPULSE_TEAM_SWEEP") != "" {
		for _, alpha := range []float64{0.005, 0.01, 0.02, 0.05, 0.1, 0.2} {
			var sum float64
			for _, seed := range tuningSeeds {
				sum += nabStandard(t, corpus(seed), func(g genSeries) []float64 { return ewmaScores(g.values, alpha) }).Normalized
			}
			t.Logf("ewma alpha %v: mean standard %.1f on the tuning seeds", alpha, sum/float64(len(tuningSeeds)))
		}
	}
	seeds := append(append([]uint64{}, tuningSeeds...), heldOutSeeds...)
	if s := os.Getenv("COMMPULSE_TEAM_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, n)
		}
	}
	held := map[uint64]bool{}
	for _, s := range heldOutSeeds {
		held[s] = true
	}
	// Per set (tuning, held-out): sums of team, faithful, ewma, ewma first.
	var sum [2][4]float64
	var cnt [2]int
	for _, seed := range seeds {
		gs := corpus(seed)
		tr := nabStandard(t, gs, func(g genSeries) []float64 { return teamScores(t, g, cfg) })
		fr := nabStandard(t, gs, func(g genSeries) []float64 { return teamScores(t, g, faithfulProfile()) })
		er := nabStandard(t, gs, func(g genSeries) []float64 { return ewmaScores(g.values, ewmaAlpha) })
		e1 := nabStandard(t, gs, func(g genSeries) []float64 { return ewmaScores(g.values, ewmaAlphaFirst) })
		set, k := "tuning", 0
		if held[seed] {
			set, k = "held-out", 1
		}
		for i, r := range []nab.Result{tr, fr, er, e1} {
			sum[k][i] += r.Normalized
		}
		cnt[k]++
		t.Logf("seed %d (%s): team %.1f (threshold %.3f, %d/%d windows, %d fp), faithful %.1f, ewma(%v) %.1f (%d/%d, %d fp), ewma(%v) %.1f",
			seed, set, tr.Normalized, tr.Threshold, tr.Detected, tr.Windows, tr.FP, fr.Normalized,
			ewmaAlpha, er.Normalized, er.Detected, er.Windows, er.FP, ewmaAlphaFirst, e1.Normalized)
		if os.Getenv("COMMPULSE_TEAM_KINDS") != "" {
			logKinds(t, gs, cfg, tr.Threshold)
		}
	}
	var mean [2][4]float64
	for k, name := range []string{"tuning", "held-out"} {
		if cnt[k] == 0 {
			continue
		}
		for i := range mean[k] {
			mean[k][i] = sum[k][i] / float64(cnt[k])
		}
		t.Logf("%s seeds (%d): mean team %.1f, faithful %.1f, ewma(%v) %.1f, ewma(%v) %.1f",
			name, cnt[k], mean[k][0], mean[k][1], ewmaAlpha, mean[k][2], ewmaAlphaFirst, mean[k][3])
	}
	// On the seeds not used for tuning: the profile reaches the target of
	// 60 and its two changes to the hourly detector help. (It does not
	// beat the tuned EWMA baseline: see docs/detectors.md.)
	if cnt[1] > 0 {
		if m := mean[1]; m[0] < 60 || m[0] <= m[1] {
			t.Errorf("held-out seeds: mean team profile %.1f, faithful %.1f: want >= 60 and above faithful", m[0], m[1])
		}
	}
}

// logKinds logs, per anomaly kind, how many windows hold a row scored at
// or above thr, and which detector scored the first such row.
func logKinds(t *testing.T, gs []genSeries, cfg anomaly.TeamConfig, thr float64) {
	found, total := map[string]int{}, map[string]int{}
	by := map[string]int{}
	fpBy := map[string]int{}
	for _, g := range gs {
		d, _ := anomaly.NewTeam(cfg)
		vs := make([]anomaly.TeamVerdict, len(g.values))
		for i := range g.values {
			vs[i] = d.Observe(g.times[i], g.values[i])
		}
		in := make([]int, len(vs))
		for i := range in {
			in[i] = -1
		}
		for k, w := range g.windows {
			total[g.kinds[k]]++
			for i := w.Start; i <= w.End; i++ {
				in[i] = k
			}
			for i := w.Start; i <= w.End; i++ {
				if vs[i].Score >= thr {
					found[g.kinds[k]]++
					by[g.kinds[k]+":"+vs[i].Detector]++
					break
				}
			}
		}
		for i, v := range vs {
			if in[i] < 0 && i >= nab.Probation(len(vs)) && v.Score >= thr {
				prev := "none"
				for k := len(g.windows) - 1; k >= 0; k-- {
					if g.windows[k].End < i {
						prev = fmt.Sprintf("%s+%dd", g.kinds[k], (i-g.windows[k].End)/24)
						break
					}
				}
				fpBy[v.Detector+"@"+prev]++
			}
		}
	}
	t.Logf("  found %v of %v; first detections %v; false positives by detector %v", found, total, by, fpBy)
}
