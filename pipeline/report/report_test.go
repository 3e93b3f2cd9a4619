package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/store"
)

func TestConfigFlags(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 3, 7, 30, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name     string
		args     []string
		wantErr  string
		from, to string
		out      string
	}{
		{name: "defaults: four weeks to yesterday", from: "2026-11-05", to: "2026-12-02", out: "report.html"},
		{name: "both days", args: []string{"--from", "2026-11-01", "--to", "2026-11-30", "--out", "x.html"}, from: "2026-11-01", to: "2026-11-30", out: "x.html"},
		{name: "one day", args: []string{"--from", "2026-11-10", "--to", "2026-11-10"}, from: "2026-11-10", to: "2026-11-10", out: "report.html"},
		{name: "from only", args: []string{"--from", "2026-11-20"}, from: "2026-11-20", to: "2026-12-02", out: "report.html"},
		{name: "to only", args: []string{"--to", "2026-11-28"}, from: "2026-11-01", to: "2026-11-28", out: "report.html"},
		{name: "to before from", args: []string{"--from", "2026-11-10", "--to", "2026-11-09"}, wantErr: "before from"},
		{name: "bad day", args: []string{"--from", "yesterday"}, wantErr: "want YYYY-MM-DD"},
		{name: "a time is not a day", args: []string{"--to", "2026-11-10T10:00:00Z"}, wantErr: "want YYYY-MM-DD"},
		{name: "too long", args: []string{"--from", "2025-01-01", "--to", "2026-11-10"}, wantErr: "at most 366"},
		{name: "no out", args: []string{"--out", ""}, wantErr: "a file name is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("report", flag.ContinueOnError)
			c := Defaults()
			c.Now = now
			c.RegisterFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if day(c.From) != tc.from || day(c.To) != tc.to || c.Out != tc.out {
				t.Fatalf("got %s..%s %q, want %s..%s %q", day(c.From), day(c.To), c.Out, tc.from, tc.to, tc.out)
			}
			if !c.End().Equal(c.To.AddDate(0, 0, 1)) {
				t.Fatalf("End %s", c.End())
			}
		})
	}
}

// fakeSource returns fixed rows and records the periods asked for.
type fakeSource struct {
	d      Data
	asked  [][2]time.Time
	themes error // returned by ReportThemes
}

func (f *fakeSource) ask(from, to time.Time) { f.asked = append(f.asked, [2]time.Time{from, to}) }

func (f *fakeSource) ReportStats(_ context.Context, from, to time.Time) ([]store.ReportDay, error) {
	f.ask(from, to)
	return f.d.Stats, nil
}

func (f *fakeSource) ReportBelonging(_ context.Context, from, to time.Time) ([]store.ReportBelongingDay, error) {
	f.ask(from, to)
	return f.d.Belonging, nil
}

func (f *fakeSource) ReportNetworks(_ context.Context, from, to time.Time) ([]store.ReportNetwork, error) {
	f.ask(from, to)
	return f.d.Networks, nil
}

func (f *fakeSource) ReportThemes(_ context.Context, from, to time.Time) ([]store.ReportTheme, error) {
	f.ask(from, to)
	return f.d.Themes, f.themes
}

func (f *fakeSource) ReportAnomalies(_ context.Context, from, to time.Time) ([]store.ReportAnomaly, error) {
	f.ask(from, to)
	return f.d.Anomalies, nil
}

func (f *fakeSource) ReportWarnings(_ context.Context, from, to time.Time) ([]store.ReportAnomaly, error) {
	f.ask(from, to)
	return f.d.Warnings, nil
}

var testFrom = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// fakeData is two teams over a week; "Ops & Support" has a drop, an
// anomaly and an early warning, and talks only inside itself.
func fakeData() Data {
	var d Data
	teams := []string{"alpha", "Ops & Support"}
	for i := range 7 {
		day := testFrom.AddDate(0, 0, i)
		for ti, team := range teams {
			if team == "alpha" && i == 3 {
				continue // not published that day
			}
			mean := 0.3 - 0.05*float64(ti*i)
			d.Stats = append(d.Stats, store.ReportDay{Day: day, Team: team, Messages: 100 + float64(i), ActiveMembers: 7, MeanCompound: mean, NegativeShare: 0.1 + 0.02*float64(ti*i)})
			d.Belonging = append(d.Belonging, store.ReportBelongingDay{Day: day, Team: team, Belonging: 50 - 3*float64(ti*i), Score: -0.3 * float64(ti*i), Explanation: team + ": belonging explained"})
			d.Themes = append(d.Themes, store.ReportTheme{Day: day, Team: team, Theme: []string{"workload", "conflict"}[ti], Messages: 10})
		}
	}
	d.Networks = []store.ReportNetwork{
		{WindowStart: testFrom, Days: 1, Team: "alpha", MembersActive: 7, ExternalShare: 0.3, EIIndex: -0.4},
		{WindowStart: testFrom, Days: 28, Team: "alpha", MembersActive: 7, ExternalShare: 0.25, EIIndex: -0.5},
		{WindowStart: testFrom.AddDate(0, 0, 5), Days: 1, Team: "Ops & Support", MembersActive: 6, ExternalShare: 0.02, EIIndex: -0.96},
	}
	mk := func(metric, detector string, i int, dir string) store.ReportAnomaly {
		return store.ReportAnomaly{Anomaly: store.Anomaly{WindowStart: testFrom.AddDate(0, 0, i), Granularity: store.Day, Team: "Ops & Support",
			Metric: metric, Value: 0.05, Expected: 0.3, Score: 0.95, Severity: store.Critical, Direction: dir, Detector: detector,
			Explanation: "Ops & Support: " + metric + " moved"}, State: store.ReviewNew}
	}
	d.Anomalies = []store.ReportAnomaly{mk("mean_compound", "level", 5, "down"), mk("negative_share", "drift", 6, "up")}
	d.Anomalies[1].State, d.Anomalies[1].Reason = store.ReviewDismissed, store.ReasonFalsePositive
	d.Warnings = []store.ReportAnomaly{mk(store.WarningMeanCompound, store.DetectorForecast, 6, "down")}
	return d
}

func TestRender(t *testing.T) {
	src := &fakeSource{d: fakeData()}
	out := filepath.Join(t.TempDir(), "r.html")
	cfg := Config{From: testFrom, To: testFrom.AddDate(0, 0, 6), Out: out, Now: func() time.Time { return testFrom.AddDate(0, 0, 8) }}
	sum, err := Write(context.Background(), cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range src.asked {
		if !a[0].Equal(testFrom) || !a[1].Equal(testFrom.AddDate(0, 0, 7)) {
			t.Errorf("asked for [%s, %s); want the period with its last day", a[0], a[1])
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 || int(fi.Size()) != sum.Bytes {
		t.Errorf("file mode %v size %d; summary %d bytes", fi.Mode().Perm(), fi.Size(), sum.Bytes)
	}
	html := string(b)

	t.Run("self-contained", func(t *testing.T) {
		if !strings.Contains(html, `<meta http-equiv="Content-Security-Policy" content="`+CSP+`">`) {
			t.Errorf("no CSP meta:\n%s", html[:min(len(html), 400)])
		}
		for _, bad := range []string{"<script", "<img", "<link", "<iframe", "<object", "http://", "https://", "url(", "@import", " src="} {
			if strings.Contains(strings.ToLower(html), bad) {
				t.Errorf("page holds %q", bad)
			}
		}
	})
	t.Run("charts", func(t *testing.T) {
		want := []string{"chart-org-belonging",
			"chart-alpha-belonging", "chart-alpha-sentiment", "chart-alpha-negative",
			"chart-ops---support-belonging", "chart-ops---support-sentiment", "chart-ops---support-negative",
			"chart-themes-org", "chart-network-ei", "chart-reviews"}
		if strings.Join(sum.Charts, ",") != strings.Join(want, ",") {
			t.Fatalf("chart ids %v\nwant %v", sum.Charts, want)
		}
		for _, id := range want {
			if n := strings.Count(html, `<svg id="`+id+`"`); n != 1 {
				t.Errorf("svg %s appears %d times", id, n)
			}
		}
	})
	t.Run("marks", func(t *testing.T) {
		sent := svgOf(t, html, "chart-ops---support-sentiment")
		if !strings.Contains(sent, `class="mark-anomaly"`) || !strings.Contains(sent, `class="mark-warning"`) {
			t.Errorf("sentiment chart lacks the anomaly or the warning:\n%s", sent)
		}
		if neg := svgOf(t, html, "chart-ops---support-negative"); !strings.Contains(neg, "mark-anomaly") || strings.Contains(neg, "mark-warning") {
			t.Error("negative-share chart: want its anomaly, no warning")
		}
		if a := svgOf(t, html, "chart-alpha-sentiment"); strings.Contains(a, "mark-") || strings.Count(a, "<polyline class=\"series\"") != 2 {
			t.Error("alpha: no mark, and its unpublished day splits the line in two")
		}
	})
	t.Run("look at", func(t *testing.T) {
		ops := between(t, html, `id="team-ops---support"`, "</section>")
		for _, want := range []string{"Early warning", "Sentiment moved", "almost only inside itself", "wait for a review",
			"most is conflict", "facilitated retrospective", `data-key="Ops &amp; Support|forecast_mean_compound|day|2026-11-08T00:00:00Z"`} {
			if !strings.Contains(ops, want) {
				t.Errorf("Ops & Support's list lacks %q", want)
			}
		}
		alpha := between(t, html, `id="team-alpha"`, "</section>")
		if strings.Contains(alpha, "Early warning") || !strings.Contains(alpha, "most is workload") {
			t.Error("alpha's list")
		}
	})
	t.Run("network and reviews", func(t *testing.T) {
		if !strings.Contains(html, "no figure of which team talks to which team is published") {
			t.Error("the page does not say that no team-pair figure is published")
		}
		if !strings.Contains(html, `data-view="team_network_k" data-team="alpha" data-day="2026-11-02" data-days="28" data-col="ei_index">-0.50</data>`) {
			t.Error("alpha's E-I index is not its rolling window's")
		}
		rev := between(t, html, `id="reviews"`, "</section>")
		if !strings.Contains(rev, `data-metric="negative_share" data-agg="precision">0%</data>`) ||
			!strings.Contains(rev, `data-metric="forecast_mean_compound" data-state="new" data-agg="count">1</data>`) {
			t.Errorf("review table:\n%s", rev)
		}
	})
	t.Run("every figure names its source", func(t *testing.T) {
		views := map[string]bool{"team_stats_k": true, "team_belonging_k": true, "team_network_k": true, "team_themes_k": true, "anomalies_k": true}
		for _, m := range regexp.MustCompile(`<data class="fig" value="([^"]*)" data-view="([^"]*)"`).FindAllStringSubmatch(html, -1) {
			if !views[m[2]] {
				t.Errorf("figure from %q", m[2])
			}
			if m[1] == "" || m[1] == "NaN" {
				t.Errorf("figure without a value: %q", m[0])
			}
		}
	})
}

// A read that fails writes nothing: no file, no temporary file left.
func TestWriteStopsOnAReadError(t *testing.T) {
	dir := t.TempDir()
	src := &fakeSource{d: fakeData(), themes: errors.New("code: 497, not enough privileges")}
	cfg := Config{From: testFrom, To: testFrom.AddDate(0, 0, 6), Out: filepath.Join(dir, "r.html")}
	if _, err := Write(context.Background(), cfg, src); err == nil || !strings.Contains(err.Error(), "497") {
		t.Fatalf("Write = %v, want the read's error", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
}

func TestRenderEmpty(t *testing.T) {
	var buf bytes.Buffer
	p, err := Render(&buf, &Data{From: testFrom, To: testFrom.AddDate(0, 0, 6), Generated: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	if len(p.Teams) != 0 || len(p.ChartIDs()) != 4 {
		t.Fatalf("empty page: %d teams, charts %v", len(p.Teams), p.ChartIDs())
	}
	for _, want := range []string{"No belonging index is published", "No theme count is published", "No E-I index is published", "No alert in the period"} {
		if !strings.Contains(html, want) {
			t.Errorf("empty page lacks %q", want)
		}
	}
}

func TestHeatColour(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{50, "#ffffff"}, {20, "#ca0020"}, {0, "#ca0020"}, {80, "#0571b0"}, {math.Inf(1), "#0571b0"}} {
		if got := heatColour(tc.v); got != tc.want {
			t.Errorf("heatColour(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestSortTeams(t *testing.T) {
	got := []string{"team-10", "Team-2", "beta", "team-1", "alpha", "team-02x", "team-2"}
	sortTeams(got)
	if want := "alpha,beta,team-1,Team-2,team-2,team-02x,team-10"; strings.Join(got, ",") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

func svgOf(t *testing.T, html, id string) string {
	t.Helper()
	return between(t, html, `<svg id="`+id+`"`, "</svg>")
}

func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return s[i : i+j]
}
