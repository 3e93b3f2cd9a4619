package analyze

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"sort"
	"time"

	"commpulse/forecast"
	"commpulse/pipeline/store"
)

// Early warning (issue 15, docs/forecast.md): when a day window closes,
// each team published that day has its released daily series of mean
// sentiment and of the belonging index forecast ForecastConfig.Horizon
// days ahead (package forecast, ETS(A,Ad,A) with 80% prediction
// intervals). The forecasts go to team_forecasts; a forecast whose whole
// interval crosses its metric's threshold on some day is an early warning,
// stored as a row of anomalies (detector store.DetectorForecast, metric
// forecast_<series>, forecast.Warn's explanation). So reviews, the
// suppression of dismissed repeats, the reviewers' precision report and
// the alerts path treat it like any other anomaly.
//
// Like the belonging index it is post-processing of published figures
// only: its inputs are the team_stats and team_belonging day rows the
// views team_stats_k and team_belonging_k show (store.ForecastInputs), and
// the configuration, which is public. Anyone holding those rows computes
// the same forecasts and warnings (Forecasts is the whole computation;
// internal/attack.TestAttackForecastIsPostProcessing does it from the
// views), so they cost no privacy budget of their own.
//
// A warning that continues from the day before (the same team and metric
// warned on the previous origin day) is stored but not alerted again: a
// warning that holds for a week is sent once.

// Series names (team_forecasts.metric) and the anomalies.metric of their
// warnings.
const (
	ForecastMeanCompound = store.ForecastMeanCompound
	ForecastBelonging    = store.ForecastBelonging
	// MetricForecastMeanCompound and MetricForecastBelonging are the
	// anomalies.metric of early warnings.
	MetricForecastMeanCompound = store.WarningMeanCompound
	MetricForecastBelonging    = store.WarningBelonging
	// DetectorForecast is anomalies.detector of an early warning.
	DetectorForecast = store.DetectorForecast
)

// ForecastThreshold is the warning rule of one series: a warning when the
// whole forecast interval of a day is past Threshold in Direction
// ("below": lower is worse; "above").
type ForecastThreshold struct {
	Threshold float64
	Direction string
}

// ForecastConfig configures forecasts and early warnings. The zero value
// takes DefaultForecast(); otherwise zero Horizon, HistoryDays, MinDays
// and empty directions take their defaults, and a threshold of 0 is a
// setting (0 is the sentiment default).
type ForecastConfig struct {
	// Disabled turns the stage off (--no-forecast): no forecasts, no
	// warnings.
	Disabled bool
	// Horizon is how many days ahead a forecast reaches. Default 14.
	Horizon int
	// HistoryDays is how many days up to and including the origin day a
	// fit reads. Default 168 (24 weeks): long enough for the weekday
	// pattern and level, short enough that a team's old regime is
	// forgotten and a fit stays under a millisecond.
	HistoryDays int
	// MinDays is the fewest published days of a series in the history for
	// it to be forecast (forecast.Config.MinHistory). Default 28.
	MinDays int
	// Belonging is the rule of the belonging index. Default below 40 (one
	// standard deviation under the team's usual, sustained in the forecast).
	Belonging ForecastThreshold
	// Sentiment is the rule of mean sentiment (mean compound). Default
	// below 0: more negative than positive tone.
	Sentiment ForecastThreshold
}

// MinScoredDay is the fewest scored messages a team-day needs for its mean
// sentiment to enter a forecast series: the standard error of a mean of n
// compound scores is about 0.5/sqrt(n), 0.07 at 50 (the daily detectors'
// floor, Config.MinScoredDay's default), against the threshold margins of
// interest. A weekend day of a dozen messages would otherwise set a
// weekday term of its own noise.
const MinScoredDay = 50

// DefaultForecast returns the default forecast configuration.
func DefaultForecast() ForecastConfig {
	d := forecast.DefaultConfig()
	return ForecastConfig{
		Horizon:     d.Horizon,
		HistoryDays: 168,
		MinDays:     d.MinHistory,
		Belonging:   ForecastThreshold{Threshold: 40, Direction: forecast.Below.String()},
		Sentiment:   ForecastThreshold{Threshold: 0, Direction: forecast.Below.String()},
	}
}

func (c ForecastConfig) withDefaults() ForecastConfig {
	d := DefaultForecast()
	if c == (ForecastConfig{}) {
		return d
	}
	if c == (ForecastConfig{Disabled: true}) {
		d.Disabled = true
		return d
	}
	if c.Horizon == 0 {
		c.Horizon = d.Horizon
	}
	if c.HistoryDays == 0 {
		c.HistoryDays = d.HistoryDays
	}
	if c.MinDays == 0 {
		c.MinDays = d.MinDays
	}
	if c.Belonging.Direction == "" {
		c.Belonging.Direction = d.Belonging.Direction
	}
	if c.Sentiment.Direction == "" {
		c.Sentiment.Direction = d.Sentiment.Direction
	}
	return c
}

// RegisterFlags registers the forecast flags on fs, bound to c's fields.
func (c *ForecastConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Disabled, "no-forecast", c.Disabled, "compute no forecasts and raise no early warnings")
	fs.IntVar(&c.Horizon, "forecast-horizon", c.Horizon, "days a team's forecast reaches ahead")
	fs.IntVar(&c.HistoryDays, "forecast-history-days", c.HistoryDays, "days of published history (up to the day closed) a forecast is fitted on")
	fs.IntVar(&c.MinDays, "forecast-min-days", c.MinDays, "fewest published days in the history for a series to be forecast")
	fs.Float64Var(&c.Belonging.Threshold, "forecast-belonging-threshold", c.Belonging.Threshold, "early warning when a forecast of the belonging index is wholly past this")
	fs.StringVar(&c.Belonging.Direction, "forecast-belonging-direction", c.Belonging.Direction, "below or above: the side of the belonging threshold that warns")
	fs.Float64Var(&c.Sentiment.Threshold, "forecast-sentiment-threshold", c.Sentiment.Threshold, "early warning when a forecast of mean sentiment (compound) is wholly past this")
	fs.StringVar(&c.Sentiment.Direction, "forecast-sentiment-direction", c.Sentiment.Direction, "below or above: the side of the sentiment threshold that warns")
}

func parseDirection(s string) (forecast.Direction, error) {
	switch s {
	case forecast.Below.String():
		return forecast.Below, nil
	case forecast.Above.String():
		return forecast.Above, nil
	}
	return 0, fmt.Errorf("direction %q: want below or above", s)
}

// model is the forecast package's configuration of c.
func (c ForecastConfig) model() forecast.Config {
	m := forecast.DefaultConfig()
	m.Horizon, m.MinHistory = c.Horizon, c.MinDays
	return m
}

func (c ForecastConfig) validate() error {
	if err := c.model().Validate(); err != nil {
		return fmt.Errorf("analyze: forecast: %w", err)
	}
	switch {
	case c.Horizon > math.MaxUint8:
		return fmt.Errorf("analyze: forecast horizon %d: want at most %d", c.Horizon, math.MaxUint8)
	case c.HistoryDays < c.MinDays || c.HistoryDays > 366:
		return fmt.Errorf("analyze: forecast history days %d: want min days (%d)..366", c.HistoryDays, c.MinDays)
	case math.IsNaN(c.Belonging.Threshold) || math.IsInf(c.Belonging.Threshold, 0) ||
		math.IsNaN(c.Sentiment.Threshold) || math.IsInf(c.Sentiment.Threshold, 0):
		return errors.New("analyze: forecast thresholds must be finite")
	}
	if _, err := parseDirection(c.Belonging.Direction); err != nil {
		return fmt.Errorf("analyze: forecast belonging %w", err)
	}
	if _, err := parseDirection(c.Sentiment.Direction); err != nil {
		return fmt.Errorf("analyze: forecast sentiment %w", err)
	}
	return nil
}

// forecastSeries is one forecast series: its name, its words, its rule.
type forecastSeries struct {
	metric string
	label  string // "<team>" + label names the series in an explanation
	rule   func(c ForecastConfig) ForecastThreshold
}

var forecastSeriesList = []forecastSeries{
	{ForecastMeanCompound, "'s mean sentiment", func(c ForecastConfig) ForecastThreshold { return c.Sentiment }},
	{ForecastBelonging, "'s belonging index", func(c ForecastConfig) ForecastThreshold { return c.Belonging }},
}

// ForecastSpan is the range of day windows whose published points
// Forecasts reads when day closes: the history window ending with day.
func ForecastSpan(cfg Config, day time.Time) (from, to time.Time) {
	cfg = cfg.withDefaults()
	return day.AddDate(0, 0, 1-cfg.Forecast.HistoryDays), day.AddDate(0, 0, 1)
}

// Forecasts returns the team_forecasts rows and the early warnings
// (anomalies, explanation included, DetectedAt zero) of origin day: for
// each of teams (the teams whose team_stats day row of day is published)
// and each series, a fit on its points of ForecastSpan (any others are
// ignored) and a forecast. A series with fewer than MinDays published
// days is not forecast. It reads nothing else, so rows and warnings are a
// function of published figures and cfg.
func Forecasts(cfg Config, day time.Time, teams []string, points []store.ForecastPoint) ([]store.TeamForecast, []Anomaly, error) {
	cfg = cfg.withDefaults()
	fc := cfg.Forecast
	if fc.Disabled {
		return nil, nil, nil
	}
	day = day.UTC()
	from, to := ForecastSpan(cfg, day)
	series := map[[2]string][]forecast.Point{}
	for _, p := range points {
		d := p.Day.UTC()
		if d.Before(from) || !d.Before(to) || math.IsNaN(p.Value) {
			continue
		}
		k := [2]string{p.Team, p.Metric}
		series[k] = append(series[k], forecast.Point{Day: d, Value: p.Value})
	}
	teams = append([]string(nil), teams...)
	sort.Strings(teams)
	model := fc.model()
	var rows []store.TeamForecast
	var warns []Anomaly
	for _, team := range teams {
		for _, s := range forecastSeriesList {
			ps := series[[2]string{team, s.metric}]
			if len(ps) < fc.MinDays {
				continue
			}
			start, values, err := forecast.Dense(ps)
			if err != nil {
				return nil, nil, fmt.Errorf("forecast %s of %s: %w", s.metric, team, err)
			}
			// The series ends on day, published or not: step 1 is the day after.
			for d := start.AddDate(0, 0, len(values)); !d.After(day); d = d.AddDate(0, 0, 1) {
				values = append(values, math.NaN())
			}
			md, err := forecast.Fit(model, start, values)
			if errors.Is(err, forecast.ErrShortHistory) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("forecast %s of %s: %w", s.metric, team, err)
			}
			f := md.Forecast()
			f.Label = team + s.label
			rule := s.rule(fc)
			dir, _ := parseDirection(rule.Direction) // validated
			for _, fd := range f.Days {
				if !fd.OK {
					continue
				}
				past := fd.Upper < rule.Threshold
				if dir == forecast.Above {
					past = fd.Lower > rule.Threshold
				}
				rows = append(rows, store.TeamForecast{OriginDay: day, Team: team, Metric: s.metric, Step: fd.Step, Day: fd.Day,
					Mean: fd.Mean, Lower: fd.Lower, Upper: fd.Upper, Level: f.Level, Observed: f.Observed, Warn: past})
			}
			if w, ok := forecast.Warn(f, rule.Threshold, dir); ok {
				warns = append(warns, warningAnomaly(day, team, s.metric, dir, w))
			}
		}
	}
	return rows, warns, nil
}

// warningAnomaly is the anomalies row of warning w: value, low and high
// are the forecast of the first warned day and its interval, expected the
// threshold, score the share of the horizon's days past it. A warning is
// of Warning severity, Critical when most of the horizon is past
// (CriticalScore): the forecast says a sustained move, not a day's noise.
func warningAnomaly(day time.Time, team, metric string, dir forecast.Direction, w forecast.Warning) Anomaly {
	score := float64(w.Days) / float64(max(w.Horizon, 1))
	sev := Warning
	if score >= CriticalScore {
		sev = Critical
	}
	direction := "down"
	if dir == forecast.Above {
		direction = "up"
	}
	return Anomaly{WindowStart: day, Granularity: Day, Team: team, Metric: store.WarningMetricPrefix + metric,
		Value: w.Mean, Expected: w.Threshold, Low: w.Lower, High: w.Upper, Score: score, Severity: sev,
		Direction: direction, Detector: DetectorForecast, Explanation: w.Explanation}
}

// forecastToday turns the day's released rows (what processDay just wrote
// to team_stats and team_belonging) into the teams and points the
// published views show of them: a team whose row team_stats_k shows, its
// mean sentiment when scored by at least MinScoredDay messages, and its
// day belonging row.
func forecastToday(k int, day time.Time, kept []TeamStats, belonging []store.TeamBelonging) (teams []string, points []store.ForecastPoint) {
	shown := map[string]bool{}
	for _, s := range kept {
		if !s.WindowStart.UTC().Equal(day) || int(s.ActiveMembers) < k {
			continue
		}
		shown[s.Team] = true
		teams = append(teams, s.Team)
		if s.ScoredMessages >= MinScoredDay && !math.IsNaN(s.MeanCompound) {
			points = append(points, store.ForecastPoint{Day: day, Team: s.Team, Metric: ForecastMeanCompound, Value: s.MeanCompound})
		}
	}
	for _, r := range belonging {
		if r.WindowDays == 1 && r.WindowStart.UTC().Equal(day) && shown[r.Team] && int(r.ActiveMembers) >= k {
			points = append(points, store.ForecastPoint{Day: day, Team: r.Team, Metric: ForecastBelonging, Value: r.Belonging})
		}
	}
	return teams, points
}

// forecast computes and writes the forecasts of a closed day and returns
// its early warnings, with the keys of those that continue a warning of
// the day before (to store, not to alert again).
func (a *Analyzer) forecast(ctx context.Context, day time.Time, kept []TeamStats, belonging []store.TeamBelonging, now time.Time) ([]Anomaly, map[string]bool, error) {
	if a.cfg.Forecast.Disabled {
		return nil, nil, nil
	}
	from, _ := ForecastSpan(a.cfg, day)
	points, err := a.db.ForecastInputs(ctx, from, day, MinScoredDay)
	if err != nil {
		return nil, nil, a.fail("read", err)
	}
	teams, today := forecastToday(a.cfg.Privacy.K, day, kept, belonging)
	rows, warns, err := Forecasts(a.cfg, day, teams, append(points, today...))
	if err != nil {
		return nil, nil, a.fail("forecast", err)
	}
	if err := a.db.WriteForecasts(ctx, day, rows, a.cfg.Privacy.K, now); err != nil {
		return nil, nil, a.fail("write", err)
	}
	if len(warns) == 0 {
		return nil, nil, nil
	}
	prev, err := a.db.DayAnomaliesBy(ctx, DetectorForecast, day.AddDate(0, 0, -1), day)
	if err != nil {
		return nil, nil, a.fail("read", err)
	}
	before := map[[2]string]bool{}
	for _, p := range prev {
		before[[2]string{p.Team, p.Metric}] = true
	}
	quiet := map[string]bool{}
	for _, w := range warns {
		if before[[2]string{w.Team, w.Metric}] {
			quiet[w.Key()] = true
		}
	}
	return warns, quiet, nil
}

// countWarnings counts the new early warnings among fresh (continuing ones
// are not in it) by metric.
func (a *Analyzer) countWarnings(fresh []Alert) {
	for _, al := range fresh {
		if al.Detector == DetectorForecast {
			a.m.EarlyWarnings.WithLabelValues(al.Metric).Inc()
		}
	}
}
