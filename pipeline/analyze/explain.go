package analyze

import (
	"fmt"
	"math"
	"strings"
	"time"

	"commpulse/anomaly"
)

// Explanations: one sentence per anomaly that a people-analytics partner
// reads without knowing the detectors: what moved, against which baseline,
// and by how much. It is built from the anomaly's own published figures
// (value, expected, the usual range, the window) and the configuration,
// nothing else, so it discloses nothing the row does not (the attack suite
// checks every number in it against the row).

// metricWords is how a metric is named and its values written.
type metricWords struct {
	noun   string
	format func(float64) string
	// delta writes a difference of two values (points for shares).
	delta func(float64) string
	// lo, hi bound the values the metric can take: a usual range is
	// written within them (a detector's band of a share can reach
	// below 0%).
	lo, hi float64
}

func count(v float64) string   { return fmt.Sprintf("%.0f", v) }
func percent(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }
func points(v float64) string  { return fmt.Sprintf("%.0f points", 100*v) }
func compound(v float64) string {
	return fmt.Sprintf("%+.2f", v)
}

var metricNames = map[string]metricWords{
	MetricMessages:      {"message volume", func(v float64) string { return count(v) + " messages" }, func(v float64) string { return count(v) + " messages" }, 0, math.Inf(1)},
	MetricMeanCompound:  {"mean sentiment", compound, func(v float64) string { return fmt.Sprintf("%.2f", v) }, -1, 1},
	MetricNegativeShare: {"share of negative messages", percent, points, 0, 1},
	MetricExternalShare: {"share of messages sent to other teams", percent, points, 0, 1},
}

// baselineWords names the baseline a level detector of cfg compares a
// window with.
func baselineWords(cfg anomaly.Config, g Granularity) string {
	weeks := cfg.SeasonDepth
	switch {
	case cfg.Season == 7*24*time.Hour && cfg.Bucket == 24*time.Hour:
		return fmt.Sprintf("the same weekday over the previous %d weeks", weeks)
	case cfg.Season == 7*24*time.Hour && cfg.Bucket == time.Hour:
		return fmt.Sprintf("the same hour of the week over the previous %d weeks", weeks)
	case g == Day:
		return fmt.Sprintf("the previous %d days", cfg.Window)
	default:
		return fmt.Sprintf("the previous %d hours", cfg.Window)
	}
}

// when names the window of a.
func when(a Anomaly) string {
	t := a.WindowStart.UTC()
	if a.Granularity == Hour {
		return t.Format("Mon 2 Jan 15:04") + "-" + t.Add(time.Hour).Format("15:04") + " UTC"
	}
	return t.Format("Mon 2 Jan 2006")
}

// Explain returns the sentence of an under the analyzer configuration cfg
// (zero fields take their defaults). It reads nothing but an's published
// figures and cfg, so anyone holding the row and the configuration gets
// the same text (the attack suite recomputes it from anomalies_k).
func Explain(cfg Config, an Anomaly) string {
	cfg = cfg.withDefaults()
	if an.Detector == DetectorForecast {
		// forecast.Warn wrote it, from the forecast the warning rests on
		// (Forecasts recomputes it from the published series).
		return an.Explanation
	}
	if an.Metric == MetricIsolatedMembers {
		r := cfg.Isolation
		return fmt.Sprintf("%s: %s members newly cut off on %s: still writing, but without any two-way contact for %d working days in a row, after being connected in the %d days before.",
			an.Team, count(an.Value), when(an), r.SustainedDays, r.HistoryDays)
	}
	w, ok := metricNames[an.Metric]
	if !ok {
		return fmt.Sprintf("%s: %s is %g on %s, expected %g.", an.Team, an.Metric, an.Value, when(an), an.Expected)
	}
	verb := "rose to"
	if an.Direction == anomaly.Down.String() {
		verb = "fell to"
	}
	diff := math.Abs(an.Value - an.Expected)
	side := "above"
	if an.Value < an.Expected {
		side = "below"
	}
	low, high := max(w.lo, min(w.hi, an.Low)), max(w.lo, min(w.hi, an.High))
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s %s on %s, %s %s the expected %s", an.Team, w.noun, verb, w.format(an.Value), when(an),
		w.delta(diff), side, w.format(an.Expected))
	if an.Detector == DetectorDrift {
		if on := an.Onset.UTC(); !on.IsZero() && on.Before(an.WindowStart.UTC()) {
			fmt.Fprintf(&b, " (a sustained drift from the team's own baseline, building since %s: the days outside %s to %s added up to an alarm).",
				on.Format("Mon 2 Jan"), w.format(low), w.format(high))
		} else {
			fmt.Fprintf(&b, " (a sustained drift from the team's own baseline: the days outside %s to %s added up to an alarm).",
				w.format(low), w.format(high))
		}
	} else {
		det := cfg.DailyDetector
		if an.Granularity == Hour {
			det = cfg.HourlyDetector
		}
		fmt.Fprintf(&b, " (usual range %s to %s, from %s).", w.format(low), w.format(high), baselineWords(det, an.Granularity))
	}
	return b.String()
}
