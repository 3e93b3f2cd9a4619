package attack

// The early-warning attacks (issue 15): team_forecasts_k publishes, per
// team, series and day closed, a forecast with its interval, and anomalies_k
// the warnings (detector forecast) with a sentence. The claim is that both
// are post-processing of what team_stats_k and team_belonging_k already
// publish, so they cost no ε and tell nothing more: the attacker, holding
// only those views and the public analyzer configuration, recomputes every
// published forecast row and warning exactly, and finds none where the
// views have no published team-day.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/store"
)

// publishedForecastInputs reads what the analyst reads: the teams of each
// day's team_stats_k rows, and the series points of team_stats_k (mean
// compound of days with at least analyze.MinScoredDay scored messages) and
// team_belonging_k (day rows).
func (e *pubEnv) publishedForecastInputs() (teams map[time.Time][]string, points []store.ForecastPoint) {
	e.t.Helper()
	ctx := context.Background()
	teams = map[time.Time][]string{}
	rows, err := e.st.Conn().Query(ctx, strings.ReplaceAll(`SELECT window_start, toString(team), scored_messages, mean_compound
		FROM {db}.team_stats_k WHERE granularity = 'day'`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	for rows.Next() {
		var (
			d            time.Time
			team         string
			scored, mean *float64
		)
		if err := rows.Scan(&d, &team, &scored, &mean); err != nil {
			e.t.Fatal(err)
		}
		d = d.UTC()
		teams[d] = append(teams[d], team)
		if scored != nil && mean != nil && *scored >= analyze.MinScoredDay {
			points = append(points, store.ForecastPoint{Day: d, Team: team, Metric: analyze.ForecastMeanCompound, Value: *mean})
		}
	}
	rows.Close()
	rows, err = e.st.Conn().Query(ctx, strings.ReplaceAll(`SELECT window_start, toString(team), belonging
		FROM {db}.team_belonging_k WHERE window_days = 1`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		p := store.ForecastPoint{Metric: analyze.ForecastBelonging}
		if err := rows.Scan(&p.Day, &p.Team, &p.Value); err != nil {
			e.t.Fatal(err)
		}
		p.Day = p.Day.UTC()
		points = append(points, p)
	}
	return teams, points
}

func forecastKey(r store.TeamForecast) string {
	return fmt.Sprintf("%s|%s|%s|%d", r.OriginDay.Format(time.DateOnly), r.Team, r.Metric, r.Step)
}

// publishedWarnings reads the early warnings of anomalies_k, keyed by
// day|team|metric.
func (e *pubEnv) publishedWarnings() map[string]store.Anomaly {
	e.t.Helper()
	rows, err := e.st.Conn().Query(context.Background(), strings.ReplaceAll(`SELECT window_start, toString(team), toString(metric), value,
		expected, low, high, score, toString(severity), toString(direction), explanation
		FROM {db}.anomalies_k WHERE detector = 'forecast' AND granularity = 'day'`, "{db}", e.db))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]store.Anomaly{}
	for rows.Next() {
		a := store.Anomaly{Granularity: store.Day, Detector: store.DetectorForecast}
		var sev string
		if err := rows.Scan(&a.WindowStart, &a.Team, &a.Metric, &a.Value, &a.Expected, &a.Low, &a.High, &a.Score, &sev, &a.Direction, &a.Explanation); err != nil {
			e.t.Fatal(err)
		}
		a.WindowStart, a.Severity = a.WindowStart.UTC(), store.Severity(sev)
		out[warningKey(a)] = a
	}
	return out
}

func warningKey(a store.Anomaly) string {
	return a.WindowStart.Format(time.DateOnly) + "|" + a.Team + "|" + a.Metric
}

// Forecasts and warnings are post-processing: the attacker reads
// team_stats_k and team_belonging_k and the public configuration (here
// analyze.Defaults with a sentiment threshold of 0.35, so that warnings
// are raised: the generated teams' tone is about +0.3), runs
// analyze.Forecasts for every closed day, and gets every row of
// team_forecasts_k and every early warning of anomalies_k bit for bit,
// explanations included, and no other: they hold nothing the published
// figures do not, so they cost no ε (docs/privacy.md). The team of four
// has no forecast, and the view hides one forged for it.
func TestAttackForecastIsPostProcessing(t *testing.T) {
	const weeks = 8 // 40 working days: 28 published days are needed to forecast
	start := monday.AddDate(0, 0, -7*(weeks-2))
	end := start.AddDate(0, 0, 7*weeks)
	tune := func(c *analyze.Config) {
		c.Forecast = analyze.DefaultForecast()
		c.Forecast.Sentiment.Threshold = 0.35
	}
	e := pubSetupWith(t, belongingOrg(start, weeks), end.Add(2*time.Hour), tune)

	fc, err := e.st.Forecasts(context.Background(), start, end)
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]store.TeamForecast{}
	for _, r := range fc {
		published[forecastKey(r)] = r
	}
	warnings := e.publishedWarnings()
	if len(published) == 0 || len(warnings) == 0 {
		t.Fatalf("%d forecast rows and %d warnings published: the test would prove nothing", len(published), len(warnings))
	}

	teams, points := e.publishedForecastInputs()
	cfg := analyze.Defaults()
	tune(&cfg)
	want := map[string]store.TeamForecast{}
	wantWarn := map[string]store.Anomaly{}
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		rows, ws, err := analyze.Forecasts(cfg, d, teams[d], points)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want[forecastKey(r)] = r
		}
		for _, w := range ws {
			wantWarn[warningKey(w)] = w
		}
	}
	for k, w := range want {
		got, ok := published[k]
		switch {
		case !ok:
			t.Errorf("%s: recomputed from the published views but not published", k)
		case got != w:
			t.Errorf("%s: published %+v\nrecomputed %+v", k, got, w)
		}
	}
	for k := range published {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: published, but not recomputable from the published views", k)
		}
	}
	for k, w := range wantWarn {
		got, ok := warnings[k]
		switch {
		case !ok:
			t.Errorf("warning %s: recomputed but not published", k)
		case got.Value != w.Value || got.Expected != w.Expected || got.Low != w.Low || got.High != w.High || got.Score != w.Score ||
			got.Severity != w.Severity || got.Direction != w.Direction:
			t.Errorf("warning %s: published %+v\nrecomputed %+v", k, got, w)
		case got.Explanation != w.Explanation:
			t.Errorf("warning %s: the explanation holds more than the published figures:\npublished  %q\nrecomputed %q", k, got.Explanation, w.Explanation)
		}
	}
	for k, w := range warnings {
		if _, ok := wantWarn[k]; !ok {
			t.Errorf("warning %s: published, but not recomputable: %q", k, w.Explanation)
		}
		if strings.Contains(w.Explanation, "p_") {
			t.Errorf("warning %s: explanation %q names a person", k, w.Explanation)
		}
	}
	var example string
	for _, w := range warnings {
		example = w.Explanation
		break
	}
	t.Logf("%d forecast rows and %d warnings recomputed bit for bit from %d published points; for example: %s",
		len(want), len(wantWarn), len(points), example)

	// No forecast of a team without published rows; a forged one is hidden.
	for _, table := range []string{"team_forecasts", "team_forecasts_k"} {
		if n := e.count("SELECT count() FROM {db}." + table + " WHERE team = 'quad'"); n != 0 {
			t.Errorf("%s holds %d rows of the team of four", table, n)
		}
	}
	if err := e.st.Conn().Exec(context.Background(), strings.ReplaceAll(`INSERT INTO {db}.team_forecasts (origin_day, team, metric, step, day,
		mean, lower, upper, level, observed, warn, k_applied, computed_at)
		VALUES (?, 'quad', 'belonging', 1, ?, 20, 10, 30, 0.8, 30, true, 5, now64(3))`, "{db}", e.db), monday, monday.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count() FROM {db}.team_forecasts_k WHERE team = 'quad'"); n != 0 {
		t.Errorf("team_forecasts_k shows %d forged rows of a team without a k-safe team_stats row", n)
	}
	// No ε of its own: it releases nothing new.
	if n := e.count("SELECT count() FROM system.columns WHERE database = ? AND table = 'team_forecasts' AND name = 'epsilon'", e.db); n != 0 {
		t.Error("team_forecasts has an epsilon column: a forecast is post-processing")
	}
}
