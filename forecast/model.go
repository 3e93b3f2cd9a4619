package forecast

import (
	"fmt"
	"math"
	"time"
)

// Params are the smoothing parameters of ETS(A,Ad,A): Alpha (level), Beta
// (trend), Gamma (season), Phi (trend damping). Fit keeps 0 < Alpha < 1,
// 0 < Beta < Alpha, 0 < Gamma < 1 - Alpha and PhiMin <= Phi <= PhiMax
// (the usual admissible region, Hyndman et al. 2008, ch. 10).
type Params struct {
	Alpha, Beta, Gamma, Phi float64
}

// Model is a fitted ETS(A,Ad,A) model of one daily series: its
// parameters, the state after the last input day, and the one-step error
// variances the intervals are built from. Build it with Fit.
type Model struct {
	cfg    Config
	Params Params
	// Start is the day of the input's first value; the series' day i is
	// Start + i days.
	Start time.Time
	// Days is the length of the input (observed and missing days).
	Days int
	// Observed is the number of observed (non-NaN) days; Scored the
	// number of them whose one-step error entered the fit (the first
	// sight of a season position only initialises it).
	Observed, Scored int
	// LastObserved is the index of the last observed day.
	LastObserved int
	// Sigma is the pooled standard deviation of the one-step errors
	// (degrees of freedom corrected for the fitted parameters and initial
	// states); DaySigma the shrunk one per season position (index mod
	// Season).
	Sigma    float64
	DaySigma []float64
	// DayCount is the number of observed days per season position.
	DayCount []int

	level, trend float64
	season       []float64
	seen         []bool
}

// state is the filter's state: level, trend and one seasonal term per
// position, with whether the position was ever observed.
type state struct {
	level, trend float64
	season       []float64
	seen         []bool
}

func (s state) clone() state {
	return state{s.level, s.trend, append([]float64(nil), s.season...), append([]bool(nil), s.seen...)}
}

// Fit fits ETS(A,Ad,A) to a daily series: values[i] is day start + i,
// NaN when the day was not published (a team under k, a holiday). It
// returns ErrShortHistory (wrapped) when fewer than cfg.MinHistory days
// are observed, ErrBadValue for ±Inf, a *ConfigError for an invalid cfg.
//
// How (see the package documentation for why): initial states from the
// first four seasons of data (season means and a pooled within-position
// slope), then the four smoothing parameters that minimise the sum of
// squared one-step errors, found by Nelder-Mead over an
// unconstrained reparameterisation of the admissible region, from two
// starting points (nelderMead).
func Fit(cfg Config, start time.Time, values []float64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	obs, first := 0, -1
	for i, v := range values {
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w at day %d", ErrBadValue, i)
		}
		if !math.IsNaN(v) {
			obs++
			if first < 0 {
				first = i
			}
		}
	}
	if obs < cfg.MinHistory {
		return nil, fmt.Errorf("%w: %d observed, need %d", ErrShortHistory, obs, cfg.MinHistory)
	}
	init := initialState(values, first, cfg.Season)
	y := values[first:]
	m := cfg.Season

	decode := func(x []float64) Params {
		sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
		const eps = 1e-4
		a := eps + (1-2*eps)*sig(x[0])
		return Params{
			Alpha: a,
			Beta:  a * sig(x[1]),
			Gamma: (1 - a) * sig(x[2]),
			Phi:   cfg.PhiMin + (cfg.PhiMax-cfg.PhiMin)*sig(x[3]),
		}
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	scratch := init.clone()
	objective := func(x []float64) float64 {
		copy(scratch.season, init.season)
		copy(scratch.seen, init.seen)
		scratch.level, scratch.trend = init.level, init.trend
		sse, _ := filter(decode(x), m, first, y, scratch, nil)
		return sse
	}
	best, bestF := []float64{logit(0.2), logit(0.05), logit(0.1), 0}, math.Inf(1)
	for _, x0 := range [][]float64{
		{logit(0.2), logit(0.05), logit(0.1), 0},  // a slowly moving level
		{logit(0.6), logit(0.02), logit(0.05), 0}, // a level that follows the last days
	} {
		x, f := nelderMead(objective, x0, 1, cfg.MaxEvaluations/2, 1e-7)
		if f < bestF {
			best, bestF = x, f
		}
	}
	p := decode(best)

	md := &Model{cfg: cfg, Params: p, Start: start, Days: len(values), Observed: obs}
	sseBy := make([]float64, m)
	nBy := make([]int, m)
	md.DayCount = make([]int, m)
	last := first
	sse, st := filter(p, m, first, y, init.clone(), func(i int, e float64, scored bool) {
		last = i
		md.DayCount[i%m]++
		if scored {
			sseBy[i%m] += e * e
			nBy[i%m]++
		}
	})
	n := 0
	seen := 0
	for k := range nBy {
		n += nBy[k]
		if st.seen[k] {
			seen++
		}
	}
	md.Scored, md.LastObserved = n, last
	md.level, md.trend, md.season, md.seen = st.level, st.trend, st.season, st.seen
	// Degrees of freedom: four smoothing parameters, the initial level
	// and trend, and seen-1 free seasonal terms.
	df := n - (4 + 2 + max(0, seen-1))
	pooled := 0.0
	if df > 0 {
		pooled = sse / float64(df)
	} else if n > 0 {
		pooled = sse / float64(n)
	}
	md.Sigma = math.Sqrt(pooled)
	md.DaySigma = make([]float64, m)
	scale := 1.0
	if df > 0 {
		scale = float64(n) / float64(df)
	}
	for k := range md.DaySigma {
		v := (sseBy[k]*scale + cfg.DayShrink*pooled) / (float64(nBy[k]) + cfg.DayShrink)
		if nBy[k] == 0 && cfg.DayShrink == 0 {
			v = pooled
		}
		md.DaySigma[k] = math.Sqrt(v)
	}
	return md, nil
}

// filter runs the error-correction recursions of ETS(A,Ad,A) over y
// (y[j] is day first+j) from st and returns the sum of squared one-step
// errors and the final state. A missing day (NaN) propagates the state
// without correction (its error is unobserved: the state-space treatment
// of a missing observation); the first observation of a season position
// never seen before sets that position's seasonal term and is not scored.
// obs, when not nil, is called for every observed day with its error.
func filter(p Params, m, first int, y []float64, st state, obs func(i int, e float64, scored bool)) (float64, state) {
	var sse float64
	l, b, s, seen := st.level, st.trend, st.season, st.seen
	for j, v := range y {
		i := first + j
		k := i % m
		pred := l + p.Phi*b
		if math.IsNaN(v) {
			l, b = pred, p.Phi*b
			continue
		}
		if !seen[k] {
			s[k], seen[k] = v-pred, true
			l, b = pred, p.Phi*b
			if obs != nil {
				obs(i, 0, false)
			}
			continue
		}
		e := v - (pred + s[k])
		sse += e * e
		l = pred + p.Alpha*e
		b = p.Phi*b + p.Beta*e
		s[k] += p.Gamma * e
		if obs != nil {
			obs(i, e, true)
		}
	}
	return sse, state{l, b, s, seen}
}

// initialState estimates the state before day first from the first four
// seasons from it: a model value = level + trend x (t - first + 1) +
// season[position], fitted by least squares with one mean per position
// (the slope is the pooled within-position slope, so a position seen on
// more days than another does not bias it). Positions not observed in
// the window start unseen.
func initialState(values []float64, first, m int) state {
	end := min(len(values), first+4*m)
	sum := make([]float64, m)
	tsum := make([]float64, m)
	cnt := make([]float64, m)
	for i := first; i < end; i++ {
		if v := values[i]; !math.IsNaN(v) {
			k := i % m
			sum[k] += v
			tsum[k] += float64(i)
			cnt[k]++
		}
	}
	var num, den float64
	for i := first; i < end; i++ {
		if v := values[i]; !math.IsNaN(v) {
			k := i % m
			dt := float64(i) - tsum[k]/cnt[k]
			num += (v - sum[k]/cnt[k]) * dt
			den += dt * dt
		}
	}
	slope := 0.0
	if den > 0 {
		slope = num / den
	}
	st := state{season: make([]float64, m), seen: make([]bool, m)}
	origin := float64(first - 1) // the state's day
	var lsum float64
	var seen int
	for k := range m {
		if cnt[k] == 0 {
			continue
		}
		st.season[k] = sum[k]/cnt[k] - slope*(tsum[k]/cnt[k]-origin)
		st.seen[k] = true
		lsum += st.season[k]
		seen++
	}
	st.level = lsum / float64(seen)
	for k := range m {
		if st.seen[k] {
			st.season[k] -= st.level
		}
	}
	st.trend = slope
	return st
}
