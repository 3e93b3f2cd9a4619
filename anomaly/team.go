package anomaly

import (
	"errors"
	"math"
	"time"
)

// Supersedes reports whether an alarm scoring b replaces the alarm scoring
// a that the same series and window already hold (held false: none yet).
// When several detectors flag one point, the series reports one anomaly:
// the highest score, the first detector's on a tie. The analyzer combines
// its level detector and Drift with it, and so does Team.
func Supersedes(held bool, a, b float64) bool { return !held || b > a }

// Granularity is the step of a team series.
type Granularity int8

const (
	// GranularityAuto decides from the first two timestamps: a step of
	// 12 hours or more is daily, anything shorter hourly.
	GranularityAuto Granularity = iota
	GranularityHour
	GranularityDay
)

func (g Granularity) String() string {
	switch g {
	case GranularityHour:
		return "hour"
	case GranularityDay:
		return "day"
	}
	return "auto"
}

// TeamConfig configures a Team: the detectors the analyzer runs on a
// team's aggregates, for one series of unknown meaning (a value, no
// message counts).
type TeamConfig struct {
	Granularity Granularity
	// Hourly is the level detector of hourly points (SeasonalConfig: hour
	// of week), Daily the level detector of day values (DailyConfig: day
	// of week), Drift the one-sided CUSUM of day values (one value a day,
	// n = 1, as the analyzer feeds daily message counts).
	Hourly Config
	Daily  Config
	Drift  DriftConfig
	// Direction is the drift direction watched: Up, Down, or Flat for both
	// (two Drift detectors). The analyzer knows each metric's bad
	// direction; a bare value series does not.
	Direction Direction
}

// TeamProfile returns the team profile: DailyConfig and DefaultDriftConfig
// as the analyzer uses them, both drift directions, and SeasonalConfig
// for hourly points with two changes, chosen on generated team series
// (anomaly/teamseries_test.go, docs/detectors.md):
//
//   - no calibration (Calibrate 0): against the largest surprise of the
//     whole history, every incident of a series raises the bar for the
//     next, and a 4-sd spike after a level shift or a variance burst no
//     longer reaches the alarm (mean NAB standard score on the tuning
//     seeds 59.0 with calibration, 68.7 without);
//   - a suppression of four days (Suppress 96 hours instead of 24): one
//     incident of several days raises one hourly alarm, not one a day
//     (70.1; 69.1 at 48 hours, 71.1 at 168).
func TeamProfile() TeamConfig {
	h := SeasonalConfig()
	h.Calibrate = 0
	h.Suppress = 96
	return TeamConfig{Hourly: h, Daily: DailyConfig(), Drift: DefaultDriftConfig(), Direction: Flat}
}

// Validate reports the first invalid field.
func (c TeamConfig) Validate() error {
	if c.Granularity < GranularityAuto || c.Granularity > GranularityDay {
		return errors.New("anomaly: team: unknown granularity")
	}
	if c.Direction != Up && c.Direction != Down && c.Direction != Flat {
		return errors.New("anomaly: team: unknown direction")
	}
	if err := c.Hourly.Validate(); err != nil {
		return err
	}
	if err := c.Daily.Validate(); err != nil {
		return err
	}
	return c.Drift.Validate()
}

// TeamVerdict is a Team's verdict on one point.
type TeamVerdict struct {
	Time  time.Time
	Value float64
	// Score in [0, 1] ranks the point across detectors: 0.5 + Raw/2 when
	// the reported detector alarms at its own rule (Config.AlarmScore for
	// the level detectors, DriftVerdict.Alarm), Raw/2 otherwise, so every
	// score >= 0.5 is an anomaly the analyzer would report and one
	// threshold fits all detectors.
	Score float64
	Alarm bool
	// Raw is the reported detector's own score (Explanation.Score or
	// DriftVerdict.Score), Detector its name: the hourly level detector's
	// Explanation.Detector, "day_" + the daily level detector's, or
	// "drift_up" / "drift_down".
	Raw      float64
	Detector string
	// Expected, Low, High and Direction are the reported detector's, in
	// the units of the value it scored (a day's mean for the day
	// detectors on hourly input).
	Expected, Low, High float64
	Direction           Direction
	// Day is true on the point that closed a day: its verdict includes the
	// day detectors', which scored the day's mean value.
	Day    bool
	Warmup bool
}

// Team scores one team-style series (hourly or daily) with the detectors
// the analyzer runs on team aggregates, combined as the analyzer combines
// them (Supersedes). On hourly input every point is scored by the hourly
// level detector, and the point that closes a UTC day (the last hour of
// the day, or the first point of a later day after a gap) also carries
// the verdicts of the daily level detector and Drift on the day's mean.
// On daily input each point is a day. Like Detector it is deterministic
// and not safe for concurrent use.
type Team struct {
	cfg    TeamConfig
	g      Granularity
	first  *[2]float64 // unix seconds, value of the first point while g is undecided
	hour   *Detector
	day    *Detector
	drifts []*Drift
	open   time.Time // start of the open day (hourly), zero when none
	sum    float64
	cnt    int
}

// NewTeam returns a Team for cfg.
func NewTeam(cfg TeamConfig) (*Team, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Team{cfg: cfg}
	if cfg.Granularity != GranularityAuto {
		if err := t.init(cfg.Granularity); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Granularity is the series' step, GranularityAuto until decided.
func (t *Team) Granularity() Granularity { return t.g }

func (t *Team) init(g Granularity) error {
	t.g = g
	var err error
	if g == GranularityHour {
		if t.hour, err = New(t.cfg.Hourly); err != nil {
			return err
		}
	}
	if t.day, err = New(t.cfg.Daily); err != nil {
		return err
	}
	dirs := []Direction{t.cfg.Direction}
	if t.cfg.Direction == Flat {
		dirs = []Direction{Up, Down}
	}
	for _, dir := range dirs {
		d, err := NewDrift(t.cfg.Drift, DriftMean, dir)
		if err != nil {
			return err
		}
		t.drifts = append(t.drifts, d)
	}
	return nil
}

// candidate is one detector's verdict in the combination.
type candidate struct {
	raw                 float64
	alarm               bool
	name                string
	expected, low, high float64
	dir                 Direction
}

func fromLevel(e Explanation, cfg Config, prefix string) (candidate, bool) {
	if e.Warmup || math.IsNaN(e.Score) {
		return candidate{}, false
	}
	return candidate{raw: e.Score, alarm: e.Anomalous(cfg), name: prefix + e.Detector,
		expected: e.Expected, low: e.Low, high: e.High, dir: e.Direction}, true
}

// Observe scores the point (ts, v) against the points before it, then
// learns it. Points must be fed in time order; NaN values are scored 0.
func (t *Team) Observe(ts time.Time, v float64) TeamVerdict {
	out := TeamVerdict{Time: ts, Value: v, Expected: v, Low: v, High: v, Warmup: true}
	if t.g == GranularityAuto {
		if t.first == nil {
			t.first = &[2]float64{float64(ts.Unix()), v}
			return out
		}
		g := GranularityHour
		if float64(ts.Unix())-t.first[0] >= 12*3600 {
			g = GranularityDay
		}
		if err := t.init(g); err != nil {
			// The config was validated by NewTeam.
			panic("anomaly: team: " + err.Error())
		}
		// The first point was answered as warm-up, which every detector
		// answers to a first point: feeding it now builds the same state.
		f := *t.first
		t.first = nil
		t.observe(time.Unix(int64(f[0]), 0).UTC(), f[1])
	}
	return t.observe(ts, v)
}

func (t *Team) observe(ts time.Time, v float64) TeamVerdict {
	out := TeamVerdict{Time: ts, Value: v, Expected: v, Low: v, High: v, Warmup: true}
	var cands []candidate
	if t.g == GranularityDay {
		cands = t.observeDay(ts, v)
		out.Day = true
	} else {
		day := ts.UTC().Truncate(24 * time.Hour)
		if !t.open.IsZero() && day.After(t.open) {
			// A gap: the open day ended without its last hour.
			cands = append(cands, t.closeDay()...)
			out.Day = true
		}
		if c, ok := fromLevel(t.hour.Observe(ts, v), t.cfg.Hourly, ""); ok {
			cands = append([]candidate{c}, cands...)
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			if t.open.IsZero() {
				t.open = day
			}
			t.sum += v
			t.cnt++
		}
		if !t.open.IsZero() && !ts.Add(time.Hour).UTC().Truncate(24*time.Hour).Equal(t.open) {
			cands = append(cands, t.closeDay()...)
			out.Day = true
		}
	}
	// The reported detector: the alarms combined as the analyzer combines
	// them, or without an alarm the highest score.
	pick := -1
	for i, c := range cands {
		if c.alarm && Supersedes(pick >= 0, cands[max(pick, 0)].raw, c.raw) {
			pick = i
		}
	}
	if pick < 0 {
		for i, c := range cands {
			if pick < 0 || c.raw > cands[pick].raw {
				pick = i
			}
		}
	}
	if pick >= 0 {
		c := cands[pick]
		out.Warmup = false
		out.Alarm, out.Raw, out.Detector = c.alarm, c.raw, c.name
		out.Expected, out.Low, out.High, out.Direction = c.expected, c.low, c.high, c.dir
		out.Score = c.raw / 2
		if c.alarm {
			out.Score = 0.5 + c.raw/2
		}
	}
	return out
}

// closeDay scores the open day's mean with the day detectors.
func (t *Team) closeDay() []candidate {
	day, mean := t.open, t.sum/float64(t.cnt)
	t.open, t.sum, t.cnt = time.Time{}, 0, 0
	return t.observeDay(day, mean)
}

// observeDay feeds one day value to the daily level detector and the
// drift detectors, in the analyzer's order (level first).
func (t *Team) observeDay(day time.Time, v float64) []candidate {
	var cands []candidate
	if c, ok := fromLevel(t.day.Observe(day, v), t.cfg.Daily, "day_"); ok {
		cands = append(cands, c)
	}
	for _, d := range t.drifts {
		e := d.Observe(day, v, 1)
		if e.Warmup || math.IsNaN(e.Score) {
			continue
		}
		cands = append(cands, candidate{raw: e.Score, alarm: e.Alarm, name: "drift_" + e.Direction.String(),
			expected: e.Expected, low: e.Low, high: e.High, dir: e.Direction})
	}
	return cands
}
