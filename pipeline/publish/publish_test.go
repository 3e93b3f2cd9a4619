package publish

import (
	"crypto/rand"
	"flag"
	"fmt"
	"math"
	"testing"
	"time"

	"commpulse/nlp"
)

// TestDiscreteLaplaceDistribution checks the exact sampler against the
// distribution it claims: P(X = x) = (1-q)/(1+q) q^|x| with q = exp(-1/b).
// With 40,000 draws the standard error of each probability is below
// 0.0025; the bounds are 5 of them, so a correct sampler fails about once
// in a million runs and a wrong scale (or a sign bias) fails always.
func TestDiscreteLaplaceDistribution(t *testing.T) {
	for _, b := range []float64{0.5, 1, 3.7, 20} {
		t.Run(fmt.Sprintf("scale %g", b), func(t *testing.T) {
			const n = 40000
			tt, s := scaleRatio(b)
			counts := map[int64]int{}
			var sum, sq float64
			for range n {
				x := discreteLaplace(rand.Reader, tt, s)
				counts[x]++
				sum += float64(x)
				sq += float64(x) * float64(x)
			}
			q := math.Exp(-1 / b)
			for _, x := range []int64{0, 1, -1, 2, -3} {
				want := (1 - q) / (1 + q) * math.Pow(q, math.Abs(float64(x)))
				got := float64(counts[x]) / n
				se := math.Sqrt(want * (1 - want) / n)
				if math.Abs(got-want) > 5*se+1e-4 {
					t.Errorf("P(X=%d) = %.4f, want %.4f (se %.4f)", x, got, want, se)
				}
			}
			mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
			wantVar := laplaceVariance(b)
			if math.Abs(mean) > 6*math.Sqrt(wantVar/n) {
				t.Errorf("mean %.4f, want 0 (var %.3f)", mean, wantVar)
			}
			if math.Abs(variance/wantVar-1) > 0.1 {
				t.Errorf("variance %.3f, want %.3f", variance, wantVar)
			}
		})
	}
}

func TestStreamIsKeyedAndDeterministic(t *testing.T) {
	key := make([]byte, 32)
	a, b := newStream(key, []byte("ctx")), newStream(key, []byte("ctx"))
	other := newStream(key, []byte("ctx2"))
	bufA, bufB, bufO := make([]byte, 100), make([]byte, 100), make([]byte, 100)
	a.Read(bufA[:37])
	a.Read(bufA[37:]) // reads across block boundaries are one stream
	b.Read(bufB)
	other.Read(bufO)
	if string(bufA) != string(bufB) {
		t.Error("same key and context gave different streams")
	}
	if string(bufA) == string(bufO) {
		t.Error("different contexts gave the same stream")
	}
}

func testPublisher(t *testing.T, key byte) *Publisher {
	t.Helper()
	p := DefaultPolicy()
	p.Key = make([]byte, 32)
	p.Key[0] = key
	pub, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Policy)
		ok   bool
	}{
		{"defaults", func(*Policy) {}, true},
		{"k 2 is refused", func(p *Policy) { p.K = 2 }, false},
		{"k 4 is refused", func(p *Policy) { p.K = 4 }, false},
		{"k 10 is allowed", func(p *Policy) { p.K = 10 }, true},
		{"cap 0", func(p *Policy) { p.CapVolume = 0 }, false},
		{"cap sentiment 0", func(p *Policy) { p.CapSentiment = 0 }, false},
		{"cap themes 0", func(p *Policy) { p.CapThemes = 0 }, false},
		{"cap themes NaN", func(p *Policy) { p.CapThemes = math.NaN() }, false},
		{"cap themes 1", func(p *Policy) { p.CapThemes = 1 }, true},
		{"negative epsilon", func(p *Policy) { p.Epsilon.DaySentiment = -1 }, false},
		{"NaN epsilon", func(p *Policy) { p.Epsilon.DayMessages = math.NaN() }, false},
		{"short key", func(p *Policy) { p.Key = []byte("short") }, false},
		{"min people 1", func(p *Policy) { p.MinPeople = 1 }, false},
		{"negative scale", func(p *Policy) { p.EpsilonScale = -1 }, false},
		{"scale 0.25", func(p *Policy) { p.EpsilonScale = 0.25 }, true},
		{"min theme messages 0", func(p *Policy) { p.MinThemeMessages = 0 }, false},
		{"min theme messages NaN", func(p *Policy) { p.MinThemeMessages = math.NaN() }, false},
		{"min theme messages 10", func(p *Policy) { p.MinThemeMessages = 10 }, true},
		{"negative day-themes", func(p *Policy) { p.Epsilon.DayThemes = -1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.edit(&p)
			if err := p.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestDayRelease(t *testing.T) {
	pub := testPublisher(t, 1)
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	c := DayCell{Window: day, Team: "t", Senders: 10, Messages: 300, AfterHours: 30, Scored: 150, SumCompound: 30, Negative: 40, Positive: 60}
	t.Run("below k publishes nothing", func(t *testing.T) {
		small := c
		small.Senders = 4
		if _, ok := pub.Day(small); ok {
			t.Error("a team-day of 4 senders was published")
		}
	})
	t.Run("re-release of the same data is identical", func(t *testing.T) {
		a, _ := pub.Day(c)
		b, _ := pub.Day(c)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("re-release differs: %v vs %v", a, b)
		}
	})
	t.Run("a figure at epsilon 0 is not published", func(t *testing.T) {
		p := DefaultPolicy()
		p.Key = make([]byte, 32)
		p.Epsilon.DaySenders, p.Epsilon.DayPositive = 0, 0
		pb, _ := New(p)
		r, ok := pb.Day(c)
		if !ok || r.Senders != 5 || !math.IsNaN(r.PositiveShare) || math.IsNaN(r.NegativeShare) {
			t.Errorf("release with day-senders and day-positive off: %+v", r)
		}
	})
	t.Run("a re-release (next generation) draws fresh noise", func(t *testing.T) {
		a, _ := pub.Day(c)
		next := c
		next.Gen = 1
		b, _ := pub.Day(next)
		again, _ := pub.Day(next)
		if a.Messages == b.Messages || a.MeanCompound == b.MeanCompound || a.NegativeShare == b.NegativeShare {
			t.Errorf("generation 1 republished a figure of generation 0: %+v vs %+v", a, b)
		}
		if fmt.Sprint(b) != fmt.Sprint(again) {
			t.Errorf("the same generation gave two releases: %+v vs %+v", b, again)
		}
	})
	t.Run("other key, other noise", func(t *testing.T) {
		a, _ := pub.Day(c)
		b, _ := testPublisher(t, 2).Day(c)
		if a.Messages == b.Messages && a.MeanCompound == b.MeanCompound {
			t.Errorf("two keys gave the same release %v", a)
		}
	})
	t.Run("figures are close to the truth and in range", func(t *testing.T) {
		var errMean, errNeg float64
		const n = 500
		for i := range n {
			p := DefaultPolicy()
			p.Key = make([]byte, 32)
			p.Key[0], p.Key[1] = byte(i), byte(i>>8)
			pb, _ := New(p)
			r, ok := pb.Day(c)
			if !ok {
				t.Fatal("not published")
			}
			if r.MeanCompound < -1 || r.MeanCompound > 1 || r.NegativeShare < 0 || r.NegativeShare > 1 || r.Senders < 5 {
				t.Fatalf("out of range: %+v", r)
			}
			errMean += math.Abs(r.MeanCompound - 0.2)
			errNeg += math.Abs(r.NegativeShare - 40.0/150)
		}
		// The noise of the sum (sd NoiseSD(cap, ε)) over 150 scored sets
		// the scale of the error of the mean; the share's likewise. An
		// unnoised release shows no error, a mis-scaled one far more.
		nz := pub.DayNoise()
		for name, c := range map[string][2]float64{"mean compound": {errMean / n, nz.Sum / 150}, "negative share": {errNeg / n, nz.Negative / 150}} {
			if c[0] < 0.3*c[1] || c[0] > 3*c[1] {
				t.Errorf("mean absolute error of %s %.4f, want within 0.3..3 x %.4f (noise sd / scored)", name, c[0], c[1])
			}
		}
	})
}

func TestPeopleNeverSinglesOut(t *testing.T) {
	if v := testPublisher(t, 3).NewlyIsolated(time.Unix(0, 0), 0, "t", 50); v != nil {
		t.Fatalf("a count of people was published at the default budget (%d): it is off by default", *v)
	}
	p := DefaultPolicy()
	p.Key = make([]byte, 32)
	p.Epsilon.DayIsolated = 2
	pub, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		for _, n := range []int{0, 1, 2} {
			if v := pub.NewlyIsolated(time.Unix(int64(i)*86400, 0), 0, "t", n); v != nil && *v < 3 {
				t.Fatalf("count %d published as %d (< MinPeople)", n, *v)
			}
		}
	}
}

// TestPeopleNoiseFloor: the floor is the smallest count a release of a
// true zero reaches with probability at most alpha, checked against the
// releases themselves: 200,000 zeros released at ε 2 (fresh noise each)
// reach the floor about as often as the tail formula says, and the count
// just below it more often than alpha.
func TestPeopleNoiseFloor(t *testing.T) {
	p := DefaultPolicy()
	p.Key = make([]byte, 32)
	p.Epsilon.DayIsolated = 2
	pub, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200_000
	reach := map[int]int{} // published count -> releases of zero reaching it
	for i := range n {
		if v := pub.NewlyIsolated(time.Unix(int64(i)*86400, 0), 0, "t", 0); v != nil {
			for c := p.MinPeople; c <= *v; c++ {
				reach[c]++
			}
		}
	}
	tail := func(c int) float64 { // P(noise >= c - 0.5) at ε 2
		q := math.Exp(-2 * Grid / (1 + Grid))
		return math.Pow(q, math.Ceil((float64(c)-0.5)/Grid-1e-9)) / (1 + q)
	}
	for c := p.MinPeople; c <= 5; c++ {
		want := tail(c) * n
		if got := float64(reach[c]); math.Abs(got-want) > 5*math.Sqrt(want)+1 {
			t.Errorf("zeros released as >= %d: %.0f of %d, the tail formula says %.1f", c, got, n, want)
		}
	}
	for _, tc := range []struct {
		alpha float64
		want  int
	}{{1e-2, 3}, {1e-3, 4}, {3e-4, 5}, {1e-4, 5}, {1e-5, 6}} {
		got := pub.NewlyIsolatedFloor(tc.alpha)
		if got != tc.want || tail(got) > tc.alpha || (got > p.MinPeople && tail(got-1) <= tc.alpha) {
			t.Errorf("floor at alpha %g: %d, want %d (the smallest count >= %d with tail <= alpha)", tc.alpha, got, tc.want, p.MinPeople)
		}
	}
	if got := testPublisher(t, 3).NewlyIsolatedFloor(1e-3); got != 0 {
		t.Errorf("floor with counts of people off: %d, want 0", got)
	}
	p.Epsilon.DayIsolated = 8 // little noise: the floor is MinPeople
	if pub, _ := New(p); pub.NewlyIsolatedFloor(1e-4) != p.MinPeople {
		t.Errorf("floor at ε 8: %d, want MinPeople %d", pub.NewlyIsolatedFloor(1e-4), p.MinPeople)
	}
}

func TestPerPersonDay(t *testing.T) {
	p := DefaultPolicy()
	got := p.PerPersonDay()
	b := p.Epsilon
	want := b.DaySenders + b.DayMessages + b.DayAfterHours + b.DayScored + b.DaySentiment + b.DayNegative + b.DayPositive + b.DayIsolated +
		float64(len(nlp.ThemeNames()))*b.DayThemes + b.HourMessages + 2*(b.NetSenders+b.NetWeight+b.NetPeople+b.GraphNodes)
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("PerPersonDay = %g, want %g", got, want)
	}
}

func TestEpsilonScale(t *testing.T) {
	p := DefaultPolicy()
	q := p
	q.EpsilonScale = 0.25
	if got, want := q.PerPersonDay(), p.PerPersonDay()/4; math.Abs(got-want) > 1e-9 {
		t.Errorf("PerPersonDay at scale 0.25 = %g, want %g", got, want)
	}
	q.Key = make([]byte, 32)
	pub, err := New(q)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pub.DayNoise().Sum, NoiseSD(p.CapSentiment, p.Epsilon.DaySentiment/4); math.Abs(got-want) > 1e-9 {
		t.Errorf("noise at scale 0.25 = %g, want %g", got, want)
	}
	if pub.Policy().PerPersonDay() != q.PerPersonDay() {
		t.Error("the publisher's policy does not report the scaled budget")
	}
}

func TestThemeRelease(t *testing.T) {
	pub := testPublisher(t, 1)
	names := nlp.ThemeNames()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	c := DayCell{Window: day, Team: "t", Senders: 10, Messages: 900, Themes: make([]float64, len(names))}
	for i := range c.Themes {
		c.Themes[i] = 400 + 10*float64(i)
	}
	t.Run("below k publishes no theme", func(t *testing.T) {
		small := c
		small.Senders = 4
		if r := pub.Themes(small); r != nil {
			t.Errorf("a team-day of 4 senders published themes %v", r)
		}
	})
	t.Run("every theme of a busy team-day, by name, never below the floor", func(t *testing.T) {
		r := pub.Themes(c)
		if len(r) != len(names) {
			t.Fatalf("%d themes published of %d counts of 400 and more: %v", len(r), len(names), r)
		}
		for i, x := range r {
			if x.Theme != names[i] || x.Team != "t" || !x.Window.Equal(day) || x.Messages < pub.Policy().MinThemeMessages {
				t.Errorf("release %d: %+v", i, x)
			}
		}
	})
	t.Run("same generation same release, next generation fresh noise", func(t *testing.T) {
		a, b := pub.Themes(c), pub.Themes(c)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("re-release differs: %v vs %v", a, b)
		}
		next := c
		next.Gen = 1
		n := pub.Themes(next)
		for i := range n {
			if n[i].Messages == a[i].Messages {
				t.Errorf("generation 1 republished %s of generation 0 (%v)", n[i].Theme, n[i].Messages)
			}
		}
	})
	t.Run("day-themes 0 publishes nothing", func(t *testing.T) {
		p := DefaultPolicy()
		p.Key = make([]byte, 32)
		p.Epsilon.DayThemes = 0
		pb, _ := New(p)
		if r := pb.Themes(c); r != nil {
			t.Errorf("themes published at epsilon 0: %v", r)
		}
	})
	t.Run("themes nobody used are released and floored like the others", func(t *testing.T) {
		// A count of 0 (an absent entry too) is noised like any other, so
		// it is published at the rate the noise's tail gives
		// (P(L >= m) = q^m'/(1+q) for discrete Laplace, in grid units):
		// the absence of a row is not "nobody wrote about it". The
		// published values are never below the floor.
		empty := DayCell{Window: day, Team: "t", Senders: 10}
		const n = 4000
		shown := 0
		for i := range n {
			e := empty
			e.Window = day.AddDate(0, 0, i)
			for _, r := range pub.Themes(e) {
				if r.Messages < pub.Policy().MinThemeMessages {
					t.Fatalf("published %v below the floor", r)
				}
				shown++
			}
		}
		pol := pub.Policy()
		b := (pol.CapThemes + Grid) / Grid / pol.Epsilon.DayThemes // scale in grid units
		q := math.Exp(-1 / b)
		want := math.Pow(q, pol.MinThemeMessages/Grid) / (1 + q)
		got := float64(shown) / float64(n*len(names))
		se := math.Sqrt(want * (1 - want) / float64(n*len(names)))
		t.Logf("a theme nobody used is published on %.3f of team-days (noise tail %.3f)", got, want)
		if math.Abs(got-want) > 5*se {
			t.Errorf("zero counts published at rate %.4f, want %.4f (se %.4f)", got, want, se)
		}
	})
}

// The theme counts have their own bound: their noise is calibrated to
// CapThemes (CapVolume plays no part in it), and the default floor lets a
// theme nobody used through on the share of team-days it did before the
// bound (cap 60, ε 2, floor 60): about 7 in 100.
func TestThemeBoundAndFloor(t *testing.T) {
	pol := DefaultPolicy()
	if pol.CapThemes != 10 || pol.Epsilon.DayThemes != 1 || pol.MinThemeMessages != 20 {
		t.Fatalf("defaults: cap themes %v, day-themes %v, floor %v", pol.CapThemes, pol.Epsilon.DayThemes, pol.MinThemeMessages)
	}
	// tail is P(noise >= floor) of the discrete Laplace a zero count gets:
	// q^(floor/Grid)/(1+q), q = exp(-1/b), b in grid units.
	tail := func(capT, eps, floor float64) float64 {
		q := math.Exp(-1 / ((capT + Grid) / Grid / eps))
		return math.Pow(q, floor/Grid) / (1 + q)
	}
	now, before := tail(pol.CapThemes, pol.Epsilon.DayThemes, pol.MinThemeMessages), tail(60, 2, 60)
	t.Logf("a theme nobody used passes the floor with probability %.4f (before the theme cap: %.4f); noise sd %.2f (before %.2f)",
		now, before, NoiseSD(pol.CapThemes, pol.Epsilon.DayThemes), NoiseSD(60, 2))
	if math.Abs(now-before) > 0.001 {
		t.Errorf("zero-count publication rate %.4f, want about %.4f", now, before)
	}
	if sd := NoiseSD(pol.CapThemes, pol.Epsilon.DayThemes); math.Abs(sd-14.16) > 0.01 {
		t.Errorf("theme noise sd %.3f, want 14.16", sd)
	}

	pub := testPublisher(t, 1)
	if got, want := pub.ThemeNoise(), NoiseSD(pol.CapThemes, pol.Epsilon.DayThemes); got != want {
		t.Errorf("ThemeNoise %v, want %v", got, want)
	}
	c := DayCell{Window: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Team: "t", Senders: 10, Themes: []float64{200, 100, 50, 30, 0}}
	with := func(edit func(*Policy)) string {
		p := pub.Policy()
		edit(&p)
		pb, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(pb.Themes(c))
	}
	base := fmt.Sprint(pub.Themes(c))
	if got := with(func(p *Policy) { p.CapVolume = 200 }); got != base {
		t.Errorf("the volume cap changed the theme release: %s vs %s", got, base)
	}
	if got := with(func(p *Policy) { p.CapThemes = 30 }); got == base {
		t.Errorf("the theme cap did not change the theme noise: %s", got)
	}
}

func TestPolicyFlags(t *testing.T) {
	p := DefaultPolicy()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	p.RegisterFlags(fs)
	if err := fs.Parse([]string{"--privacy-min-theme-messages", "25", "--privacy-cap-themes", "5", "--privacy-epsilon", "day-themes=0.5,day-sentiment=3"}); err != nil {
		t.Fatal(err)
	}
	if p.MinThemeMessages != 25 || p.CapThemes != 5 || p.Epsilon.DayThemes != 0.5 || p.Epsilon.DaySentiment != 3 {
		t.Errorf("flags parsed into %+v", p)
	}
	if got, want := p.ThemesEpsilon(), 0.5*float64(len(nlp.ThemeNames())); got != want {
		t.Errorf("ThemesEpsilon = %g, want %g", got, want)
	}
}
