package attack

// The report attack (issue 15, `commpulse report`): the HTML report is a
// new output, read by whoever the file is sent to. The claims: it is
// written by the analyst role, which reads the published views and
// nothing else, and every figure in it is a published figure, traceable
// to the rows of those views (a row's own value, or a sum, count or ratio
// of them); no other number is in its text, and no person id.

import (
	"context"
	"html"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"commpulse/pipeline/analyze"
	"commpulse/pipeline/report"
	"commpulse/pipeline/store"
)

var (
	reportFigRE   = regexp.MustCompile(`<data class="fig" ([^>]*)>([^<]*)</data>`)
	reportQuoteRE = regexp.MustCompile(`<q class="published" ([^>]*)>([^<]*)</q>`)
	reportAttrRE  = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
	// Allowed digits in the text: days, the time of generation.
	reportDigitOK = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}|\d{2}:\d{2})$`)
)

func reportAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range reportAttrRE.FindAllStringSubmatch(s, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// reportAlert is one anomalies_k row with its review, as the analyst
// reads them.
type reportAlert struct {
	team, metric, detector, state, reason string
}

// reportShows says whether text is v rounded to the digits text shows
// ("+0.12", "37", "45%", "0.0512").
func reportShows(text string, v float64) bool {
	num := strings.TrimSuffix(strings.TrimPrefix(text, "+"), "%")
	shown, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	unit := 1.0
	if i := strings.IndexByte(num, '.'); i >= 0 {
		unit = math.Pow(10, -float64(len(num)-i-1))
	}
	if strings.HasSuffix(text, "%") {
		shown, unit = shown/100, unit/100
	}
	return math.Abs(shown-v) <= unit/2+1e-12
}

func TestAttackReportShowsOnlyPublishedFigures(t *testing.T) {
	s := rolesStart(t)
	ctx := context.Background()
	start := monday.AddDate(0, 0, -21)
	const weeks = 5
	end := start.AddDate(0, 0, 7*weeks)

	// The writer ingests (inserts) and analyzes, as in production.
	w := s.store(t, store.RoleWriter)
	if err := w.InsertMessages(ctx, belongingOrg(start, weeks)); err != nil {
		t.Fatalf("writer: insert messages: %v", err)
	}
	cfg := analyze.Defaults()
	cfg.Privacy.Key = pubKey
	cfg.Now = func() time.Time { return end.Add(2 * time.Hour) }
	a, err := analyze.New(cfg, w, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Step(ctx); err != nil {
		t.Fatalf("writer: analyze: %v", err)
	}
	// An early warning as the forecast detector writes it (on the last day
	// gamma's team_stats day row is published: anomalies_k shows a warning
	// only with that row), and reviews.
	var warnDay time.Time
	if err := s.conn(t, store.RoleAnalyst).QueryRow(ctx, "SELECT max(window_start) FROM "+s.db+
		".team_stats_k WHERE granularity = 'day' AND team = 'gamma' AND window_start < ?", end.AddDate(0, 0, -1)).Scan(&warnDay); err != nil || warnDay.Before(start) {
		t.Fatalf("analyst: gamma's last published day: %v, %v", warnDay, err)
	}
	warnDay = warnDay.UTC()
	if err := w.Conn().Exec(ctx, "INSERT INTO "+s.db+`.anomalies (window_start, granularity, team, metric, value, expected, low, high,
		score, severity, direction, detector, explanation, detected_at) VALUES (?, 'day', 'gamma', ?, 41.5, 50, 44, 56, 0.8, 'warning', 'down', ?,
		'gamma: the belonging index is forecast to fall below its usual range within 14 days.', ?)`,
		warnDay, store.WarningBelonging, store.DetectorForecast, end); err != nil {
		t.Fatalf("writer: insert an early warning: %v", err)
	}
	rv := s.store(t, store.RoleReviewer)
	wk := store.AnomalyKey{Team: "gamma", Metric: store.WarningBelonging, Granularity: store.Day, WindowStart: warnDay}
	if err := rv.WriteReview(ctx, store.Review{AnomalyKey: wk, State: store.ReviewDismissed, Reason: store.ReasonFalsePositive, Reviewer: "cli", ReviewedAt: end}); err != nil {
		t.Fatalf("reviewer: dismiss the warning: %v", err)
	}
	found, err := w.ReportAnomalies(ctx, start, end) // the writer may not read views: this must fail
	if err == nil || !rolesIsDenied(err) {
		t.Fatalf("writer read anomalies_k: %v, %v", found, err)
	}

	// The analyst writes the report.
	an := s.store(t, store.RoleAnalyst)
	rcfg := report.Config{From: start, To: end.AddDate(0, 0, -1), Out: filepath.Join(t.TempDir(), "report.html"),
		Now: func() time.Time { return end.Add(3 * time.Hour) }}
	sum, err := report.Write(ctx, rcfg, an)
	if err != nil {
		t.Fatalf("analyst: report: %v", err)
	}
	b, err := os.ReadFile(sum.Path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	t.Logf("report as the analyst: %d bytes, %d teams, %d charts", sum.Bytes, sum.Teams, len(sum.Charts))

	t.Run("the analyst reads nothing but the views", func(t *testing.T) {
		c := s.conn(t, store.RoleAnalyst)
		var deny []string
		for _, table := range []string{"messages", "edges", "node_metrics", "team_stats", "team_themes", "team_network",
			"team_belonging", "anomalies", "anomaly_reviews", "analyzer_windows"} {
			deny = append(deny, "SELECT count() FROM "+s.db+"."+table)
		}
		rolesMustDeny(t, c, "analyst", deny)
	})

	// The analyst's own reads of the views, independent of the report's.
	c := s.conn(t, store.RoleAnalyst)
	one := func(q string, args ...any) (float64, bool) {
		t.Helper()
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		if !rows.Next() {
			return 0, false
		}
		var v *float64
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if rows.Next() {
			t.Fatalf("%s %v: more than one row", q, args)
		}
		if v == nil {
			return math.NaN(), true
		}
		return *v, true
	}
	var alerts []reportAlert
	rows, err := c.Query(ctx, `SELECT toString(a.team), toString(a.metric), toString(a.detector), if(r.reviewed = 1, toString(r.state), 'new'), if(r.reviewed = 1, toString(r.reason), '')
		FROM (SELECT * FROM anomalies_k WHERE window_start >= ? AND window_start < ?) AS a
		LEFT JOIN (SELECT *, toUInt8(1) AS reviewed FROM anomaly_reviews_k) AS r
		ON r.granularity = a.granularity AND r.team = a.team AND r.metric = a.metric AND r.window_start = a.window_start`, start, end)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r reportAlert
		if err := rows.Scan(&r.team, &r.metric, &r.detector, &r.state, &r.reason); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, r)
	}
	rows.Close()
	if len(alerts) < 2 {
		t.Fatalf("%d anomalies published: the test would prove little", len(alerts))
	}

	colOK := map[string]map[string]bool{
		"team_stats_k":     {"mean_compound": true, "negative_share": true, "messages": true, "active_members": true},
		"team_belonging_k": {"belonging": true},
		"team_network_k":   {"ei_index": true, "external_share": true, "members_active": true},
		"anomalies_k":      {"value": true, "expected": true},
		"team_themes_k":    {"messages": true},
	}
	t.Run("every figure is traceable to published rows", func(t *testing.T) {
		figs := reportFigRE.FindAllStringSubmatch(page, -1)
		byView := map[string]int{}
		for _, m := range figs {
			at, text := reportAttrs(m[1]), html.UnescapeString(m[2])
			got, err := strconv.ParseFloat(at["value"], 64)
			if err != nil {
				t.Errorf("%s: value: %v", m[0], err)
				continue
			}
			view, col, agg := at["data-view"], at["data-col"], at["data-agg"]
			if agg == "" && !colOK[view][col] {
				t.Errorf("%s: not a published column", m[0])
				continue
			}
			var (
				want float64
				ok   bool
			)
			switch {
			case agg == "" && view == "team_stats_k":
				want, ok = one("SELECT toFloat64("+col+") FROM team_stats_k WHERE granularity = 'day' AND team = ? AND window_start = ?", at["data-team"], at["data-day"])
			case agg == "" && view == "team_belonging_k":
				want, ok = one("SELECT belonging FROM team_belonging_k WHERE window_days = 1 AND team = ? AND window_start = ?", at["data-team"], at["data-day"])
			case agg == "" && view == "team_network_k":
				want, ok = one("SELECT toFloat64("+col+") FROM team_network_k WHERE window_days = ? AND team = ? AND window_start = ?", at["data-days"], at["data-team"], at["data-day"])
			case agg == "" && view == "anomalies_k":
				k, err := store.ParseAnomalyKey(at["data-key"])
				if err != nil {
					t.Errorf("%s: %v", m[0], err)
					continue
				}
				want, ok = one("SELECT "+col+" FROM anomalies_k WHERE granularity = ? AND team = ? AND metric = ? AND window_start = ?", string(k.Granularity), k.Team, k.Metric, k.WindowStart)
			case agg == "sum" && view == "team_themes_k":
				q, args := "SELECT messages FROM team_themes_k WHERE window_start >= ? AND window_start < ? AND theme = ?", []any{start, end, at["data-theme"]}
				if at["data-team"] != "" {
					q, args = q+" AND team = ?", append(args, at["data-team"])
				}
				r, err := c.Query(ctx, q+" ORDER BY team, window_start", args...)
				if err != nil {
					t.Fatal(err)
				}
				for r.Next() {
					var v float64
					if err := r.Scan(&v); err != nil {
						t.Fatal(err)
					}
					want, ok = want+v, true
				}
				r.Close()
			case view == "team_stats_k" && agg == "count":
				want, ok = one("SELECT toFloat64(count()) FROM team_stats_k WHERE granularity = 'day' AND team = ? AND window_start >= ? AND window_start < ?", at["data-team"], start, end)
			case view == "anomalies_k" && (agg == "count" || agg == "precision"):
				var n, conf, fp float64
				for _, al := range alerts {
					if at["data-metric"] != "" && al.metric != at["data-metric"] || at["data-team"] != "" && (al.team != at["data-team"] || al.detector == store.DetectorForecast) {
						continue
					}
					state := al.state
					if state == "dismissed" {
						state = "dismissed:other_reasons"
						if al.reason == "false_positive" {
							state, fp = "dismissed:false_positive", fp+1
						}
					}
					if al.state == "confirmed" {
						conf++
					}
					if at["data-state"] == "" || at["data-state"] == state {
						n++
					}
				}
				want, ok = n, true
				if agg == "precision" {
					want, ok = conf/(conf+fp), conf+fp > 0
				}
			default:
				t.Errorf("%s: unknown source", m[0])
				continue
			}
			if !ok {
				t.Errorf("%s: no such published row", m[0])
				continue
			}
			if agg == "sum" && math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) || agg != "sum" && got != want {
				t.Errorf("%s: published %v", m[0], want)
			}
			// The text shows the value, rounded.
			if !reportShows(text, got) {
				t.Errorf("%s: shows %q for %v", m[0], text, got)
			}
			byView[view+" "+agg]++
		}
		t.Logf("%d figures traced to their published rows: %v", len(figs), byView)
		for _, v := range []string{"team_stats_k ", "team_belonging_k ", "team_network_k ", "anomalies_k ", "team_themes_k sum", "anomalies_k count", "anomalies_k precision"} {
			if byView[v] == 0 {
				t.Errorf("no figure from %q: that part of the report is not tested", v)
			}
		}
	})

	t.Run("every sentence is a published explanation", func(t *testing.T) {
		quotes := reportQuoteRE.FindAllStringSubmatch(page, -1)
		var warned bool
		for _, m := range quotes {
			at, text := reportAttrs(m[1]), html.UnescapeString(m[2])
			var q string
			var args []any
			switch at["data-view"] {
			case "anomalies_k":
				k, err := store.ParseAnomalyKey(at["data-key"])
				if err != nil {
					t.Fatal(err)
				}
				q, args = "SELECT explanation FROM anomalies_k WHERE granularity = ? AND team = ? AND metric = ? AND window_start = ?", []any{string(k.Granularity), k.Team, k.Metric, k.WindowStart}
				warned = warned || k.Metric == store.WarningBelonging
			case "team_belonging_k":
				q, args = "SELECT explanation FROM team_belonging_k WHERE window_days = 1 AND team = ? AND window_start = ?", []any{at["data-team"], at["data-day"]}
			default:
				t.Errorf("%s: unknown source", m[0])
				continue
			}
			var want string
			if err := c.QueryRow(ctx, q, args...).Scan(&want); err != nil || want != text {
				t.Errorf("%s: published %q (%v)", m[0], want, err)
			}
		}
		if !warned {
			t.Error("the early warning's explanation is not in the report")
		}
		t.Logf("%d sentences traced to their published rows", len(quotes))
	})

	t.Run("no other number, no person id", func(t *testing.T) {
		rest := regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(page, " ")
		rest = reportFigRE.ReplaceAllString(rest, " ")
		rest = reportQuoteRE.ReplaceAllString(rest, " ")
		text := html.UnescapeString(regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(rest, " "))
		var tokens int
		for _, tok := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == '\n' || r == ',' || r == '(' || r == ')' }) {
			tok = strings.TrimRight(tok, ".:;")
			if strings.ContainsAny(tok, "0123456789") {
				tokens++
				if !reportDigitOK.MatchString(tok) {
					t.Errorf("number %q in the report's text is not a traced figure", tok)
				}
			}
		}
		if strings.Contains(page, "quad") {
			t.Error("the report names the team of four, which publishes nothing")
		}
		if m := regexp.MustCompile(`p_[a-z]{2}[0-9]`).FindString(page); m != "" {
			t.Errorf("the report names a person: %q", m)
		}
		t.Logf("%d other tokens with digits in the text, all days or the time of generation", tokens)
	})
}
