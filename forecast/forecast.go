package forecast

import (
	"math"
	"time"
)

// Day is the forecast of one day.
type Day struct {
	Day time.Time
	// Step is the number of days after the last input day (1: the next
	// day).
	Step int
	// Mean is the point forecast; Lower and Upper the central prediction
	// interval at Forecast.Level; SD the forecast standard deviation.
	Mean, Lower, Upper, SD float64
	// OK is false for a day whose season position (weekday) was
	// observed fewer than Config.MinDayCount times (e.g. the weekends of a
	// team that is below k on most weekends): there is too little to
	// forecast it from, and Mean, Lower, Upper and SD are NaN.
	OK bool
}

// Forecast is a model's forecast of the days after its input.
type Forecast struct {
	// Label names the series in explanations ("team-3's belonging
	// index"); empty reads "the series". Set by the caller.
	Label string
	// Level is the interval coverage (Config.Level).
	Level float64
	// LastDay is the last input day; LastObserved the last observed one;
	// Observed the number of observed days the model was fitted on.
	LastDay, LastObserved time.Time
	Observed              int
	Days                  []Day
}

// Forecast returns the forecast of the Config.Horizon days after the last
// input day.
//
// The point forecast of step h is level + (phi + ... + phi^h) trend +
// season[position]. The interval is analytic, from the model's own
// forecast variance (Hyndman, Koehler, Ord and Snyder 2008, table 6.1,
// class 1): the error k steps after the last observed day is the sum of
// the k one-step errors since, the one j steps back weighted by
// c_j = alpha + beta (phi + ... + phi^j) + gamma [j is a multiple of the
// season] (c_0 = 1), so
//
//	var = sum_{j=0}^{k-1} c_j^2 sigma^2(position of day t+h-j)
//
// with sigma(position) the shrunk one-step error SD of that weekday
// (Model.DaySigma): weekend figures of a few messages are noisier than
// weekday ones; plus sigma^2(position)/DayCount(position) for the
// estimation error of the seasonal term itself, which no smoothing
// formula carries and which dominates for a weekday published a handful
// of times. Normal quantiles give the bounds. Missing days at the end
// of the input count as steps: their errors happened, unobserved.
func (md *Model) Forecast() Forecast {
	m, p := md.cfg.Season, md.Params
	z := math.Sqrt2 * math.Erfinv(md.cfg.Level)
	f := Forecast{
		Level:        md.cfg.Level,
		LastDay:      md.Start.AddDate(0, 0, md.Days-1),
		LastObserved: md.Start.AddDate(0, 0, md.LastObserved),
		Observed:     md.Observed,
		Days:         make([]Day, md.cfg.Horizon),
	}
	// c[j] for j up to the longest step from the last observation.
	kmax := md.Days - 1 + md.cfg.Horizon - md.LastObserved
	c := make([]float64, kmax)
	phiSum := 0.0
	for j := range c {
		if j == 0 {
			c[j] = 1
			continue
		}
		phiSum = phiSum*p.Phi + p.Phi // phi + ... + phi^j
		c[j] = p.Alpha + p.Beta*phiSum
		if j%m == 0 {
			c[j] += p.Gamma
		}
	}
	damp := 0.0
	for h := 1; h <= md.cfg.Horizon; h++ {
		damp = damp*p.Phi + p.Phi
		i := md.Days - 1 + h // the day's index in the series
		k := i % m
		d := Day{Day: md.Start.AddDate(0, 0, i), Step: h, OK: md.seen[k] && md.DayCount[k] >= md.cfg.MinDayCount}
		if !d.OK {
			d.Mean, d.Lower, d.Upper, d.SD = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			f.Days[h-1] = d
			continue
		}
		// The seasonal term's own estimation error: about the variance
		// of a mean of the weekday's DayCount values. It matters for a
		// weekday published a few times; for a weekday of 25 it adds 4%.
		sk := md.DaySigma[k]
		v := sk * sk / float64(md.DayCount[k])
		for j := 0; j < i-md.LastObserved; j++ {
			s := md.DaySigma[(i-j)%m]
			v += c[j] * c[j] * s * s
		}
		d.Mean = md.level + damp*md.trend + md.season[k]
		d.SD = math.Sqrt(v)
		d.Lower, d.Upper = d.Mean-z*d.SD, d.Mean+z*d.SD
		f.Days[h-1] = d
	}
	return f
}

// Predict is Fit followed by Forecast.
func Predict(cfg Config, start time.Time, values []float64) (Forecast, error) {
	md, err := Fit(cfg, start, values)
	if err != nil {
		return Forecast{}, err
	}
	return md.Forecast(), nil
}
