package forecast_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"commpulse/pipeline/publish"
)

// The team-day generator: daily team series as the analyzer publishes
// them, for the rolling-origin backtest. The anomaly package's team-series
// generator (anomaly/teamseries_test.go) makes hourly values of no
// particular meaning with planted incidents and no gaps; a forecast needs
// days, the two metrics it is for, and the gaps and noise of publication,
// so this one simulates the people behind a team-day and releases the day
// through pipeline/publish with its default policy.
//
// A team has N members (log-uniform in [6, 40]). On a day each member is
// active (sends at least one message) with probability pWork on weekdays
// (uniform in [0.75, 0.92]) and pWeekend at weekends ([0.03, 0.2]),
// times 0.3 on quiet days (2% of days, and with probability 0.4 one
// holiday block of 5-10 days). An active member sends 1 + Poisson(rate)
// messages (rate uniform in [5, 15], halved at weekends), 85% of them
// scored for sentiment, each message's compound clip(mu + u_i + 0.45 z,
// -1, 1) with the team-day's mood mu and the member's own offset u_i ~
// N(0, 0.1), and each message internal (to a team member) with
// probability logistic(logit(q) + v_i), v_i ~ N(0, 0.5).
//
// The team-day's mood mu and internal-share q (on the logit scale) are
// base + weekday pattern x amplitude + linear trend + a slow sinusoid +
// level shifts + AR(1) day effect:
//
//	mood:   base U(0.05, 0.3); Mon -0.02, Tue -0.005, Thu +0.005, Fri
//	        +0.025, Sat +0.04, Sun +0.03, x U(0.5, 1.5); slope up to
//	        +-0.06 over the series; sinusoid amplitude U(0, 0.04), period
//	        U(60, 180) days; AR(1) phi 0.5, innovations sd 0.015;
//	share:  base logit U(0.55, 0.85); Fri -0.05, Sat and Sun +0.2, x
//	        U(0.5, 1.5); slope up to +-0.4; sinusoid U(0, 0.3); AR(1) phi
//	        0.5, sd 0.08;
//	shifts: 0, 1 or 2 (probabilities 0.3, 0.5, 0.2) at days U(35, 175),
//	        permanent, mood +-U(0.03, 0.08), share +-U(0.2, 0.5) logit,
//	        the same sign for both with probability 0.7.
//
// Every day is released like the analyzer's day windows: contribution
// bounding (publish.DefaultPolicy's caps), k = 5 senders or nothing (NaN),
// discrete Laplace noise at the default budgets under a fixed key. The
// mean sentiment is the release's MeanCompound; the belonging index is
// 100 x (1 - ExternalShare) of the day's network release: the share of the
// team's outgoing weight that stays within the team. The product's
// belonging index is not defined yet on this branch; this stand-in is a
// bounded index released as a ratio of noisy parts, as the real one will
// be.
const genDays = 26 * 7

var genStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday

type teamDays struct {
	name      string
	sentiment []float64 // released mean compound, NaN when not released
	belonging []float64 // 100 x released internal share, NaN when not released
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
func logit(p float64) float64    { return math.Log(p / (1 - p)) }

func poisson(rng *rand.Rand, lambda float64) int {
	// Knuth's method: lambda is at most 15 here.
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func binomial(rng *rand.Rand, n int, p float64) int {
	c := 0
	for range n {
		if rng.Float64() < p {
			c++
		}
	}
	return c
}

func generateTeam(rng *rand.Rand, pub *publish.Publisher, name string) teamDays {
	u := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	sign := func() float64 {
		if rng.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	size := int(math.Round(math.Exp(u(math.Log(6), math.Log(40)))))
	pWork, pWeekend := u(0.75, 0.92), u(0.03, 0.2)
	rate := u(5, 15)
	moodOff := make([]float64, size)
	shareOff := make([]float64, size)
	for i := range moodOff {
		moodOff[i], shareOff[i] = 0.1*rng.NormFloat64(), 0.5*rng.NormFloat64()
	}

	moodBase, shareBase := u(0.05, 0.3), logit(u(0.55, 0.85))
	moodAmp, shareAmp := u(0.5, 1.5), u(0.5, 1.5)
	moodWeek := [7]float64{0.03, -0.02, -0.005, 0, 0.005, 0.025, 0.04} // by time.Weekday, Sunday first
	shareWeek := [7]float64{0.2, 0, 0, 0, 0, -0.05, 0.2}
	moodSlope, shareSlope := u(-0.06, 0.06)/genDays, u(-0.4, 0.4)/genDays
	moodSin, moodPeriod, moodPhase := u(0, 0.04), u(60, 180), u(0, 2*math.Pi)
	shareSin, sharePeriod, sharePhase := u(0, 0.3), u(60, 180), u(0, 2*math.Pi)
	type shift struct {
		day         int
		mood, share float64
	}
	var shifts []shift
	nShift := 0
	switch r := rng.Float64(); {
	case r < 0.3:
	case r < 0.8:
		nShift = 1
	default:
		nShift = 2
	}
	for range nShift {
		s := sign()
		s2 := s
		if rng.Float64() >= 0.7 {
			s2 = -s
		}
		shifts = append(shifts, shift{35 + rng.IntN(141), s * u(0.03, 0.08), s2 * u(0.2, 0.5)})
	}
	quiet := make([]bool, genDays)
	for d := range quiet {
		quiet[d] = rng.Float64() < 0.02
	}
	if rng.Float64() < 0.4 {
		s, n := rng.IntN(genDays-10), 5+rng.IntN(6)
		for d := s; d < s+n; d++ {
			quiet[d] = true
		}
	}

	pol := pub.Policy()
	out := teamDays{name: name, sentiment: make([]float64, genDays), belonging: make([]float64, genDays)}
	var moodAR, shareAR float64
	for d := range genDays {
		day := genStart.AddDate(0, 0, d)
		wd := day.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		moodAR = 0.5*moodAR + 0.015*rng.NormFloat64()
		shareAR = 0.5*shareAR + 0.08*rng.NormFloat64()
		mood := moodBase + moodAmp*moodWeek[wd] + moodSlope*float64(d) + moodSin*math.Sin(2*math.Pi*float64(d)/moodPeriod+moodPhase) + moodAR
		share := shareBase + shareAmp*shareWeek[wd] + shareSlope*float64(d) + shareSin*math.Sin(2*math.Pi*float64(d)/sharePeriod+sharePhase) + shareAR
		for _, s := range shifts {
			if d >= s.day {
				mood += s.mood
				share += s.share
			}
		}
		p, lambda := pWork, rate
		if weekend {
			p, lambda = pWeekend, rate/2
		}
		if quiet[d] {
			p *= 0.3
		}
		cell := publish.DayCell{Window: day, Team: name}
		net := publish.NetCell{Window: day, Days: 1, Team: name}
		for i := range size {
			if rng.Float64() >= p {
				continue
			}
			cell.Senders++
			n := 1 + poisson(rng, lambda)
			wv := math.Min(1, pol.CapVolume/float64(n))
			cell.Messages += wv * float64(n)
			in := binomial(rng, n, logistic(share+shareOff[i]))
			net.Internal += wv * float64(in)
			net.External += wv * float64(n-in)
			scored := binomial(rng, n, 0.85)
			if scored == 0 {
				continue
			}
			var sum, neg, pos float64
			for range scored {
				c := math.Max(-1, math.Min(1, mood+moodOff[i]+0.45*rng.NormFloat64()))
				sum += c
				if c <= -0.05 {
					neg++
				} else if c >= 0.05 {
					pos++
				}
			}
			ws := math.Min(1, pol.CapSentiment/float64(scored))
			cell.Scored += ws * float64(scored)
			cell.SumCompound += ws * sum
			cell.Negative += ws * neg
			cell.Positive += ws * pos
		}
		net.Senders = cell.Senders
		out.sentiment[d], out.belonging[d] = math.NaN(), math.NaN()
		if r, ok := pub.Day(cell); ok {
			out.sentiment[d] = r.MeanCompound
		}
		if r, ok := pub.Net(net); ok && !math.IsNaN(r.ExternalShare) {
			out.belonging[d] = 100 * (1 - r.ExternalShare)
		}
	}
	return out
}

const teamsPerSeed = 8

// teamCorpus generates a seed's teams, their noise drawn under a key
// derived from the seed (so re-generating a seed reproduces it bit for
// bit).
func teamCorpus(seed uint64) []teamDays {
	pol := publish.DefaultPolicy()
	pol.Key = []byte(fmt.Sprintf("forecast-backtest-noise-key-%016x", seed))
	pub, err := publish.New(pol)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(seed, 0xf0ca))
	out := make([]teamDays, teamsPerSeed)
	for i := range out {
		out[i] = generateTeam(rng, pub, fmt.Sprintf("team-%d", i))
	}
	return out
}
