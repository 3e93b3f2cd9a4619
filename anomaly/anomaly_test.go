package anomaly

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string // "" = valid
	}{
		{"default", func(*Config) {}, ""},
		{"seasonal", func(c *Config) { *c = SeasonalConfig() }, ""},
		{"unknown detector", func(c *Config) { c.Detectors = []string{"magic"} }, "unknown detector"},
		{"tiny window", func(c *Config) { c.Window = 4 }, "Window"},
		{"recent not below window", func(c *Config) { c.Recent = c.Window }, "Recent"},
		{"one bin", func(c *Config) { c.Bins = 1 }, "Bins"},
		{"drift above clip", func(c *Config) { c.CUSUMDrift = 5 }, "CUSUMDrift"},
		{"alarm score 1", func(c *Config) { c.AlarmScore = 1 }, "AlarmScore"},
		{"suppress factor above 1", func(c *Config) { c.SuppressFactor = 2 }, "SuppressFactor"},
		{"season not multiple of bucket", func(c *Config) { c.Season = 5 * time.Hour; c.Bucket = 2 * time.Hour; c.SeasonDepth = 3 }, "multiple"},
		{"one context level", func(c *Config) { c.ContextLevels = 1 }, "ContextLevels"},
		{"context order too long", func(c *Config) { c.ContextOrder = 9 }, "ContextOrder"},
		{"negative context weight", func(c *Config) { c.ContextWeight = -1 }, "ContextWeight"},
		{"context fields ignored when off", func(c *Config) {
			c.Detectors = []string{DetectorLevel}
			c.ContextLevels, c.ContextOrder = 0, 0
		}, ""},
		{"discord step 0", func(c *Config) { c.DiscordStep = 0 }, "DiscordStep"},
		{"discord memory below 4 windows", func(c *Config) { c.DiscordMemory = 3 * c.DiscordLength }, "DiscordMemory"},
		{"discord norm unknown", func(c *Config) { c.DiscordNorm = 3 }, "DiscordNorm"},
		{"discord scales 9", func(c *Config) { c.DiscordScales = 9 }, "DiscordScales"},
		{"discord fields ignored when off", func(c *Config) {
			c.Detectors = []string{DetectorLevel}
			c.DiscordStep, c.DiscordLength, c.DiscordMemory = 0, 0, 0
		}, ""},
		{"calibrate cap below 1", func(c *Config) { c.CalibrateCap = 0.5 }, "CalibrateCap"},
		{"calibrate cap off", func(c *Config) { c.CalibrateCap = 0 }, ""},
		{"season without depth", func(c *Config) { c.Season = time.Hour * 24; c.Bucket = time.Hour }, "SeasonDepth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want error mentioning %q", err, tc.want)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

// noisy returns n points every step with Gaussian noise around level.
func noisy(rng *rand.Rand, n int, step time.Duration, level, sd float64) ([]time.Time, []float64) {
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range vs {
		ts[i] = t0.Add(time.Duration(i) * step)
		vs[i] = level + sd*rng.NormFloat64()
	}
	return ts, vs
}

func TestDetectsPlantedAnomalies(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name  string
		plant func(vs []float64, at int)
		dir   Direction
	}{
		{"spike up", func(vs []float64, at int) { vs[at] += 15 }, Up},
		{"spike down", func(vs []float64, at int) { vs[at] -= 15 }, Down},
		{"level shift", func(vs []float64, at int) {
			for i := at; i < len(vs); i++ {
				vs[i] += 3
			}
		}, Up},
		{"variance burst", func(vs []float64, at int) {
			r := rand.New(rand.NewPCG(9, 9))
			for i := at; i < at+40; i++ {
				vs[i] = 100 + 6*r.NormFloat64()
			}
		}, Flat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			ts, vs := noisy(rng, 3000, 5*time.Minute, 100, 1)
			const at = 2000
			tc.plant(vs, at)
			d, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var before, during float64
			var hit Explanation
			for i := range vs {
				e := d.Observe(ts[i], vs[i])
				if e.Score < 0 || e.Score > 1 {
					t.Fatalf("row %d: score %v outside [0,1]", i, e.Score)
				}
				switch {
				case i >= 1000 && i < at:
					before = math.Max(before, e.Score)
				case i >= at && i < at+50 && e.Score > during:
					during, hit = e.Score, e
				}
			}
			if during < cfg.AlarmScore {
				t.Fatalf("planted anomaly scored %.3f, below the alarm score %.3f", during, cfg.AlarmScore)
			}
			if before >= during {
				t.Fatalf("clean stretch scored %.3f, not below the anomaly's %.3f", before, during)
			}
			if tc.dir != Flat && hit.Direction != tc.dir {
				t.Errorf("direction %v, want %v", hit.Direction, tc.dir)
			}
			if hit.Detector == "" || math.Abs(hit.Expected-100) > 2 || hit.Low >= hit.Expected || hit.High <= hit.Expected {
				t.Errorf("bad explanation %+v", hit)
			}
		})
	}
}

// TestSeasonalTeamSeries is an hourly team series (busy weekday office
// hours, quiet nights and weekends) with one planted drop on a weekday
// morning. The seasonal detector must flag the drop and no weekend hour.
func TestSeasonalTeamSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const weeks = 10
	n := weeks * 7 * 24
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range vs {
		ts[i] = t0.Add(time.Duration(i) * time.Hour)
		wd, h := ts[i].Weekday(), ts[i].Hour()
		base := 5.0
		if wd != time.Saturday && wd != time.Sunday && h >= 9 && h < 18 {
			base = 120
			if h == 9 || h == 17 {
				base = 70
			}
		}
		vs[i] = base * (1 + 0.08*rng.NormFloat64())
	}
	// Week 8, Wednesday 10:00-14:00: the team goes quiet.
	drop := (8*7+2)*24 + 10
	for i := drop; i < drop+4; i++ {
		vs[i] *= 0.3
	}
	cfg := SeasonalConfig()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var dropScore float64
	for i := range vs {
		e := d.Observe(ts[i], vs[i])
		if i >= drop && i < drop+4 {
			dropScore = math.Max(dropScore, e.Score)
			if e.Score >= cfg.AlarmScore && (e.Direction != Down || e.Expected < 100) {
				t.Errorf("drop hour %s: explanation %+v, want down from ~120", ts[i], e)
			}
			continue
		}
		if e.Warmup {
			continue
		}
		if wd := ts[i].Weekday(); (wd == time.Saturday || wd == time.Sunday || ts[i].Hour() == 9) && e.Score >= cfg.AlarmScore {
			t.Errorf("normal %s %02d:00 flagged: score %.3f (expected %.1f, value %.1f)", wd, ts[i].Hour(), e.Score, e.Expected, e.Value)
		}
	}
	if dropScore < cfg.AlarmScore {
		t.Fatalf("planted drop scored %.3f, below the alarm score %.3f", dropScore, cfg.AlarmScore)
	}
}

// TestReplayIsRestartSafe: a detector rebuilt from the first k points must
// score the rest exactly as the detector that never stopped.
func TestReplayIsRestartSafe(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ts, vs := noisy(rng, 2500, time.Hour, 50, 5)
	vs[2200] = 120
	for _, cfg := range []Config{DefaultConfig(), SeasonalConfig()} {
		live, _ := New(cfg)
		var want []Explanation
		for i := range vs {
			want = append(want, live.Observe(ts[i], vs[i]))
		}
		for _, k := range []int{0, 1, 400, 2100} {
			d, err := Replay(cfg, ts[:k], vs[:k])
			if err != nil {
				t.Fatal(err)
			}
			for i := k; i < len(vs); i++ {
				if got := d.Observe(ts[i], vs[i]); got != want[i] {
					t.Fatalf("season=%v restart at %d: row %d got %+v, want %+v", cfg.Season, k, i, got, want[i])
				}
			}
		}
	}
}

func TestNonFiniteValuesAreSkipped(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ts, vs := noisy(rng, 600, time.Minute, 10, 1)
	d, _ := New(DefaultConfig())
	ref, _ := New(DefaultConfig())
	for i := range vs {
		if i%50 == 0 {
			if e := d.Observe(ts[i], math.NaN()); e.Score != 0 {
				t.Fatalf("NaN scored %v", e.Score)
			}
			d.Observe(ts[i], math.Inf(1))
		}
		if a, b := d.Observe(ts[i], vs[i]), ref.Observe(ts[i], vs[i]); a != b {
			t.Fatalf("row %d: NaN/Inf changed the state: %+v vs %+v", i, a, b)
		}
	}
}

func TestRollingMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, capacity := range []int{1, 7, 64} {
		r := newRolling(capacity)
		m := newSlidingMax(capacity)
		var all []float64
		for i := 0; i < 500; i++ {
			v := math.Round(rng.NormFloat64() * 3) // ties on purpose
			r.push(v)
			m.push(v)
			all = append(all, v)
			win := append([]float64(nil), all[max(0, len(all)-capacity):]...)
			if r.last(0) != v || (len(win) > 1 && r.last(1) != win[len(win)-2]) {
				t.Fatalf("cap %d step %d: last() wrong", capacity, i)
			}
			sort.Float64s(win)
			if r.quantile(0) != win[0] || r.quantile(1) != win[len(win)-1] || m.max() != win[len(win)-1] {
				t.Fatalf("cap %d step %d: min/max wrong", capacity, i)
			}
			if got, want := r.countAtMost(0), sort.Search(len(win), func(j int) bool { return win[j] > 0 }); got != want {
				t.Fatalf("cap %d step %d: countAtMost(0) = %d, want %d", capacity, i, got, want)
			}
		}
	}
}

// BenchmarkObserve holds the speed budget: the NAB corpus (365k points) must
// score in well under a minute on one core, i.e. far below 100µs a point.
func BenchmarkObserve(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"default", DefaultConfig()}, {"seasonal", SeasonalConfig()}} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			ts, vs := noisy(rng, 5000, time.Hour, 100, 10)
			d, _ := New(tc.cfg)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Observe(ts[i%len(ts)], vs[i%len(vs)])
			}
		})
	}
}
