package analyze

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/store"
)

// forecastPoints generates 168 days up to day of teams' two series:
// weekdays only (weekends under k), a weekly pattern and noise; the teams
// named in decline lose 0.02 of mean sentiment and 1.5 belonging points a
// day over the last three weeks.
func forecastPoints(day time.Time, teams []string, decline map[string]bool, seed uint64) []store.ForecastPoint {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []store.ForecastPoint
	for i := 167; i >= 0; i-- {
		d := day.AddDate(0, 0, -i)
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, team := range teams {
			mc, bel := 0.2+0.02*float64(d.Weekday()%3)+0.03*r.NormFloat64(), 50+4*r.NormFloat64()
			if decline[team] && i < 21 {
				mc -= 0.02 * float64(21-i)
				bel -= 1.5 * float64(21-i)
			}
			out = append(out, store.ForecastPoint{Day: d, Team: team, Metric: ForecastMeanCompound, Value: mc},
				store.ForecastPoint{Day: d, Team: team, Metric: ForecastBelonging, Value: bel})
		}
	}
	return out
}

func TestForecasts(t *testing.T) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) // a Friday
	teams := []string{"a", "b", "c"}
	points := forecastPoints(day, teams, map[string]bool{"b": true}, 1)
	cfg := Defaults()

	rows, warns, err := Forecasts(cfg, day, teams, points)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range rows {
		per[r.Team+" "+r.Metric]++
		if !r.OriginDay.Equal(day) || !r.Day.Equal(day.AddDate(0, 0, r.Step)) || r.Step < 1 || r.Step > 14 || !(r.Lower < r.Mean && r.Mean < r.Upper) || r.Level != 0.8 {
			t.Errorf("row %+v", r)
		}
	}
	for _, team := range teams {
		for _, m := range []string{ForecastMeanCompound, ForecastBelonging} {
			// Weekends were never published: 10 of 14 days are forecast.
			if per[team+" "+m] != 10 {
				t.Errorf("%s %s: %d rows, want 10", team, m, per[team+" "+m])
			}
		}
	}
	got := map[string]bool{}
	for _, w := range warns {
		got[w.Team+" "+w.Metric] = true
		if w.Detector != DetectorForecast || w.Granularity != Day || !w.WindowStart.Equal(day) || w.Direction != "down" ||
			!strings.HasPrefix(w.Explanation, "Early warning: "+w.Team+"'s ") || w.High >= w.Expected {
			t.Errorf("warning %+v", w)
		}
		if Explain(cfg, w) != w.Explanation {
			t.Errorf("Explain rewrote the warning's explanation")
		}
	}
	if !got["b "+MetricForecastMeanCompound] || !got["b "+MetricForecastBelonging] || len(got) != 2 {
		t.Errorf("warned %v; want b's two series only", got)
	}

	t.Run("the origin day unpublished still anchors step 1", func(t *testing.T) {
		sat := day.AddDate(0, 0, 1)
		rows, _, err := Forecasts(cfg, sat, teams, points)
		if err != nil || len(rows) == 0 || !rows[0].Day.After(sat) {
			t.Fatalf("%v, %v", rows, err)
		}
	})
	t.Run("above", func(t *testing.T) {
		c := cfg
		c.Forecast.Belonging = ForecastThreshold{Threshold: 45, Direction: "above"}
		_, warns, _ := Forecasts(c, day, teams, points)
		for _, w := range warns {
			if w.Metric == MetricForecastBelonging && (w.Team == "b" || w.Direction != "up" || !(w.Low > 45)) {
				t.Errorf("%+v", w)
			}
		}
	})
	t.Run("short history, teams not published, disabled", func(t *testing.T) {
		c := cfg
		c.Forecast.HistoryDays = 30 // 22 weekdays < 28
		if rows, _, _ := Forecasts(c, day, teams, points); len(rows) != 0 {
			t.Errorf("%d rows from a short history", len(rows))
		}
		if rows, _, _ := Forecasts(cfg, day, []string{"z"}, points); len(rows) != 0 {
			t.Errorf("%d rows of a team not published on the day", len(rows))
		}
		c = cfg
		c.Forecast.Disabled = true
		if rows, ws, _ := Forecasts(c, day, teams, points); len(rows)+len(ws) != 0 {
			t.Error("disabled, still forecast")
		}
	})
}

func TestForecastConfig(t *testing.T) {
	c := Defaults()
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--forecast-horizon", "7", "--forecast-history-days", "84", "--forecast-min-days", "21",
		"--forecast-belonging-threshold", "35", "--forecast-sentiment-threshold", "-0.1", "--forecast-sentiment-direction", "above"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := ForecastConfig{Horizon: 7, HistoryDays: 84, MinDays: 21, Belonging: ForecastThreshold{35, "below"}, Sentiment: ForecastThreshold{-0.1, "above"}}
	if c.Forecast != want {
		t.Errorf("%+v, want %+v", c.Forecast, want)
	}
	if d := Defaults().Forecast; d != DefaultForecast() || d.Horizon != 14 || d.HistoryDays != 168 || d.MinDays != 28 ||
		d.Belonging != (ForecastThreshold{40, "below"}) || d.Sentiment != (ForecastThreshold{0, "below"}) {
		t.Errorf("defaults %+v", d)
	}
	if c := (Config{Forecast: ForecastConfig{Disabled: true}}).withDefaults(); !c.Forecast.Disabled || c.Forecast.Horizon != 14 {
		t.Errorf("--no-forecast alone: %+v", c.Forecast)
	}
	for _, tc := range []struct {
		name string
		f    func(*ForecastConfig)
		want string
	}{
		{"horizon", func(f *ForecastConfig) { f.Horizon = 100 }, "Horizon"},
		{"min days", func(f *ForecastConfig) { f.MinDays = 5 }, "MinHistory"},
		{"history", func(f *ForecastConfig) { f.HistoryDays = 20 }, "history days"},
		{"direction", func(f *ForecastConfig) { f.Belonging.Direction = "down" }, "belonging direction"},
		{"threshold", func(f *ForecastConfig) { f.Sentiment.Threshold = math.Inf(-1) }, "finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.f(&c.Forecast)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want one naming %q", err, tc.want)
			}
		})
	}
}

// BenchmarkTeamForecasts: the forecast stage's computation for one closed
// day of 100 teams, two series each, 168 days of history (weekdays
// published).
func BenchmarkTeamForecasts(b *testing.B) {
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	teams := make([]string, 100)
	for i := range teams {
		teams[i] = fmt.Sprintf("team-%03d", i)
	}
	points := forecastPoints(day, teams, map[string]bool{"team-007": true}, 2)
	cfg := Defaults()
	b.ReportAllocs()
	b.ResetTimer()
	var rows int
	for b.Loop() {
		r, _, err := Forecasts(cfg, day, teams, points)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(r)
	}
	b.ReportMetric(float64(rows), "rows/op")
}
