package report

import (
	"fmt"
	"html/template"
	"io"
)

// CSP is the page's Content-Security-Policy: nothing may load or run, the
// inline style excepted. The page has no script, no image, no font and no
// link to fetch.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

// Render writes the HTML of d to w and returns the page it drew.
func Render(w io.Writer, d *Data) (*Page, error) {
	p := build(d)
	if err := pageTmpl.Execute(w, p); err != nil {
		return nil, fmt.Errorf("report: render: %w", err)
	}
	return p, nil
}

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

const pageHTML = `{{define "fig"}}<data class="fig" value="{{.Value}}" data-view="{{.View}}"{{with .Team}} data-team="{{.}}"{{end}}{{with .Day}} data-day="{{.}}"{{end}}{{with .Days}} data-days="{{.}}"{{end}}{{with .Key}} data-key="{{.}}"{{end}}{{with .Col}} data-col="{{.}}"{{end}}{{with .Theme}} data-theme="{{.}}"{{end}}{{with .Metric}} data-metric="{{.}}"{{end}}{{with .State}} data-state="{{.}}"{{end}}{{with .Agg}} data-agg="{{.}}"{{end}}>{{.Text}}</data>{{end -}}
{{define "text"}}<q class="published" data-view="{{.View}}"{{with .Team}} data-team="{{.}}"{{end}}{{with .Day}} data-day="{{.}}"{{end}}{{with .Key}} data-key="{{.}}"{{end}} data-col="{{.Col}}">{{.S}}</q>{{end -}}
{{define "chart"}}<figure class="chart">
<figcaption>{{.Title}}</figcaption>
{{if .Empty}}<p class="empty">{{.Empty}}</p>{{end}}
<svg id="{{.ID}}" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Title}}">
{{range .Rects}}<rect class="{{.Class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}">{{with .Title}}<title>{{.}}</title>{{end}}</rect>
{{end}}{{range .Lines}}<polyline class="{{.Class}}" points="{{.Points}}"/>
{{end}}{{range .Dots}}<circle class="dot" cx="{{.X}}" cy="{{.Y}}" r="3">{{with .S}}<title>{{.}}</title>{{end}}</circle>
{{end}}{{range .Marks}}{{if .Warning}}<polygon class="mark-warning" points="{{.Points}}"><title>{{.Title}}</title></polygon>{{else}}<circle class="mark-anomaly" cx="{{.X}}" cy="{{.Y}}" r="6"><title>{{.Title}}</title></circle>{{end}}
{{end}}{{range .Labels}}<text class="{{.Class}}" x="{{.X}}" y="{{.Y}}"{{with .Anchor}} text-anchor="{{.}}"{{end}}>{{.S}}</text>
{{end}}</svg>
</figure>{{end}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="` + CSP + `">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>commpulse report {{.From}} to {{.To}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; background: #fff; margin: 0 auto; max-width: 1040px; padding: 16px 24px 48px; }
h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 17px; margin: 24px 0 6px; } p.meta, p.note, p.empty { color: #555; } p.empty { font-style: italic; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 14px; } th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { color: #444; font-weight: 600; } td.num, th.num { text-align: right; }
figure.chart { margin: 10px 0 14px; } figcaption { font-weight: 600; font-size: 14px; margin-bottom: 2px; }
svg { max-width: 100%; height: auto; display: block; } svg.key { display: inline; vertical-align: middle; } svg text { font: 12px system-ui, sans-serif; fill: #333; } svg text.axis { fill: #666; font-size: 11px; }
polyline.series { fill: none; stroke: #2c5d8f; stroke-width: 2; } polyline.ref { fill: none; stroke: #999; stroke-dasharray: 4 3; stroke-width: 1; }
circle.dot { fill: #2c5d8f; } circle.mark-anomaly { fill: none; stroke: #c0392b; stroke-width: 2.5; } polygon.mark-warning { fill: #e67e22; stroke: #a04000; }
rect.plot { stroke: #e0e0e0; } rect.cell, rect.none { stroke: #d8d8d8; stroke-width: 0.5; } text.ref { fill: #777; font-size: 11px; } q.published { quotes: none; color: #333; font-style: italic; } q.published::before { content: "“"; } q.published::after { content: "”"; }
ul.look li { margin: 4px 0 8px; } ul.look .action { display: block; color: #1d5e2e; } span.kind { display: inline-block; min-width: 78px; font-size: 12px; text-transform: uppercase; color: #666; }
section.team { border-top: 1px solid #eee; margin-top: 20px; } .legend span { margin-right: 18px; } .sw { display: inline-block; width: 12px; height: 12px; vertical-align: middle; margin-right: 4px; }
</style>
</head>
<body>
<header>
<h1>commpulse report</h1>
<p class="meta">Period {{.From}} to {{.To}} (UTC days, both included). Generated {{.Generated}}.</p>
<p class="note">Every figure here is a published team figure: released only for a team-day with at least k distinct senders, with noise added (docs/privacy.md). No person is named or counted on their own, no message text is shown. Each figure links to its published row through its data attributes. Days a team did not publish are blank.</p>
</header>

<nav><h2>Contents</h2><ul>
<li><a href="#overview">Organisation overview</a></li>
<li><a href="#teams">Teams</a>: {{range $i, $t := .Teams}}{{if $i}}, {{end}}<a href="#team-{{$t.Slug}}">{{$t.Team}}</a>{{end}}</li>
<li><a href="#drivers">Drivers</a></li>
<li><a href="#network">Team network</a></li>
<li><a href="#reviews">Review status of the alerts</a></li>
</ul></nav>

<section id="overview">
<h2>Organisation overview</h2>
<p>The belonging index of each team and day: white is the team's usual level, red below it, blue above it (the index is centred on its usual value; ten points are one standard deviation of the team's own days). Grey: not published.</p>
{{template "chart" .Overview}}
<table><thead><tr><th>team</th><th class="num">published days</th><th class="num">belonging, last day</th><th class="num">mean compound, last day</th><th class="num">negative share, last day</th><th>alerts</th></tr></thead><tbody>
{{range .Teams}}<tr><td><a href="#team-{{.Slug}}">{{.Team}}</a></td><td class="num">{{template "fig" .Days}}</td><td class="num">{{with .LastBelong}}{{template "fig" .}}{{else}}–{{end}}</td><td class="num">{{with .LastMean}}{{template "fig" .}}{{else}}–{{end}}</td><td class="num">{{with .LastNegative}}{{template "fig" .}}{{else}}–{{end}}</td><td>{{if .Alerts}}see the team{{else}}none{{end}}</td></tr>
{{end}}</tbody></table>
</section>

<section id="teams">
<h2>Teams</h2>
<p>Per team: the belonging index (dashed: usual level), sentiment as the mean compound score of the scored messages (dashed: neutral) and the share of negative messages, one point per published day. <span class="legend"><span><svg class="key" width="14" height="14" viewBox="0 0 14 14"><circle class="mark-anomaly" cx="7" cy="7" r="5"/></svg> anomaly</span><span><svg class="key" width="14" height="14" viewBox="0 0 14 14"><polygon class="mark-warning" points="7,1 1,12 13,12"/></svg> early warning (forecast)</span></span></p>
{{range .Teams}}<section class="team" id="team-{{.Slug}}">
<h3>{{.Team}}</h3>
<h4>What to look at</h4>
{{if .Look}}<ul class="look">{{range .Look}}<li><span class="kind">{{.Kind}}</span>{{.Says}}{{range $i, $f := .Figs}}{{if $i}},{{end}} {{$f.Label}} {{template "fig" $f}}{{end}}{{with .Quote}} {{template "text" .}}{{end}}<span class="action">{{.Action}}</span></li>
{{end}}</ul>{{else}}<p class="empty">Nothing stands out in the published figures.</p>{{end}}
{{range .Charts}}{{template "chart" .}}{{end}}
{{if .Alerts}}<table><thead><tr><th>day</th><th>kind</th><th>metric</th><th>severity</th><th class="num">value</th><th class="num">expected</th><th>review</th><th>explanation</th></tr></thead><tbody>
{{range .Alerts}}<tr><td>{{.Day}}</td><td>{{if .Warning}}early warning{{else}}anomaly{{end}}</td><td>{{.Metric}}</td><td>{{.Severity}}</td><td class="num">{{template "fig" .Value}}</td><td class="num">{{template "fig" .Expected}}</td><td>{{.State}}</td><td>{{template "text" .Explanation}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No anomaly or early warning in the period.</p>{{end}}
{{if .Themes}}<table><thead><tr><th>theme</th><th class="num">messages about it, period</th></tr></thead><tbody>
{{range .Themes}}<tr><td>{{.Theme}}</td><td class="num">{{template "fig" .Count}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>
{{end}}</section>

<section id="drivers">
<h2>Drivers</h2>
<p>How many messages mention each theme (workload, recognition, conflict, blockers, change), summed over the period's published team-days: a theme is published for a team-day only when its noisy count is large enough. Themes are names, never words of a message. Per-team counts are in each team's section.</p>
{{template "chart" .ThemesOrg}}
{{if .ThemesTotals}}<table><thead><tr><th>theme</th><th class="num">messages, all teams</th></tr></thead><tbody>
{{range .ThemesTotals}}<tr><td>{{.Theme}}</td><td class="num">{{template "fig" .Count}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>

<section id="network">
<h2>Team network</h2>
<p>Each team on the E-I scale: left, its ties stay inside the team; right, they go to other teams. One point per team, from its latest published window (the rolling window when there is one). This is a team-level map only: no person-level figure is shown, and no figure of which team talks to which team is published, so none is drawn here.</p>
{{template "chart" .Network}}
{{if .NetRows}}<table><thead><tr><th>team</th><th>window</th><th class="num">E-I index</th><th class="num">external share</th><th class="num">senders</th></tr></thead><tbody>
{{range .NetRows}}<tr><td>{{.Team}}</td><td>{{.Window}}</td><td class="num">{{with .EI}}{{template "fig" .}}{{else}}–{{end}}</td><td class="num">{{with .External}}{{template "fig" .}}{{else}}–{{end}}</td><td class="num">{{template "fig" .MembersActive}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>

<section id="reviews">
<h2>Review status of the alerts</h2>
<p>Alerts of the period (anomalies and early warnings) by review state, per metric. Precision as the reviewers judged it: confirmed over confirmed plus dismissed as false positive; dismissals for other reasons and unreviewed alerts do not count.</p>
{{template "chart" .ReviewsChart}}
{{if .Reviews}}<table><thead><tr><th>metric</th><th class="num">alerts</th><th class="num">new</th><th class="num">acknowledged</th><th class="num">confirmed</th><th class="num">false positive</th><th class="num">dismissed, other</th><th class="num">precision</th></tr></thead><tbody>
{{range .Reviews}}<tr><td>{{.Metric}}</td><td class="num">{{template "fig" .Total}}</td><td class="num">{{template "fig" .New}}</td><td class="num">{{template "fig" .Acknowledged}}</td><td class="num">{{template "fig" .Confirmed}}</td><td class="num">{{template "fig" .FalsePositive}}</td><td class="num">{{template "fig" .OtherDismissed}}</td><td class="num">{{with .Precision}}{{template "fig" .}}{{else}}not judged{{end}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>
</body>
</html>
`
