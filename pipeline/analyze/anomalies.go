package analyze

import (
	"fmt"
	"math"
	"time"

	"commpulse/anomaly"
)

// Metric names of the anomaly series; stored in anomalies.metric and used
// as the Prometheus label.
const (
	MetricMessages        = "messages"         // team_stats volume
	MetricMeanCompound    = "mean_compound"    // team_stats mean sentiment
	MetricNegativeShare   = "negative_share"   // team_stats share of negative messages
	MetricExternalShare   = "external_share"   // team_network, only drops (silo)
	MetricIsolatedMembers = "isolated_members" // members newly isolated (rule)
)

// DetectorIsolation names the isolation rule in anomalies.detector.
const DetectorIsolation = "isolation_rule"

// Severity of an anomaly.
type Severity string

// Severities, from the score in [0, 1].
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// Severity thresholds on the detector score. A point is an anomaly at the
// detector's own AlarmScore (0.333: a surprise of 5, p <= 1e-5 for the level
// detector); it is a warning from a surprise of 10 (p <= 1e-10) and critical
// from a surprise of 40 (p <= 1e-40: a shift of more than 13 robust standard
// deviations, "the team is plainly not itself").
const (
	WarningScore  = 0.5
	CriticalScore = 0.8
)

// SeverityOf maps a score to a severity.
func SeverityOf(score float64) Severity {
	switch {
	case score >= CriticalScore:
		return Critical
	case score >= WarningScore:
		return Warning
	default:
		return Info
	}
}

// Anomaly is one row of the anomalies table and one alert.
type Anomaly struct {
	WindowStart time.Time   `json:"window_start"`
	Granularity Granularity `json:"granularity"`
	Team        string      `json:"team"`
	Metric      string      `json:"metric"`
	Value       float64     `json:"value"`
	Expected    float64     `json:"expected"`
	Low         float64     `json:"low"`
	High        float64     `json:"high"`
	Score       float64     `json:"score"`
	Severity    Severity    `json:"severity"`
	Direction   string      `json:"direction"`
	Detector    string      `json:"detector"`
	DetectedAt  time.Time   `json:"detected_at"`
}

// Key identifies the anomaly for de-duplication: one per granularity, team,
// metric and window. It is the Kafka key of its alert.
func (a Anomaly) Key() string {
	return fmt.Sprintf("%s|%s|%s|%s", a.Team, a.Metric, a.Granularity, a.WindowStart.UTC().Format(time.RFC3339))
}

// fromExplanation turns a detector verdict into an Anomaly, or reports false
// when the point is not one. wantDown restricts to drops (silo).
func fromExplanation(e anomaly.Explanation, cfg anomaly.Config, g Granularity, team, metric string, wantDown bool) (Anomaly, bool) {
	if e.Warmup || !e.Anomalous(cfg) || math.IsNaN(e.Score) {
		return Anomaly{}, false
	}
	if wantDown && e.Direction != anomaly.Down {
		return Anomaly{}, false
	}
	return Anomaly{
		WindowStart: e.Time, Granularity: g, Team: team, Metric: metric,
		Value: e.Value, Expected: e.Expected, Low: e.Low, High: e.High,
		Score: e.Score, Severity: SeverityOf(e.Score), Direction: e.Direction.String(), Detector: e.Detector,
	}, true
}

// seriesKey names one detector series.
type seriesKey struct {
	g      Granularity
	team   string
	metric string
}

// bank holds one detector per series of one granularity. It is not safe
// for concurrent use.
type bank struct {
	cfg  anomaly.Config
	g    Granularity
	dets map[seriesKey]*anomaly.Detector
}

func newBank(g Granularity, cfg anomaly.Config) *bank {
	return &bank{cfg: cfg, g: g, dets: map[seriesKey]*anomaly.Detector{}}
}

// observe feeds one point to the series (team, metric) and returns the
// anomaly it raises, if any. NaN values (a window without scored messages)
// are skipped by the detector without being learned.
func (b *bank) observe(team, metric string, t time.Time, v float64, wantDown bool) (Anomaly, bool) {
	k := seriesKey{b.g, team, metric}
	d := b.dets[k]
	if d == nil {
		var err error
		if d, err = anomaly.New(b.cfg); err != nil {
			// The config was validated when the Analyzer was built.
			panic(fmt.Sprintf("analyze: detector config: %v", err))
		}
		b.dets[k] = d
	}
	return fromExplanation(d.Observe(t, v), b.cfg, b.g, team, metric, wantDown)
}

// statsSeries are the team_stats metrics scored for a granularity, with the
// value of a row; sentiment marks the metrics that need MinScored messages.
var statsSeries = []struct {
	metric    string
	sentiment bool
	value     func(TeamStats) float64
}{
	{MetricMessages, false, func(s TeamStats) float64 { return float64(s.Messages) }},
	{MetricMeanCompound, true, func(s TeamStats) float64 { return s.MeanCompound }},
	{MetricNegativeShare, true, func(s TeamStats) float64 { return s.NegativeShare }},
}

// observeStats feeds a team_stats row to its series. Sentiment metrics of
// a window with fewer than minScored scored messages are not fed at all
// (neither scored nor learned), the same way live and on replay.
func (b *bank) observeStats(s TeamStats, minScored int) []Anomaly {
	var out []Anomaly
	for _, ser := range statsSeries {
		if ser.sentiment && s.ScoredMessages < uint64(minScored) {
			continue
		}
		a, ok := b.observe(s.Team, ser.metric, s.WindowStart, ser.value(s), false)
		if ok && (ser.metric != MetricNegativeShare || shareShiftSignificant(a.Value, a.Expected, s.ScoredMessages)) {
			out = append(out, a)
		}
	}
	return out
}

// shareZ is how many binomial standard errors a share must move before an
// anomaly on it is reported.
const shareZ = 3

// shareShiftSignificant reports whether a share observed over n trials
// differs from the expected share by more than shareZ binomial standard
// errors. The detectors judge a share against the spread of its own history,
// which for a series of a few same-weekday points can be far smaller than
// the sampling noise of a small day: 30 weekend messages with an expected
// external share of 0.2 give 0.05 or 0.35 by chance. (Messages in a thread
// are not independent trials, so the true noise is larger still: the gate
// is a lower bound on it.) This gate only decides what is
// reported; the detectors learn every point as before.
func shareShiftSignificant(value, expected float64, n uint64) bool {
	if n == 0 {
		return false
	}
	p := min(max(expected, 0.01), 0.99)
	return math.Abs(value-expected) > shareZ*math.Sqrt(p*(1-p)/float64(n))
}
