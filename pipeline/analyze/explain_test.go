package analyze

import (
	"strings"
	"testing"
	"time"
)

func TestExplain(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) // a Tuesday
	for _, tc := range []struct {
		name string
		an   Anomaly
		want []string // substrings, in order
	}{
		{"volume spike (level, day)",
			Anomaly{WindowStart: day, Granularity: Day, Team: "team-4", Metric: MetricMessages, Value: 455, Expected: 280, Low: 123, High: 459, Direction: "up", Detector: "level"},
			[]string{"team-4: message volume rose to 455 messages on Tue 24 Nov 2026", "175 messages above the expected 280 messages",
				"usual range 123 messages to 459 messages, from the same weekday over the previous 4 weeks"}},
		{"sentiment drop (drift)",
			Anomaly{WindowStart: day, Granularity: Day, Team: "team-3", Metric: MetricMeanCompound, Value: -0.12, Expected: 0.05, Low: 0.02, High: 0.08, Direction: "down", Detector: DetectorDrift},
			[]string{"team-3: mean sentiment fell to -0.12", "0.17 below the expected +0.05", "sustained drift", "outside +0.02 to +0.08"}},
		{"a drift building for days says since when",
			Anomaly{WindowStart: day, Granularity: Day, Team: "team-6", Metric: MetricNegativeShare, Value: 0.41, Expected: 0.17, Low: 0.13, High: 0.21, Direction: "up", Detector: DetectorDrift,
				Onset: day.AddDate(0, 0, -6)},
			[]string{"team-6: share of negative messages rose to 41% on Tue 24 Nov 2026", "building since Wed 18 Nov", "outside 13% to 21%"}},
		{"negative share, in points",
			Anomaly{WindowStart: day, Granularity: Day, Team: "t", Metric: MetricNegativeShare, Value: 0.18, Expected: 0.07, Low: 0.04, High: 0.1, Direction: "up", Detector: "level"},
			[]string{"share of negative messages rose to 18%", "11 points above the expected 7%", "usual range 4% to 10%"}},
		{"a band below 0% is written from 0%",
			Anomaly{WindowStart: day, Granularity: Day, Team: "t", Metric: MetricNegativeShare, Value: 0.89, Expected: 0.27, Low: -0.06, High: 0.59, Direction: "up", Detector: "level"},
			[]string{"usual range 0% to 59%"}},
		{"silo",
			Anomaly{WindowStart: day, Granularity: Day, Team: "t", Metric: MetricExternalShare, Value: 0.05, Expected: 0.3, Low: 0.2, High: 0.4, Direction: "down", Detector: "level"},
			[]string{"share of messages sent to other teams fell to 5%", "25 points below the expected 30%"}},
		{"hourly volume",
			Anomaly{WindowStart: day.Add(14 * time.Hour), Granularity: Hour, Team: "t", Metric: MetricMessages, Value: 90, Expected: 20, Low: 5, High: 40, Direction: "up", Detector: "level"},
			[]string{"on Tue 24 Nov 14:00-15:00 UTC", "the same hour of the week over the previous 6 weeks"}},
		{"isolation",
			Anomaly{WindowStart: day, Granularity: Day, Team: "t", Metric: MetricIsolatedMembers, Value: 3, Detector: DetectorIsolation},
			[]string{"t: 3 members newly cut off on Tue 24 Nov 2026", "for 3 working days in a row", "connected in the 14 days before"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Explain(Config{}, tc.an)
			if tc.an.Onset.IsZero() && strings.Contains(got, "since") {
				t.Errorf("explanation %q says since when without an onset", got)
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("explanation %q lacks %q (in order)", got, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
