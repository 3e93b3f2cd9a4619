package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"commpulse/pipeline/store"
)

// Fig is one published figure as the page shows it: an HTML <data>
// element whose value is the exact figure and whose data-* attributes name
// its source row.
type Fig struct {
	Value string // exact (strconv 'g', -1)
	Text  string // as displayed
	View  string // the published view
	Team  string
	Day   string // window start, YYYY-MM-DD
	Days  string // window length (team_network_k)
	Key   string // anomaly key (anomalies_k)
	Col   string // the column
	Theme string
	// Metric and State are the groups of a count of review states.
	Metric, State string
	// Agg is empty for a row's own value, else how rows were combined:
	// sum (of Col over the period's rows of Team and Theme), count (of
	// the period's rows: team_stats_k day rows of Team; anomalies_k rows
	// of Metric, or of Team, in State), precision (confirmed over
	// confirmed plus dismissed as false positive, of Metric).
	Agg string
	// Label names the figure where a sentence shows it ("value",
	// "expected"); it is not part of the figure.
	Label string
}

// labelled returns f with a label.
func labelled(label string, f Fig) Fig { f.Label = label; return f }

func fmtValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// shown formats v for display, without a sign on a figure that rounds to
// zero ("-0.00").
func shown(format string, v float64) string {
	s := fmt.Sprintf(format, v)
	if strings.Trim(s, "+-0.%") == "" {
		s = strings.TrimLeft(s, "+-")
	}
	return s
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Text is a published sentence (an explanation column) with its source.
type Text struct {
	S                    string
	View, Team, Day, Key string
	Col                  string
}

// Item is one line of a team's "what to look at": what the figures say,
// the figures, and what to do about it.
type Item struct {
	Kind   string // class: warning, alert, belonging, network, theme, review
	Says   string // words, no number
	Figs   []Fig  // the figures it rests on
	Quote  *Text  // a published explanation, when one says it best
	Action string
}

// AlertRow is an anomaly or an early warning as a team's table lists it.
type AlertRow struct {
	Day, Metric, Severity, Direction, State string
	Warning                                 bool
	Value, Expected                         Fig
	Explanation                             Text
}

// ThemeRow is a theme's published count over the period.
type ThemeRow struct {
	Theme string
	Count Fig
}

// NetRow is a team's latest published network figures.
type NetRow struct {
	Team          string
	Window        string // "1 day" / "28 days" as words and the start day
	EI, External  *Fig
	MembersActive Fig
}

// ReviewRow is one metric's review counts.
type ReviewRow struct {
	Metric                               string
	New, Acknowledged, Confirmed         Fig
	FalsePositive, OtherDismissed, Total Fig
	Precision                            *Fig
}

// TeamPage is one team's section.
type TeamPage struct {
	Team, Slug   string
	Days         Fig // published days: the count of the team's team_stats_k day rows
	Charts       []Chart
	Alerts       []AlertRow
	Themes       []ThemeRow
	Look         []Item
	LastBelong   *Fig
	LastMean     *Fig
	LastNegative *Fig
}

// Page is the whole report.
type Page struct {
	From, To, Generated string
	PeriodDays          int
	Overview            Chart
	HasBelonging        bool
	Teams               []TeamPage
	ThemesOrg           Chart
	ThemesTotals        []ThemeRow
	Network             Chart
	NetRows             []NetRow
	Reviews             []ReviewRow
	ReviewsChart        Chart
	Warnings            int
	Anomalies           int
}

// ChartIDs lists the ids of every chart of the page, in page order.
func (p *Page) ChartIDs() []string {
	ids := []string{p.Overview.ID}
	for _, t := range p.Teams {
		for _, c := range t.Charts {
			ids = append(ids, c.ID)
		}
	}
	return append(ids, p.ThemesOrg.ID, p.Network.ID, p.ReviewsChart.ID)
}

// sortTeams sorts team names as people read them: case-insensitively,
// runs of digits by their value (team-2 before team-10).
func sortTeams(teams []string) {
	sort.Slice(teams, func(i, j int) bool {
		if c := naturalCompare(strings.ToLower(teams[i]), strings.ToLower(teams[j])); c != 0 {
			return c < 0
		}
		return teams[i] < teams[j]
	})
}

func naturalCompare(a, b string) int {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			i, j := 0, 0
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[:i], "0"), strings.TrimLeft(b[:j], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[i:], b[j:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

// slugs maps team names to stable, distinct id fragments: lower-case
// letters and digits, anything else '-', a counter on a collision (teams
// in name order, so the same teams always get the same ids).
func slugs(teams []string) map[string]string {
	out, used := map[string]string{}, map[string]bool{}
	for _, t := range teams {
		var b strings.Builder
		for _, r := range strings.ToLower(t) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			} else {
				b.WriteByte('-')
			}
		}
		s := strings.Trim(b.String(), "-")
		if s == "" {
			s = "team"
		}
		base := s
		for i := 2; used[s]; i++ {
			s = fmt.Sprintf("%s-%d", base, i)
		}
		used[s], out[t] = true, s
	}
	return out
}

// build turns the published rows into the page.
func build(d *Data) *Page {
	p := &Page{From: day(d.From), To: day(d.To), Generated: d.Generated.Format("2006-01-02 15:04 UTC"),
		PeriodDays: int(d.To.Sub(d.From)/(24*time.Hour)) + 1, Warnings: len(d.Warnings), Anomalies: len(d.Anomalies)}
	days := make([]time.Time, 0, p.PeriodDays)
	for t := d.From; !t.After(d.To); t = t.AddDate(0, 0, 1) {
		days = append(days, t)
	}

	teamSet := map[string]bool{}
	for _, s := range d.Stats {
		teamSet[s.Team] = true
	}
	for _, b := range d.Belonging {
		teamSet[b.Team] = true
	}
	teams := make([]string, 0, len(teamSet))
	for t := range teamSet {
		teams = append(teams, t)
	}
	sortTeams(teams)
	slug := slugs(teams)

	stats := map[string][]store.ReportDay{}
	for _, s := range d.Stats {
		stats[s.Team] = append(stats[s.Team], s)
	}
	belong := map[string][]store.ReportBelongingDay{}
	for _, b := range d.Belonging {
		belong[b.Team] = append(belong[b.Team], b)
	}
	alerts := map[string][]store.ReportAnomaly{}
	for _, a := range d.Anomalies {
		alerts[a.Team] = append(alerts[a.Team], a)
	}
	warns := map[string][]store.ReportAnomaly{}
	for _, a := range d.Warnings {
		warns[a.Team] = append(warns[a.Team], a)
	}
	themes := map[string]map[string]float64{} // team -> theme -> sum
	orgThemes := map[string]float64{}
	for _, th := range d.Themes {
		if themes[th.Team] == nil {
			themes[th.Team] = map[string]float64{}
		}
		themes[th.Team][th.Theme] += th.Messages
		orgThemes[th.Theme] += th.Messages
	}
	nets := latestNetworks(d.Networks)

	p.HasBelonging = len(d.Belonging) > 0
	p.Overview = heatMap("chart-org-belonging", teams, days, belong)

	for _, team := range teams {
		n := float64(len(stats[team]))
		tp := TeamPage{Team: team, Slug: slug[team], Days: Fig{Value: fmtValue(n), Text: strconv.Itoa(len(stats[team])), View: "team_stats_k",
			Team: team, Agg: "count"}}
		ss, bs := stats[team], belong[team]
		marks := append(append([]store.ReportAnomaly{}, alerts[team]...), warns[team]...)
		tp.Charts = []Chart{
			trend("chart-"+tp.Slug+"-belonging", "Belonging index", days, belongingSeries(bs), math.NaN(), math.NaN(), 50, "usual", marksFor(marks, "belonging")),
			trend("chart-"+tp.Slug+"-sentiment", "Sentiment (mean compound)", days, series(ss, func(s store.ReportDay) float64 { return s.MeanCompound }), math.NaN(), math.NaN(), 0, "neutral", marksFor(marks, store.WarningMeanCompound, "mean_compound")),
			trend("chart-"+tp.Slug+"-negative", "Negative share", days, series(ss, func(s store.ReportDay) float64 { return s.NegativeShare }), math.NaN(), math.NaN(), math.NaN(), "", marksFor(marks, "negative_share")),
		}
		if n := len(bs); n > 0 {
			f := belongingFig(bs[n-1])
			tp.LastBelong = &f
		}
		if s, ok := lastWith(ss, func(s store.ReportDay) float64 { return s.MeanCompound }); ok {
			f := statFig(s, "mean_compound", s.MeanCompound, "%+.2f")
			tp.LastMean = &f
		}
		if s, ok := lastWith(ss, func(s store.ReportDay) float64 { return s.NegativeShare }); ok {
			f := statFig(s, "negative_share", s.NegativeShare, "%.2f")
			tp.LastNegative = &f
		}
		for _, a := range warns[team] {
			tp.Alerts = append(tp.Alerts, alertRow(a, true))
		}
		for _, a := range alerts[team] {
			tp.Alerts = append(tp.Alerts, alertRow(a, false))
		}
		sort.SliceStable(tp.Alerts, func(i, j int) bool { return tp.Alerts[i].Day < tp.Alerts[j].Day })
		tp.Themes = themeRows(team, themes[team])
		tp.Look = lookAt(team, bs, ss, alerts[team], warns[team], tp.Themes, nets[team])
		p.Teams = append(p.Teams, tp)
	}

	p.ThemesTotals = themeRows("", orgThemes)
	p.ThemesOrg = themeBars("chart-themes-org", p.ThemesTotals)
	netTeams := make([]string, 0, len(nets))
	for t := range nets {
		netTeams = append(netTeams, t)
	}
	sortTeams(netTeams)
	for _, t := range netTeams {
		p.NetRows = append(p.NetRows, netRow(nets[t]))
	}
	p.Network = eiScale("chart-network-ei", netTeams, nets)
	p.Reviews = reviewRows(append(append([]store.ReportAnomaly{}, d.Anomalies...), d.Warnings...))
	p.ReviewsChart = reviewBars("chart-reviews", p.Reviews)
	return p
}

func series(ss []store.ReportDay, f func(store.ReportDay) float64) map[string]float64 {
	out := map[string]float64{}
	for _, s := range ss {
		if v := f(s); !math.IsNaN(v) {
			out[day(s.Day)] = v
		}
	}
	return out
}

func belongingSeries(bs []store.ReportBelongingDay) map[string]float64 {
	out := map[string]float64{}
	for _, b := range bs {
		out[day(b.Day)] = b.Belonging
	}
	return out
}

func lastWith(ss []store.ReportDay, f func(store.ReportDay) float64) (store.ReportDay, bool) {
	for i := len(ss) - 1; i >= 0; i-- {
		if !math.IsNaN(f(ss[i])) {
			return ss[i], true
		}
	}
	return store.ReportDay{}, false
}

func statFig(s store.ReportDay, col string, v float64, format string) Fig {
	return Fig{Value: fmtValue(v), Text: shown(format, v), View: "team_stats_k", Team: s.Team, Day: day(s.Day), Col: col}
}

func belongingFig(b store.ReportBelongingDay) Fig {
	return Fig{Value: fmtValue(b.Belonging), Text: fmt.Sprintf("%.0f", b.Belonging), View: "team_belonging_k", Team: b.Team, Day: day(b.Day), Col: "belonging"}
}

func anomalyFig(a store.ReportAnomaly, col string, v float64) Fig {
	return Fig{Value: fmtValue(v), Text: fmt.Sprintf("%.3g", v), View: "anomalies_k", Team: a.Team, Day: day(a.WindowStart), Key: a.Key(), Col: col}
}

func anomalyText(a store.ReportAnomaly) Text {
	return Text{S: a.Explanation, View: "anomalies_k", Team: a.Team, Day: day(a.WindowStart), Key: a.Key(), Col: "explanation"}
}

func alertRow(a store.ReportAnomaly, warning bool) AlertRow {
	return AlertRow{Day: day(a.WindowStart), Metric: a.Metric, Severity: string(a.Severity), Direction: a.Direction,
		State: string(a.State), Warning: warning, Value: anomalyFig(a, "value", a.Value), Expected: anomalyFig(a, "expected", a.Expected),
		Explanation: anomalyText(a)}
}

func themeRows(team string, sums map[string]float64) []ThemeRow {
	var out []ThemeRow
	for th, v := range sums {
		out = append(out, ThemeRow{Theme: th, Count: Fig{Value: fmtValue(v), Text: fmt.Sprintf("%.0f", v), View: "team_themes_k",
			Team: team, Theme: th, Col: "messages", Agg: "sum"}})
	}
	sort.Slice(out, func(i, j int) bool {
		vi, _ := strconv.ParseFloat(out[i].Count.Value, 64)
		vj, _ := strconv.ParseFloat(out[j].Count.Value, 64)
		if vi != vj {
			return vi > vj
		}
		return out[i].Theme < out[j].Theme
	})
	return out
}

// latestNetworks keeps, per team, its latest published rolling window
// (the longest window length), else its latest day window.
func latestNetworks(ns []store.ReportNetwork) map[string]store.ReportNetwork {
	out := map[string]store.ReportNetwork{}
	for _, n := range ns {
		if math.IsNaN(n.EIIndex) && math.IsNaN(n.ExternalShare) {
			continue
		}
		cur, ok := out[n.Team]
		if !ok || n.Days > cur.Days || n.Days == cur.Days && n.WindowStart.After(cur.WindowStart) {
			out[n.Team] = n
		}
	}
	return out
}

func netFig(n store.ReportNetwork, col string, v float64, format string) Fig {
	return Fig{Value: fmtValue(v), Text: shown(format, v), View: "team_network_k", Team: n.Team, Day: day(n.WindowStart),
		Days: strconv.Itoa(n.Days), Col: col}
}

func netRow(n store.ReportNetwork) NetRow {
	r := NetRow{Team: n.Team, Window: windowWords(n), MembersActive: Fig{Value: fmtValue(float64(n.MembersActive)),
		Text: strconv.Itoa(int(n.MembersActive)), View: "team_network_k", Team: n.Team, Day: day(n.WindowStart), Days: strconv.Itoa(n.Days), Col: "members_active"}}
	if !math.IsNaN(n.EIIndex) {
		f := netFig(n, "ei_index", n.EIIndex, "%+.2f")
		r.EI = &f
	}
	if !math.IsNaN(n.ExternalShare) {
		f := netFig(n, "external_share", n.ExternalShare, "%.2f")
		r.External = &f
	}
	return r
}

func windowWords(n store.ReportNetwork) string {
	if n.Days == 1 {
		return "the day " + day(n.WindowStart)
	}
	return "the rolling window starting " + day(n.WindowStart)
}

func reviewRows(as []store.ReportAnomaly) []ReviewRow {
	type counts struct{ n, ack, conf, fp, other, total float64 }
	by := map[string]*counts{}
	for _, a := range as {
		c := by[a.Metric]
		if c == nil {
			c = &counts{}
			by[a.Metric] = c
		}
		c.total++
		switch a.State {
		case store.ReviewNew:
			c.n++
		case store.ReviewAcknowledged:
			c.ack++
		case store.ReviewConfirmed:
			c.conf++
		case store.ReviewDismissed:
			if a.Reason == store.ReasonFalsePositive {
				c.fp++
			} else {
				c.other++
			}
		}
	}
	metrics := make([]string, 0, len(by))
	for m := range by {
		metrics = append(metrics, m)
	}
	sort.Strings(metrics)
	var out []ReviewRow
	for _, m := range metrics {
		c := by[m]
		cnt := func(state string, v float64) Fig {
			return Fig{Value: fmtValue(v), Text: strconv.Itoa(int(v)), View: "anomalies_k", Metric: m, State: state, Agg: "count"}
		}
		r := ReviewRow{Metric: m, New: cnt("new", c.n), Acknowledged: cnt("acknowledged", c.ack), Confirmed: cnt("confirmed", c.conf),
			FalsePositive: cnt("dismissed:false_positive", c.fp), OtherDismissed: cnt("dismissed:other_reasons", c.other), Total: cnt("", c.total)}
		if d := c.conf + c.fp; d > 0 {
			v := c.conf / d
			r.Precision = &Fig{Value: fmtValue(v), Text: fmt.Sprintf("%.0f%%", 100*v), View: "anomalies_k", Metric: m, Agg: "precision"}
		}
		out = append(out, r)
	}
	return out
}

// themeActions says what a team can do about its most counted theme.
var themeActions = map[string]string{
	"workload":    "Review workload and deadlines with the team; look at what can be dropped, moved or shared.",
	"recognition": "Recognition is what the team talks about most: keep it up, and make sure it reaches everyone.",
	"conflict":    "Consider a facilitated retrospective, or a conversation with the team lead about tensions.",
	"blockers":    "Ask what blocks the team and who can remove it; look at dependencies on other teams.",
	"change":      "Explain the change under way and its reasons again, and give room for questions.",
}

// lookAt derives a team's "what to look at" from its published figures.
// Thresholds are on the published scales: a belonging index below 40 is
// more than one standard deviation below the team's usual; an E-I index
// at or below -0.8 means nine in ten of the team's ties stay inside it.
func lookAt(team string, bs []store.ReportBelongingDay, ss []store.ReportDay, alerts, warns []store.ReportAnomaly,
	themes []ThemeRow, net store.ReportNetwork) []Item {
	var out []Item
	for _, w := range warns {
		a := w
		out = append(out, Item{Kind: "warning", Says: "Early warning: the forecast says this figure is heading out of its usual range.",
			Figs: []Fig{labelled("value", anomalyFig(a, "value", a.Value)), labelled("expected", anomalyFig(a, "expected", a.Expected))}, Quote: ptr(anomalyText(a)),
			Action: "Check in with the team now, before the forecast materialises; see the drivers below."})
	}
	if n := len(bs); n > 0 && bs[n-1].Belonging < 40 {
		b := bs[n-1]
		out = append(out, Item{Kind: "belonging", Says: "Belonging is well below the team's usual level on its last published day.",
			Figs: []Fig{labelled("index", belongingFig(b))}, Quote: &Text{S: b.Explanation, View: "team_belonging_k", Team: team, Day: day(b.Day), Col: "explanation"},
			Action: "Talk with the team lead about what changed; the explanation names the components that moved."})
	}
	// Of the alerts that still stand (not dismissed, not info), the
	// latest day anomaly of each metric a rule reads; the team's table
	// lists every one.
	var newAlerts []store.ReportAnomaly
	latest := map[string]store.ReportAnomaly{}
	var order []string
	for _, a := range alerts {
		if a.State == store.ReviewNew {
			newAlerts = append(newAlerts, a)
		}
		if a.Severity == store.Info || a.State == store.ReviewDismissed || a.Granularity != store.Day {
			continue
		}
		if a.Metric == "mean_compound" && a.Direction == "down" || a.Metric == "negative_share" && a.Direction == "up" || a.Metric == "external_share" {
			if _, ok := latest[a.Metric]; !ok {
				order = append(order, a.Metric)
			}
			if cur, ok := latest[a.Metric]; !ok || a.WindowStart.After(cur.WindowStart) {
				latest[a.Metric] = a
			}
		}
	}
	for _, m := range order {
		a := latest[m]
		figs := []Fig{labelled("value", anomalyFig(a, "value", a.Value)), labelled("expected", anomalyFig(a, "expected", a.Expected))}
		if m == "external_share" {
			out = append(out, Item{Kind: "network", Says: "The team's exchanges with other teams dropped, latest on " + day(a.WindowStart) + ".",
				Figs: figs, Quote: ptr(anomalyText(a)),
				Action: "Look for a silo forming: a shared meeting or a pairing with a neighbouring team helps."})
			continue
		}
		out = append(out, Item{Kind: "alert", Says: "Sentiment moved against the team's usual, latest on " + day(a.WindowStart) + ".",
			Figs: figs, Quote: ptr(anomalyText(a)),
			Action: "Ask the team how the week went; compare with the themes counted on those days."})
	}
	if len(newAlerts) > 0 {
		out = append(out, Item{Kind: "review", Says: "Alerts of this team wait for a review (confirm or dismiss them so precision can be measured).",
			Figs:   []Fig{{Value: fmtValue(float64(len(newAlerts))), Text: strconv.Itoa(len(newAlerts)), View: "anomalies_k", Team: team, State: "new", Agg: "count", Label: "waiting"}},
			Action: "Run commpulse review list --state new and review them."})
	}
	if !math.IsNaN(net.EIIndex) && net.Team != "" && net.EIIndex <= -0.8 {
		out = append(out, Item{Kind: "network", Says: "The team talks almost only inside itself (" + windowWords(net) + ").",
			Figs:   []Fig{labelled("E-I index", netFig(net, "ei_index", net.EIIndex, "%+.2f"))},
			Action: "Invite the team to cross-team rituals, or pair it with a team it depends on."})
	}
	if len(themes) > 0 {
		th := themes[0]
		if act, ok := themeActions[th.Theme]; ok {
			out = append(out, Item{Kind: "theme", Says: "The theme the team's messages mention most is " + th.Theme + ".",
				Figs: []Fig{labelled("messages", th.Count)}, Action: act})
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
