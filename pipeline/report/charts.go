package report

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"commpulse/pipeline/store"
)

// Chart is one inline SVG: shapes in a W x H view box. Its texts are
// labels (teams, days, metric and scale names), never a figure: the
// figures are in the tables next to it, each traceable to its row.
type Chart struct {
	ID, Title, Caption string
	W, H               int
	Lines              []Line
	Rects              []Rect
	Marks              []Mark
	Labels             []Label
	Dots               []Label // small circles: a published day of a trend, a team on the E-I scale
	Empty              string  // said instead of the chart when it has nothing to draw
}

// Line is a polyline (one run of consecutive published days).
type Line struct{ Points, Class string }

// Rect is a bar or a heat-map cell.
type Rect struct {
	X, Y, W, H  string
	Fill, Title string
	Class       string
}

// Mark is an anomaly (circle) or an early warning (triangle) on a trend.
type Mark struct {
	X, Y, Points string
	Warning      bool
	Title        string
}

// Label is a text of the chart.
type Label struct {
	X, Y, Anchor, Class, S string
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

const (
	trendW, trendH         = 960, 180
	padL, padR, padT, padB = 60, 20, 14, 26
)

// trend draws a daily series over the period, with marks. lo/hi fix the
// scale (NaN: from the data), ref draws a reference line (NaN: none).
func trend(id, title string, days []time.Time, vals map[string]float64, lo, hi, ref float64, refName string, marks []store.ReportAnomaly) Chart {
	c := Chart{ID: id, Title: title, W: trendW, H: trendH}
	if len(vals) == 0 {
		c.Empty = "No published day in the period."
	}
	dmin, dmax := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		dmin, dmax = math.Min(dmin, v), math.Max(dmax, v)
	}
	for _, m := range marks {
		if v, ok := vals[day(m.WindowStart)]; ok {
			dmin, dmax = math.Min(dmin, v), math.Max(dmax, v)
		}
	}
	if math.IsInf(dmin, 1) {
		dmin, dmax = 0, 1
	}
	if !math.IsNaN(ref) {
		dmin, dmax = math.Min(dmin, ref), math.Max(dmax, ref)
	}
	if !math.IsNaN(lo) {
		dmin = lo
	}
	if !math.IsNaN(hi) {
		dmax = hi
	}
	if dmax-dmin < 1e-9 {
		dmin, dmax = dmin-0.5, dmax+0.5
	} else if math.IsNaN(lo) || math.IsNaN(hi) {
		pad := (dmax - dmin) * 0.1
		if math.IsNaN(lo) {
			dmin -= pad
		}
		if math.IsNaN(hi) {
			dmax += pad
		}
	}
	plotW, plotH := float64(trendW-padL-padR), float64(trendH-padT-padB)
	x := func(i int) float64 {
		if len(days) <= 1 {
			return padL + plotW/2
		}
		return padL + plotW*float64(i)/float64(len(days)-1)
	}
	y := func(v float64) float64 { return padT + plotH*(1-(v-dmin)/(dmax-dmin)) }
	c.Rects = append(c.Rects, Rect{X: f1(padL), Y: f1(padT), W: f1(plotW), H: f1(plotH), Fill: "#fbfbfb", Class: "plot"})
	if !math.IsNaN(ref) && ref >= dmin && ref <= dmax {
		c.Lines = append(c.Lines, Line{Points: fmt.Sprintf("%s,%s %s,%s", f1(padL), f1(y(ref)), f1(padL+plotW), f1(y(ref))), Class: "ref"})
		c.Labels = append(c.Labels, Label{X: f1(padL - 6), Y: f1(y(ref) + 4), Anchor: "end", Class: "ref", S: refName})
	}
	var run string
	idx := map[string]int{}
	for i, d := range days {
		idx[day(d)] = i
		v, ok := vals[day(d)]
		if !ok {
			if run != "" {
				c.Lines = append(c.Lines, Line{Points: run, Class: "series"})
			}
			run = ""
			continue
		}
		if run != "" {
			run += " "
		}
		run += f1(x(i)) + "," + f1(y(v))
		c.Marks = append(c.Marks, Mark{X: f1(x(i)), Y: f1(y(v)), Title: day(d)})
	}
	if run != "" {
		c.Lines = append(c.Lines, Line{Points: run, Class: "series"})
	}
	// The dots of the days drawn above are plain marks; anomalies and
	// warnings replace them with their own shapes.
	dots := c.Marks
	c.Marks = nil
	for _, m := range dots {
		c.Dots = append(c.Dots, Label{X: m.X, Y: m.Y, S: m.Title})
	}
	for _, a := range marks {
		i, ok := idx[day(a.WindowStart)]
		if !ok {
			continue
		}
		v, ok := vals[day(a.WindowStart)]
		yy := padT + 8.0
		if ok {
			yy = y(v)
		}
		what := "anomaly"
		if a.Detector == store.DetectorForecast {
			what = "early warning"
		}
		m := Mark{X: f1(x(i)), Y: f1(yy), Warning: a.Detector == store.DetectorForecast,
			Title: fmt.Sprintf("%s %s: %s %s", what, day(a.WindowStart), a.Metric, a.Direction)}
		if m.Warning {
			m.Points = fmt.Sprintf("%s,%s %s,%s %s,%s", f1(x(i)), f1(yy-8), f1(x(i)-7), f1(yy+5), f1(x(i)+7), f1(yy+5))
		}
		c.Marks = append(c.Marks, m)
	}
	c.Labels = append(c.Labels,
		Label{X: f1(padL - 6), Y: f1(padT + 4), Anchor: "end", Class: "axis", S: "higher"},
		Label{X: f1(padL - 6), Y: f1(padT + plotH), Anchor: "end", Class: "axis", S: "lower"})
	if len(days) > 0 {
		c.Labels = append(c.Labels,
			Label{X: f1(padL), Y: f1(trendH - 6), Anchor: "start", Class: "axis", S: day(days[0])},
			Label{X: f1(padL + plotW), Y: f1(trendH - 6), Anchor: "end", Class: "axis", S: day(days[len(days)-1])})
	}
	return c
}

// marksFor keeps the anomalies and warnings of the given metrics.
func marksFor(as []store.ReportAnomaly, metrics ...string) []store.ReportAnomaly {
	var out []store.ReportAnomaly
	for _, a := range as {
		for _, m := range metrics {
			if a.Metric == m || m == "belonging" && a.Metric == store.WarningBelonging {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// heatColour maps a belonging index (0..100, 50 usual) to a diverging
// colour: red below usual, white at usual, blue above.
func heatColour(v float64) string {
	t := math.Max(-1, math.Min(1, (v-50)/30))
	lerp := func(a, b float64) int { return int(math.Round(a + (b-a)*math.Abs(t))) }
	if t < 0 {
		return fmt.Sprintf("#%02x%02x%02x", lerp(255, 202), lerp(255, 0), lerp(255, 32))
	}
	return fmt.Sprintf("#%02x%02x%02x", lerp(255, 5), lerp(255, 113), lerp(255, 176))
}

// heatMap draws team x day cells of the belonging index.
func heatMap(id string, teams []string, days []time.Time, belong map[string][]store.ReportBelongingDay) Chart {
	const left, top, rowH = 130, 10, 22
	cellW := math.Max(4, math.Min(30, 820/float64(max(1, len(days)))))
	c := Chart{ID: id, Title: "Belonging index, team by day", W: left + int(cellW*float64(len(days))) + 20, H: top + rowH*len(teams) + 30}
	if len(belong) == 0 {
		c.Empty = "No belonging index is published for the period."
	}
	col := map[string]int{}
	for i, d := range days {
		col[day(d)] = i
	}
	for r, team := range teams {
		yy := float64(top + rowH*r)
		c.Labels = append(c.Labels, Label{X: f1(left - 6), Y: f1(yy + 15), Anchor: "end", Class: "team", S: team})
		for i := range days {
			c.Rects = append(c.Rects, Rect{X: f1(left + cellW*float64(i)), Y: f1(yy), W: f1(cellW - 1), H: f1(rowH - 2), Fill: "#eeeeee",
				Class: "none", Title: team + " " + day(days[i]) + ": not published"})
		}
		for _, b := range belong[team] {
			i, ok := col[day(b.Day)]
			if !ok {
				continue
			}
			c.Rects = append(c.Rects, Rect{X: f1(left + cellW*float64(i)), Y: f1(yy), W: f1(cellW - 1), H: f1(rowH - 2), Fill: heatColour(b.Belonging),
				Class: "cell", Title: team + " " + day(b.Day)})
		}
	}
	if len(days) > 0 {
		yy := float64(top + rowH*len(teams) + 18)
		c.Labels = append(c.Labels, Label{X: f1(left), Y: f1(yy), Anchor: "start", Class: "axis", S: day(days[0])},
			Label{X: f1(left + cellW*float64(len(days))), Y: f1(yy), Anchor: "end", Class: "axis", S: day(days[len(days)-1])})
	}
	return c
}

// themeBars draws one horizontal bar per theme, longest first.
func themeBars(id string, rows []ThemeRow) Chart {
	const left, rowH, barMax = 130, 24, 700
	c := Chart{ID: id, Title: "Themes, whole organisation", W: left + barMax + 30, H: rowH*len(rows) + 10}
	if len(rows) == 0 {
		c.Empty, c.H = "No theme count is published for the period.", 30
	}
	top := 0.0
	for _, r := range rows {
		v, _ := strconv.ParseFloat(r.Count.Value, 64)
		top = math.Max(top, v)
	}
	for i, r := range rows {
		v, _ := strconv.ParseFloat(r.Count.Value, 64)
		w := 0.0
		if top > 0 {
			w = barMax * math.Max(0, v) / top
		}
		yy := float64(5 + rowH*i)
		c.Labels = append(c.Labels, Label{X: f1(left - 6), Y: f1(yy + 15), Anchor: "end", Class: "team", S: r.Theme})
		c.Rects = append(c.Rects, Rect{X: f1(left), Y: f1(yy), W: f1(w), H: f1(rowH - 6), Fill: "#4a78a8", Class: "bar", Title: r.Theme})
	}
	return c
}

// eiScale draws one row per team on the E-I scale (-1: every tie inside
// the team, +1: every tie to other teams): team level only, since no
// team-pair figure is published.
func eiScale(id string, teams []string, nets map[string]store.ReportNetwork) Chart {
	const left, rowH, scaleW = 130, 24, 700
	c := Chart{ID: id, Title: "Team network: E-I index per team", W: left + scaleW + 40, H: rowH*len(teams) + 40}
	x := func(v float64) float64 { return left + scaleW*(v+1)/2 }
	var shown int
	for i, t := range teams {
		n := nets[t]
		yy := float64(5 + rowH*i)
		c.Labels = append(c.Labels, Label{X: f1(left - 6), Y: f1(yy + 15), Anchor: "end", Class: "team", S: t})
		c.Lines = append(c.Lines, Line{Points: fmt.Sprintf("%s,%s %s,%s", f1(left), f1(yy+10), f1(left+scaleW), f1(yy+10)), Class: "ref"})
		if math.IsNaN(n.EIIndex) {
			continue
		}
		shown++
		c.Dots = append(c.Dots, Label{X: f1(x(n.EIIndex)), Y: f1(yy + 10), S: t})
	}
	if shown == 0 {
		c.Empty, c.H = "No E-I index is published for the period.", 30
	}
	yy := float64(rowH*len(teams) + 25)
	c.Labels = append(c.Labels,
		Label{X: f1(left), Y: f1(yy), Anchor: "start", Class: "axis", S: "inside the team"},
		Label{X: f1(x(0)), Y: f1(yy), Anchor: "middle", Class: "axis", S: "balanced"},
		Label{X: f1(left + scaleW), Y: f1(yy), Anchor: "end", Class: "axis", S: "other teams"})
	return c
}

// reviewBars draws one stacked bar per metric: its alerts by state.
func reviewBars(id string, rows []ReviewRow) Chart {
	const left, rowH, barMax = 190, 24, 640
	c := Chart{ID: id, Title: "Review status of the alerts, per metric", W: left + barMax + 30, H: rowH*len(rows) + 40}
	if len(rows) == 0 {
		c.Empty, c.H = "No alert in the period.", 30
	}
	top := 0.0
	for _, r := range rows {
		v, _ := strconv.ParseFloat(r.Total.Value, 64)
		top = math.Max(top, v)
	}
	parts := []struct {
		name, fill string
		f          func(ReviewRow) Fig
	}{
		{"new", "#bbbbbb", func(r ReviewRow) Fig { return r.New }},
		{"acknowledged", "#f0c040", func(r ReviewRow) Fig { return r.Acknowledged }},
		{"confirmed", "#c0392b", func(r ReviewRow) Fig { return r.Confirmed }},
		{"dismissed: false positive", "#2e86c1", func(r ReviewRow) Fig { return r.FalsePositive }},
		{"dismissed: other reasons", "#85c1e9", func(r ReviewRow) Fig { return r.OtherDismissed }},
	}
	for i, r := range rows {
		yy := float64(5 + rowH*i)
		c.Labels = append(c.Labels, Label{X: f1(left - 6), Y: f1(yy + 15), Anchor: "end", Class: "team", S: r.Metric})
		xx := float64(left)
		for _, p := range parts {
			v, _ := strconv.ParseFloat(p.f(r).Value, 64)
			if v <= 0 || top == 0 {
				continue
			}
			w := barMax * v / top
			c.Rects = append(c.Rects, Rect{X: f1(xx), Y: f1(yy), W: f1(w), H: f1(rowH - 6), Fill: p.fill, Class: "bar", Title: r.Metric + ": " + p.name})
			xx += w
		}
	}
	yy := float64(rowH*len(rows) + 25)
	xx := float64(left)
	for _, p := range parts {
		c.Rects = append(c.Rects, Rect{X: f1(xx), Y: f1(yy - 10), W: "10", H: "10", Fill: p.fill, Class: "key"})
		c.Labels = append(c.Labels, Label{X: f1(xx + 14), Y: f1(yy), Anchor: "start", Class: "axis", S: p.name})
		xx += 14 + 7*float64(len(p.name)) + 14
	}
	return c
}
