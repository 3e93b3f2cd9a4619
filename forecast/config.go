package forecast

import (
	"errors"
	"fmt"
	"math"
)

// Config is the one parameter set of Fit. DefaultConfig holds the values
// the backtest measured (docs/forecast.md); Validate rejects combinations
// that cannot work.
type Config struct {
	// Season is the season length in days (7: the week). Seasonal state is
	// kept per position day-index mod Season.
	Season int
	// Horizon is the number of days forecast after the last input day.
	Horizon int
	// Level is the coverage of the central prediction interval, in (0, 1):
	// 0.8 is an interval from the 10th to the 90th percentile.
	Level float64
	// MinHistory is the least number of observed (published) days Fit
	// accepts; fewer returns ErrShortHistory. At least two seasons, so
	// that the initial seasonal pattern and trend have something to stand
	// on.
	MinHistory int
	// MinDayCount is the least number of times a season position (a
	// weekday) must have been published for its days to be forecast: a
	// weekday seen once or twice (the rare published weekend of a small
	// team) has a seasonal term made of one or two noisy values, and its
	// forecast would be that noise. Four, like the four same weekdays
	// anomaly.DailyConfig compares a day with.
	MinDayCount int
	// PhiMin and PhiMax bound the damping of the trend (Hyndman et al.
	// 2008 use [0.8, 0.98]): at PhiMax a trend estimated today still has
	// three quarters of its slope after two weeks; at PhiMin it is gone
	// after a few days.
	PhiMin, PhiMax float64
	// DayShrink is the weight, in observations, of the pooled one-step
	// variance in each season position's variance (see Model.DaySigma): a
	// position seen a handful of times takes mostly the pooled value.
	DayShrink float64
	// MaxEvaluations bounds the objective evaluations of the
	// Nelder-Mead search over the smoothing parameters (each one a pass
	// over the history).
	MaxEvaluations int
}

// DefaultConfig returns the parameter set used for every team series.
func DefaultConfig() Config {
	return Config{
		Season:         7,
		Horizon:        14,
		Level:          0.8,
		MinHistory:     28,
		MinDayCount:    4,
		PhiMin:         0.8,
		PhiMax:         0.98,
		DayShrink:      4,
		MaxEvaluations: 400,
	}
}

// ConfigError names the invalid field of a Config, so a caller can name
// the flag or setting it came from.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return "forecast: " + e.Field + ": " + e.Reason }

// ErrShortHistory is returned (wrapped, see errors.Is) by Fit when the
// series has fewer than Config.MinHistory observed days: the caller has
// nothing to forecast yet and should try again when more days are
// published.
var ErrShortHistory = errors.New("forecast: not enough observed days")

// ErrBadValue is returned (wrapped) by Fit for an infinite value. A
// missing day is NaN, never ±Inf.
var ErrBadValue = errors.New("forecast: infinite value")

// Validate reports the first invalid field as a *ConfigError.
func (c Config) Validate() error {
	bad := func(f, r string) error { return &ConfigError{Field: f, Reason: r} }
	switch {
	case c.Season < 2 || c.Season > 366:
		return bad("Season", fmt.Sprintf("%d: must be in [2, 366]", c.Season))
	case c.Horizon < 1 || c.Horizon > 8*c.Season:
		return bad("Horizon", fmt.Sprintf("%d: must be in [1, 8 seasons]", c.Horizon))
	case !(c.Level > 0 && c.Level < 1):
		return bad("Level", fmt.Sprintf("%g: must be in (0, 1)", c.Level))
	case c.MinHistory < 2*c.Season:
		return bad("MinHistory", fmt.Sprintf("%d: must be at least two seasons (%d)", c.MinHistory, 2*c.Season))
	case c.MinDayCount < 1:
		return bad("MinDayCount", fmt.Sprintf("%d: must be >= 1", c.MinDayCount))
	case !(c.PhiMin > 0 && c.PhiMin <= c.PhiMax && c.PhiMax <= 1):
		return bad("PhiMin", fmt.Sprintf("[%g, %g]: need 0 < PhiMin <= PhiMax <= 1", c.PhiMin, c.PhiMax))
	case !(c.DayShrink >= 0) || math.IsInf(c.DayShrink, 0):
		return bad("DayShrink", fmt.Sprintf("%g: must be finite and >= 0", c.DayShrink))
	case c.MaxEvaluations < 20:
		return bad("MaxEvaluations", fmt.Sprintf("%d: must be >= 20", c.MaxEvaluations))
	}
	return nil
}
