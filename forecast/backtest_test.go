package forecast_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"commpulse/forecast"
)

// The rolling-origin backtest (Tashman 2000): for every generated team
// series and both metrics, origins every backtestStep days from day
// backtestFirst on (an expanding window: the model is refitted on all days
// before the origin), each forecasting the next 14 days with
// DefaultConfig. Per horizon H (7, 14), over the steps 1..H whose day was
// published:
//
//   - MASE (Hyndman and Koehler 2006): mean |actual - forecast| over the
//     forecast's days, divided by the in-sample MAE of the one-step
//     seasonal-naive forecast (y_t - y_{t-7}, both published, before the
//     origin), then averaged over the forecasts of a seed. Below 1: the
//     model's multi-step forecasts beat what last week's same day achieved
//     one step ahead in sample. The seasonal-naive forecast (the last
//     published same weekday before the origin) is scored the same way;
//   - coverage: the share of actual values inside the 80% interval.
const (
	backtestFirst = 56 // eight weeks of history at the first origin
	backtestStep  = 5  // origins rotate through the weekdays
)

// Seeds. The model's design (ETS(A,Ad,A), analytic intervals, per-weekday
// variance shrunk with weight 4, the config) was fixed before any run;
// tuningSeeds were the ones looked at while writing the package;
// heldOutSeeds were run once, after, with nothing changed.
var (
	tuningSeeds  = []uint64{1, 2, 3, 4}
	heldOutSeeds = []uint64{201, 202, 203, 204}
)

type horizonScore struct {
	mase, naive    float64 // sums over forecasts
	forecasts      int
	inside, points int
}

type seedScore struct {
	h              [2]horizonScore // H = 7, 14
	fits           int
	short          int // origins with fewer than MinHistory published days
	unforecastable int // published test days whose weekday was published fewer than MinDayCount times before
	// The warning rule against the 20th percentile of the series' own
	// published history before the origin (lower is worse): forecasts that
	// warned; published test days whose interval was past the threshold
	// (warned days) and of them actually under it; published test days
	// under the threshold.
	warnings, warnedDays, warnedHit, under int
	// per forecast step (1..14): test days, and of them inside the interval
	stepPoints, stepInside [14]int
}

func (s *horizonScore) add(o horizonScore) {
	s.mase += o.mase
	s.naive += o.naive
	s.forecasts += o.forecasts
	s.inside += o.inside
	s.points += o.points
}

func (s horizonScore) MASE() float64     { return s.mase / float64(s.forecasts) }
func (s horizonScore) Naive() float64    { return s.naive / float64(s.forecasts) }
func (s horizonScore) Coverage() float64 { return float64(s.inside) / float64(s.points) }

var horizons = [2]int{7, 14}

// backtestSeries scores the rolling origins of one series into sc.
func backtestSeries(t testing.TB, cfg forecast.Config, values []float64, sc *seedScore) {
	m := cfg.Season
	for o := backtestFirst; o+cfg.Horizon <= len(values); o += backtestStep {
		train := values[:o]
		md, err := forecast.Fit(cfg, genStart, train)
		if errors.Is(err, forecast.ErrShortHistory) {
			sc.short++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc.fits++
		f := md.Forecast()
		thr := percentile(train, 0.2)
		if _, ok := forecast.Warn(f, thr, forecast.Below); ok {
			sc.warnings++
		}
		for _, d := range f.Days {
			y := values[o-1+d.Step]
			if math.IsNaN(y) || !d.OK {
				continue
			}
			if y < thr {
				sc.under++
			}
			if d.Upper < thr {
				sc.warnedDays++
				if y < thr {
					sc.warnedHit++
				}
			}
		}
		var scale float64
		var n int
		for i := m; i < o; i++ {
			if !math.IsNaN(train[i]) && !math.IsNaN(train[i-m]) {
				scale += math.Abs(train[i] - train[i-m])
				n++
			}
		}
		if n == 0 || scale == 0 {
			continue
		}
		scale /= float64(n)
		for hi, H := range horizons {
			var ae, ne float64
			var cnt int
			var hs horizonScore
			for h := 1; h <= H; h++ {
				i := o - 1 + h
				y := values[i]
				if math.IsNaN(y) {
					continue
				}
				d := f.Days[h-1]
				naive := math.NaN()
				for j := i - m; j >= 0; j -= m {
					if j < o && !math.IsNaN(values[j]) {
						naive = values[j]
						break
					}
				}
				if !d.OK || math.IsNaN(naive) {
					if hi == 1 {
						sc.unforecastable++
					}
					continue
				}
				if hi == 1 {
					sc.stepPoints[h-1]++
					if y >= d.Lower && y <= d.Upper {
						sc.stepInside[h-1]++
					}
				}
				ae += math.Abs(y - d.Mean)
				ne += math.Abs(y - naive)
				cnt++
				hs.points++
				if y >= d.Lower && y <= d.Upper {
					hs.inside++
				}
			}
			if cnt == 0 {
				continue
			}
			hs.mase = ae / float64(cnt) / scale
			hs.naive = ne / float64(cnt) / scale
			hs.forecasts = 1
			sc.h[hi].add(hs)
		}
	}
}

// percentile is the q-quantile of the published (non-NaN) values, the
// nearest rank below.
func percentile(values []float64, q float64) float64 {
	var v []float64
	for _, x := range values {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	sort.Float64s(v)
	return v[int(q*float64(len(v)-1))]
}

func backtestSeed(t testing.TB, cfg forecast.Config, seed uint64) (sent, bel seedScore) {
	for _, team := range teamCorpus(seed) {
		backtestSeries(t, cfg, team.sentiment, &sent)
		backtestSeries(t, cfg, team.belonging, &bel)
	}
	return sent, bel
}

func seedsFromEnv(t *testing.T) []uint64 {
	seeds := append(append([]uint64{}, tuningSeeds...), heldOutSeeds...)
	if s := os.Getenv("COMMPULSE_FORECAST_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, n)
		}
	}
	return seeds
}

// TestForecastBacktest is the acceptance test of the early-warning slice
// of issue 15: on every seed and both horizons, MASE below 1 and below the
// seasonal-naive forecast's, and the 80% interval's coverage, pooled over
// all seeds, metrics and horizons, in [0.75, 0.85] (per seed and metric
// in [0.70, 0.90]). The table is in docs/forecast.md.
func TestForecastBacktest(t *testing.T) {
	cfg := forecast.DefaultConfig()
	var pooled horizonScore
	var stepPoints, stepInside [14]int
	unforecastable := 0
	var warnings, fits, warnedDays, warnedHit, under int
	t.Logf("seed set       metric     fits short | MASE h7 (naive) | MASE h14 (naive) | cover h7 | cover h14")
	for _, seed := range seedsFromEnv(t) {
		set := "tuning"
		for _, s := range heldOutSeeds {
			if s == seed {
				set = "held-out"
			}
		}
		sent, bel := backtestSeed(t, cfg, seed)
		for _, r := range []struct {
			name string
			sc   seedScore
		}{{"sentiment", sent}, {"belonging", bel}} {
			h7, h14 := r.sc.h[0], r.sc.h[1]
			unforecastable += r.sc.unforecastable
			warnings += r.sc.warnings
			fits += r.sc.fits
			warnedDays += r.sc.warnedDays
			warnedHit += r.sc.warnedHit
			under += r.sc.under
			for i := range stepPoints {
				stepPoints[i] += r.sc.stepPoints[i]
				stepInside[i] += r.sc.stepInside[i]
			}
			t.Logf("%4d %-9s %-9s %4d %5d | %.3f (%.3f)   | %.3f (%.3f)    | %.3f    | %.3f",
				seed, set, r.name, r.sc.fits, r.sc.short, h7.MASE(), h7.Naive(), h14.MASE(), h14.Naive(), h7.Coverage(), h14.Coverage())
			for hi, H := range horizons {
				h := r.sc.h[hi]
				pooled.add(h)
				if h.MASE() >= 1 || h.MASE() >= h.Naive() {
					t.Errorf("seed %d %s h=%d: MASE %.3f (seasonal naive %.3f): want < 1 and below seasonal naive", seed, r.name, H, h.MASE(), h.Naive())
				}
				if c := h.Coverage(); c < 0.70 || c > 0.90 {
					t.Errorf("seed %d %s h=%d: coverage %.3f of the 80%% interval: want in [0.70, 0.90]", seed, r.name, H, c)
				}
			}
		}
	}
	c := pooled.Coverage()
	t.Logf("pooled: %d forecasts, %d test days, coverage %.3f; %d published test days not forecast (weekday published fewer than MinDayCount times before)", pooled.forecasts, pooled.points, c, unforecastable)
	var by strings.Builder
	for i := range stepPoints {
		fmt.Fprintf(&by, " %d:%.3f", i+1, float64(stepInside[i])/float64(stepPoints[i]))
	}
	t.Logf("coverage by step:%s", by.String())
	t.Logf("warning rule (Below the 20th percentile of the history): %d of %d forecasts warned; %d warned days, %d of them (%.3f) under the threshold; %d test days under it, %.3f of them warned",
		warnings, fits, warnedDays, warnedHit, float64(warnedHit)/float64(max(1, warnedDays)), under, float64(warnedHit)/float64(max(1, under)))
	if c < 0.75 || c > 0.85 {
		t.Errorf("pooled coverage %.3f of the 80%% interval: want in [0.75, 0.85]", c)
	}
}
