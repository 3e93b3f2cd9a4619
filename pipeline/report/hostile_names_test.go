package report

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"commpulse/pipeline/store"
)

// Team names come from HR data (a red-team regression test): hostile names
// in every place a team name reaches (headings, tables, data-team
// attributes, the SVG <title> and <text> of the charts, the slugs of ids and
// hrefs, and an explanation quoting the name) must not create an element,
// an attribute or a script.
func TestHostileTeamNames(t *testing.T) {
	hostile := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(2)>`,
		`</title><script>alert(3)</script>`,
		`</text></svg><svg onload=alert(4)>`,
		`javascript:alert(5)`,
		`x' onmouseover='alert(6)`,
		"<style>@import url(//evil)</style>",
		"</q><a href=//evil>x</a>",
	}
	d := fakeData()
	rename := map[string]string{"alpha": hostile[0], "Ops & Support": hostile[1]}
	for i := range d.Stats {
		d.Stats[i].Team = rename[d.Stats[i].Team]
	}
	for i := range d.Belonging {
		d.Belonging[i].Team = rename[d.Belonging[i].Team]
		d.Belonging[i].Explanation = d.Belonging[i].Team + " " + hostile[3]
	}
	for i := range d.Themes {
		d.Themes[i].Team = rename[d.Themes[i].Team]
	}
	for i := range d.Networks {
		d.Networks[i].Team = rename[d.Networks[i].Team]
	}
	for i := range d.Anomalies {
		d.Anomalies[i].Team = rename[d.Anomalies[i].Team]
		d.Anomalies[i].Explanation = strings.Join(hostile, " ")
		d.Anomalies[i].Metric = hostile[2]
	}
	for i := range d.Warnings {
		d.Warnings[i].Team = rename[d.Warnings[i].Team]
		d.Warnings[i].Explanation = strings.Join(hostile, " ")
	}
	// More teams with the other names.
	for _, h := range hostile[2:] {
		for _, s := range fakeData().Stats[:3] {
			s.Team = h
			d.Stats = append(d.Stats, s)
		}
		d.Belonging = append(d.Belonging, store.ReportBelongingDay{Day: testFrom, Team: h, Belonging: 30, Explanation: h})
		d.Networks = append(d.Networks, store.ReportNetwork{WindowStart: testFrom, Days: 1, Team: h, MembersActive: 6, ExternalShare: 0.01, EIIndex: -0.98})
	}
	d.From, d.To = testFrom, testFrom.AddDate(0, 0, 6)
	var buf bytes.Buffer
	if _, err := Render(&buf, &d); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"html": true, "head": true, "body": true, "meta": true, "title": true, "style": true, "header": true,
		"h1": true, "h2": true, "h3": true, "h4": true, "p": true, "nav": true, "ul": true, "li": true, "a": true, "section": true,
		"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true, "data": true, "q": true, "span": true,
		"figure": true, "figcaption": true, "svg": true, "rect": true, "polyline": true, "circle": true, "polygon": true, "text": true}
	styles := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if !allowed[n.Data] {
				t.Errorf("element <%s> in the page", n.Data)
			}
			if n.Data == "style" {
				styles++
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "src" {
					t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
				}
				if a.Key == "href" && !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s href=%q>", n.Data, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if styles != 1 {
		t.Errorf("%d style elements", styles)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile name is not shown escaped")
	}
}
