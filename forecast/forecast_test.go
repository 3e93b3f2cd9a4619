package forecast_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"commpulse/forecast"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*forecast.Config)
		field  string // "" = valid
	}{
		{"default", func(*forecast.Config) {}, ""},
		{"season 1", func(c *forecast.Config) { c.Season = 1 }, "Season"},
		{"horizon 0", func(c *forecast.Config) { c.Horizon = 0 }, "Horizon"},
		{"horizon beyond 8 seasons", func(c *forecast.Config) { c.Horizon = 57 }, "Horizon"},
		{"level 1", func(c *forecast.Config) { c.Level = 1 }, "Level"},
		{"level NaN", func(c *forecast.Config) { c.Level = math.NaN() }, "Level"},
		{"min history under two seasons", func(c *forecast.Config) { c.MinHistory = 13 }, "MinHistory"},
		{"phi range inverted", func(c *forecast.Config) { c.PhiMin, c.PhiMax = 0.95, 0.9 }, "PhiMin"},
		{"phi above 1", func(c *forecast.Config) { c.PhiMax = 1.1 }, "PhiMin"},
		{"phi fixed", func(c *forecast.Config) { c.PhiMin, c.PhiMax = 0.9, 0.9 }, ""},
		{"negative shrink", func(c *forecast.Config) { c.DayShrink = -1 }, "DayShrink"},
		{"pooled variance only", func(c *forecast.Config) { c.DayShrink = 1e9 }, ""},
		{"tiny search budget", func(c *forecast.Config) { c.MaxEvaluations = 5 }, "MaxEvaluations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := forecast.DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ce *forecast.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("Validate() = %v, want a *ConfigError on %s", err, tc.field)
			}
			if _, err := forecast.Fit(c, genStart, weekly(60, 0, 0, nil)); !errors.As(err, &ce) {
				t.Fatalf("Fit accepted an invalid config: %v", err)
			}
		})
	}
}

var pattern = [7]float64{1, 1.5, 1.2, 0.8, -0.5, -2, -2} // by index mod 7 (Monday first)

// weekly is n days of 10 + pattern + slope x day + sd x noise, with the
// days for which missing returns true NaN.
func weekly(n int, slope, sd float64, missing func(i int) bool) []float64 {
	rng := rand.New(rand.NewPCG(9, 9))
	v := make([]float64, n)
	for i := range v {
		v[i] = 10 + pattern[i%7] + slope*float64(i) + sd*rng.NormFloat64()
		if missing != nil && missing(i) {
			v[i] = math.NaN()
		}
	}
	return v
}

func weekend(i int) bool { return i%7 >= 5 }

func TestFitErrors(t *testing.T) {
	cfg := forecast.DefaultConfig()
	for _, tc := range []struct {
		name   string
		values []float64
		want   error
	}{
		{"27 days", weekly(27, 0, 0.1, nil), forecast.ErrShortHistory},
		{"37 days, 27 of them published", weekly(37, 0, 0.1, weekend), forecast.ErrShortHistory},
		{"nothing published", weekly(60, 0, 0, func(int) bool { return true }), forecast.ErrShortHistory},
		{"infinite value", func() []float64 { v := weekly(60, 0, 0.1, nil); v[30] = math.Inf(1); return v }(), forecast.ErrBadValue},
		{"38 days, 28 of them published", weekly(38, 0, 0.1, weekend), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := forecast.Fit(cfg, genStart, tc.values)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Fit = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestForecastFollowsTheSeries(t *testing.T) {
	cfg := forecast.DefaultConfig()
	for _, tc := range []struct {
		name    string
		values  []float64
		tol     float64 // on the mean, every step
		missing func(int) bool
	}{
		{"exact weekly pattern", weekly(84, 0, 0, nil), 1e-3, nil},
		{"weekly pattern with a trend", weekly(84, 0.05, 0, nil), 0.15, nil},
		{"noisy", weekly(120, 0, 0.3, nil), 0.4, nil},
		{"weekends never published", weekly(120, 0, 0.3, weekend), 0.4, weekend},
		{"scattered gaps", weekly(120, 0, 0.3, func(i int) bool { return i%5 == 2 || i%11 == 0 }), 0.4, nil},
		{"leading gap", weekly(120, 0, 0.3, func(i int) bool { return i < 20 }), 0.4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := forecast.Fit(cfg, genStart, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			f := md.Forecast()
			if len(f.Days) != cfg.Horizon || f.Level != cfg.Level {
				t.Fatalf("%d days at level %v, want %d at %v", len(f.Days), f.Level, cfg.Horizon, cfg.Level)
			}
			n := len(tc.values)
			for _, d := range f.Days {
				i := n - 1 + d.Step
				if !d.Day.Equal(genStart.AddDate(0, 0, i)) {
					t.Fatalf("step %d is %v, want %v", d.Step, d.Day, genStart.AddDate(0, 0, i))
				}
				if tc.missing != nil && tc.missing(i) {
					if d.OK || !math.IsNaN(d.Mean) {
						t.Fatalf("step %d (%s, never published) forecast %v", d.Step, d.Day.Weekday(), d.Mean)
					}
					continue
				}
				slope := 0.0
				if strings.Contains(tc.name, "trend") {
					slope = 0.05
				}
				want := 10 + pattern[i%7] + slope*float64(i)
				if !d.OK || math.Abs(d.Mean-want) > tc.tol {
					t.Fatalf("step %d: forecast %.3f, want %.3f +- %g (params %+v)", d.Step, d.Mean, want, tc.tol, md.Params)
				}
				if !(d.Lower <= d.Mean && d.Mean <= d.Upper) {
					t.Fatalf("step %d: interval [%v, %v] does not hold the mean %v", d.Step, d.Lower, d.Upper, d.Mean)
				}
			}
		})
	}
}

func TestIntervalsWiden(t *testing.T) {
	cfg := forecast.DefaultConfig()
	v := weekly(120, 0, 0.5, nil)
	f, err := forecast.Predict(cfg, genStart, v)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(f.Days); i++ {
		// Same weekday a week later: at least as wide (other weekdays may
		// have their own variance).
		if i >= 7 && f.Days[i].SD < f.Days[i-7].SD {
			t.Fatalf("step %d SD %v below step %d's %v", i+1, f.Days[i].SD, i-6, f.Days[i-7].SD)
		}
	}
	// The last three days not published: each forecast day is three steps
	// further from the last observation, and its interval wider. (On a
	// series whose level moves, so that a step adds visible variance.)
	rng := rand.New(rand.NewPCG(3, 3))
	rw := make([]float64, 180)
	level := 0.0
	for i := range rw {
		e := rng.NormFloat64()
		rw[i] = level + pattern[i%7] + e
		level += 0.5 * e
	}
	full, err := forecast.Predict(cfg, genStart, rw)
	if err != nil {
		t.Fatal(err)
	}
	tail := append(append([]float64(nil), rw[:177]...), math.NaN(), math.NaN(), math.NaN())
	g, err := forecast.Predict(cfg, genStart, tail)
	if err != nil {
		t.Fatal(err)
	}
	if !g.LastDay.Equal(full.LastDay) || !g.LastObserved.Equal(genStart.AddDate(0, 0, 176)) {
		t.Fatalf("last day %v, last observed %v", g.LastDay, g.LastObserved)
	}
	if g.Days[0].SD <= full.Days[0].SD*1.1 {
		t.Fatalf("after 3 unpublished days step 1 SD %v, not well above %v", g.Days[0].SD, full.Days[0].SD)
	}
	// A higher level, a wider interval around the same mean.
	cfg.Level = 0.95
	h, err := forecast.Predict(cfg, genStart, v)
	if err != nil {
		t.Fatal(err)
	}
	if h.Days[3].Mean != f.Days[3].Mean || h.Days[3].Upper-h.Days[3].Lower <= f.Days[3].Upper-f.Days[3].Lower {
		t.Fatalf("level 0.95 interval %v-%v, level 0.8 %v-%v", h.Days[3].Lower, h.Days[3].Upper, f.Days[3].Lower, f.Days[3].Upper)
	}
}

// TestCoverageOnItsOwnProcess checks the analytic intervals where the
// model is true: series simulated from ETS(A,N,A) (a random-walk level
// plus a fixed weekly pattern plus noise) get 80% intervals that hold
// about 80% of the next 14 days.
func TestCoverageOnItsOwnProcess(t *testing.T) {
	cfg := forecast.DefaultConfig()
	rng := rand.New(rand.NewPCG(5, 5))
	const series, n = 200, 130
	inside, total := 0, 0
	for range series {
		v := make([]float64, n+cfg.Horizon)
		level := 0.0
		for i := range v {
			e := rng.NormFloat64()
			v[i] = level + pattern[i%7] + e
			level += 0.3 * e
		}
		f, err := forecast.Predict(cfg, genStart, v[:n])
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Days {
			y := v[n-1+d.Step]
			if y >= d.Lower && y <= d.Upper {
				inside++
			}
			total++
		}
	}
	c := float64(inside) / float64(total)
	t.Logf("coverage %.3f of %d days", c, total)
	if c < 0.75 || c > 0.85 {
		t.Fatalf("coverage %.3f on the model's own process, want about 0.8", c)
	}
}

func TestFitIsDeterministic(t *testing.T) {
	v := teamCorpus(3)[2].sentiment
	a, err := forecast.Fit(forecast.DefaultConfig(), genStart, v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := forecast.Fit(forecast.DefaultConfig(), genStart, v)
	fa, fb := a.Forecast(), b.Forecast()
	if a.Params != b.Params {
		t.Fatalf("params %+v then %+v", a.Params, b.Params)
	}
	same := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	for i := range fa.Days {
		x, y := fa.Days[i], fb.Days[i]
		if !same(x.Mean, y.Mean) || !same(x.Lower, y.Lower) || !same(x.Upper, y.Upper) || x.OK != y.OK {
			t.Fatalf("day %d: %+v then %+v", i, fa.Days[i], fb.Days[i])
		}
	}
}

func TestDense(t *testing.T) {
	d := func(n int, h int) time.Time { return genStart.AddDate(0, 0, n).Add(time.Duration(h) * time.Hour) }
	start, v, err := forecast.Dense([]forecast.Point{{d(3, 5), 3}, {d(0, 0), 0}, {d(1, 23), 1}, {d(6, 12), 6}})
	if err != nil {
		t.Fatal(err)
	}
	if !start.Equal(genStart) || len(v) != 7 {
		t.Fatalf("start %v, %d values", start, len(v))
	}
	for i, want := range []float64{0, 1, math.NaN(), 3, math.NaN(), math.NaN(), 6} {
		if !(v[i] == want || math.IsNaN(v[i]) && math.IsNaN(want)) {
			t.Fatalf("values %v", v)
		}
	}
	if _, _, err := forecast.Dense([]forecast.Point{{d(1, 2), 1}, {d(1, 9), 2}}); !errors.Is(err, forecast.ErrDuplicateDay) {
		t.Fatalf("two points on one day: %v", err)
	}
	if s, v, err := forecast.Dense(nil); err != nil || !s.IsZero() || v != nil {
		t.Fatalf("empty: %v %v %v", s, v, err)
	}
}

// fixed is a forecast of 5 days with the given means, interval +-1, day 3
// not forecastable.
func fixed(means ...float64) forecast.Forecast {
	f := forecast.Forecast{Label: "team-3's belonging index", Level: 0.8, Observed: 120,
		LastDay: genStart.AddDate(0, 0, 119), LastObserved: genStart.AddDate(0, 0, 118)}
	for i, m := range means {
		d := forecast.Day{Day: genStart.AddDate(0, 0, 120+i), Step: i + 1, Mean: m, Lower: m - 1, Upper: m + 1, SD: 0.78, OK: i != 2}
		f.Days = append(f.Days, d)
	}
	return f
}

func TestWarn(t *testing.T) {
	for _, tc := range []struct {
		name      string
		f         forecast.Forecast
		threshold float64
		dir       forecast.Direction
		step      int // 0: no warning
		by        float64
		days      int
	}{
		{"far above", fixed(70, 69, 68, 67, 66), 60, forecast.Below, 0, 0, 0},
		{"mean under, upper bound not", fixed(70, 65, 60, 59.5, 60), 60, forecast.Below, 0, 0, 0},
		{"upper bound under on step 4", fixed(70, 65, 60, 58.5, 57), 60, forecast.Below, 4, 0.5, 2},
		{"only the unforecastable day under", fixed(70, 65, 50, 65, 65), 60, forecast.Below, 0, 0, 0},
		{"tomorrow already", fixed(55, 56, 57, 58, 59), 60, forecast.Below, 1, 4, 3},
		{"bound exactly on the threshold", fixed(61, 61, 61, 61, 61), 62, forecast.Below, 0, 0, 0},
		{"above: lower bound over", fixed(0.2, 0.25, 0.3, 1.4, 0.2), 0.3, forecast.Above, 4, 0.1, 1},
		{"above: nothing", fixed(0.2, 0.25, 0.3, 0.35, 0.2), 0.3, forecast.Above, 0, 0, 0},
		{"NaN threshold", fixed(55, 56, 57, 58, 59), math.NaN(), forecast.Below, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := forecast.Warn(tc.f, tc.threshold, tc.dir)
			if ok != (tc.step > 0) {
				t.Fatalf("Warn = %+v, %v; want a warning: %v", w, ok, tc.step > 0)
			}
			if !ok {
				return
			}
			if w.Step != tc.step || math.Abs(w.By-tc.by) > 1e-9 || w.Days != tc.days || w.Horizon != 5 {
				t.Fatalf("warning on step %d by %v (%d days of %d), want step %d by %v (%d days)", w.Step, w.By, w.Days, w.Horizon, tc.step, tc.by, tc.days)
			}
			if !w.Day.Equal(tc.f.Days[tc.step-1].Day) || w.Threshold != tc.threshold {
				t.Fatalf("warning %+v", w)
			}
			t.Log(w.Explanation)
		})
	}
}

func TestWarnExplanation(t *testing.T) {
	w, ok := forecast.Warn(fixed(70, 65, 60, 58.5, 57), 60, forecast.Below)
	if !ok {
		t.Fatal("no warning")
	}
	for _, want := range []string{
		"team-3's belonging index", "fall below 60 ", "in 4 days", "(Fri 9 May)",
		"Expected 58.5, likely range 57.5 to 59.5", "high end of that range is 0.5 under",
		"2 of the next 5 days", "expects 8 in 10 days", "120 published days up to Sun 4 May", "not a conclusion",
	} {
		if !strings.Contains(w.Explanation, want) {
			t.Errorf("explanation lacks %q:\n%s", want, w.Explanation)
		}
	}
	f := fixed(0.2, 0.25, 0.3, 1.4, 0.2)
	f.Label = ""
	w, _ = forecast.Warn(f, 0.3, forecast.Above)
	for _, want := range []string{"the series", "rise above 0.3 ", "even the low end", "over the threshold"} {
		if !strings.Contains(w.Explanation, want) {
			t.Errorf("explanation lacks %q:\n%s", want, w.Explanation)
		}
	}
	if strings.Contains(w.Explanation, "of the next") {
		t.Errorf("one day past the threshold, and the explanation counts days:\n%s", w.Explanation)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Warn accepted direction 0")
		}
	}()
	forecast.Warn(f, 0.3, 0)
}

func TestTeamDaysGenerator(t *testing.T) {
	a, b := teamCorpus(7), teamCorpus(7)
	var published, weekdayGaps, weekendPublished int
	for i := range a {
		for d := range genDays {
			for _, pair := range [][2]float64{{a[i].sentiment[d], b[i].sentiment[d]}, {a[i].belonging[d], b[i].belonging[d]}} {
				if !(pair[0] == pair[1] || math.IsNaN(pair[0]) && math.IsNaN(pair[1])) {
					t.Fatalf("team %d day %d differs between two draws of one seed", i, d)
				}
			}
			s := a[i].sentiment[d]
			if math.IsNaN(s) != math.IsNaN(a[i].belonging[d]) {
				t.Fatalf("team %d day %d: one metric published, not the other", i, d)
			}
			if math.IsNaN(s) {
				if d%7 < 5 {
					weekdayGaps++
				}
				continue
			}
			published++
			if d%7 >= 5 {
				weekendPublished++
			}
			if s < -1 || s > 1 || a[i].belonging[d] < 0 || a[i].belonging[d] > 100 {
				t.Fatalf("team %d day %d: sentiment %v, belonging %v out of range", i, d, s, a[i].belonging[d])
			}
		}
	}
	t.Logf("%d team-days published, %d weekday gaps, %d weekend days published", published, weekdayGaps, weekendPublished)
	if weekdayGaps == 0 || weekendPublished == 0 || published < teamsPerSeed*genDays/2 {
		t.Fatal("the generator should make some weekday gaps, some published weekends, and publish most days")
	}
}

// BenchmarkFitForecast fits and forecasts one team series of 180 days
// (a generated team's published mean sentiment, weekends missing).
func BenchmarkFitForecast(b *testing.B) {
	v := teamCorpus(1)[0].sentiment[:180]
	cfg := forecast.DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := forecast.Predict(cfg, genStart, v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRarelyPublishedWeekday: a Saturday published three times is not
// forecast (MinDayCount 4), a fourth makes it forecastable; Sundays never
// published stay unforecastable.
func TestRarelyPublishedWeekday(t *testing.T) {
	cfg := forecast.DefaultConfig()
	for _, tc := range []struct {
		saturdays int
		ok        bool
	}{{3, false}, {4, true}} {
		v := weekly(119, 0, 0.3, func(i int) bool { return i%7 == 6 || i%7 == 5 && i/7 >= tc.saturdays })
		f, err := forecast.Predict(cfg, genStart, v)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Days {
			switch d.Day.Weekday() {
			case time.Saturday:
				if d.OK != tc.ok {
					t.Fatalf("%d Saturdays published: Saturday %v forecast %v", tc.saturdays, d.Day, d.OK)
				}
			case time.Sunday:
				if d.OK {
					t.Fatalf("Sunday %v forecast, never published", d.Day)
				}
			default:
				if !d.OK {
					t.Fatalf("%v not forecast", d.Day)
				}
			}
		}
	}
}
